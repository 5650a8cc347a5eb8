"""Fixtures for the vault: an SQLite database per test and a vault factory over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.vault.helpers import VaultFactory, make_vault, new_root_key, open_db
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.store.database import Database
from zerotrust.vault.services import Vault


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_db(f"sqlite:///{tmp_path / 'vault.db'}")
    yield database
    database.dispose()


@pytest.fixture
def root_key() -> str:
    return new_root_key()


@pytest.fixture
def audit() -> MemoryAudit:
    return MemoryAudit()


@pytest.fixture
def vaults(db: Database, clock: FixedClock, root_key: str, audit: MemoryAudit) -> VaultFactory:
    """Vaults over the same database and root key (each one is like another process)."""

    def make(**kwargs: Any) -> Vault:
        kwargs.setdefault("root_key", root_key)
        kwargs.setdefault("audit", audit)
        return make_vault(db, clock, **kwargs)

    return make


@pytest.fixture
def vault(vaults: VaultFactory) -> Vault:
    return vaults()
