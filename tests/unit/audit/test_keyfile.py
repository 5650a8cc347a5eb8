"""The checkpoint signing key file: created 0600, stable key id, refused if readable."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from zerotrust.audit.keyfile import load_signing_key
from zerotrust.core.errors import ConfigError, NotFound


def test_created_once_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "zt" / "audit-signing.key"
    key = load_signing_key(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_signing_key(path)
    assert again.kid == key.kid
    assert again.public_jwk() == key.public_jwk()
    assert key.alg == "EdDSA"


def test_missing_without_create(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_signing_key(tmp_path / "nope.key")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_readable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "k"
    load_signing_key(path, create=True)
    path.chmod(mode)
    with pytest.raises(ConfigError):
        load_signing_key(path)
