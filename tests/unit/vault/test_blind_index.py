"""Blind indexes: keyed, per field and tenant, over normalised values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.vault.helpers import make_vault, open_db
from zerotrust.core.clock import FixedClock
from zerotrust.vault.blind_index import BlindIndex, normalize_email, normalize_phone
from zerotrust.vault.errors import InvalidField
from zerotrust.vault.services import Vault


def test_normalisation() -> None:
    assert normalize_email("  Alice@Example.COM ") == "alice@example.com"
    assert normalize_phone("+44 (20) 7946-0958") == "+442079460958"


@pytest.mark.parametrize("bad", ["alice", "a@b", "@example.com", "a b@example.com", "x" * 300])
def test_bad_emails(bad: str) -> None:
    with pytest.raises(InvalidField):
        normalize_email(bad)


@pytest.mark.parametrize("bad", ["12345", "+1" + "2" * 16, "call me", "+44 20 7946 095x"])
def test_bad_phones(bad: str) -> None:
    with pytest.raises(InvalidField):
        normalize_phone(bad)


def test_digests_are_keyed_per_field_and_tenant(
    vault: Vault, tmp_path: Path, clock: FixedClock
) -> None:
    index = BlindIndex(vault.keys)
    value = "alice@example.com"
    digest = index.digest("email", value, tenant="acme")
    assert len(digest) == 32
    assert int(digest, 16) >= 0
    assert digest == index.digest("email", value, tenant="acme")
    assert digest != index.digest("phone", value, tenant="acme")
    assert digest != index.digest("email", value, tenant="other")
    other_db = open_db(f"sqlite:///{tmp_path / 'other.db'}")
    other = make_vault(other_db, clock)  # another vault: another root key
    assert BlindIndex(other.keys).digest("email", value, tenant="acme") != digest
    other_db.dispose()
