"""Unambiguous associated data: every part length-prefixed, so no two contexts collide.

Without the prefixes ``("ab", "c")`` and ``("a", "bc")`` would frame to the same bytes and a
ciphertext could be moved between them (a canonicalisation attack).
"""

from __future__ import annotations

from functools import lru_cache

MAX_PART = 0xFFFF


def part(text: str) -> bytes:
    """One framed part: a 2-byte big-endian length, then the UTF-8 bytes."""
    raw = text.encode("utf-8")
    if len(raw) > MAX_PART:
        raise ValueError("associated data part too long")
    return len(raw).to_bytes(2, "big") + raw


@lru_cache(maxsize=1024)
def static_part(text: str) -> bytes:
    """``part`` for the few values that repeat (tenants, tables, field names)."""
    return part(text)


def frame(*parts: str) -> bytes:
    """Frame several parts into one associated-data string."""
    return b"".join(part(p) for p in parts)
