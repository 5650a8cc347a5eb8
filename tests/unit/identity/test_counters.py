"""Lockout counters on SQL (SQLite, PostgreSQL) and Redis: exact under concurrency."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import StoreUnavailable
from zerotrust.identity.interfaces import CounterStore
from zerotrust.identity.lockout import LoginGuard
from zerotrust.store.counters import RedisCounters, SqlCounters
from zerotrust.store.database import Database
from zerotrust.store.migrations import migrate


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.redis)])
def counters(request: pytest.FixtureRequest, database_url: str) -> Iterator[CounterStore]:
    if request.param == "redis":
        store = RedisCounters(
            request.getfixturevalue("redis_url"), prefix=f"zt-test-{secrets.token_hex(4)}:"
        )
        yield store
        return
    db = Database(database_url)
    migrate(db, now=0)
    yield SqlCounters(db)
    db.dispose()


def test_fifty_parallel_increments_count_exactly_fifty(counters: CounterStore) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(
            pool.map(lambda _: counters.incr("k", ttl_s=600, cap=10, now=1000.0), range(50))
        )
    assert sorted(results) == list(range(1, 51))
    assert counters.get("k", now=1000.0) == 50


def test_fifty_parallel_wrong_guesses_evaluate_at_most_ten(counters: CounterStore) -> None:
    guard = LoginGuard(counters, FixedClock(1000.0), threshold=10)
    with ThreadPoolExecutor(max_workers=16) as pool:
        attempts = list(pool.map(lambda _: guard.reserve("password", "alice"), range(50)))
    assert sum(a.allowed for a in attempts) == 10
    assert sum(a.locks_now for a in attempts) == 1


def test_expiry_moves_only_until_the_cap(counters: CounterStore) -> None:
    if isinstance(counters, RedisCounters):
        pytest.skip("Redis expires keys by its own clock; covered by the SQL variant")
    for i in range(12):
        counters.incr("k", ttl_s=100, cap=10, now=1000.0 + i)
    assert counters.expires_in("k", now=1009.0) == pytest.approx(100)  # set by the 10th
    assert counters.get("k", now=1110.0) == 0
    assert counters.incr("k", ttl_s=100, cap=10, now=1110.0) == 1


def test_reset(counters: CounterStore) -> None:
    counters.incr("k", ttl_s=100, cap=10, now=1000.0)
    counters.reset("k")
    assert counters.get("k", now=1000.0) == 0


def test_redis_down_fails_closed() -> None:
    store = RedisCounters("redis://127.0.0.1:1/0")
    with pytest.raises(StoreUnavailable):
        store.incr("k", ttl_s=1, cap=1, now=0)
