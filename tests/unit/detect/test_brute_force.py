"""Brute force fires on the tenth guess at one account, not on typos or a stale device."""

from __future__ import annotations

from tests.unit.detect.helpers import RU_IP, T0, ev
from zerotrust.detect.detectors import BruteForce, BruteForceConfig


def test_tenth_failure_within_the_window_fires() -> None:
    detector = BruteForce()
    events = [ev(ts=T0 + 3 * i, ip=RU_IP, reason="bad_password") for i in range(10)]
    found = [detector.observe(e) for e in events]
    assert found[:9] == [None] * 9
    finding = found[9]
    assert finding is not None
    assert finding.detector == "brute_force"
    assert finding.principal == "alice"
    assert finding.sources == (RU_IP,)
    assert set(finding.event_ids) == {e.id for e in events}


def test_usernames_are_counted_case_insensitively() -> None:
    detector = BruteForce()
    names = ["alice", "Alice", "ALICE"] * 4
    found = [detector.observe(ev(principal=n, ts=T0 + i)) for i, n in enumerate(names)]
    assert any(found)


def test_typos_then_success_are_quiet() -> None:
    detector = BruteForce()
    for day in range(30):
        base = T0 + day * 3600
        for i in range(3):
            assert detector.observe(ev(ts=base + i * 5, reason="bad_password")) is None
        assert detector.observe(ev(outcome="success", ts=base + 20)) is None


def test_a_stale_device_retrying_for_hours_is_quiet() -> None:
    # An old laptop retries last quarter's password every four minutes for three hours.
    detector = BruteForce()
    for i in range(45):
        assert detector.observe(ev(ts=T0 + i * 240, device="dev_old")) is None


def test_push_rejections_are_not_guesses() -> None:
    detector = BruteForce(BruteForceConfig(threshold=3))
    for i in range(5):
        e = ev("auth.mfa", ts=T0 + i, mfa_method="push", reason="push_denied")
        assert detector.observe(e) is None


def test_second_factor_guessing_is_counted_apart_from_passwords() -> None:
    detector = BruteForce(BruteForceConfig(threshold=4))
    for i in range(3):
        assert detector.observe(ev(ts=T0 + i)) is None
        e = ev("auth.mfa", ts=T0 + i, mfa_method="totp", reason="bad_otp")
        assert detector.observe(e) is None
    finding = detector.observe(ev("auth.mfa", ts=T0 + 4, mfa_method="totp", reason="bad_otp"))
    assert finding is not None
    assert "mfa" in finding.key


def test_state_is_pruned_after_the_window() -> None:
    detector = BruteForce()
    for i in range(500):
        detector.observe(ev(principal=f"user{i}", ts=T0 + i))
    detector.prune(T0 + 500 + 901)
    assert len(detector.failures) == 0
