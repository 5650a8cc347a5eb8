"""SQL repository for just-in-time grants (implements ``zerotrust.policy.grants.GrantRepo``)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from zerotrust.core.errors import Conflict
from zerotrust.policy.grants import Grant, GrantKey, GrantStatus
from zerotrust.store.database import Database
from zerotrust.store.schema import metadata

jit_grants = sa.Table(
    "jit_grants",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("principal_type", sa.String(64), nullable=False),
    sa.Column("principal_id", sa.String(512), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("resource_type", sa.String(64), nullable=False),
    sa.Column("resource_id", sa.String(512), nullable=False),
    sa.Column("duration_s", sa.Integer, nullable=False),
    sa.Column("justification", sa.String(512), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("decided_by", sa.String(512)),
    sa.Column("decided_at", sa.Float),
    sa.Column("expires_at", sa.Float),
    sa.Column("revoked_by", sa.String(512)),
    sa.Column("revoked_at", sa.Float),
)
sa.Index("ix_jit_grants_principal", jit_grants.c.principal_id, jit_grants.c.status)
sa.Index(
    "ix_jit_grants_target",
    jit_grants.c.principal_id,
    jit_grants.c.resource_type,
    jit_grants.c.resource_id,
    jit_grants.c.action,
)

_FIELDS = tuple(c.name for c in jit_grants.columns)


def _row(grant: Grant) -> dict[str, Any]:
    return {name: getattr(grant, name) for name in _FIELDS}


def _grant(row: sa.RowMapping) -> Grant:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = cast(GrantStatus, values["status"])
    return Grant(**values)


class SqlGrants:
    """Grants in the ``jit_grants`` table; status changes are compare-and-set."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, grant: Grant) -> None:
        try:
            self.db.run(lambda conn: conn.execute(jit_grants.insert().values(**_row(grant))))
        except SAIntegrityError:
            raise Conflict("The grant already exists.", code="grant_exists") from None

    def get(self, grant_id: str) -> Grant | None:
        def tx(conn: Connection) -> Grant | None:
            row = conn.execute(sa.select(jit_grants).where(jit_grants.c.id == grant_id)).first()
            return _grant(row._mapping) if row is not None else None

        return self.db.run(tx)

    def replace(self, grant: Grant, *, expected_status: GrantStatus) -> None:
        def tx(conn: Connection) -> int:
            result = conn.execute(
                jit_grants.update()
                .where(jit_grants.c.id == grant.id, jit_grants.c.status == expected_status)
                .values(**_row(grant))
            )
            return result.rowcount

        if self.db.run(tx) != 1:
            raise Conflict("The grant changed meanwhile.", code="grant_changed")

    def remove(self, grant_id: str) -> None:
        self.db.run(
            lambda conn: conn.execute(jit_grants.delete().where(jit_grants.c.id == grant_id))
        )

    def find(
        self, *, principal_id: str | None = None, statuses: Collection[GrantStatus] | None = None
    ) -> list[Grant]:
        query = sa.select(jit_grants).order_by(jit_grants.c.requested_at, jit_grants.c.id)
        if principal_id is not None:
            query = query.where(jit_grants.c.principal_id == principal_id)
        if statuses is not None:
            query = query.where(jit_grants.c.status.in_(list(statuses)))
        return self.db.run(lambda conn: [_grant(r._mapping) for r in conn.execute(query)])

    def matching(self, key: GrantKey) -> list[Grant]:
        principal_type, principal_id, action, resource_type, resource_id = key
        query = sa.select(jit_grants).where(
            jit_grants.c.principal_id == principal_id,
            jit_grants.c.resource_type == resource_type,
            jit_grants.c.resource_id == resource_id,
            jit_grants.c.action == action,
            jit_grants.c.principal_type == principal_type,
            jit_grants.c.status.in_(["approved", "expired"]),
        )
        return self.db.run(lambda conn: [_grant(r._mapping) for r in conn.execute(query)])
