"""Strict base64url without padding (RFC 7515 §2, RFC 4648 §5)."""

from __future__ import annotations

import base64
import hmac
import re

from zerotrust.core.errors import InvalidInput

__all__ = ["b64url_decode", "b64url_encode"]

# Only the 64 URL-safe letters: no padding, whitespace or the standard '+' and '/'.
_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Encode ``data`` as unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url, rejecting anything but its one canonical form.

    Padding, whitespace, characters outside the URL-safe alphabet and non-zero trailing bits
    (RFC 4648 §3.5) all raise ``InvalidInput``, so one value has exactly one encoding and a
    signed token cannot be altered without changing its bytes.
    """
    if not isinstance(text, str) or not _ALPHABET.fullmatch(text) or len(text) % 4 == 1:
        raise InvalidInput("Not valid unpadded base64url.")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    # Re-encoding reveals set trailing bits; compared in constant time since text may be secret.
    if not hmac.compare_digest(b64url_encode(data), text):
        raise InvalidInput("Not valid unpadded base64url.")
    return data
