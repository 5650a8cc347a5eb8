"""SQL repository for devices, and the DPoP replay cache (SQL and Redis)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from zerotrust.core.errors import Conflict, StoreUnavailable
from zerotrust.devices.models import Device, DeviceStatus, Posture
from zerotrust.store import schema as t
from zerotrust.store.database import Database


def _device(row: Any) -> Device:
    posture = Posture(**row.posture) if row.posture else None
    return Device(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        jkt=row.jkt,
        public_jwk=dict(row.public_jwk),
        status=row.status,
        created_at=row.created_at,
        approved_by=row.approved_by,
        posture=posture,
        posture_received_at=row.posture_received_at,
    )


class SqlDevices:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, device: Device) -> None:
        try:
            self.db.run(
                lambda c: c.execute(
                    t.devices.insert().values(
                        id=device.id,
                        owner_id=device.owner_id,
                        name=device.name,
                        jkt=device.jkt,
                        public_jwk=device.public_jwk,
                        status=device.status,
                        created_at=device.created_at,
                        approved_by=device.approved_by,
                        posture=None,
                        posture_received_at=None,
                    )
                )
            )
        except SAIntegrityError:
            raise Conflict("That device key is already enrolled.", code="device_exists") from None

    def _one(self, where: Any) -> Device | None:
        with self.db.engine.connect() as conn:
            row = conn.execute(sa.select(t.devices).where(where)).first()
        return None if row is None else _device(row)

    def get(self, device_id: str) -> Device | None:
        return self._one(t.devices.c.id == device_id)

    def by_jkt(self, jkt: str) -> Device | None:
        return self._one(t.devices.c.jkt == jkt)

    def list(self, owner_id: str | None = None) -> Sequence[Device]:
        query = sa.select(t.devices).order_by(t.devices.c.created_at)
        if owner_id:
            query = query.where(t.devices.c.owner_id == owner_id)
        with self.db.engine.connect() as conn:
            return [_device(r) for r in conn.execute(query)]

    def set_status(
        self, device_id: str, status: DeviceStatus, *, approved_by: str | None = None
    ) -> None:
        self.db.run(
            lambda c: c.execute(
                t.devices.update()
                .where(t.devices.c.id == device_id)
                .values(status=status, approved_by=approved_by)
            )
        )

    def set_posture(self, device_id: str, posture: Posture, *, received_at: float) -> None:
        self.db.run(
            lambda c: c.execute(
                t.devices.update()
                .where(t.devices.c.id == device_id)
                .values(posture=posture.to_dict(), posture_received_at=received_at)
            )
        )


class SqlReplayCache:
    """Single-use keys (DPoP ``jti``, client-assertion ``jti``) in the database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_once(self, key: str, *, ttl_s: float, now: float) -> bool:
        # One statement: insert the key, or take over an expired one; a live duplicate
        # changes no row. Runs on every gateway request, hence the driver connection.
        with self.db.driver(write=True) as conn:
            if secrets.randbelow(100) == 0:  # amortised purge of expired keys
                conn.execute(_PURGE_REPLAY, (now,))
            added = conn.execute(_ADD_REPLAY, (key, now + ttl_s, now)).rowcount
        return bool(added == 1)


_ADD_REPLAY = (
    "INSERT INTO replay_cache (key, expires_at) VALUES (?, ?) "
    "ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE replay_cache.expires_at <= ?"
)
_PURGE_REPLAY = "DELETE FROM replay_cache WHERE expires_at < ?"


class RedisReplayCache:
    """Single-use keys shared by every replica (``SET NX PX``)."""

    def __init__(self, url: str, *, prefix: str = "zt:replay:") -> None:
        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def add_once(self, key: str, *, ttl_s: float, now: float) -> bool:
        del now
        try:
            return bool(
                self.client.set(self.prefix + key, b"1", nx=True, px=max(1, int(ttl_s * 1000)))
            )
        except redis.RedisError as exc:
            raise StoreUnavailable() from exc
