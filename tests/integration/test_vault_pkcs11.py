"""The PKCS#11 root key provider against a real SoftHSM2 token made for this session.

The token lives in a temporary directory (``SOFTHSM2_CONF``). Outside CI a missing
``softhsm2-util``/library or python-pkcs11 skips these tests; in CI (``CI=true``) it fails
them, so the HSM path can never turn green by omission.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.unit.vault.helpers import VISA, make_vault, open_db
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import Sealed
from zerotrust.core.secret import Secret
from zerotrust.crypto.providers import InvalidKey, Pkcs11Config, Pkcs11RootKey

MODULES = (
    os.environ.get("ZT_TEST_PKCS11_MODULE", ""),
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
IN_CI = os.environ.get("CI", "").lower() == "true"
TOKEN = "zt-test"
PIN = "246810"


def _unavailable(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is missing")
    pytest.skip(f"{what} is not installed")


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pkcs11Config]:
    """A freshly initialised SoftHSM2 token, for the whole session."""
    util = shutil.which("softhsm2-util")
    module = next((m for m in MODULES if m and Path(m).is_file()), None)
    if util is None or module is None:
        _unavailable("SoftHSM2 (apt-get install softhsm2)")
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        _unavailable("python-pkcs11")
    assert util is not None
    assert module is not None
    home = tmp_path_factory.mktemp("softhsm")
    (home / "tokens").mkdir()
    conf = home / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {home / 'tokens'}\nobjectstore.backend = file\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SOFTHSM2_CONF", str(conf))
        subprocess.run(
            [util, "--init-token", "--free", "--label", TOKEN, "--pin", PIN, "--so-pin", "13579"],
            check=True,
            capture_output=True,
        )
        yield Pkcs11Config(module=module, token_label=TOKEN, pin=Secret(PIN))


@pytest.fixture
def provider(softhsm: Pkcs11Config, tmp_path: Path) -> Pkcs11RootKey:
    label = f"zt-{tmp_path.name[-12:]}"  # one token key per test
    return Pkcs11RootKey(replace(softhsm, key_label=label), tmp_path / "root.key.p11")


def test_create_and_load(provider: Pkcs11RootKey) -> None:
    assert provider.create() is True
    assert provider.create() is False
    root = provider.load()
    assert len(root) == 32
    assert Pkcs11RootKey(provider.config, provider.path).load() == root
    data = json.loads(provider.path.read_text())
    assert (data["format"], data["version"], data["mechanism"]) == (
        "zerotrust-root-key-pkcs11",
        1,
        "CKM_AES_GCM",
    )
    assert root.hex() not in provider.path.read_text()


def test_the_token_key_never_leaves_the_token(provider: Pkcs11RootKey) -> None:
    import pkcs11
    from pkcs11 import Attribute, KeyType
    from pkcs11.exceptions import AttributeSensitive

    provider.create()
    token = pkcs11.lib(provider.config.module).get_token(token_label=TOKEN)
    with token.open(user_pin=PIN) as session:
        key = session.get_key(label=provider.config.key_label, key_type=KeyType.AES)
        assert key[Attribute.SENSITIVE] is True
        assert key[Attribute.EXTRACTABLE] is False
        assert key[Attribute.TOKEN] is True
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]


def test_wrong_pin_is_invalid_key(provider: Pkcs11RootKey) -> None:
    provider.create()
    wrong = Pkcs11RootKey(replace(provider.config, pin=Secret("000000")), provider.path)
    with pytest.raises(InvalidKey) as caught:
        wrong.load()
    assert caught.value.code == "invalid_key"


@pytest.mark.parametrize(
    "change",
    [
        {"token_label": "no-such-token"},
        {"module": "/nonexistent/libpkcs11.so"},
        {"key_label": "another-key"},
    ],
)
def test_missing_token_module_or_key_seals(provider: Pkcs11RootKey, change: dict[str, str]) -> None:
    provider.create()
    broken = Pkcs11RootKey(replace(provider.config, **change), provider.path)
    with pytest.raises(Sealed) as caught:
        broken.load()
    assert caught.value.code == "vault_sealed"


def test_missing_blob_seals(provider: Pkcs11RootKey) -> None:
    with pytest.raises(Sealed):
        provider.load()


def test_tampered_blob_is_invalid_key(provider: Pkcs11RootKey) -> None:
    provider.create()
    data = json.loads(provider.path.read_text())
    first = data["ciphertext"][0]
    data["ciphertext"] = ("B" if first == "A" else "A") + data["ciphertext"][1:]  # never a no-op
    provider.path.write_text(json.dumps(data))
    with pytest.raises(InvalidKey):
        provider.load()


def test_a_vault_unsealed_by_the_hsm(
    provider: Pkcs11RootKey, tmp_path: Path, clock: FixedClock
) -> None:
    provider.create()
    db = open_db(f"sqlite:///{tmp_path / 'hsm.db'}")
    vault = make_vault(db, clock, provider=provider)
    assert not vault.sealed
    alice = vault.records.create_customer(name="Alice", email="alice@example.org", pan=VISA)
    again = make_vault(db, clock, provider=Pkcs11RootKey(provider.config, provider.path))
    assert again.records.detokenize(alice.record_id, actor="test") == VISA
    locked = Pkcs11RootKey(replace(provider.config, pin=Secret("999999")), provider.path)
    assert make_vault(db, clock, provider=locked).unseal_error == "invalid_key"
    db.dispose()
