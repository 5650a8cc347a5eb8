"""Blind indexes: find records by email, phone or card token without decrypting them.

An index entry is HMAC-SHA256 under a key of its own per field (derived from the root
key), over the framed tenant and the *normalised* value, truncated to 128 bits. Equal
values give equal entries, so equality search works, and nothing else leaks: without the
key the entries cannot be tested against guesses (unlike a plain hash of an email). The
truncation keeps false positives negligible; callers still compare the decrypted value.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from zerotrust.crypto.kdf import hmac_sha256
from zerotrust.vault.aad import frame
from zerotrust.vault.errors import InvalidField
from zerotrust.vault.keys import KeyHierarchy

DIGEST_BYTES: Final = 16

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,253}\.[^@\s.]{2,63}$")
_PHONE_CHARS = re.compile(r"[ ()./-]")


def normalize_email(value: str) -> str:
    """NFKC, trimmed, lower-cased: ``Alice@Example.COM`` finds ``alice@example.com``."""
    text = unicodedata.normalize("NFKC", value).strip().lower()
    if len(text) > 254 or not _EMAIL.match(text):
        raise InvalidField("email: not a valid address")
    return text


def normalize_phone(value: str) -> str:
    """E.164 digits with a leading ``+`` when given; separators removed."""
    text = _PHONE_CHARS.sub("", value.strip())
    digits = text[1:] if text.startswith("+") else text
    if not (digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 15):
        raise InvalidField("phone: 7 to 15 digits expected")
    return text


class BlindIndex:
    """Computes index entries with the vault's per-field keys (needs an unsealed vault)."""

    def __init__(self, keys: KeyHierarchy) -> None:
        self._keys = keys

    def digest(self, field: str, value: str, *, tenant: str) -> str:
        """The index entry of an already normalised value, as 32 hex characters."""
        key = self._keys.root().index_key(field)
        return hmac_sha256(key, frame(tenant, value))[:DIGEST_BYTES].hex()
