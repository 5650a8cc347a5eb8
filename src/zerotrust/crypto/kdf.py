"""Key derivation and MACs: HKDF-SHA256 (RFC 5869) and HMAC-SHA256 (RFC 2104)."""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from zerotrust.core.errors import IntegrityError, InvalidInput

__all__ = [
    "HKDF_MAX_LENGTH",
    "INFO_PREFIX",
    "derive_key",
    "hkdf_sha256",
    "hmac_sha256",
    "verify_hmac_sha256",
]

HASH_LEN = 32
HKDF_MAX_LENGTH = 255 * HASH_LEN  # RFC 5869 §2.3: L <= 255 * HashLen.
INFO_PREFIX = b"zerotrust/v1/"
MAX_PURPOSE = 128


def hkdf_sha256(ikm: bytes, *, salt: bytes | None, info: bytes, length: int) -> bytes:
    """HKDF-SHA256 extract-then-expand (RFC 5869 §2); ``salt=None`` means HashLen zeros."""
    if isinstance(length, bool) or not isinstance(length, int):
        raise InvalidInput("HKDF length must be an integer.")
    if not 1 <= length <= HKDF_MAX_LENGTH:
        raise InvalidInput("HKDF length must be between 1 and 8160 bytes.")
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def derive_key(root: bytes, *, purpose: str, length: int = 32) -> bytes:
    """A subkey of ``root`` for one purpose: HKDF-SHA256 with info ``zerotrust/v1/<purpose>``.

    Distinct purposes give independent keys (RFC 5869 §3.2), so one root key can serve
    field encryption, token MACs and more without any key ever doing two jobs.
    """
    if not (
        isinstance(purpose, str)
        and 1 <= len(purpose) <= MAX_PURPOSE
        and purpose.isascii()
        and purpose.isprintable()
    ):
        raise InvalidInput("Key purpose must be 1-128 printable ASCII characters.")
    return hkdf_sha256(root, salt=None, info=INFO_PREFIX + purpose.encode("ascii"), length=length)


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104, RFC 4231) of ``data``: a 32-byte tag."""
    return hmac.digest(key, data, "sha256")


def verify_hmac_sha256(key: bytes, data: bytes, tag: bytes) -> None:
    """Check a full 32-byte HMAC-SHA256 tag in constant time; raises ``IntegrityError``."""
    # Only full-length tags: accepting truncated ones would let a forger guess fewer bits.
    if len(tag) != HASH_LEN or not hmac.compare_digest(hmac_sha256(key, data), tag):
        raise IntegrityError
