"""Baselines: percentiles of completed hours, per principal and per role."""

from __future__ import annotations

from collections import deque

from tests.unit.detect.helpers import HOUR, T0
from zerotrust.detect.baselines import History, VolumeBaselines, quantile


def test_quantile() -> None:
    assert quantile([], 0.95) == 0.0
    assert quantile([5.0], 0.95) == 5.0
    assert quantile(deque(float(v) for v in range(101)), 0.95) == 95.0


def test_one_outlier_hour_does_not_move_the_busy_hour_much() -> None:
    history = History(maxlen=200)
    for _ in range(99):
        history.add(100.0)
    history.add(1_000_000.0)
    assert history.hi == 100.0


def test_rolling_hour_and_reference() -> None:
    baselines = VolumeBaselines(min_own_hours=3, min_role_hours=3, few_hours=2)
    roles = ("analyst",)
    vol = baselines.add("a", roles, T0, 10, 100, "e0")
    assert baselines.reference(vol, roles).records is None  # nothing completed yet
    for hour in range(1, 5):
        vol = baselines.add("a", roles, T0 + hour * HOUR, 100 * hour, 1000, f"e{hour}")
    # Completed hours 10, 100, 200, 300; the rolling hour reaches back exactly one hour.
    assert vol.sum_records == 300 + 400
    ref = baselines.reference(vol, roles)
    assert ref.records is not None
    assert 250 < ref.records <= 300
    other = baselines.add("b", roles, T0 + 10 * HOUR, 1, 1, "b0")
    assert baselines.reference(other, roles).records == ref.records  # the role's baseline


def test_idle_principals_are_forgotten() -> None:
    baselines = VolumeBaselines()
    baselines.add("a", (), T0, 1, 1, "e")
    baselines.forget(T0 + 10 * HOUR)
    assert baselines.principals == {}
