"""Engine creation and transactions for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from zerotrust.core.errors import StoreUnavailable

T = TypeVar("T")

# SQLITE_BUSY and serialization failures are retried a bounded number of times; after
# that the caller gets StoreUnavailable and fails closed.
RETRIES = 5
DRIVER_ERRORS = (sqlite3.Error, psycopg.Error)
_SQLITE_CONNECT_ARGS: dict[str, Any] = {"timeout": 5, "isolation_level": None}


# SQLite copies the write-ahead log back into the database (a checkpoint) in whichever
# commit crosses this many pages: with the default 1000, about one request in a hundred
# paid tens of milliseconds for it. The long-running processes checkpoint off the
# request path instead (``Database.checkpoint`` from ``Services.maintain``, every two
# seconds); this limit is the safety net, and what short-lived commands rely on.
WAL_AUTOCHECKPOINT_PAGES = 10_000


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
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
        # SQLite has one writer at a time. Writers of this process queue on this lock
        # rather than in SQLite's busy handler, which sleeps for whole milliseconds and
        # under load turns the queue into a convoy; other processes still wait in it.
        # Reentrant, so a nested write waits in SQLite as it always did.
        self._writer: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        # SQLite driver connections are per thread (``_sqlite_connection``), not pooled:
        # a pool checkout and checkin costs more than the statements they carry.
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        if self.is_sqlite:
            self.engine: Engine = sa.create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, **_SQLITE_CONNECT_ARGS},
                pool_size=8,
                max_overflow=16,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            # No pre-ping: it is a round trip on every checkout. A connection that died
            # with the server fails its statement (StoreUnavailable, fail closed) and is
            # discarded with the rest of the pool (``driver`` below; SQLAlchemy's own
            # disconnect handling elsewhere), so the next request gets a fresh one.
            self.engine = sa.create_engine(url, echo=echo, pool_size=10, max_overflow=20)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: commit on success, roll back on any error."""
        try:
            with self._writing(), self.engine.connect() as conn:
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
                with self._writing(), self.engine.connect() as conn:
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

    @contextmanager
    def driver(self, *, write: bool = False) -> Iterator[DriverConnection]:
        """A transaction on the driver's own connection, for the few statements that run
        on every gateway request: SQLAlchemy's per-statement work costs about 0.15 ms,
        several times the statement itself. Same semantics as ``run`` (SQLite writers
        take the lock at BEGIN; commit on success, roll back on error), without its
        retries: SQLite's busy timeout already waits, and these callers fail closed.
        On PostgreSQL a read runs in autocommit: each of its statements sees its own
        snapshot, so a read needing one snapshot across statements must not use it."""
        with self._writing() if write else contextlib.nullcontext():
            yield from self._driver(write=write)

    def _driver(self, *, write: bool) -> Iterator[DriverConnection]:
        if self.is_sqlite:
            yield from self._sqlite_driver(write=write)
            return
        fairy = self.engine.raw_connection()
        conn: Any = fairy.driver_connection
        try:
            if not write:
                # A read is one statement (the session, on every request): in autocommit
                # it is one round trip; BEGIN and COMMIT around it cost about 0.15 ms more.
                conn.autocommit = True
            yield DriverConnection(conn, qmark=False)
            conn.commit()
        except BaseException as exc:
            _rollback_quietly(conn, sqlite=False)
            if isinstance(exc, DRIVER_ERRORS):
                if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                    fairy.invalidate()
                    self.engine.pool.dispose()  # its siblings died with the same server
                raise StoreUnavailable() from exc
            raise
        finally:
            if not write and not conn.closed:
                try:
                    conn.autocommit = False  # back to the pool as SQLAlchemy left it
                except psycopg.Error:
                    fairy.invalidate()  # never into the pool in autocommit
            fairy.close()

    def _sqlite_driver(self, *, write: bool) -> Iterator[DriverConnection]:
        try:
            conn = self._sqlite_connection()
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise StoreUnavailable() from exc
        try:
            yield DriverConnection(conn, qmark=True)
            conn.execute("COMMIT")
        except BaseException as exc:
            _rollback_quietly(conn, sqlite=True)
            if isinstance(exc, sqlite3.Error):
                raise StoreUnavailable() from exc
            raise

    def _sqlite_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # As the engine connects: same file, driver options and pragmas.
            conn = sqlite3.connect(
                self.url.database or "", **_SQLITE_CONNECT_ARGS, check_same_thread=False
            )
            _sqlite_pragmas(conn, None)
            self._local.conn = conn
            with self._opened_lock:
                self._opened.append(conn)
        return conn

    def _writing(self) -> contextlib.AbstractContextManager[Any]:
        return self._writer if self._writer is not None else contextlib.nullcontext()

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database without blocking writers
        (``PASSIVE``: frames a reader still needs wait for the next time). A no-op on
        PostgreSQL, which checkpoints by itself."""
        if not self.is_sqlite:
            return
        try:
            self._sqlite_connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:
            raise StoreUnavailable() from exc

    def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except DBAPIError as exc:
            raise StoreUnavailable() from exc

    def dispose(self) -> None:
        self.engine.dispose()
        with self._opened_lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()


class DriverConnection:
    """The driver connection inside ``Database.driver``: statements are written with
    ``?`` placeholders and rewritten once for drivers that use ``%s``."""

    __slots__ = ("_conn", "_qmark")

    def __init__(self, conn: Any, *, qmark: bool) -> None:
        self._conn, self._qmark = conn, qmark

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; the driver's cursor (``fetchone``, ``rowcount``)."""
        return self._conn.execute(sql if self._qmark else _format_style(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._qmark:
            self._conn.executemany(sql, rows)
        else:
            self._conn.cursor().executemany(_format_style(sql), rows)


@functools.cache
def _format_style(sql: str) -> str:
    # Our hot statements are constants with no literal '?' or '%'.
    return sql.replace("?", "%s")


def _rollback_quietly(conn: Any, *, sqlite: bool) -> None:
    try:
        if sqlite:
            conn.execute("ROLLBACK")
        else:
            conn.rollback()
    except Exception:  # noqa: S110 - the connection is invalidated or closed next
        pass


def _transient(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    code = getattr(exc.orig, "sqlstate", None)
    return "database is locked" in text or "busy" in text or code in ("40001", "40P01")
