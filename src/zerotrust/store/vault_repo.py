"""SQL repositories for the vault (implement ``zerotrust.vault.interfaces``).

Key counters are reserved under a row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite
write transactions take the database lock at ``BEGIN IMMEDIATE``), so two processes can
never both be granted the last uses of a key. A data key references its KEK version by
foreign key: no data key can be written under a deleted version, and no referenced
version can be deleted. Erasing a subject overwrites its wrapped keys; on SQLite with
``secure_delete`` and a WAL checkpoint, so the bytes leave the files too.
"""

from __future__ import annotations

import base64
import json
from binascii import b2a_base64
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from zerotrust.core.errors import Conflict
from zerotrust.store.database import Database
from zerotrust.store.schema import metadata
from zerotrust.vault.errors import KeyInUse
from zerotrust.vault.models import (
    DataKeyRecord,
    Destruction,
    IndexEntry,
    KekRecord,
    Rewrapped,
    StoredRecord,
)

_ROW_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")

vault_keks = sa.Table(
    "vault_keks",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),  # sealed by the root key
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("uses", sa.BigInteger, nullable=False),
    sa.Column("retired_at", sa.Float),
)

vault_data_keys = sa.Table(
    "vault_data_keys",
    metadata,
    sa.Column("id", _ROW_ID, primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("subject_id", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("kek_version", sa.Integer, sa.ForeignKey("vault_keks.version")),  # NULL: destroyed
    sa.Column("wrapped", sa.LargeBinary),  # NULL once destroyed
    sa.Column("uses", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("destroyed_at", sa.Float),
    sa.UniqueConstraint("tenant", "subject_id", "version", name="uq_vault_data_keys_version"),
)
sa.Index("ix_vault_data_keys_kek", vault_data_keys.c.kek_version)

vault_records = sa.Table(
    "vault_records",
    metadata,
    sa.Column("tenant", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subject_id", sa.String(128), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("fields", sa.JSON, nullable=False),  # {field: base64 envelope}, no plaintext
)
sa.Index(
    "ix_vault_records_subject",
    vault_records.c.tenant,
    vault_records.c.subject_id,
    vault_records.c.kind,
)

vault_blind_index = sa.Table(
    "vault_blind_index",
    metadata,
    sa.Column("tenant", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("field", sa.String(64), primary_key=True),
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("record_id", sa.String(64), primary_key=True),
    sa.Column("subject_id", sa.String(128), nullable=False),
)
sa.Index("ix_vault_blind_index_subject", vault_blind_index.c.tenant, vault_blind_index.c.subject_id)

TABLES = (vault_keks, vault_data_keys, vault_records, vault_blind_index)

# Statements on a subject's data keys, built once (parameters named ``b_*``).
_dk = vault_data_keys.c
_OF_SUBJECT = sa.and_(
    _dk.tenant == sa.bindparam("b_tenant"), _dk.subject_id == sa.bindparam("b_subject")
)
_SUBJECT_KEYS = sa.select(vault_data_keys).where(_OF_SUBJECT).order_by(_dk.version)
_SUBJECT_ERASED = sa.select(_dk.id).where(_OF_SUBJECT, _dk.destroyed_at.is_not(None))
_INSERT_DATA_KEY = vault_data_keys.insert()
_LIVE_VERSION = sa.and_(
    _OF_SUBJECT, _dk.version == sa.bindparam("b_version"), _dk.destroyed_at.is_(None)
)
_KEY_USES = sa.select(_dk.uses).where(_LIVE_VERSION)
_KEY_USES_LOCKED = _KEY_USES.with_for_update()
_ADD_KEY_USES = (
    vault_data_keys.update()
    .where(_LIVE_VERSION)
    .values(uses=_dk.uses + sa.bindparam("b_granted", type_=sa.BigInteger))
)
_ONE_RECORD = sa.select(vault_records).where(
    vault_records.c.tenant == sa.bindparam("b_tenant"),
    vault_records.c.kind == sa.bindparam("b_kind"),
    vault_records.c.id == sa.bindparam("b_id"),
)


def create_tables(db: Database) -> None:
    """Create the vault's tables if missing (idempotent; migrations do the same)."""
    with db.begin() as conn:
        metadata.create_all(conn, tables=list(TABLES), checkfirst=True)


def _locked(db: Database, stmt: sa.Select[Any]) -> sa.Select[Any]:
    # SQLite has no row locks; its write transactions already hold the database lock.
    return stmt if db.is_sqlite else stmt.with_for_update()


def _kek(r: Row[Any]) -> KekRecord:
    return KekRecord(r.version, bytes(r.wrapped), r.created_at, r.uses, r.retired_at)


def _data_key(r: Row[Any]) -> DataKeyRecord:
    return DataKeyRecord(
        tenant=r.tenant,
        subject_id=r.subject_id,
        version=r.version,
        kek_version=r.kek_version,
        wrapped=None if r.wrapped is None else bytes(r.wrapped),
        created_at=r.created_at,
        usage=r.uses,
        destroyed_at=r.destroyed_at,
        row_id=r.id,
    )


def _reserve(
    conn: Connection, db: Database, table: sa.Table, where: Any, uses: int, limit: int
) -> int:
    row = conn.execute(_locked(db, sa.select(table.c.uses).where(where))).first()
    if row is None:
        return 0
    granted = max(0, min(uses, limit - int(row.uses)))
    if granted:
        conn.execute(table.update().where(where).values(uses=table.c.uses + granted))
    return granted


class SqlVaultKeys:
    """``KeyRepo`` over ``vault_keks`` and ``vault_data_keys``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def keks(self) -> Sequence[KekRecord]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(sa.select(vault_keks).order_by(vault_keks.c.version)).all()
        return [_kek(r) for r in rows]

    def add_kek(self, kek: KekRecord) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                vault_keks.insert().values(
                    version=kek.version,
                    wrapped=kek.wrapped,
                    created_at=kek.created_at,
                    uses=kek.usage,
                    retired_at=None,
                )
            )
            conn.execute(
                vault_keks.update()
                .where(vault_keks.c.version < kek.version, vault_keks.c.retired_at.is_(None))
                .values(retired_at=kek.created_at)
            )

        try:
            self.db.run(tx)
        except SAIntegrityError:
            raise Conflict("The key version exists.") from None

    def delete_kek(self, version: int) -> None:
        def tx(conn: Connection) -> None:
            refs = conn.execute(
                sa.select(sa.func.count())
                .select_from(vault_data_keys)
                .where(vault_data_keys.c.kek_version == version)
            ).scalar_one()
            if refs:
                raise KeyInUse(f"Key version {version} still wraps {refs} data keys.")
            conn.execute(vault_keks.delete().where(vault_keks.c.version == version))

        try:
            self.db.run(tx)
        except SAIntegrityError:  # a data key was written under it meanwhile
            raise KeyInUse(f"Key version {version} is still referenced.") from None

    def reserve_kek(self, version: int, uses: int, *, limit: int) -> int:
        where = vault_keks.c.version == version
        return self.db.run(lambda c: _reserve(c, self.db, vault_keks, where, uses, limit))

    def kek_references(self) -> Mapping[int, int]:
        c = vault_data_keys.c
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.kek_version, sa.func.count())
                .where(c.kek_version.is_not(None))
                .group_by(c.kek_version)
            ).all()
        return {int(r[0]): int(r[1]) for r in rows}

    def data_keys(self, tenant: str, subject_id: str) -> Sequence[DataKeyRecord]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(_SUBJECT_KEYS, {"b_tenant": tenant, "b_subject": subject_id})
            return [_data_key(r) for r in rows.all()]

    def add_data_key(self, key: DataKeyRecord) -> None:
        subject = {"b_tenant": key.tenant, "b_subject": key.subject_id}

        def tx(conn: Connection) -> None:
            if conn.execute(_SUBJECT_ERASED, subject).first() is not None:
                raise Conflict("The subject was erased.")
            conn.execute(
                _INSERT_DATA_KEY,
                {
                    "tenant": key.tenant,
                    "subject_id": key.subject_id,
                    "version": key.version,
                    "kek_version": key.kek_version,
                    "wrapped": key.wrapped,
                    "uses": key.usage,
                    "created_at": key.created_at,
                    "destroyed_at": None,
                },
            )

        try:
            self.db.run(tx)
        except SAIntegrityError:
            raise Conflict("The data key version exists or its KEK is gone.") from None

    def reserve_data_key(
        self, tenant: str, subject_id: str, version: int, uses: int, *, limit: int
    ) -> int:
        # Like ``_reserve``, with statements built once: every new subject's first
        # encryption comes through here, so building them per call would show.
        key = {"b_tenant": tenant, "b_subject": subject_id, "b_version": version}
        read = _KEY_USES if self.db.is_sqlite else _KEY_USES_LOCKED

        def tx(conn: Connection) -> int:
            row = conn.execute(read, key).first()
            if row is None:
                return 0
            granted = max(0, min(uses, limit - int(row.uses)))
            if granted:
                conn.execute(_ADD_KEY_USES, {**key, "b_granted": granted})
            return granted

        return self.db.run(tx)

    def destroy_subject(self, tenant: str, subject_id: str, *, now: float) -> Destruction:
        c = vault_data_keys.c
        mine = sa.and_(c.tenant == tenant, c.subject_id == subject_id)

        def tx(conn: Connection) -> Destruction:
            if self.db.is_sqlite:
                # Freed and overwritten cells are zeroed, not left in the file's free space.
                conn.exec_driver_sql("PRAGMA secure_delete=ON")
            rows = conn.execute(_locked(self.db, sa.select(c.id, c.destroyed_at).where(mine))).all()
            live = [r.id for r in rows if r.destroyed_at is None]
            if live:
                conn.execute(
                    vault_data_keys.update()
                    .where(c.id.in_(live))
                    .values(wrapped=None, kek_version=None, destroyed_at=now)
                )
            elif not rows:  # never had a key: a tombstone keeps the subject erased
                conn.execute(
                    vault_data_keys.insert().values(
                        tenant=tenant,
                        subject_id=subject_id,
                        version=0,
                        kek_version=None,
                        wrapped=None,
                        uses=0,
                        created_at=now,
                        destroyed_at=now,
                    )
                )
            return Destruction(destroyed=len(live), already_erased=bool(rows) and not live)

        result = self.db.run(tx)
        if result.destroyed:
            self._checkpoint()
        return result

    def _checkpoint(self) -> None:
        """Fold the WAL into the database and truncate it, so no old page image survives."""
        if not self.db.is_sqlite:
            return
        try:
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        except DBAPIError:
            pass  # best effort: a busy reader delays it to the next automatic checkpoint

    def pending_rewrap(self, primary: int, *, after: int, limit: int) -> Sequence[DataKeyRecord]:
        c = vault_data_keys.c
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(vault_data_keys)
                .where(c.id > after, c.kek_version.is_not(None), c.kek_version != primary)
                .order_by(c.id)
                .limit(limit)
            ).all()
        return [_data_key(r) for r in rows]

    def count_pending(self, primary: int) -> int:
        c = vault_data_keys.c
        with self.db.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(vault_data_keys)
                    .where(c.kek_version.is_not(None), c.kek_version != primary)
                ).scalar_one()
            )

    def apply_rewrap(self, updates: Sequence[Rewrapped]) -> int:
        if not updates:
            return 0
        c = vault_data_keys.c
        stmt = (
            vault_data_keys.update()
            .where(c.id == sa.bindparam("b_id"), c.kek_version == sa.bindparam("b_old"))
            .values(wrapped=sa.bindparam("b_wrapped"), kek_version=sa.bindparam("b_new"))
        )
        params = [
            {"b_id": u.row_id, "b_old": u.old_kek, "b_new": u.new_kek, "b_wrapped": u.wrapped}
            for u in updates
        ]

        def tx(conn: Connection) -> int:
            result = conn.execute(stmt, params)
            sane = conn.dialect.supports_sane_multi_rowcount
            return int(result.rowcount) if sane and result.rowcount >= 0 else len(updates)

        try:
            return self.db.run(tx)
        except SAIntegrityError:
            raise Conflict("A key version was deleted during the rewrap.") from None


def _encode_fields(fields: Mapping[str, bytes]) -> dict[str, str]:
    # ``b2a_base64`` is what ``base64.b64encode`` calls, minus a wrapper per field.
    return {k: b2a_base64(v, newline=False).decode("ascii") for k, v in fields.items()}


def _index_rows(record: StoredRecord, index: Sequence[IndexEntry]) -> list[dict[str, str]]:
    return [
        {
            "tenant": record.tenant,
            "kind": record.kind,
            "field": e.field,
            "digest": e.digest,
            "record_id": record.record_id,
            "subject_id": record.subject_id,
        }
        for e in index
    ]


_RECORD_COLUMNS = ("tenant", "kind", "id", "subject_id", "created_at", "fields")
_INDEX_COLUMNS = ("tenant", "kind", "field", "digest", "record_id", "subject_id")


def _insert_sql(conn: Connection, table: sa.Table, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns)`` with the driver's positional placeholders."""
    dialect = conn.dialect
    if dialect.paramstyle not in ("qmark", "format", "pyformat"):
        raise NotImplementedError(f"paramstyle {dialect.paramstyle}")
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(table.c[name].name) for name in columns)
    marks = ", ".join(mark for _ in columns)
    # Only our own table and column names go into the text; values are parameters.
    return f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608


def _record(r: Row[Any]) -> StoredRecord:
    fields = {k: base64.b64decode(v) for k, v in dict(r.fields).items()}
    return StoredRecord(r.tenant, r.kind, r.id, r.subject_id, r.created_at, fields)


class SqlVaultRecords:
    """``RecordRepo`` over ``vault_records`` and ``vault_blind_index``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, record: StoredRecord, index: Sequence[IndexEntry]) -> None:
        def tx(conn: Connection) -> None:
            conn.execute(
                vault_records.insert().values(
                    tenant=record.tenant,
                    kind=record.kind,
                    id=record.record_id,
                    subject_id=record.subject_id,
                    created_at=record.created_at,
                    fields=_encode_fields(record.fields),
                )
            )
            if index:
                conn.execute(vault_blind_index.insert(), _index_rows(record, index))

        try:
            self.db.run(tx)
        except SAIntegrityError:
            raise Conflict("The record exists.") from None

    def add_many(self, records: Sequence[tuple[StoredRecord, Sequence[IndexEntry]]]) -> None:
        """One transaction, two ``executemany`` statements (records, then index entries).

        The rows go to the driver as tuples: SQLAlchemy's per-row parameter processing
        would cost about as much as SQLite's insert itself. ``fields`` is serialised as
        the ``JSON`` column type does it, so both paths store the same text.
        """
        if not records:
            return
        rows = [  # in the order of _RECORD_COLUMNS
            (
                r.tenant,
                r.kind,
                r.record_id,
                r.subject_id,
                r.created_at,
                json.dumps(_encode_fields(r.fields)),
            )
            for r, _ in records
        ]
        index = [  # in the order of _INDEX_COLUMNS
            (r.tenant, r.kind, e.field, e.digest, r.record_id, r.subject_id)
            for r, entries in records
            for e in entries
        ]

        def tx(conn: Connection) -> None:
            conn.exec_driver_sql(_insert_sql(conn, vault_records, _RECORD_COLUMNS), rows)
            if index:
                conn.exec_driver_sql(_insert_sql(conn, vault_blind_index, _INDEX_COLUMNS), index)

        try:
            self.db.run(tx)
        except SAIntegrityError:
            raise Conflict("A record of the batch exists; none was stored.") from None

    def get(self, tenant: str, kind: str, record_id: str) -> StoredRecord | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(
                _ONE_RECORD, {"b_tenant": tenant, "b_kind": kind, "b_id": record_id}
            ).first()
        return None if row is None else _record(row)

    def find(
        self, tenant: str, kind: str, field: str, digest: str, *, limit: int
    ) -> Sequence[StoredRecord]:
        r, i = vault_records.c, vault_blind_index.c
        stmt = (
            sa.select(vault_records)
            .join(
                vault_blind_index,
                sa.and_(i.tenant == r.tenant, i.kind == r.kind, i.record_id == r.id),
            )
            .where(i.tenant == tenant, i.kind == kind, i.field == field, i.digest == digest)
            .order_by(r.created_at, r.id)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            return [_record(row) for row in conn.execute(stmt).all()]

    def for_subject(
        self, tenant: str, kind: str, subject_id: str, *, limit: int
    ) -> Sequence[StoredRecord]:
        c = vault_records.c
        stmt = (
            sa.select(vault_records)
            .where(c.tenant == tenant, c.kind == kind, c.subject_id == subject_id)
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        with self.db.engine.connect() as conn:
            return [_record(row) for row in conn.execute(stmt).all()]

    def drop_index(self, tenant: str, subject_id: str) -> int:
        c = vault_blind_index.c
        return self.db.run(
            lambda conn: int(
                conn.execute(
                    vault_blind_index.delete().where(c.tenant == tenant, c.subject_id == subject_id)
                ).rowcount
            )
        )
