"""The key hierarchy: unseal, usage limits and rotation, KEK versions, erasure."""

from __future__ import annotations

import threading

import pytest

from tests.unit.vault.helpers import MissingKey, VaultFactory, customer, new_root_key
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import IntegrityError, InvalidInput, NotFound, Sealed
from zerotrust.crypto.providers import InvalidKey
from zerotrust.store.database import Database
from zerotrust.store.vault_repo import SqlVaultKeys, vault_data_keys, vault_keks
from zerotrust.vault.errors import Erased, KeyInUse
from zerotrust.vault.fields import FieldCipher, RecordContext
from zerotrust.vault.keys import KeyHierarchy
from zerotrust.vault.rewrap import rewrap
from zerotrust.vault.services import Vault

LIMIT = 1000


def _versions(vault: Vault) -> list[int]:
    return [s.version for s in vault.keys.status()]


def test_first_unseal_creates_kek_version_1(vault: Vault, audit: MemoryAudit) -> None:
    assert not vault.sealed
    [status] = vault.keys.status()
    assert (status.version, status.primary, status.data_keys) == (1, True, 0)
    assert [r.action for r in audit.records] == ["vault.kek_rotate"]


def test_data_key_usage_limit_rotates_the_subjects_key(vaults: VaultFactory) -> None:
    # Security catalogue 49: a threshold of 1,000 encryptions rotates to a new version,
    # and every old version still decrypts.
    vault = vaults(usage_limit=LIMIT, lease=64)
    cipher = FieldCipher(vault.keys)
    sealed = []
    for i in range(2500):
        where = RecordContext("default", "customers", f"r{i}")
        sealed.append((where, cipher.encrypt("cus_1", where, {"f": str(i).encode()})))
    versions = {envelope["f"][2:8] for _, envelope in sealed}
    assert versions == {b"dek-v1", b"dek-v2", b"dek-v3"}
    fresh = vaults(usage_limit=LIMIT, lease=64)  # another process, cold caches
    for i, (where, envelope) in enumerate(sealed):
        assert FieldCipher(fresh.keys).decrypt("cus_1", where, envelope) == {"f": str(i).encode()}
    uses = [r.usage for r in SqlVaultKeys(_db(vault)).data_keys("default", "cus_1")]
    assert uses == [LIMIT, LIMIT, 500 + 12]  # the last lease is partly unused


def _db(vault: Vault) -> Database:
    repo = vault.keys._repo
    assert isinstance(repo, SqlVaultKeys)
    return repo.db


def test_kek_usage_limit_rotates_the_kek(vaults: VaultFactory, audit: MemoryAudit) -> None:
    vault = vaults(usage_limit=LIMIT, lease=100)
    cipher = FieldCipher(vault.keys)
    for i in range(1001):  # one wrap per new data key
        cipher.encrypt(f"s{i}", RecordContext("default", "t", "r"), {"f": b"x"})
    status = {s.version: s for s in vault.keys.status()}
    assert status[1].usage == LIMIT
    assert status[1].data_keys == 1000
    assert status[2].primary
    assert status[2].data_keys == 1
    assert [r.reason for r in audit.records if r.action == "vault.kek_rotate"] == [
        "initial",
        "usage_limit",
    ]


def test_two_processes_never_pass_the_limit_together(vaults: VaultFactory, db: Database) -> None:
    a, b = vaults(usage_limit=LIMIT, lease=7), vaults(usage_limit=LIMIT, lease=7)
    where = RecordContext("default", "t", "r")

    def work(vault: Vault) -> None:
        cipher = FieldCipher(vault.keys)
        for _ in range(700):
            cipher.encrypt("shared", where, {"f": b"x"})

    threads = [threading.Thread(target=work, args=(v,)) for v in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = SqlVaultKeys(db).data_keys("default", "shared")
    assert all(r.usage <= LIMIT for r in rows)
    assert sum(r.usage for r in rows) >= 1400


def test_rotate_then_delete_is_refused_while_referenced(vault: Vault) -> None:
    subject = customer(vault)
    assert vault.keys.rotate(actor="ops") == 2
    with pytest.raises(KeyInUse):
        vault.keys.delete_version(1, actor="ops")
    with pytest.raises(KeyInUse):
        vault.keys.delete_version(2, actor="ops")  # the primary
    with pytest.raises(NotFound):
        vault.keys.delete_version(9, actor="ops")
    assert rewrap(vault.keys).rewrapped == 1
    vault.keys.delete_version(1, actor="ops")
    assert _versions(vault) == [2]
    assert vault.records.get("customer", subject).status == "active"


def test_database_refuses_to_delete_a_referenced_kek(vault: Vault) -> None:
    customer(vault)
    vault.keys.rotate(actor="ops")
    with pytest.raises(KeyInUse):
        vault.keys._repo.delete_kek(1)


def test_a_stale_process_cannot_wrap_under_a_deleted_kek(vaults: VaultFactory) -> None:
    a, b = vaults(), vaults()
    customer(b)  # b now holds a lease of uses on version 1
    a.keys.rotate(actor="ops")
    rewrap(a.keys)
    a.keys.delete_version(1, actor="ops")
    # b still believes version 1 exists; its next new key must land under a live version.
    new = customer(b, 1)
    assert b.records.get("customer", new).status == "active"
    assert {s.version for s in a.keys.status()} == {2}


def test_status_shows_age_usage_and_dependants(vault: Vault, clock: FixedClock) -> None:
    customer(vault)
    clock.advance(86400)
    vault.keys.rotate(actor="ops")
    old, new = vault.keys.status()
    assert (old.version, old.primary, old.data_keys, old.age_s) == (1, False, 1, 86400)
    assert old.retired_at == clock.now()
    assert (new.version, new.primary, new.data_keys, new.age_s) == (2, True, 0, 0)


def test_wrong_root_key_does_not_unseal(vaults: VaultFactory) -> None:
    vaults()
    other = vaults(root_key=new_root_key())
    assert other.sealed
    assert other.unseal_error == "invalid_key"
    with pytest.raises(InvalidKey) as caught:
        other.unseal()
    assert caught.value.code == "invalid_key"


def test_missing_root_key_keeps_the_vault_sealed(vaults: VaultFactory) -> None:
    vault = vaults(provider=MissingKey())
    assert vault.sealed
    assert vault.unseal_error == "vault_sealed"
    with pytest.raises(Sealed):
        vault.keys.encryption_key("default", "s")


def test_seal_forgets_every_key(vault: Vault) -> None:
    subject = customer(vault)
    vault.seal()
    for op in (
        lambda: vault.keys.encryption_key("default", subject),
        lambda: vault.keys.decryption_key("default", subject, 1),
        lambda: vault.keys.rotate(actor="x"),
        lambda: vault.keys.destroy("default", subject),
        lambda: vault.keys.rewrap_batch(after=0, limit=10),
    ):
        with pytest.raises(Sealed):
            op()
    vault.unseal()
    assert vault.records.get("customer", subject).status == "active"


def test_a_missing_kek_version_seals_the_data_it_protects(vault: Vault, db: Database) -> None:
    subject = customer(vault)
    with db.begin() as conn:
        conn.execute(vault_data_keys.update().values(kek_version=None))
    vault.keys._subjects.clear()
    with pytest.raises(Sealed):
        vault.records.get("customer", subject)


def test_a_tampered_wrapped_key_is_an_integrity_error(vault: Vault, db: Database) -> None:
    subject = customer(vault)
    with db.begin() as conn:
        row = conn.execute(vault_data_keys.select()).first()
        assert row is not None
        wrapped = bytearray(row.wrapped)
        wrapped[-1] ^= 1
        conn.execute(vault_data_keys.update().values(wrapped=bytes(wrapped)))
    vault.keys._subjects.clear()
    with pytest.raises(IntegrityError):
        vault.records.get("customer", subject)


def test_a_tampered_kek_does_not_unseal(vaults: VaultFactory, db: Database) -> None:
    vaults()
    with db.begin() as conn:
        row = conn.execute(vault_keks.select()).first()
        assert row is not None
        conn.execute(vault_keks.update().values(wrapped=row.wrapped[:-1] + b"\x00"))
    assert vaults().unseal_error == "invalid_key"


def test_destroy_is_idempotent_and_final(vault: Vault) -> None:
    subject = customer(vault)
    first = vault.keys.destroy("default", subject)
    assert (first.destroyed, first.already_erased) == (1, False)
    second = vault.keys.destroy("default", subject)
    assert (second.destroyed, second.already_erased) == (0, True)
    with pytest.raises(Erased):
        vault.keys.encryption_key("default", subject)
    with pytest.raises(Erased):
        vault.keys.decryption_key("default", subject, 1)


def test_erasing_an_unknown_subject_leaves_a_tombstone(vault: Vault) -> None:
    result = vault.keys.destroy("default", "never-seen")
    assert (result.destroyed, result.already_erased) == (0, False)
    with pytest.raises(Erased):
        vault.keys.encryption_key("default", "never-seen")
    assert vault.keys.destroy("default", "never-seen").already_erased


def test_erasure_in_another_process_reaches_this_one_after_the_cache_ttl(
    vaults: VaultFactory, clock: FixedClock
) -> None:
    a, b = vaults(), vaults()
    subject = customer(a)
    assert b.records.get("customer", subject).status == "active"
    a.records.erase(subject, actor="dpo")
    clock.advance(31)
    assert b.records.get("customer", subject).status == "erased"


@pytest.mark.parametrize("limit", [0, 2**32])
def test_usage_limit_bounds(db: Database, limit: int) -> None:
    repo = SqlVaultKeys(db)
    with pytest.raises(InvalidInput):
        KeyHierarchy(provider=MissingKey(), repo=repo, clock=FixedClock(), usage_limit=limit)
