"""The simulator: deterministic, time-ordered, schema-valid, every class labelled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zerotrust.core.errors import ConfigError
from zerotrust.detect.events import parse_line
from zerotrust.detect.simulate import CLASSES, SimConfig, simulate

SMALL = SimConfig(seed=3, days=4, staff=20, attacks_per_class=1, warmup_days=2)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    simulate(SMALL, tmp_path / "a")
    simulate(SMALL, tmp_path / "b")
    for name in ("events.jsonl", "labels.jsonl", "corpus.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_events_are_valid_ordered_and_labels_cover_every_class(tmp_path: Path) -> None:
    info = simulate(SMALL, tmp_path)
    with (tmp_path / "events.jsonl").open() as lines:
        times = [parse_line(line).ts for line in lines]
    assert len(times) == info.events
    assert times == sorted(times)
    labels = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    attacks = [x for x in labels if x["type"] == "attack"]
    assert {a["class"] for a in attacks} == set(CLASSES)
    assert sum(len(a["event_ids"]) for a in attacks) == info.attack_events
    assert labels[-1]["benign_events"] == info.benign_events
    assert min(json.loads(json.dumps(a))["start"] for a in attacks) >= "2025-03-26"


@pytest.mark.parametrize(
    "cfg",
    [
        SimConfig(days=0),
        SimConfig(staff=2),
        SimConfig(days=3, warmup_days=3),
        SimConfig(start="yesterday"),
        SimConfig(attacks_per_class=-1),
    ],
)
def test_bad_settings_are_refused(cfg: SimConfig, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        simulate(cfg, tmp_path)
