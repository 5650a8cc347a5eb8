"""Replay: event-time order through a bounded buffer, malformed lines counted, deterministic."""

from __future__ import annotations

import json

from tests.unit.detect.helpers import GEO, T0
from zerotrust.core.clock import iso_utc
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.events import Event
from zerotrust.detect.replay import ReplayStats, replay


class Recorder:
    name = "recorder"
    kinds = frozenset({"auth.password"})

    def __init__(self) -> None:
        self.seen: list[str] = []

    def observe(self, event: Event) -> Finding | None:
        self.seen.append(event.id)
        return None

    def prune(self, now: float) -> None:
        pass


def line(n: int, ts: float, **over: object) -> str:
    data = {
        "id": f"evt_{n}",
        "time": iso_utc(ts),
        "kind": "auth.password",
        "principal": "alice",
        "principal_type": "user",
        "principal_roles": [],
        "outcome": "failure",
        "src_ip": "203.0.113.9",
        "device_id": None,
        "session_id": None,
        "reason": "bad_password",
    }
    data.update(over)
    return json.dumps(data)


def _run(lines: list[str], lateness: float = 60.0) -> tuple[list[str], ReplayStats, list[Alert]]:
    recorder = Recorder()
    engine = DetectionEngine(geo=GEO, detectors=[recorder])
    stats = ReplayStats()
    alerts = list(replay(lines, engine, stats=stats, max_lateness_s=lateness))
    return recorder.seen, stats, alerts


def test_events_are_released_in_time_order() -> None:
    lines = [line(1, T0 + 10), line(2, T0), line(3, T0 + 5), line(5, T0 + 7), line(4, T0 + 100)]
    seen, stats, _ = _run(lines)
    assert seen == ["evt_2", "evt_3", "evt_5", "evt_1", "evt_4"]
    assert stats.late == 0


def test_an_event_later_than_the_window_is_processed_and_counted() -> None:
    lines = [line(1, T0), line(2, T0 + 500), line(3, T0 + 1000), line(4, T0 + 10)]
    seen, stats, _ = _run(lines, lateness=60)
    assert seen == ["evt_1", "evt_2", "evt_4", "evt_3"]
    assert stats.late == 1


def test_malformed_and_blank_lines_are_counted_with_their_line_numbers() -> None:
    lines = [line(1, T0), "not json", "", line(2, T0 + 1, kind="bogus"), line(3, T0 + 2)]
    seen, stats, _ = _run(lines)
    assert seen == ["evt_1", "evt_3"]
    assert stats.malformed == 2
    assert [n for n, _ in stats.errors] == [2, 4]
    assert "2 malformed" in stats.summary()


def test_replay_is_deterministic() -> None:
    lines = [line(i, T0 + i * 2) for i in range(40)]

    def alerts() -> list[dict[str, object]]:
        engine = DetectionEngine(geo=GEO)
        return [a.to_dict() for a in replay(lines, engine)]

    first = alerts()
    assert first
    assert first == alerts()
