"""Bulk exfiltration: far beyond the principal's and its role's busy hour."""

from __future__ import annotations

from tests.unit.detect.helpers import DAY, HOUR, T0, access
from zerotrust.detect.alerts import Finding
from zerotrust.detect.detectors import BulkExfiltration


def _workdays(detector: BulkExfiltration, who: str, role: str, per_call: int, days: int) -> None:
    """Eight working hours a day, six calls an hour."""
    for day in range(days):
        for hour in range(9, 17):
            for call in range(6):
                ts = T0 + day * DAY + hour * HOUR + call * 600
                detector.observe(access(who, ts=ts, records=per_call, roles=(role,)))


def _pull(
    detector: BulkExfiltration, who: str, role: str, ts: float, calls: int, size: int
) -> list[Finding | None]:
    return [
        detector.observe(access(who, "export", ts=ts + 20 * i, records=size, roles=(role,)))
        for i in range(calls)
    ]


def test_a_table_dump_far_beyond_the_baseline_fires() -> None:
    detector = BulkExfiltration()
    for name in ("ann", "bob", "cy"):
        _workdays(detector, name, "analyst", 50, days=4)
    t = T0 + 4 * DAY + 10 * HOUR
    assert _pull(detector, "bob", "analyst", t, calls=6, size=300) == [None] * 6
    # The busy hour is 300 records, so the limit is ten times that: 3,000.
    finding = _pull(detector, "bob", "analyst", t + 600, calls=1, size=20_000)[0]
    assert finding is not None
    assert finding.principal == "bob"
    assert "busy hour 300 records" in finding.explanation


def test_quarter_close_pull_within_the_role_multiple_is_quiet() -> None:
    detector = BulkExfiltration()
    for name in ("cora", "dan", "eve"):
        _workdays(detector, name, "compliance", 400, days=4)  # busy hour about 2,400
    # Quarter close: five times the usual hour, spread over the afternoon.
    found = _pull(detector, "dan", "compliance", T0 + 4 * DAY + 13 * HOUR, calls=6, size=2_000)
    assert found == [None] * 6


def test_a_nightly_batch_is_its_own_baseline() -> None:
    detector = BulkExfiltration()
    for night in range(8):
        for call in range(60):  # two hours a night, 450k records an hour
            ts = T0 + night * DAY + 1 * HOUR + call * 120
            found = detector.observe(
                access(
                    "svc-etl", ts=ts, records=15_000, roles=("etl",), ptype="service", session=None
                )
            )
            assert found is None, f"night {night}"


def test_a_big_pull_at_an_hour_never_worked_needs_less() -> None:
    detector = BulkExfiltration()
    _workdays(detector, "fay", "finance", 50, days=8)
    night = T0 + 8 * DAY + 3 * HOUR
    found = _pull(detector, "fay", "finance", night, calls=3, size=1_000)
    assert any(found)
    assert "unusual hour" in next(f for f in found if f).explanation


def test_without_any_baseline_only_huge_volumes_alert() -> None:
    detector = BulkExfiltration()
    assert _pull(detector, "new", "intern", T0, calls=10, size=50_000) == [None] * 10
    assert any(_pull(detector, "new", "intern", T0 + 300, calls=10, size=60_000))
