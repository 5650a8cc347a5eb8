"""Alerts in the database: every process sees the same alerts, a state change wins
once, and every process's risk scores count every process's alerts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.identity import make_user, phished_password
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import Conflict
from zerotrust.detect.alerts import Alert, AlertBook, Finding
from zerotrust.detect.risk import Risk
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings
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


def test_alerts_are_read_after_a_point_in_time_and_id_order(services: Services) -> None:
    store = SqlAlerts(services.db)
    stored = [
        Alert.from_finding(replace(FINDING, key=f"k{i}"), ts=1_800_000_000.0 + i // 2, event_id="e")
        for i in range(5)
    ]  # two alerts at each of the first two times: ties are ordered by id
    for alert in reversed(stored):
        store.put(alert)
    store.set_state(stored[4].id, was="open", to="resolved")  # every state counts
    order = sorted(stored, key=lambda a: (a.ts, a.id))
    assert [a.id for a in store.after(0.0, "", limit=10)] == [a.id for a in order]
    page = store.after(0.0, "", limit=3)
    rest = store.after(page[-1].ts, page[-1].id, limit=10)
    assert [a.id for a in page + rest] == [a.id for a in order]
    assert store.after(order[-1].ts, order[-1].id, limit=10) == []


def test_a_sign_in_alert_at_the_control_plane_weighs_on_the_gateways_risk(
    settings: Settings, services: Services, clock: FixedClock, fast_hashing: PasswordHashing
) -> None:
    def process() -> Services:  # another process over the same database
        return build_services(settings, clock=clock, hashing=fast_hashing, audit=MemoryAudit())

    control, gateway = services, process()
    try:
        phished_password(control, make_user(control, "bob"), clock)
        now = clock.now()
        assert control.detection.risk.score("bob", now) == Risk(45, "medium")
        assert gateway.detection.risk.score("bob", now) == Risk(0, "low")  # not read yet
        gateway.maintain()  # the upkeep every replica runs every 2 s
        assert gateway.detection.risk.score("bob", now) == Risk(45, "medium")
        control.maintain()  # its own alert, read back from the store: counted once
        gateway.maintain()
        assert control.detection.risk.score("bob", now) == Risk(45, "medium")
        assert gateway.detection.risk.score("bob", now) == Risk(45, "medium")
        started = process()  # a replica started now decides with the risk that weighs
        try:
            assert started.detection.risk.score("bob", now) == Risk(45, "medium")
        finally:
            started.close()
    finally:
        gateway.close()
