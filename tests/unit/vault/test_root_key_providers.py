"""Root key providers: the passphrase file (default for new installs), file, environment."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.unit.vault.helpers import make_vault, new_root_key
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import InvalidInput, Sealed
from zerotrust.core.secret import Secret
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.providers import (
    Argon2Params,
    EnvRootKey,
    FileRootKey,
    InvalidKey,
    PassphraseKeyFile,
    Pkcs11Config,
    Pkcs11RootKey,
    select_root_key_provider,
)
from zerotrust.store.database import Database

FAST = Argon2Params(memory_kib=256, time_cost=1, parallelism=1)
PASSPHRASE = Secret("correct horse battery staple")


def _file(tmp_path: Path, passphrase: Secret[str] | None = PASSPHRASE) -> PassphraseKeyFile:
    return PassphraseKeyFile(tmp_path / "root.key.enc", passphrase, params=FAST)


def test_passphrase_file_round_trip(tmp_path: Path) -> None:
    provider = _file(tmp_path)
    assert provider.create() is True
    assert provider.create() is False  # never overwrites a key
    root = provider.load()
    assert len(root) == 32
    assert _file(tmp_path).load() == root
    assert stat.S_IMODE(provider.path.stat().st_mode) == 0o600


def test_the_format_is_versioned_and_holds_no_key(tmp_path: Path) -> None:
    provider = _file(tmp_path)
    provider.create()
    data = json.loads(provider.path.read_text())
    assert (data["format"], data["version"]) == ("zerotrust-root-key", 1)
    assert data["kdf"]["alg"] == "argon2id"
    assert b64url_encode(provider.load()) not in provider.path.read_text()


def test_the_default_cost_is_rfc_9106s_second_option() -> None:
    assert Argon2Params() == Argon2Params(memory_kib=65536, time_cost=3, parallelism=4)


def test_wrong_passphrase_is_invalid_key(tmp_path: Path) -> None:
    _file(tmp_path).create()
    with pytest.raises(InvalidKey) as caught:
        _file(tmp_path, Secret("another long passphrase")).load()
    assert caught.value.code == "invalid_key"
    assert isinstance(caught.value, Sealed)  # the vault stays sealed


@pytest.mark.parametrize("passphrase", [None, Secret("")])
def test_missing_passphrase_seals(tmp_path: Path, passphrase: Secret[str] | None) -> None:
    _file(tmp_path).create()
    with pytest.raises(Sealed) as caught:
        _file(tmp_path, passphrase).load()
    assert caught.value.code == "vault_sealed"


def test_missing_file_seals(tmp_path: Path) -> None:
    with pytest.raises(Sealed) as caught:
        _file(tmp_path).load()
    assert caught.value.code == "vault_sealed"


def test_short_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught:
        _file(tmp_path, Secret("short")).create()
    assert caught.value.code == "passphrase_too_short"


def test_lowering_the_kdf_cost_in_the_file_is_caught(tmp_path: Path) -> None:
    provider = _file(tmp_path)
    provider.create()
    data = json.loads(provider.path.read_text())
    data["kdf"]["m_kib"] = 128
    provider.path.write_text(json.dumps(data))
    with pytest.raises(InvalidKey):
        provider.load()


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(version=2),
        lambda d: d["kdf"].update(alg="pbkdf2"),
        lambda d: d["kdf"].update(m_kib=2**40),
        lambda d: d["kdf"].update(t=0),
        lambda d: d.update(nonce="AAAA"),
        lambda d: d.pop("ciphertext"),
    ],
)
def test_malformed_files_seal(tmp_path: Path, mutate: object) -> None:
    provider = _file(tmp_path)
    provider.create()
    data = json.loads(provider.path.read_text())
    mutate(data)  # type: ignore[operator]
    provider.path.write_text(json.dumps(data))
    with pytest.raises(Sealed):
        provider.load()


def test_a_world_readable_file_seals(tmp_path: Path) -> None:
    provider = _file(tmp_path)
    provider.create()
    os.chmod(provider.path, 0o644)
    with pytest.raises(Sealed):
        provider.load()


def test_change_passphrase_keeps_the_root_key(tmp_path: Path) -> None:
    provider = _file(tmp_path)
    provider.create()
    root = provider.load()
    provider.change_passphrase(Secret("a brand new passphrase"))
    assert _file(tmp_path, Secret("a brand new passphrase")).load() == root
    with pytest.raises(InvalidKey):
        _file(tmp_path).load()


def test_legacy_file_and_environment_keys(tmp_path: Path) -> None:
    legacy = FileRootKey(tmp_path / "root.key")
    assert legacy.create() is True
    assert len(legacy.load()) == 32
    key = new_root_key()
    assert EnvRootKey(key).load() == EnvRootKey(key).load()
    assert "A" not in repr(EnvRootKey("A" * 43))
    for bad in ("", "not base64!", b64url_encode(b"short")):
        with pytest.raises(Sealed):
            EnvRootKey(bad).load()


def test_provider_selection(tmp_path: Path) -> None:
    config = Pkcs11Config(module="/x.so", token_label="t", pin=Secret("1234"))
    assert isinstance(select_root_key_provider(tmp_path, root_key="k", pkcs11=config), EnvRootKey)
    assert isinstance(select_root_key_provider(tmp_path, pkcs11=config), Pkcs11RootKey)
    assert isinstance(select_root_key_provider(tmp_path), PassphraseKeyFile)  # new install
    FileRootKey(tmp_path / "root.key").create()
    assert isinstance(select_root_key_provider(tmp_path), FileRootKey)  # existing data dir
    assert "1234" not in repr(config)


def test_a_vault_unseals_with_the_passphrase_and_not_without(
    tmp_path: Path, db: Database, clock: FixedClock
) -> None:
    _file(tmp_path).create()
    vault = make_vault(db, clock, provider=_file(tmp_path))
    assert not vault.sealed
    wrong = make_vault(db, clock, provider=_file(tmp_path, Secret("not the passphrase!")))
    assert wrong.sealed
    assert wrong.unseal_error == "invalid_key"
