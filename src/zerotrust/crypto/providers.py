"""Root key providers: where the key at the top of the hierarchy comes from.

The root key never sits in the database. By default it is a file in the data directory
(0600) created by ``zt init``; ``ZT_ROOT_KEY`` supplies it from the environment (a
secret manager) instead. A missing or malformed key seals the product: every operation
that needs it raises ``Sealed`` and nothing falls back to a default key.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Protocol

from zerotrust.core.errors import InvalidInput, Sealed
from zerotrust.crypto.encoding import b64url_decode, b64url_encode

ROOT_KEY_BYTES = 32


class RootKeyProvider(Protocol):
    def load(self) -> bytes:
        """The 32-byte root key; raises ``Sealed`` when it cannot be had."""
        ...


def _decode(text: str) -> bytes:
    try:
        key = b64url_decode(text.strip())
    except InvalidInput:
        raise Sealed("The root key is malformed.") from None
    if len(key) != ROOT_KEY_BYTES:
        raise Sealed("The root key has the wrong length.")
    return key


class EnvRootKey:
    """A base64url root key handed over by the environment."""

    def __init__(self, value: str) -> None:
        self._value = value

    def load(self) -> bytes:
        return _decode(self._value)

    def __repr__(self) -> str:
        return "EnvRootKey(**********)"


class FileRootKey:
    """A root key kept in a file readable only by its owner."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def create(self) -> bool:
        """Write a fresh key if none exists; True if one was written."""
        if self.path.exists():
            return False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(b64url_encode(secrets.token_bytes(ROOT_KEY_BYTES)) + "\n")
        return True

    def load(self) -> bytes:
        try:
            if self.path.stat().st_mode & 0o077:
                raise Sealed("The root key file is readable by others; chmod 600 it.")
            return _decode(self.path.read_text(encoding="ascii"))
        except (FileNotFoundError, PermissionError, UnicodeDecodeError):
            raise Sealed("The root key file is missing or unreadable.") from None
