"""The SQL audit store on SQLite and PostgreSQL: the protocol, atomic group commits,
several writers on one database, and fail-closed appends."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from tests.support.pg import audit_db_url, audit_pg_database  # noqa: F401 - fixtures
from zerotrust.audit import merkle
from zerotrust.audit.checkpoint import NoteSigner
from zerotrust.audit.interfaces import CheckpointRow, EntryFilter
from zerotrust.audit.log import AuditLog, AuditWriteFailed
from zerotrust.audit.verify import verify_log
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import IntegrityError
from zerotrust.crypto.signing import SigningKey
from zerotrust.store.audit_log import SqlAuditStore, audit_entries, audit_nodes
from zerotrust.store.database import Database


@pytest.fixture
def db(audit_db_url: str) -> Iterator[Database]:  # noqa: F811
    database = Database(audit_db_url)
    yield database
    database.dispose()


@pytest.fixture
def store(db: Database) -> SqlAuditStore:
    return SqlAuditStore(db)


def rec(i: int, **kw: object) -> AuditRecord:
    fields: dict[str, object] = {
        "action": "auth.login",
        "actor": f"usr_{i % 7}",
        "outcome": "success" if i % 3 else "failure",
    }
    fields.update(kw)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def test_append_and_read_back(store: SqlAuditStore) -> None:
    clock = FixedClock()
    log = AuditLog(store, clock=clock)
    assert log.append_many([rec(i) for i in range(600)]) == list(range(600))
    head = store.head()
    assert head.size == 600
    hashes = store.leaf_hashes(0, 600)
    assert merkle.CompactRange(600, head.frontier).root() == merkle.root_of(hashes)
    assert len(store.node_hashes(8, 0, 2)) == 2
    assert [len(b) for b in store.scan(batch_size=250)] == [250, 250, 100]
    assert [len(b) for b in store.scan_nodes(8, batch_size=1)] == [1, 1]
    row = store.get(5)
    assert row is not None
    assert row.entry.startswith(b'{"v":1,"seq":5,')
    assert store.get(600) is None


def test_reads_that_cross_a_gap_raise(store: SqlAuditStore, db: Database) -> None:
    AuditLog(store, clock=FixedClock()).append_many([rec(i) for i in range(10)])
    with db.begin() as conn:
        conn.execute(audit_entries.delete().where(audit_entries.c.seq == 4))
    with pytest.raises(IntegrityError):
        store.leaf_hashes(0, 10)
    with pytest.raises(IntegrityError):
        store.node_hashes(8, 0, 1)


def test_query_filters(store: SqlAuditStore, db: Database) -> None:
    clock = FixedClock(1000.0)
    log = AuditLog(store, clock=clock)
    for i in range(20):
        log.append(rec(i, action="role.grant" if i % 2 else "auth.login"))
        clock.advance(10)
    got = store.query(EntryFilter(actor="usr_1", action="auth.*"), limit=10)
    assert [r.seq for r in got] == [8]
    got = store.query(EntryFilter(outcome="failure", since=1030.0, until=1120.0), limit=10)
    assert [r.seq for r in got] == [3, 6, 9]
    assert [r.seq for r in store.query(EntryFilter(after_seq=17), limit=10)] == [18, 19]
    assert [r.seq for r in store.query(EntryFilter(action="role.grant"), limit=2)] == [1, 3]
    # LIKE metacharacters in the prefix are literal.
    assert store.query(EntryFilter(action="%"), limit=5) == []
    assert store.query(EntryFilter(action="auth_*"), limit=5) == []


def test_checkpoints_are_stored_and_the_largest_is_latest(store: SqlAuditStore) -> None:
    assert store.latest_checkpoint() is None
    for size, note in [(5, "a"), (9, "b"), (9, "c"), (7, "d")]:
        store.save_checkpoint(CheckpointRow(size, bytes(32), 1.0, note))
    latest = store.latest_checkpoint()
    assert latest is not None
    assert (latest.size, latest.note) == (9, "c")


def test_a_batch_commits_entries_nodes_and_head_together(
    store: SqlAuditStore, db: Database
) -> None:
    log = AuditLog(store, clock=FixedClock())
    log.append_many([rec(i) for i in range(200)])
    # A conflicting node makes the batch that would complete node (8, 0) fail mid-way.
    with db.begin() as conn:
        conn.execute(audit_nodes.insert().values(level=8, idx=0, hash=bytes(32)))
    with pytest.raises(AuditWriteFailed):
        log.append_many([rec(i) for i in range(100)])
    assert store.head().size == 200
    with db.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_entries)).scalar() == 200
    with db.begin() as conn:
        conn.execute(audit_nodes.delete())
    assert log.append(rec(0)) == 200


def test_appends_fail_closed_when_the_table_is_gone(store: SqlAuditStore, db: Database) -> None:
    log = AuditLog(store, clock=FixedClock())
    log.append(rec(0))
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE audit_entries"))
    with pytest.raises(AuditWriteFailed):
        log.append(rec(1))
    assert store.head().size == 1


def test_several_writers_share_one_sequence(audit_db_url: str) -> None:  # noqa: F811
    # Each writer has its own engine and AuditLog, like separate gateway replicas.
    databases = [Database(audit_db_url) for _ in range(4)]
    SqlAuditStore(databases[0])
    logs = [AuditLog(SqlAuditStore(d), clock=FixedClock()) for d in databases]
    seqs: list[int] = []
    lock = threading.Lock()

    def write(log: AuditLog, k: int) -> None:
        for i in range(25):
            got = log.append_many([rec(k * 1000 + i), rec(k * 1000 + i + 500)])
            with lock:
                seqs.extend(got)

    threads = [threading.Thread(target=write, args=(log, k)) for k, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(seqs) == list(range(200))
    signer = NoteSigner(SigningKey.generate("EdDSA"))
    note = AuditLog(SqlAuditStore(databases[0]), clock=FixedClock(), signer=signer).checkpoint()
    result = verify_log(SqlAuditStore(databases[0]), [signer.verifier().open(note.note)])
    assert result.size == 200
    for d in databases:
        d.dispose()


def test_proofs_over_sql(store: SqlAuditStore) -> None:
    log = AuditLog(store, clock=FixedClock())
    log.append_many([rec(i) for i in range(1000)])
    for seq in (0, 255, 256, 999):
        log.inclusion_proof(seq).verify()
    log.consistency_proof(300, 1000).verify()


def test_create_tables_is_idempotent(db: Database) -> None:
    SqlAuditStore(db)
    SqlAuditStore(db).create_tables()
    assert SqlAuditStore(db).head().size == 0
