"""A labelled corpus: weeks of benign activity with attacks of every class injected.

    simulate(SimConfig(seed=7, days=14), out_dir)

writes ``events.jsonl`` (time-ordered security events), ``labels.jsonl`` (one line per
attack with its class and event ids, then one ``corpus`` line with the counts) and
``corpus.json`` (the settings and counts). The same seed gives the same bytes. Attacks
start after ``warmup_days`` so baselines have something to stand on; benign confounders
run from the first day, so the early days are the hardest for false alerts.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from zerotrust.core.errors import ConfigError
from zerotrust.detect.attacks import Attacker
from zerotrust.detect.benign import DAY, BenignDay
from zerotrust.detect.config import DETECTOR_NAMES
from zerotrust.detect.corpus import Attack, Emitter
from zerotrust.detect.population import IpPool, build_population

CLASSES = DETECTOR_NAMES  # one attack class per detector


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    days: int = 14
    staff: int = 150
    attacks_per_class: int = 5
    warmup_days: int = 3
    start: str = "2025-03-24"  # a Monday; quarter close falls on day 7

    def check(self) -> None:
        if not 1 <= self.days <= 366:
            raise ConfigError("days must be between 1 and 366")
        if not 5 <= self.staff <= 1500:
            raise ConfigError("staff must be between 5 and 1500")
        if not 0 <= self.attacks_per_class <= 100:
            raise ConfigError("attacks per class must be between 0 and 100")
        if self.attacks_per_class and self.warmup_days >= self.days:
            raise ConfigError("the corpus needs more days than the warm-up to hold attacks")
        try:
            datetime.fromisoformat(self.start + "T00:00:00+00:00")
        except ValueError:
            raise ConfigError("start must be a date, YYYY-MM-DD") from None


@dataclass(frozen=True)
class CorpusInfo:
    events: int
    attack_events: int
    benign_events: int
    attacks: int


def _schedule(rng: random.Random, cfg: SimConfig) -> dict[int, list[str]]:
    """Which attack classes run on which day."""
    plan: dict[int, list[str]] = {}
    for cls in CLASSES:
        for _ in range(cfg.attacks_per_class):
            plan.setdefault(rng.randrange(cfg.warmup_days, cfg.days), []).append(cls)
    return plan


def simulate(cfg: SimConfig, out_dir: Path) -> CorpusInfo:
    """Generate the corpus into ``out_dir`` (created if missing)."""
    cfg.check()
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(cfg.seed)  # noqa: S311  # reproducible simulation, not secrets
    pool = IpPool(rng)
    population = build_population(rng, pool, staff=cfg.staff)
    start = datetime.fromisoformat(cfg.start + "T00:00:00+00:00").timestamp()
    em = Emitter(rng)
    benign = BenignDay(em, population, pool, start)
    attacker = Attacker(em, population, pool)
    plan = _schedule(rng, cfg)
    attacks: list[Attack] = []
    with (out_dir / "events.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for day in range(cfg.days):
            midnight = start + day * DAY
            benign.run(day)
            for cls in plan.get(day, []):
                attack = Attack(f"atk_{len(attacks) + 1:03d}", cls, None)
                attacker.generators[cls](attack, midnight)
                attacks.append(attack)
            # Generators may reach back up to half a day (time zones east of UTC), so
            # events are released one day behind the day being generated.
            em.flush(midnight, out.write)
        em.flush(float("inf"), out.write)
    info = CorpusInfo(em.written, em.attack_events, em.written - em.attack_events, len(attacks))
    _write_labels(out_dir, attacks, info)
    meta: dict[str, Any] = {"config": asdict(cfg), **asdict(info)}
    (out_dir / "corpus.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    return info


def _write_labels(out_dir: Path, attacks: list[Attack], info: CorpusInfo) -> None:
    with (out_dir / "labels.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for attack in sorted(attacks, key=lambda a: (a.start, a.id)):
            out.write(json.dumps(attack.to_dict(), separators=(",", ":")) + "\n")
        summary = {"type": "corpus", **asdict(info)}
        out.write(json.dumps(summary, separators=(",", ":")) + "\n")
