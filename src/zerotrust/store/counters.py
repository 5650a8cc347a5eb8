"""Counters for lockout and throttling: in SQL (single node) or Redis (shared by replicas).

Both implement ``identity.interfaces.CounterStore`` with one atomic operation per call, so
fifty parallel failures count exactly fifty.
"""

from __future__ import annotations

import math
from typing import Any, cast

import redis
import sqlalchemy as sa

from zerotrust.core.errors import StoreUnavailable
from zerotrust.store import schema as t
from zerotrust.store.database import Database

# In the UPDATE, ``counters.*`` is the row before the increment (SQLite and PostgreSQL).
_INCR_SQL = (
    "INSERT INTO counters (key, count, expires_at) VALUES (?, 1, ?) "
    "ON CONFLICT (key) DO UPDATE SET "
    "count = CASE WHEN counters.expires_at <= ? THEN 1 ELSE counters.count + 1 END, "
    "expires_at = CASE WHEN counters.expires_at <= ? OR counters.count + 1 <= ? "
    "THEN ? ELSE counters.expires_at END "
    "RETURNING count"
)


class SqlCounters:
    """Counters in the ``counters`` table; the row lock serialises increments."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def incr(self, key: str, *, ttl_s: float, cap: int, now: float) -> int:
        # One upsert: concurrent first failures cannot collide on the insert, and the
        # row lock taken by ON CONFLICT serialises the increments. A constant statement
        # on the driver connection: the gateway's rate limits run it under load.
        expires = now + ttl_s
        with self.db.driver(write=True) as conn:
            row = conn.execute(_INCR_SQL, (key, expires, now, now, cap, expires)).fetchone()
        return int(row[0])

    def get(self, key: str, *, now: float) -> int:
        with self.db.engine.connect() as conn:
            count = conn.execute(
                sa.select(t.counters.c.count).where(
                    t.counters.c.key == key, t.counters.c.expires_at > now
                )
            ).scalar()
        return 0 if count is None else int(count)

    def reset(self, key: str) -> None:
        self.db.run(lambda c: c.execute(t.counters.delete().where(t.counters.c.key == key)))

    def expires_in(self, key: str, *, now: float) -> float:
        with self.db.engine.connect() as conn:
            expires = conn.execute(
                sa.select(t.counters.c.expires_at).where(t.counters.c.key == key)
            ).scalar()
        return 0.0 if expires is None else max(0.0, float(expires) - now)


# KEYS[1] = counter key; ARGV = ttl_ms, cap. Redis runs the script atomically.
_INCR = """
local n = redis.call('INCR', KEYS[1])
if n <= tonumber(ARGV[2]) or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return n
"""


class RedisCounters:
    """Counters in Redis, shared by every replica. Expiry uses Redis' own clock.

    Any Redis error raises ``StoreUnavailable``: the caller fails closed (the login is
    refused), it never falls back to "unlimited".
    """

    def __init__(self, url: str, *, prefix: str = "zt:") -> None:
        self.client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._incr = self.client.register_script(_INCR)

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except redis.RedisError as exc:
            raise StoreUnavailable() from exc

    def incr(self, key: str, *, ttl_s: float, cap: int, now: float) -> int:
        del now  # Redis' clock decides expiry, the same for every replica
        ttl_ms = max(1, math.ceil(ttl_s * 1000))
        return int(self._call(self._incr, keys=[self.prefix + key], args=[ttl_ms, cap]))

    def get(self, key: str, *, now: float) -> int:
        value = self._call(self.client.get, self.prefix + key)
        return 0 if value is None else int(cast(bytes, value))

    def reset(self, key: str) -> None:
        self._call(self.client.delete, self.prefix + key)

    def expires_in(self, key: str, *, now: float) -> float:
        ms = int(self._call(self.client.pttl, self.prefix + key))
        return max(0.0, ms / 1000)
