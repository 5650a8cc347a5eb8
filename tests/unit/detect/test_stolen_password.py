"""Stolen password: a novel password success followed by failing second factors."""

from __future__ import annotations

from typing import Any

from tests.unit.detect.helpers import GB_IP, GEO, HOUR, RU_IP, T0, US_IP, ev, login_ok
from zerotrust.detect.detectors import StolenPassword
from zerotrust.detect.events import Event


def _with_history() -> StolenPassword:
    detector = StolenPassword(GEO)
    for day in range(3):
        for e in login_ok(ts=T0 + day * 24 * HOUR, ip=GB_IP, device="dev_a"):
            detector.observe(e)
    return detector


def _otp_fail(ts: float, **kw: Any) -> Event:
    return ev("auth.mfa", ts=ts, mfa_method="totp", reason="bad_otp", **kw)


def test_new_device_then_two_mfa_failures_fires() -> None:
    detector = _with_history()
    t = T0 + 5 * 24 * HOUR
    assert detector.observe(ev(outcome="success", ts=t, ip=GB_IP, device="dev_x")) is None
    assert detector.observe(_otp_fail(t + 20, ip=GB_IP, device="dev_x")) is None
    finding = detector.observe(_otp_fail(t + 40, ip=GB_IP, device="dev_x"))
    assert finding is not None
    assert "new device" in finding.explanation
    assert len(finding.event_ids) == 3


def test_new_device_and_new_country_fires_on_the_first_failure() -> None:
    detector = _with_history()
    t = T0 + 5 * 24 * HOUR
    detector.observe(ev(outcome="success", ts=t, ip=RU_IP, device=None))
    finding = detector.observe(_otp_fail(t + 15, ip=RU_IP, device=None))
    assert finding is not None
    assert "device and country" in finding.explanation


def test_new_laptop_with_one_typo_then_success_is_quiet() -> None:
    detector = _with_history()
    t = T0 + 5 * 24 * HOUR
    assert detector.observe(ev(outcome="success", ts=t, ip=GB_IP, device="dev_new")) is None
    assert detector.observe(_otp_fail(t + 20, ip=GB_IP, device="dev_new")) is None
    ok = ev(
        "auth.mfa", "alice", "success", ts=t + 40, ip=GB_IP, device="dev_new", mfa_method="totp"
    )
    assert detector.observe(ok) is None
    # The new laptop is now known: a later typo on it is ordinary.
    detector.observe(ev(outcome="success", ts=t + HOUR, ip=GB_IP, device="dev_new"))
    assert detector.observe(_otp_fail(t + HOUR + 20, ip=GB_IP, device="dev_new")) is None
    assert detector.observe(_otp_fail(t + HOUR + 40, ip=GB_IP, device="dev_new")) is None


def test_travel_with_a_known_device_and_one_typo_is_quiet() -> None:
    detector = _with_history()
    t = T0 + 5 * 24 * HOUR
    assert detector.observe(ev(outcome="success", ts=t, ip=US_IP, device="dev_a")) is None
    assert detector.observe(_otp_fail(t + 20, ip=US_IP, device="dev_a")) is None


def test_familiar_context_failures_are_not_this_detector() -> None:
    detector = _with_history()
    t = T0 + 5 * 24 * HOUR
    detector.observe(ev(outcome="success", ts=t, ip=GB_IP, device="dev_a"))
    for i in range(5):
        assert detector.observe(_otp_fail(t + 10 * i, ip=GB_IP, device="dev_a")) is None


def test_a_password_success_alone_never_teaches_the_baseline() -> None:
    detector = _with_history()
    t = T0 + 5 * 24 * HOUR
    for i in range(3):  # the attacker's password successes, no second factor
        detector.observe(ev(outcome="success", ts=t + i * 60, ip=RU_IP, device="dev_evil"))
    detector.observe(ev(outcome="success", ts=t + 600, ip=RU_IP, device="dev_evil"))
    assert detector.observe(_otp_fail(t + 620, ip=RU_IP, device="dev_evil")) is not None
