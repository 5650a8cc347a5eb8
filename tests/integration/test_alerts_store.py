"""Alerts in the database: every process sees the same alerts, and a state change wins
once."""

from __future__ import annotations

import pytest

from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import Conflict
from zerotrust.detect.alerts import Alert, AlertBook, Finding
from zerotrust.service import Services
from zerotrust.store.alerts_repo import SqlAlerts

FINDING = Finding(
    detector="privilege_probing",
    severity="high",
    key="usr_1",
    principal="mallory",
    event_ids=("evt_1", "evt_2"),
    explanation="4 denials in 10 min",
    src_ip="203.0.113.9",
    sources=("203.0.113.9",),
)


def test_an_alert_raised_in_one_process_is_seen_and_resolved_from_another(
    services: Services,
) -> None:
    # Two books over one database: the gateway's and the control plane's.
    gateway = AlertBook(MemoryAudit(), store=SqlAlerts(services.db))
    control = AlertBook(MemoryAudit(), store=SqlAlerts(services.db))
    alert = Alert.from_finding(FINDING, ts=1_800_000_000.5, event_id="evt_3")
    gateway.add(alert)
    gateway.add(alert)  # the same alert twice (a replay): stored once
    [seen] = control.list(state="open")
    assert seen == alert
    assert control.get(alert.id).sources == ("203.0.113.9",)
    assert control.acknowledge(alert.id, actor="ada").state == "acknowledged"
    assert gateway.get(alert.id).state == "acknowledged"
    assert control.resolve(alert.id, actor="ada", note="handled").state == "resolved"
    with pytest.raises(Conflict):
        gateway.resolve(alert.id, actor="chloe")
    assert control.list(state="open") == []


def test_a_state_change_is_conditional_on_the_state_read(services: Services) -> None:
    store = SqlAlerts(services.db)
    alert = Alert.from_finding(FINDING, ts=1_800_000_000.0, event_id="evt_9")
    store.put(alert)
    assert store.set_state(alert.id, was="open", to="resolved")
    assert not store.set_state(alert.id, was="open", to="acknowledged")  # lost the race
    assert store.get(alert.id).state == "resolved"  # type: ignore[union-attr]
    assert store.get("alt_missing") is None


def test_the_services_alert_book_is_the_database(services: Services) -> None:
    alert = Alert.from_finding(FINDING, ts=1_800_000_001.0, event_id="evt_5")
    services.alerts.add(alert)
    assert SqlAlerts(services.db).get(alert.id) == alert
