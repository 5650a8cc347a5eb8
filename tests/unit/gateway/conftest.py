"""Fixtures for the gateway's unit tests: services on SQLite and the default policy pack."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from zerotrust.core.clock import FixedClock
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle, load_default
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings


@pytest.fixture(scope="session")
def bundle() -> PolicyBundle:
    return load_default()


@pytest.fixture
def pdp(bundle: PolicyBundle) -> PolicyDecisionPoint:
    return PolicyDecisionPoint(bundle, budget_s=float("inf"))


@pytest.fixture
def svc(tmp_path: Path, clock: FixedClock, fast_hashing: PasswordHashing) -> Iterator[Services]:
    """Services on SQLite only (the PostgreSQL paths are covered by the replica test)."""
    settings = Settings(
        data_dir=tmp_path,
        root_key=b64url_encode(secrets.token_bytes(32)),
        issuer="http://testserver",
        origins=("http://localhost:8000",),
    )
    services = build_services(settings, clock=clock, hashing=fast_hashing)
    yield services
    services.close()
