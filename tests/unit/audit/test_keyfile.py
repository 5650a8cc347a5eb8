"""The checkpoint signing key file: created 0600, stable key id, refused if readable."""

from __future__ import annotations

import multiprocessing
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


def _load_at_once(path: str) -> str:
    return load_signing_key(Path(path), create=True).kid


def test_processes_creating_it_at_once_all_load_one_whole_key(tmp_path: Path) -> None:
    # The demo's seeding processes start together and each finds no key: none may read
    # a half-written file, and all must end up with the same key.
    context = multiprocessing.get_context("fork")
    for attempt in range(5):
        path = tmp_path / f"try{attempt}" / "audit-signing.key"
        with context.Pool(6) as pool:
            kids = pool.map(_load_at_once, [str(path)] * 6)
        assert len(set(kids)) == 1
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert sorted(p.name for p in path.parent.iterdir()) == ["audit-signing.key"]
