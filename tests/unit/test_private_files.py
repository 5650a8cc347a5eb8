"""Secret files created whole, 0600, first writer wins."""

from __future__ import annotations

import stat
from pathlib import Path

from zerotrust.core.private_files import create_private


def test_the_first_writer_wins_and_nothing_is_left_behind(tmp_path: Path) -> None:
    path = tmp_path / "root.key"
    assert create_private(path, b"first")
    assert not create_private(path, b"second")
    assert path.read_bytes() == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["root.key"]
