"""Sign-in ceremonies in progress (``identity.ceremonies.CeremonyStore``), in the database
every control-plane replica shares.

Rows hold the SHA-256 of the browser's token and of the link code, never either in
clear. Every read ignores a ceremony past its end; each step forward is one conditional
statement, atomic on SQLite and PostgreSQL. Ended rows are deleted when a new ceremony
starts, at most once a minute, and the table holds at most ``capacity`` ceremonies: past
that, the ones nearest their end give way, as a bounded in-memory table would.
"""

from __future__ import annotations

import threading
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from zerotrust.core.clock import Clock
from zerotrust.core.errors import StoreUnavailable
from zerotrust.core.ids import new_token, token_digest
from zerotrust.identity.ceremonies import Ceremony, new_link_code, normalise_code
from zerotrust.store.database import Database
from zerotrust.store.schema import metadata

ceremonies = sa.Table(
    "ceremonies",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    # A 40-bit code's hash could be brute-forced by whoever reads this table; the code
    # only lets the same person's enrolled device, from the browser's own address, link
    # within two minutes, so that reader gains nothing.
    sa.Column("code_hash", sa.String(64), unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("principal_id", sa.String(64), nullable=False),
    sa.Column("jkt", sa.String(128), nullable=False),
    sa.Column("src_ip", sa.String(64)),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("device_id", sa.String(64)),
    sa.Column("second_factor_done", sa.Boolean, nullable=False),
)
sa.Index("ix_ceremonies_expires_at", ceremonies.c.expires_at)

CAPACITY: Final = 10_000
PRUNE_EVERY_S: Final = 60.0
_CODE_ATTEMPTS: Final = 5  # a fresh code on the rare clash with one still stored
_COLUMNS: Final = (
    ceremonies.c.kind,
    ceremonies.c.principal_id,
    ceremonies.c.jkt,
    ceremonies.c.src_ip,
    ceremonies.c.expires_at,
    ceremonies.c.device_id,
    ceremonies.c.second_factor_done,
)


def _ceremony(row: Any) -> Ceremony:
    return Ceremony(
        kind=row.kind,
        principal_id=row.principal_id,
        jkt=row.jkt,
        src_ip=row.src_ip,
        expires_at=float(row.expires_at),
        device_id=row.device_id,
        second_factor_done=bool(row.second_factor_done),
    )


class SqlCeremonies:
    def __init__(self, db: Database, clock: Clock, *, capacity: int = CAPACITY) -> None:
        self.db = db
        self.clock = clock
        self.capacity = capacity
        self._pruned_at = float("-inf")
        self._lock = threading.Lock()

    def start(self, ceremony: Ceremony, *, with_code: bool = False) -> tuple[str, str]:
        self._make_room()
        for _ in range(_CODE_ATTEMPTS):
            token, code = new_token(), new_link_code() if with_code else ""
            row = {
                "token_hash": token_digest(token),
                "code_hash": token_digest(code) if code else None,
                "kind": ceremony.kind,
                "principal_id": ceremony.principal_id,
                "jkt": ceremony.jkt,
                "src_ip": ceremony.src_ip,
                "expires_at": ceremony.expires_at,
                "device_id": ceremony.device_id,
                "second_factor_done": ceremony.second_factor_done,
            }
            try:
                self._insert(row)
            except IntegrityError:
                self._prune(force=True)  # the clash may be with an ended ceremony
                continue
            return token, code
        # 2^40 codes make a clash each time unlikely: the table itself is what fails.
        raise StoreUnavailable("A sign-in could not be started; try again.")

    def get(self, token: str | None) -> Ceremony | None:
        if not token:
            return None
        return self._one(ceremonies.c.token_hash == token_digest(token[:256]))

    def take(self, token: str | None) -> Ceremony | None:
        if not token:
            return None
        statement = (
            ceremonies.delete()
            .where(ceremonies.c.token_hash == token_digest(token[:256]), self._live())
            .returning(*_COLUMNS)
        )
        row = self.db.run(lambda c: c.execute(statement).first())
        return _ceremony(row) if row is not None else None

    def by_code(self, code: str) -> Ceremony | None:
        return self._one(ceremonies.c.code_hash == token_digest(normalise_code(code)))

    def link(self, code: str, device_id: str) -> bool:
        statement = (
            ceremonies.update()
            .where(
                ceremonies.c.code_hash == token_digest(normalise_code(code)),
                ceremonies.c.kind == "signin",
                ceremonies.c.device_id.is_(None),
                self._live(),
            )
            .values(device_id=device_id)
        )
        return bool(self.db.run(lambda c: c.execute(statement).rowcount) == 1)

    def pass_second_factor(self, token: str | None) -> bool:
        if not token:
            return False
        statement = (
            ceremonies.update()
            .where(
                ceremonies.c.token_hash == token_digest(token[:256]),
                ceremonies.c.kind == "enrol",
                ceremonies.c.second_factor_done.is_(False),
                self._live(),
            )
            .values(second_factor_done=True)
        )
        return bool(self.db.run(lambda c: c.execute(statement).rowcount) == 1)

    def count(self) -> int:
        """Ceremonies stored, ended ones not yet deleted included."""
        with self.db.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(ceremonies)).scalar() or 0
            )

    # -- internals -------------------------------------------------------------------------

    def _insert(self, row: dict[str, Any]) -> None:
        self.db.run(lambda c: c.execute(ceremonies.insert().values(**row)))

    def _live(self) -> sa.ColumnElement[bool]:
        return ceremonies.c.expires_at > self.clock.now()

    def _one(self, where: sa.ColumnElement[bool]) -> Ceremony | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(where, self._live())).first()
        return _ceremony(row) if row is not None else None

    def _make_room(self) -> None:
        self._prune(force=False)
        excess = self.count() - self.capacity + 1
        if excess > 0:
            self._prune(force=True)
            excess = self.count() - self.capacity + 1
        if excess > 0:  # still full of live ceremonies: the ones nearest their end give way
            oldest = (
                sa.select(ceremonies.c.token_hash).order_by(ceremonies.c.expires_at).limit(excess)
            )
            self.db.run(
                lambda c: c.execute(ceremonies.delete().where(ceremonies.c.token_hash.in_(oldest)))
            )

    def _prune(self, *, force: bool) -> None:
        now = self.clock.now()
        with self._lock:
            if not force and now - self._pruned_at < PRUNE_EVERY_S:
                return
            self._pruned_at = now
        self.db.run(lambda c: c.execute(ceremonies.delete().where(ceremonies.c.expires_at <= now)))
