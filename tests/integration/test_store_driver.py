"""The driver-level transactions used on the gateway's per-request path."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from zerotrust.core.errors import StoreUnavailable
from zerotrust.store.counters import SqlCounters
from zerotrust.store.database import Database
from zerotrust.store.devices_repo import SqlReplayCache
from zerotrust.store.migrations import migrate


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    migrate(database, now=0.0)
    yield database
    database.dispose()


def _half_then_fail(db: Database, key: str) -> None:
    """A write transaction whose second statement fails: StoreUnavailable, nothing kept."""

    def write() -> None:
        with db.driver(write=True) as conn:
            conn.execute("INSERT INTO replay_cache (key, expires_at) VALUES (?, ?)", (key, 10.0))
            conn.execute("INSERT INTO no_such_table VALUES (?)", (1,))

    with pytest.raises(StoreUnavailable):
        write()


def test_a_write_commits_and_an_error_rolls_back_as_store_unavailable(db: Database) -> None:
    with db.driver(write=True) as conn:
        conn.execute("INSERT INTO replay_cache (key, expires_at) VALUES (?, ?)", ("a", 10.0))
    _half_then_fail(db, "b")
    with db.driver() as conn:
        keys = [r[0] for r in conn.execute("SELECT key FROM replay_cache ORDER BY key").fetchall()]
    assert keys == ["a"]  # "b" went with its failed transaction


def test_a_read_leaves_the_pooled_connection_transactional(db: Database) -> None:
    # On PostgreSQL a read runs in autocommit (one round trip); the connection it borrowed
    # must go back to the pool transactional, or a later write would half-commit.
    for _ in range(3):  # the pool hands the same connection back
        with db.driver() as conn:
            assert conn.execute("SELECT count(*) FROM replay_cache").fetchone()[0] == 0
    _half_then_fail(db, "c")
    with db.engine.connect() as conn:  # SQLAlchemy's own transactions too
        conn.exec_driver_sql("INSERT INTO replay_cache (key, expires_at) VALUES ('d', 1.0)")
        conn.rollback()
    with db.driver() as conn:
        assert conn.execute("SELECT count(*) FROM replay_cache").fetchone()[0] == 0


def test_another_exception_rolls_back_and_passes_through(db: Database) -> None:

    def half_then_bug() -> None:
        with db.driver(write=True) as conn:
            conn.execute("INSERT INTO replay_cache (key, expires_at) VALUES (?, ?)", ("c", 10.0))
            raise KeyError("bug")

    with pytest.raises(KeyError):
        half_then_bug()
    with db.driver() as conn:
        assert conn.execute("SELECT count(*) FROM replay_cache").fetchone()[0] == 0


def test_single_use_keys_under_concurrent_writers(db: Database) -> None:
    """Eight threads race for the same 200 keys: each key is taken exactly once, and
    an expired key can be taken again."""
    cache = SqlReplayCache(db)
    wins: list[str] = []
    lock = threading.Lock()

    def race() -> None:
        for i in range(200):
            if cache.add_once(f"jti-{i}", ttl_s=60, now=1000.0):
                with lock:
                    wins.append(f"jti-{i}")

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == sorted(f"jti-{i}" for i in range(200))
    assert not cache.add_once("jti-1", ttl_s=60, now=1059.0)
    assert cache.add_once("jti-1", ttl_s=60, now=1060.0)  # expired: taken over


def test_counters_count_every_increment_and_restart_after_expiry(db: Database) -> None:
    counters = SqlCounters(db)

    def bump() -> None:
        for _ in range(50):
            counters.incr("k", ttl_s=60, cap=0, now=1000.0)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.get("k", now=1000.0) == 200
    assert counters.incr("k", ttl_s=60, cap=0, now=1060.0) == 1
