"""Shared fixtures: backends (SQLite always; PostgreSQL and Redis when configured).

PostgreSQL and Redis are real servers named by ``ZT_TEST_POSTGRES_URL`` and
``ZT_TEST_REDIS_URL``. Outside CI a missing server skips those tests; in CI (``CI=true``)
it fails them, so a broken service can never turn the suite green by omission.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.events import FanoutSink, MemorySink
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not reachable")
    pytest.skip(f"{what} not configured or not reachable")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    base = os.environ.get("ZT_TEST_POSTGRES_URL", "")
    if not base:
        _unavailable("PostgreSQL (ZT_TEST_POSTGRES_URL)")
    name = f"zt_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        admin.dispose()
        _unavailable("PostgreSQL")
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("ZT_TEST_REDIS_URL", "")
    if not url:
        _unavailable("Redis (ZT_TEST_REDIS_URL)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError:
        _unavailable("Redis")
    return url


def _truncate_all(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        names = [n for n in sa.inspect(conn).get_table_names() if n != "schema_migrations"]
        if names:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each identity test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'zt.db'}"
    url: str = request.getfixturevalue("pg_server_url")
    _truncate_all(url)
    return url


@pytest.fixture(scope="session")
def fast_hashing() -> PasswordHashing:
    """argon2id with small parameters: the same code path, a fraction of the time."""
    return PasswordHashing(memory_kib=1024, time_cost=1)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1_767_225_600.0)  # 2026-01-01T00:00:00Z


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        root_key=b64url_encode(secrets.token_bytes(32)),
        issuer="http://testserver",
        origins=("http://localhost:8000",),
        detect_config=str(_quiet_detection(tmp_path)),
    )


def _quiet_detection(tmp_path: Path) -> Path:
    """Detection runs, but without automated responses: tests of identity's own controls
    (lockout, throttling) must see those controls, not a playbook's block on the source.
    ``tests/integration/test_responses.py`` runs the default playbooks."""
    path = tmp_path / "detect.yaml"
    path.write_text("playbooks: {}\n")
    return path


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def services(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing, sink: MemorySink
) -> Iterator[Services]:
    # A memory recorder, so tests can read what was audited; the Merkle log itself is
    # tested in tests/unit/audit and end to end in tests/integration/test_audit_product.py.
    svc = build_services(
        settings, clock=clock, hashing=fast_hashing, extra_sinks=(sink,), audit=MemoryAudit()
    )
    assert isinstance(svc.events, FanoutSink)
    yield svc
    svc.close()
