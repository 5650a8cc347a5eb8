"""A throwaway PostgreSQL database for tests that run on both SQLite and PostgreSQL.

The server is named by ``ZT_TEST_POSTGRES_URL`` (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). Without it the tests skip,
except in CI (``CI=true``) where they fail: a missing service must never turn the suite
green by omission.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

ENV = "ZT_TEST_POSTGRES_URL"


def unavailable(reason: str) -> None:
    """Skip, or fail in CI, because PostgreSQL cannot be used."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"PostgreSQL not available: {reason}")


@contextmanager
def temporary_database(prefix: str = "zt_test") -> Iterator[str]:
    """Create a uniquely named database on the server in ``$ZT_TEST_POSTGRES_URL``, yield
    its URL, and drop it afterwards (terminating leftover connections)."""
    base = os.environ.get(ENV, "")
    if not base:
        unavailable(f"{ENV} is not set")
    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(str(exc).splitlines()[0])
    try:
        yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def drop_all_tables(url: str) -> None:
    """Drop every table in the database at ``url`` (between tests sharing one database)."""
    engine = sa.create_engine(url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        meta.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def audit_pg_database() -> Iterator[str]:
    """One throwaway PostgreSQL database per test module."""
    with temporary_database("zt_audit") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def audit_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database, once on SQLite (a real file) and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'zerotrust.db'}"
        return
    url: str = request.getfixturevalue("audit_pg_database")
    yield url
    drop_all_tables(url)
