"""Recovery codes: ten single-use look-up secrets (NIST SP 800-63B §5.1.2), stored hashed.

Each code carries 80 bits from the CSPRNG, so a keyed fast hash (HMAC-SHA256 with a
server key) is enough: the codes cannot be guessed, and the key keeps a database dump
from being checked offline.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

COUNT = 10
_ALPHABET_GROUP = 5


def generate(count: int = COUNT) -> list[str]:
    """Fresh codes such as ``7QKX2-M4PZA-9VDRT-E3HNW`` (base32, 80 bits)."""
    codes = []
    for _ in range(count):
        raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")
        codes.append("-".join(raw[i : i + _ALPHABET_GROUP] for i in range(0, 16, 5)))
    return codes


def canonical(code: str) -> str:
    """Upper-case, without separators or spaces, so users may type it loosely."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def digest(code: str, *, key: bytes) -> str:
    """The stored form of a code."""
    return hmac.new(key, canonical(code).encode("ascii", "ignore"), hashlib.sha256).hexdigest()
