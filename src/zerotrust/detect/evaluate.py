"""Scoring alerts against a labelled corpus: recall per class, false alerts, time to detect.

An attack counts as detected when an alert *of its own class's detector* names one of the
attack's events; another detector catching it does not count towards recall (it is not
a false alert either). An alert that names no attack event is false. Time to detect is
event time from the attack's first event to its first detecting alert.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from zerotrust.core.errors import InvalidInput
from zerotrust.detect.events import MalformedEvent, parse_time

GOAL_RECALL = 0.95
GOAL_FALSE_PER_10K = 2.0
GOAL_MEDIAN_TTD_S = 60.0


@dataclass(frozen=True)
class LabelledAttack:
    id: str
    cls: str
    start: float
    event_ids: frozenset[str]


@dataclass(frozen=True)
class Labels:
    attacks: list[LabelledAttack]
    events: int
    benign_events: int


@dataclass(frozen=True)
class AlertRecord:
    """The part of an alert line that scoring needs."""

    ts: float
    detector: str
    event_ids: tuple[str, ...]


def _json_lines(lines: Iterable[str | bytes], what: str) -> Iterable[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError:
            raise InvalidInput(f"{what} line {number} is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"{what} line {number} is not a JSON object")
        yield number, data


def load_labels(lines: Iterable[str | bytes]) -> Labels:
    attacks: list[LabelledAttack] = []
    summary: dict[str, Any] | None = None
    for number, data in _json_lines(lines, "labels"):
        try:
            if data.get("type") == "corpus":
                summary = data
                continue
            attacks.append(
                LabelledAttack(
                    id=str(data["id"]),
                    cls=str(data["class"]),
                    start=parse_time(data["start"]),
                    event_ids=frozenset(str(e) for e in data["event_ids"]),
                )
            )
        except (KeyError, TypeError, MalformedEvent):
            raise InvalidInput(f"labels line {number} is not an attack label") from None
    if summary is None or not isinstance(summary.get("events"), int):
        raise InvalidInput("labels have no corpus line with the event counts")
    return Labels(attacks, int(summary["events"]), int(summary["benign_events"]))


def load_alerts(lines: Iterable[str | bytes]) -> Iterable[AlertRecord]:
    for number, data in _json_lines(lines, "alerts"):
        try:
            ids = data.get("event_ids") or [data["event_id"]]
            yield AlertRecord(parse_time(data["time"]), str(data["detector"]), tuple(ids))
        except (KeyError, TypeError, MalformedEvent):
            raise InvalidInput(f"alerts line {number} is not an alert") from None


@dataclass
class ClassScore:
    cls: str
    attacks: int = 0
    detected: int = 0
    ttd: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.detected / self.attacks if self.attacks else 1.0

    @property
    def median_ttd(self) -> float | None:
        return statistics.median(self.ttd) if self.ttd else None


@dataclass
class Report:
    classes: dict[str, ClassScore]
    alerts: int
    false_alerts: int
    benign_events: int
    events: int
    false_by_detector: Counter[str]

    @property
    def attacks(self) -> int:
        return sum(c.attacks for c in self.classes.values())

    @property
    def recall(self) -> float:
        return sum(c.detected for c in self.classes.values()) / max(1, self.attacks)

    @property
    def false_per_10k(self) -> float:
        return self.false_alerts * 10_000 / max(1, self.benign_events)

    @property
    def median_ttd(self) -> float | None:
        every = [t for c in self.classes.values() for t in c.ttd]
        return statistics.median(every) if every else None

    def goals(self) -> list[tuple[str, bool]]:
        ttd = self.median_ttd
        return [
            ("every class detected", all(c.detected for c in self.classes.values())),
            (f"overall recall ≥ {GOAL_RECALL}", self.recall >= GOAL_RECALL),
            (
                f"≤ {GOAL_FALSE_PER_10K:g} false alerts per 10k benign events",
                self.false_per_10k <= GOAL_FALSE_PER_10K,
            ),
            (
                f"median time to detect ≤ {GOAL_MEDIAN_TTD_S:g} s",
                ttd is not None and ttd <= GOAL_MEDIAN_TTD_S,
            ),
        ]

    def passed(self) -> bool:
        return all(ok for _, ok in self.goals())

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": {
                c.cls: {
                    "attacks": c.attacks,
                    "detected": c.detected,
                    "recall": c.recall,
                    "median_ttd_s": c.median_ttd,
                }
                for c in self.classes.values()
            },
            "recall": self.recall,
            "alerts": self.alerts,
            "false_alerts": self.false_alerts,
            "false_by_detector": dict(sorted(self.false_by_detector.items())),
            "benign_events": self.benign_events,
            "false_per_10k_benign": self.false_per_10k,
            "median_ttd_s": self.median_ttd,
            "goals": {name: ok for name, ok in self.goals()},
        }

    def lines(self) -> list[str]:
        out = [
            "| class | attacks | detected | recall | median time to detect (s) |",
            "|---|---|---|---|---|",
        ]
        for c in self.classes.values():
            ttd = "-" if c.median_ttd is None else f"{c.median_ttd:.0f}"
            out.append(f"| {c.cls} | {c.attacks} | {c.detected} | {c.recall:.2f} | {ttd} |")
        ttd = "-" if self.median_ttd is None else f"{self.median_ttd:.0f}"
        out.append(
            f"| **all** | {self.attacks} | {sum(c.detected for c in self.classes.values())}"
            f" | {self.recall:.3f} | {ttd} |"
        )
        out.append("")
        out.append(
            f"{self.false_alerts} false alerts of {self.alerts} on {self.benign_events:,} "
            f"benign events: {self.false_per_10k:.2f} per 10,000"
            + (
                f" ({', '.join(f'{d} {n}' for d, n in sorted(self.false_by_detector.items()))})"
                if self.false_by_detector
                else ""
            )
        )
        out.extend(f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in self.goals())
        return out


def evaluate(alerts: Iterable[AlertRecord], labels: Labels) -> Report:
    owner: dict[str, int] = {}
    for index, attack in enumerate(labels.attacks):
        for eid in attack.event_ids:
            owner[eid] = index
    classes = {a.cls: ClassScore(a.cls) for a in labels.attacks}
    for attack in labels.attacks:
        classes[attack.cls].attacks += 1
    first: dict[int, float] = {}
    count, false, false_by = 0, 0, Counter[str]()
    for alert in alerts:
        count += 1
        hit = {owner[e] for e in alert.event_ids if e in owner}
        if not hit:
            false += 1
            false_by[alert.detector] += 1
        for index in hit:
            attack = labels.attacks[index]
            if attack.cls == alert.detector:
                ttd = max(0.0, alert.ts - attack.start)
                first[index] = min(first.get(index, ttd), ttd)
    for index, ttd in first.items():
        score = classes[labels.attacks[index].cls]
        score.detected += 1
        score.ttd.append(ttd)
    return Report(
        dict(sorted(classes.items())), count, false, labels.benign_events, labels.events, false_by
    )
