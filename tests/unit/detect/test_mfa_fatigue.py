"""MFA fatigue: a burst of rejected push prompts; worse if the owner gives in."""

from __future__ import annotations

from tests.unit.detect.helpers import RU_IP, T0, ev
from zerotrust.detect.detectors import MfaFatigue
from zerotrust.detect.events import Event


def _push(ts: float, outcome: str = "failure", reason: str | None = "push_denied") -> Event:
    return ev(
        "auth.mfa", ts=ts, ip=RU_IP, device=None, outcome=outcome, mfa_method="push", reason=reason
    )


def test_a_burst_of_rejected_prompts_fires() -> None:
    detector = MfaFatigue()
    found = [detector.observe(_push(T0 + 15 * i)) for i in range(4)]
    assert found[:3] == [None] * 3
    assert found[3] is not None
    assert found[3].severity == "high"


def test_approval_right_after_a_burst_is_critical() -> None:
    detector = MfaFatigue()
    for i in range(5):
        detector.observe(_push(T0 + 15 * i))
    finding = detector.observe(_push(T0 + 90, "success", None))
    assert finding is not None
    assert finding.severity == "critical"
    assert finding.key.endswith("|approved")


def test_two_missed_prompts_then_approval_is_quiet() -> None:
    detector = MfaFatigue()
    for day in range(20):
        t = T0 + day * 86400
        assert detector.observe(_push(t, reason="push_timeout")) is None
        assert detector.observe(_push(t + 60, reason="push_timeout")) is None
        assert detector.observe(_push(t + 120, "success", None)) is None


def test_totp_failures_are_not_push_fatigue() -> None:
    detector = MfaFatigue()
    for i in range(10):
        e = ev("auth.mfa", ts=T0 + i, mfa_method="totp", reason="bad_otp")
        assert detector.observe(e) is None
