"""SQL repository for token signing keys (sealed private halves, public JWKs)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from zerotrust.identity.tokens import StoredSigningKey
from zerotrust.store import schema as t
from zerotrust.store.database import Database


class SqlSigningKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    def active(self) -> Sequence[StoredSigningKey]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.signing_keys)
                .where(t.signing_keys.c.retired_at.is_(None))
                .order_by(t.signing_keys.c.created_at.desc(), t.signing_keys.c.kid)
            ).all()
        return [
            StoredSigningKey(
                kid=r.kid,
                alg=r.alg,
                private_envelope=r.private_envelope,
                public_jwk=dict(r.public_jwk),
                created_at=r.created_at,
                retired_at=r.retired_at,
            )
            for r in rows
        ]

    def add(self, key: StoredSigningKey) -> None:
        self.db.run(
            lambda c: c.execute(
                t.signing_keys.insert().values(
                    kid=key.kid,
                    alg=key.alg,
                    private_envelope=key.private_envelope,
                    public_jwk=key.public_jwk,
                    created_at=key.created_at,
                    retired_at=key.retired_at,
                )
            )
        )

    def retired_since(self, since: float) -> Sequence[StoredSigningKey]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.signing_keys).where(t.signing_keys.c.retired_at >= since)
            ).all()
        return [
            StoredSigningKey(
                kid=r.kid,
                alg=r.alg,
                private_envelope=r.private_envelope,
                public_jwk=dict(r.public_jwk),
                created_at=r.created_at,
                retired_at=r.retired_at,
            )
            for r in rows
        ]

    def retire(self, kids: Sequence[str], *, now: float) -> None:
        if kids:
            self.db.run(
                lambda c: c.execute(
                    t.signing_keys.update()
                    .where(
                        t.signing_keys.c.kid.in_(list(kids)), t.signing_keys.c.retired_at.is_(None)
                    )
                    .values(retired_at=now)
                )
            )
