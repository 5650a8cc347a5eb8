"""Detection settings: overrides apply; anything unknown or mistyped is refused."""

from __future__ import annotations

from typing import Any

import pytest

from zerotrust.core.errors import ConfigError
from zerotrust.detect.config import DETECTOR_NAMES, load_config


def test_no_config_means_every_detector_with_defaults() -> None:
    cfg = load_config(None)
    assert cfg.enabled == frozenset(DETECTOR_NAMES)
    assert cfg.detectors["brute_force"].threshold == 10


def test_overrides_and_disabling() -> None:
    cfg = load_config(
        {
            "detectors": {
                "brute_force": {"threshold": 6, "window_s": 600},
                "impossible_travel": {"enabled": False},
            },
            "cooldown_s": 900,
            "risk": {"half_life_s": 600},
        }
    )
    assert cfg.detectors["brute_force"].threshold == 6
    assert cfg.detectors["brute_force"].window_s == 600.0
    assert "impossible_travel" not in cfg.enabled
    assert cfg.cooldown_s == 900
    assert cfg.risk.half_life_s == 600


@pytest.mark.parametrize(
    "bad",
    [
        {"detectors": {"no_such_detector": {}}},
        {"detectors": {"brute_force": {"treshold": 5}}},
        {"detectors": {"brute_force": {"threshold": "ten"}}},
        {"detectors": {"brute_force": {"threshold": 2.5}}},
        {"detectors": {"brute_force": {"threshold": -1}}},
        {"cooldown_s": True},
        {"risk": {"points": [1, 2]}},
        {"typo_at_top": 1},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        load_config(bad)
