"""Identifiers and random tokens (CSPRNG only)."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    """A 128-bit random identifier with a readable type prefix, e.g. ``usr_…``."""
    return f"{prefix}_{secrets.token_hex(16)}"


def new_token(nbytes: int = 32) -> str:
    """An opaque bearer secret (URL-safe), at least 128 bits."""
    return secrets.token_urlsafe(max(nbytes, 16))


def token_digest(token: str) -> str:
    """The stored form of an opaque token: SHA-256, so a database leak yields no usable token.

    Tokens are 256-bit random values, so an unsalted fast hash is sufficient here (unlike
    passwords, they cannot be guessed).
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
