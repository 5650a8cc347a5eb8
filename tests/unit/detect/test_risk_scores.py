"""Risk: points by severity, capped at 100, halving every half-life, per principal and session."""

from __future__ import annotations

from tests.unit.detect.helpers import T0
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.detect.config import RiskConfig
from zerotrust.detect.risk import Risk, RiskScores


def _alert(severity: str, ts: float = T0, principal: str | None = "Alice") -> Alert:
    finding = Finding(
        "brute_force",
        severity,
        "k",
        principal,
        ("evt_1",),
        "x",  # type: ignore[arg-type]
        session_id="ses_1",
    )
    return Alert.from_finding(finding, ts=ts, event_id="evt_1")


def test_a_clean_principal_is_low() -> None:
    assert RiskScores().score("nobody", T0) == Risk(0, "low")


def test_alerts_raise_the_score_and_it_decays() -> None:
    risk = RiskScores(RiskConfig(half_life_s=1800))
    risk.record(_alert("high"))
    risk.record(_alert("medium"))
    score, level = risk.score("alice", T0)
    assert (score, level) == (70, "high")
    assert risk.score("ALICE", T0 + 1800) == Risk(35, "medium")
    assert risk.score("alice", T0 + 4 * 1800).level == "low"
    assert risk.session_score("ses_1", T0).score == 70


def test_the_score_is_capped() -> None:
    risk = RiskScores()
    for _ in range(5):
        risk.record(_alert("critical"))
    assert risk.score("alice", T0) == Risk(100, "high")


def test_decayed_scores_are_forgotten() -> None:
    risk = RiskScores()
    risk.record(_alert("low"))
    risk.forget(T0 + 86400)
    assert risk._scores == {}
