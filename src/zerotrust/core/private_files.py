"""Key and certificate files created whole: another process that finds the file reads
all of it, never a half-written one, and two processes creating it at once agree on one."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_private(path: Path, data: bytes) -> bool:
    """Create ``path`` (mode 0600) holding ``data`` unless it exists; True if this call
    created it. The first writer wins, whole (``create_whole``)."""
    return create_whole(path, data, mode=0o600)


def create_whole(path: Path, data: bytes, *, mode: int) -> bool:
    """Create ``path`` with ``mode`` holding ``data`` unless it exists; True if this call
    created it. The data is written to a private temporary file beside it, given its
    mode, synced and linked into place, which fails if the name is taken: the first
    writer wins, and nobody ever sees the file half-written."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            if mode != 0o600:
                os.fchmod(fh.fileno(), mode)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
