"""SQL storage for the audit log (``zerotrust.audit.interfaces.AuditStore``).

Four tables: ``audit_entries`` (canonical entry bytes, leaf hash, and indexed copies of
the fields reads filter on), ``audit_nodes`` (perfect subtree hashes at every eighth
level, so proofs over a million entries are a few range reads), ``audit_head`` (one row:
size and compact range, the serialisation point appenders lock) and
``audit_checkpoints`` (signed tree heads as issued). Nothing here is trusted by the
verifier; the tables only have to be atomic and serialised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from zerotrust.audit.interfaces import (
    AppendPlan,
    CheckpointRow,
    EntryFilter,
    EntryRow,
    NodeRow,
    TreeHead,
)
from zerotrust.audit.merkle import HASH_SIZE
from zerotrust.core.errors import IntegrityError, StoreUnavailable
from zerotrust.store.database import Database
from zerotrust.store.schema import metadata

T = TypeVar("T")
_SEQ = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite: a rowid alias

audit_entries = sa.Table(
    "audit_entries",
    metadata,
    sa.Column("seq", _SEQ, primary_key=True, autoincrement=False),
    sa.Column("ts", sa.Float, nullable=False),
    sa.Column("action", sa.String(256), nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("outcome", sa.String(256), nullable=False),
    sa.Column("entry", sa.LargeBinary, nullable=False),
    sa.Column("leaf_hash", sa.LargeBinary(HASH_SIZE), nullable=False),
)
sa.Index("ix_audit_entries_actor", audit_entries.c.actor, audit_entries.c.seq)
sa.Index("ix_audit_entries_ts", audit_entries.c.ts)

audit_nodes = sa.Table(
    "audit_nodes",
    metadata,
    sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.LargeBinary(HASH_SIZE), nullable=False),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("frontier", sa.LargeBinary, nullable=False),  # concatenated 32-byte hashes
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("root", sa.LargeBinary(HASH_SIZE), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
)
sa.Index("ix_audit_checkpoints_size", audit_checkpoints.c.size)

TABLES = (audit_entries, audit_nodes, audit_head, audit_checkpoints)
_ENTRY_COLUMNS = tuple(audit_entries.c)
_HEAD_ID = 1


def _entry(row: Sequence[Any]) -> EntryRow:
    seq, ts, action, actor, outcome, entry, leaf = row
    return EntryRow(seq, ts, action, actor, outcome, bytes(entry), bytes(leaf))


def _complete(hashes: list[bytes], want: int, what: str) -> list[bytes]:
    # A gap means rows were deleted: proofs must not be built around it.
    if len(hashes) != max(want, 0):
        raise IntegrityError(f"Audit {what} are missing from the requested range.")
    return hashes


def _frontier(blob: bytes) -> tuple[bytes, ...]:
    return tuple(blob[i : i + HASH_SIZE] for i in range(0, len(blob), HASH_SIZE))


@functools.cache
def _insert_sql(table: sa.Table) -> str:
    names = ", ".join(c.name for c in table.c)
    marks = ", ".join(["?"] * len(table.c))
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - constants


_SELECT_HEAD_SQL = "SELECT size, frontier FROM audit_head WHERE id = ?"
_UPDATE_HEAD_SQL = "UPDATE audit_head SET size = ?, frontier = ? WHERE id = ?"


# Built once: statement construction is a large share of a small transaction's cost.
_SELECT_HEAD = sa.select(audit_head.c.size, audit_head.c.frontier).where(
    audit_head.c.id == _HEAD_ID
)


class SqlAuditStore:
    """``AuditStore`` on SQLite or PostgreSQL through SQLAlchemy Core."""

    def __init__(self, db: Database, *, create: bool = True) -> None:
        self.db = db
        if create:
            self.create_tables()

    def create_tables(self) -> None:
        """Create the audit tables and the head row if missing (idempotent)."""
        try:
            metadata.create_all(self.db.engine, tables=list(TABLES), checkfirst=True)
            self.db.run(self._ensure_head)
        except sa.exc.IntegrityError:
            pass  # another process created the head row first
        except SQLAlchemyError as exc:
            raise StoreUnavailable() from exc

    def _ensure_head(self, conn: Connection) -> None:
        if conn.execute(sa.select(audit_head.c.id)).first() is None:
            conn.execute(audit_head.insert().values(id=_HEAD_ID, size=0, frontier=b""))

    def _write(self, fn: Callable[[Connection], T]) -> T:
        try:
            return self.db.run(fn)
        except SQLAlchemyError as exc:
            raise StoreUnavailable() from exc

    def _read(self, fn: Callable[[Connection], T]) -> T:
        try:
            with self.db.engine.connect() as conn:
                return fn(conn)
        except SQLAlchemyError as exc:
            raise StoreUnavailable() from exc

    # --- writing ------------------------------------------------------------------

    def append(self, plan: Callable[[TreeHead], AppendPlan]) -> AppendPlan:
        # Every gateway decision lands here: the driver connection and constant
        # statements (SQLAlchemy's per-statement work would cost more than the hashing).
        lock = _SELECT_HEAD_SQL if self.db.is_sqlite else _SELECT_HEAD_SQL + " FOR UPDATE"
        with self.db.driver(write=True) as conn:
            row = conn.execute(lock, (_HEAD_ID,)).fetchone()
            if row is None:
                raise IntegrityError("The audit log head is missing.")
            result = plan(TreeHead(row[0], _frontier(bytes(row[1]))))
            if result.entries:
                conn.executemany(_insert_sql(audit_entries), result.entries)
            if result.nodes:
                conn.executemany(_insert_sql(audit_nodes), result.nodes)
            conn.execute(
                _UPDATE_HEAD_SQL, (result.head.size, b"".join(result.head.frontier), _HEAD_ID)
            )
        return result

    def save_checkpoint(self, checkpoint: CheckpointRow) -> None:
        self._write(
            lambda conn: conn.execute(
                audit_checkpoints.insert().values(
                    size=checkpoint.size,
                    root=checkpoint.root,
                    time=checkpoint.time,
                    note=checkpoint.note,
                )
            )
        )

    # --- reading ------------------------------------------------------------------

    def head(self) -> TreeHead:
        row = self._read(lambda conn: conn.execute(_SELECT_HEAD).first())
        if row is None:
            raise IntegrityError("The audit log head is missing.")
        return TreeHead(row.size, _frontier(bytes(row.frontier)))

    def leaf_hashes(self, start: int, end: int) -> list[bytes]:
        c = audit_entries.c
        stmt = sa.select(c.leaf_hash).where(c.seq >= start, c.seq < end).order_by(c.seq)
        return _complete(self._hashes(stmt), end - start, "entries")

    def node_hashes(self, level: int, start: int, end: int) -> list[bytes]:
        c = audit_nodes.c
        stmt = (
            sa.select(c.hash).where(c.level == level, c.idx >= start, c.idx < end).order_by(c.idx)
        )
        return _complete(self._hashes(stmt), end - start, "tree nodes")

    def _hashes(self, stmt: sa.Select[Any]) -> list[bytes]:
        return self._read(lambda conn: [bytes(h) for h in conn.execute(stmt).scalars()])

    def scan(self, *, start: int = 0, batch_size: int = 5000) -> Iterator[Sequence[EntryRow]]:
        c = audit_entries.c
        while True:
            stmt = sa.select(*_ENTRY_COLUMNS).where(c.seq >= start).order_by(c.seq)
            rows = self._rows(stmt.limit(batch_size))
            if not rows:
                return
            yield rows
            start = rows[-1].seq + 1

    def scan_nodes(
        self, level: int, *, start: int = 0, batch_size: int = 5000
    ) -> Iterator[Sequence[NodeRow]]:
        c = audit_nodes.c
        while True:
            stmt = (
                sa.select(c.level, c.idx, c.hash)
                .where(c.level == level, c.idx >= start)
                .order_by(c.idx)
                .limit(batch_size)
            )
            rows = self._nodes(stmt)
            if not rows:
                return
            yield rows
            start = rows[-1].idx + 1

    def _nodes(self, stmt: sa.Select[Any]) -> list[NodeRow]:
        return self._read(
            lambda conn: [NodeRow(lv, ix, bytes(h)) for lv, ix, h in conn.execute(stmt)]
        )

    def _rows(self, stmt: sa.Select[Any]) -> list[EntryRow]:
        return self._read(lambda conn: [_entry(r) for r in conn.execute(stmt)])

    def query(self, where: EntryFilter, *, limit: int) -> Sequence[EntryRow]:
        c = audit_entries.c
        stmt = sa.select(*_ENTRY_COLUMNS).order_by(c.seq).limit(limit)
        if where.actor is not None:
            stmt = stmt.where(c.actor == where.actor)
        if where.action is not None:
            prefix = where.action.rstrip("*")
            if where.action.endswith(("*", ".")):
                stmt = stmt.where(c.action.startswith(prefix, autoescape=True))
            else:
                stmt = stmt.where(c.action == where.action)
        if where.outcome is not None:
            stmt = stmt.where(c.outcome == where.outcome)
        if where.since is not None:
            stmt = stmt.where(c.ts >= where.since)
        if where.until is not None:
            stmt = stmt.where(c.ts < where.until)
        if where.after_seq is not None:
            stmt = stmt.where(c.seq > where.after_seq)
        return self._rows(stmt)

    def get(self, seq: int) -> EntryRow | None:
        c = audit_entries.c
        row = self._read(
            lambda conn: conn.execute(sa.select(*_ENTRY_COLUMNS).where(c.seq == seq)).first()
        )
        return _entry(row) if row is not None else None

    def latest_checkpoint(self) -> CheckpointRow | None:
        c = audit_checkpoints.c
        row = self._read(
            lambda conn: conn.execute(
                sa.select(c.size, c.root, c.time, c.note)
                .order_by(c.size.desc(), c.id.desc())
                .limit(1)
            ).first()
        )
        if row is None:
            return None
        return CheckpointRow(row.size, bytes(row.root), row.time, row.note)
