"""Risk: points by severity, capped at 100, halving every half-life, per principal and
session; every process's stored alerts counted once each."""

from __future__ import annotations

import itertools

from tests.unit.detect.helpers import T0
from zerotrust.detect.alerts import Alert, Finding, MemoryAlerts
from zerotrust.detect.config import RiskConfig
from zerotrust.detect.risk import FEED_OVERLAP_S, AlertFeed, Risk, RiskScores

_events = itertools.count(1)


def _alert(severity: str, ts: float = T0, principal: str | None = "Alice") -> Alert:
    event_id = f"evt_{next(_events)}"  # each alert its own triggering event, so its own id
    finding = Finding(
        "brute_force",
        severity,
        "k",
        principal,
        (event_id,),
        "x",  # type: ignore[arg-type]
        session_id="ses_1",
    )
    return Alert.from_finding(finding, ts=ts, event_id=event_id)


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


def test_an_alert_counts_once_however_often_it_arrives() -> None:
    risk = RiskScores()
    alert = _alert("high")
    assert risk.record(alert)
    assert not risk.record(alert)  # again: from the store, after the engine recorded it
    assert risk.score("alice", T0) == Risk(45, "medium")


def test_the_feed_counts_alerts_other_processes_stored() -> None:
    store, here = MemoryAlerts(), RiskScores()
    feed = AlertFeed(store, here, now=T0)
    own = _alert("high", ts=T0 + 1)
    here.record(own)  # raised by this process's engine, then stored by it
    store.put(own)
    store.put(_alert("medium", ts=T0 + 2, principal="bob"))  # the control plane's
    assert feed.pull() == 1
    assert here.score("alice", T0 + 2) == Risk(45, "medium")  # not counted twice
    assert here.score("bob", T0 + 2) == Risk(25, "low")
    assert feed.pull() == 0  # nothing new


def test_the_feed_catches_an_alert_stored_late_with_an_earlier_time() -> None:
    store, here = MemoryAlerts(), RiskScores()
    feed = AlertFeed(store, here, now=T0)
    store.put(_alert("high", ts=T0 + 100))
    assert feed.pull() == 1
    # Another process stores an alert whose event came a little before the last one read.
    store.put(_alert("critical", ts=T0 + 100 - FEED_OVERLAP_S / 2, principal="bob"))
    assert feed.pull() == 1
    assert here.score("bob", T0 + 100).level == "high"


def test_a_starting_process_reads_what_still_weighs_and_pages_through_it() -> None:
    config = RiskConfig(half_life_s=1800)
    store, here = MemoryAlerts(), RiskScores(config)
    store.put(_alert("critical", ts=T0 - 7 * 1800, principal="old"))  # decayed to nothing
    for i in range(25):
        store.put(_alert("low", ts=T0 - 60 + i, principal=f"user{i}"))
    feed = AlertFeed(store, here, now=T0, batch=10)
    assert feed.pull() == 25
    assert here.score("user24", T0) == Risk(10, "low")
    assert here.score("old", T0) == Risk(0, "low")
