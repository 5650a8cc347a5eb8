"""Alerts: deterministic ids, the JSON form, and audited open → acknowledged → resolved."""

from __future__ import annotations

import pytest

from tests.unit.detect.helpers import T0
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import Conflict, NotFound
from zerotrust.detect.alerts import Alert, AlertBook, Finding, MemoryAlerts

FINDING = Finding(
    detector="brute_force",
    severity="high",
    key="alice|password",
    principal="alice",
    event_ids=tuple(f"evt_{i}" for i in range(40)),
    explanation="10 failed password attempts",
)


def test_the_id_depends_only_on_detector_key_and_event() -> None:
    a = Alert.from_finding(FINDING, ts=T0, event_id="evt_39")
    b = Alert.from_finding(FINDING, ts=T0 + 5, event_id="evt_39")
    c = Alert.from_finding(FINDING, ts=T0, event_id="evt_38")
    assert a.id == b.id != c.id
    assert a.id.startswith("alt_")


def test_event_ids_are_bounded_and_keep_the_trigger() -> None:
    alert = Alert.from_finding(FINDING, ts=T0, event_id="evt_trigger")
    assert len(alert.event_ids) == 25
    assert alert.event_ids[-1] == "evt_trigger"


def test_the_json_form_has_what_replay_promises() -> None:
    data = Alert.from_finding(FINDING, ts=T0 + 0.5, event_id="evt_39").to_dict()
    assert data["time"] == "2026-01-01T00:00:00.500Z"
    assert {"id", "event_id", "event_ids", "detector", "severity", "explanation", "state"} <= set(
        data
    )
    assert "ts" not in data
    assert data["state"] == "open"


def test_transitions_are_audited_and_resolved_is_final() -> None:
    audit = MemoryAudit()
    book = AlertBook(audit)
    alert = Alert.from_finding(FINDING, ts=T0, event_id="evt_39")
    book.add(alert)
    assert book.acknowledge(alert.id, actor="usr_admin").state == "acknowledged"
    assert book.resolve(alert.id, actor="usr_admin", note="user confirmed").state == "resolved"
    assert [r.action for r in audit.records] == ["alert.acknowledged", "alert.resolved"]
    assert audit.records[1].reason == "user confirmed"
    with pytest.raises(Conflict):
        book.acknowledge(alert.id, actor="usr_admin")
    assert book.list(state="resolved") == [book.get(alert.id)]


def test_unknown_alerts_and_capacity() -> None:
    book = AlertBook(MemoryAudit(), store=MemoryAlerts(capacity=3))
    with pytest.raises(NotFound):
        book.get("alt_missing")
    for i in range(5):
        book.add(Alert.from_finding(FINDING, ts=T0, event_id=f"evt_{i}"))
    assert len(book.list()) == 3
