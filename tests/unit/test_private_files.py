"""Files created whole (secret ones 0600), first writer wins."""

from __future__ import annotations

import stat
from pathlib import Path

from zerotrust.core.private_files import create_private, create_whole


def test_the_first_writer_wins_and_nothing_is_left_behind(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    assert create_private(path, b"first")
    assert not create_private(path, b"second")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["root.key"]


def test_a_public_file_gets_its_mode_before_it_appears(tmp_path: Path) -> None:
    path = tmp_path / "gateway.pem"
    assert create_whole(path, b"-----BEGIN CERTIFICATE-----", mode=0o644)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not create_whole(path, b"other", mode=0o644)
    assert path.read_bytes() == b"-----BEGIN CERTIFICATE-----"
    assert [p.name for p in tmp_path.iterdir()] == ["gateway.pem"]
