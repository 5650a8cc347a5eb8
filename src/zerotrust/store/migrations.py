"""Versioned schema migrations.

Each migration has a number, a name and a function applied in one transaction; the
``schema_migrations`` table records what has run, so ``zt init`` (and every start) is
idempotent and upgrades an older database in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from zerotrust.store.database import Database
from zerotrust.store.schema import metadata

schema_migrations = sa.Table(
    "schema_migrations",
    sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("applied_at", sa.Float, nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _load_table_modules() -> None:
    # Each package's tables register on the shared metadata when their module loads.
    from zerotrust.store import (  # noqa: F401
        alerts_repo,
        audit_log,
        ceremonies_repo,
        grants,
        identity_repos,
        schema,
        vault_repo,
    )


def _initial(conn: Connection) -> None:
    _load_table_modules()
    metadata.create_all(conn)


def _create(conn: Connection, table: sa.Table) -> None:
    """A table added after the initial schema, with its indexes, unless it exists (a
    fresh database's initial schema already made it)."""
    table.create(conn, checkfirst=True)
    for index in table.indexes:
        index.create(conn, checkfirst=True)


def _alerts_table(conn: Connection) -> None:
    from zerotrust.store.alerts_repo import alerts

    _create(conn, alerts)


def _shared_detection(conn: Connection) -> None:
    from zerotrust.store.alerts_repo import detection_claims

    columns = {c["name"] for c in sa.inspect(conn).get_columns("security_events")}
    if "origin" not in columns:  # a database from before: its events have no origin
        conn.execute(sa.text("ALTER TABLE security_events ADD COLUMN origin VARCHAR(40)"))
    _create(conn, detection_claims)


def _shared_ceremonies(conn: Connection) -> None:
    from zerotrust.store.ceremonies_repo import ceremonies

    _create(conn, ceremonies)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial),
    Migration(2, "alerts shared by every process", _alerts_table),
    Migration(3, "detection across processes", _shared_detection),
    Migration(4, "console ceremonies shared by every replica", _shared_ceremonies),
)


def applied_versions(db: Database) -> set[int]:
    with db.engine.connect() as conn:
        if not sa.inspect(conn).has_table("schema_migrations"):
            return set()
        return set(conn.execute(sa.select(schema_migrations.c.version)).scalars())


def migrate(db: Database, *, now: float) -> list[int]:
    """Apply every pending migration in order; return the versions applied."""
    with db.begin() as conn:
        schema_migrations.create(conn, checkfirst=True)
    done = applied_versions(db)
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        with db.begin() as conn:
            migration.apply(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=migration.version, name=migration.name, applied_at=now
                )
            )
        applied.append(migration.version)
    return applied
