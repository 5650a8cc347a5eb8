"""Engine creation and transactions for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from zerotrust.core.errors import StoreUnavailable

T = TypeVar("T")

# SQLITE_BUSY and serialization failures are retried a bounded number of times; after
# that the caller gets StoreUnavailable and fails closed.
RETRIES = 5


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # Write transactions take the write lock at BEGIN, so a read-then-write transaction
    # cannot fail with SQLITE_BUSY half way; reads stay deferred and never block writers.
    write = conn.get_execution_options().get("zt_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One engine plus a transaction helper; the unit every repository shares."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = sa.engine.make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine: Engine = sa.create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 5, "isolation_level": None},
                pool_size=8,
                max_overflow=16,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = sa.create_engine(
                url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20
            )

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: commit on success, roll back on any error."""
        try:
            with self.engine.connect() as conn:
                conn.execution_options(zt_write=True)
                with conn.begin():
                    yield conn
        except OperationalError as exc:
            raise StoreUnavailable() from exc

    def run(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in a transaction, retrying transient lock/serialization failures."""
        delay = 0.01
        for attempt in range(RETRIES):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(zt_write=True)
                    with conn.begin():
                        return fn(conn)
            except DBAPIError as exc:
                if not _transient(exc) or attempt == RETRIES - 1:
                    if isinstance(exc, OperationalError):
                        raise StoreUnavailable() from exc
                    raise
                time.sleep(delay)
                delay *= 2
        raise StoreUnavailable()  # pragma: no cover - loop always returns or raises

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except DBAPIError as exc:
            raise StoreUnavailable() from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    code = getattr(exc.orig, "sqlstate", None)
    return "database is locked" in text or "busy" in text or code in ("40001", "40P01")
