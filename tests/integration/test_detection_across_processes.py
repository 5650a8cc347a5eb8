"""Detection across processes on SQLite and PostgreSQL: each process's engine reads the
events the others stored, and a claim in the shared store makes one of them raise an
incident's alert and run its playbook."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.support.concurrency import race, two_processes
from tests.support.events import denied_access
from tests.support.identity import make_user
from zerotrust.core.auditing import AuditRecord, MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.events import SecurityEvent
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings
from zerotrust.store.alerts_repo import CLAIM_RETENTION_S, SqlAlertClaims, detection_claims
from zerotrust.store.database import Database
from zerotrust.store.events_repo import SqlEventSink
from zerotrust.store.migrations import applied_versions, migrate


def _denied(clock: FixedClock, i: int) -> SecurityEvent:
    return denied_access(clock.now() + i, i)


def test_a_process_reads_the_others_events_in_order_and_its_own_as_numbers(
    services: Services, clock: FixedClock
) -> None:
    mine, theirs = SqlEventSink(services.db, origin="a"), SqlEventSink(services.db, origin="b")
    start = mine.last_seq()
    events = [_denied(clock, i) for i in range(5)]
    for i, event in enumerate(events):
        (mine if i % 2 else theirs).emit(event)
    rows = mine.others_after(start, (), limit=10)
    seqs = [seq for seq, _ in rows]
    assert len(seqs) == 5
    assert seqs == sorted(seqs)
    assert seqs[0] > start
    assert [body and body["resource"] for _, body in rows] == [
        "cus_0",
        None,
        "cus_2",
        None,
        "cus_4",
    ]
    assert rows[0][1] == events[0].to_dict()  # the JSON as stored, decoded
    assert mine.others_after(start, (), limit=2) == rows[:2]
    # Numbers asked for again (gaps) come back with the newer ones, in order.
    again = mine.others_after(seqs[3], (seqs[0], seqs[2]), limit=10)
    assert [seq for seq, _ in again] == [seqs[0], seqs[2], seqs[4]]
    assert mine.last_seq() == seqs[4]


def test_an_event_stored_by_a_process_before_origins_is_anothers(services: Services) -> None:
    legacy = SqlEventSink(services.db)  # no origin: as rows stored before the column
    legacy.emit(SecurityEvent.at(1.0, kind="access", principal="p", outcome="allowed"))
    [(_, body)] = SqlEventSink(services.db, origin="a").others_after(
        legacy.last_seq() - 1, (), limit=10
    )
    assert body is not None


def test_the_first_claim_wins_until_it_ends(services: Services) -> None:
    claims = SqlAlertClaims(services.db)
    t = 1_800_000_000.0
    assert claims.claim("brute_force", "bob", now=t, until=t + 3600, alert_id="alt_1")
    assert not claims.claim("brute_force", "bob", now=t + 5, until=t + 3605, alert_id="alt_2")
    assert claims.claim("brute_force", "eve", now=t + 5, until=t + 3605, alert_id="alt_3")
    assert claims.claim("mfa_fatigue", "bob", now=t + 5, until=t + 3605, alert_id="alt_4")
    assert claims.claim("brute_force", "bob", now=t + 3600, until=t + 7200, alert_id="alt_5")


def test_of_many_processes_claiming_at_once_one_wins(services: Services) -> None:
    barrier = threading.Barrier(6)
    won: list[bool] = []

    def claim(db: Database, _: int) -> None:
        barrier.wait()
        won.append(SqlAlertClaims(db).claim("b", "k", now=1.0, until=100.0, alert_id="a"))

    race(services.settings.effective_database_url, 6, claim)
    assert sorted(won) == [False] * 5 + [True]


def test_claims_long_over_are_deleted(services: Services) -> None:
    claims = SqlAlertClaims(services.db)
    claims.claim("b", "old", now=0.0, until=10.0, alert_id="a")
    claims.claim("b", "new", now=0.0, until=CLAIM_RETENTION_S + 50, alert_id="a")
    assert claims.prune(CLAIM_RETENTION_S + 20) == 1
    with services.db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(detection_claims)).scalar() == 1


def test_an_older_database_gains_origins_and_claims(services: Services) -> None:
    db = services.db
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE detection_claims"))
        conn.execute(sa.text("ALTER TABLE security_events DROP COLUMN origin"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 3"))
    assert 3 not in applied_versions(db)
    assert migrate(db, now=0.0) == [3]
    assert migrate(db, now=0.0) == []
    with db.engine.connect() as conn:
        columns = {c["name"] for c in sa.inspect(conn).get_columns("security_events")}
        assert "origin" in columns
        assert sa.inspect(conn).has_table("detection_claims")


@pytest.fixture
def replicas(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing
) -> Iterator[tuple[Services, Services]]:
    """Two processes over one database (two gateway replicas), with the default playbooks."""
    defaults = dataclasses.replace(settings, detect_config="")
    with two_processes(
        lambda: build_services(defaults, clock=clock, hashing=fast_hashing, audit=MemoryAudit())
    ) as pair:
        yield pair


def _responses(*processes: Services) -> list[AuditRecord]:
    return [
        r
        for svc in processes
        if isinstance(svc.audit, MemoryAudit)
        for r in svc.audit.records
        if r.action.startswith("detect.")
    ]


def test_a_probe_split_between_two_replicas_raises_one_alert_and_one_response(
    replicas: tuple[Services, Services], clock: FixedClock
) -> None:
    first, second = replicas
    make_user(first, "mallory")
    for i in range(10):  # ten denials make an alert; each replica serves five
        (first if i % 2 else second).events.emit(_denied(clock, i))
    assert first.alerts.list() == []
    assert _responses(first, second) == []
    second.maintain()  # the upkeep every process runs every 2 s
    first.maintain()
    [alert] = first.alerts.list()
    assert (alert.detector, alert.principal) == ("privilege_probing", "mallory")
    assert second.detection.stats.alerts["privilege_probing"] == 1
    assert first.detection.stats.already_claimed == 1  # it saw the incident too
    # One playbook run (step-up, alert; medium severity revokes nothing), by one process.
    assert sorted(r.action for r in _responses(first, second)) == [
        "detect.alert",
        "detect.require_step_up",
    ]
    # Both replicas weigh it: the raiser at once, the other from the stored alert.
    now = clock.now() + 10
    assert first.detection.risk.score("mallory", now) == second.detection.risk.score("mallory", now)
    assert first.detection.risk.score("mallory", now).score > 0


def test_signing_in_before_enrolling_is_no_replay_once_both_processes_meet(
    replicas: tuple[Services, Services], clock: FixedClock
) -> None:
    # The usual first day: sign in at the control plane (the key is no device yet),
    # enrol the key, then work through the gateway, which names the device. Each
    # process now sees the other's events; neither may take this for a copied token.
    control, gateway = replicas
    base = {"principal": "ana", "principal_roles": ("fraud_analyst",), "src_ip": "192.0.2.10"}
    control.events.emit(
        SecurityEvent.at(
            clock.now(), kind="auth.mfa", outcome="success", session_id="ses_1", **base
        )
    )
    for i in range(3):
        gateway.events.emit(
            SecurityEvent.at(
                clock.now() + 60 + i,
                kind="access",
                outcome="allowed",
                session_id="ses_1",
                device_id="dev_ana",
                action="read",
                resource_type="transaction",
                resource=f"tx_{i}",
                **base,
            )
        )
    gateway.maintain()
    control.maintain()
    assert control.alerts.list() == []
    assert gateway.detection.stats.events == control.detection.stats.events == 4
