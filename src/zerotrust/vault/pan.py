"""Card numbers (PCI DSS v4.0 3.3-3.5): validation, format-preserving tokens, redaction.

A PAN is 13-19 ASCII digits (ISO/IEC 7812-1) whose Luhn check digit is right. Anything
else is refused with ``InvalidPan`` and the value is never echoed.

The token (PCI 3.5.1.1: keyed, not a plain hash, so no PAN → token dictionary can be
built without the vault key) has the PAN's length and its last four digits, and its
other digits come from HMAC-SHA256 under the vault's token key. One digit is adjusted so
the token *fails* the Luhn check: a token can never be mistaken for, or charged as, a
card number. It is deterministic per tenant, so one card gives one token across records.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from zerotrust.crypto.kdf import hmac_sha256
from zerotrust.vault.aad import frame
from zerotrust.vault.errors import InvalidPan

MIN_LEN: Final = 13
MAX_LEN: Final = 19
KEEP: Final = 4

# Candidate PANs inside free text: 13-19 digits, optionally grouped by spaces or dashes.
_CANDIDATE = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def luhn_sum(digits: str) -> int:
    """The Luhn (mod 10) checksum: 0 for a number with a valid check digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10


def validate_pan(value: object) -> str:
    """The PAN as digits; raises ``InvalidPan`` (code ``invalid_pan``) otherwise.

    Spaces, dashes and letters are refused rather than stripped: a caller that sends a
    formatted number gets a clear error instead of a silently different value.
    """
    if not isinstance(value, str):
        raise InvalidPan("The card number must be a string of digits.")
    if not (value.isascii() and value.isdigit()):
        raise InvalidPan("The card number must contain digits only.")
    if not MIN_LEN <= len(value) <= MAX_LEN:
        raise InvalidPan("The card number must have 13 to 19 digits.")
    if luhn_sum(value) != 0:
        raise InvalidPan("The card number fails its check digit.")
    return value


def tokenize(key: bytes, pan: str, *, tenant: str) -> str:
    """The format-preserving token of a validated PAN (same length, last four kept)."""
    pan = validate_pan(pan)
    head_len = len(pan) - KEEP
    mac = hmac_sha256(key, frame("zt/vault/pan-token/v1", tenant, pan))
    # 256 bits reduced mod 10^15 at most: the bias is below 2^-200, i.e. none.
    head = str(int.from_bytes(mac, "big") % 10**head_len).zfill(head_len)
    token = head + pan[-KEEP:]
    if luhn_sum(token) == 0:
        # Changing one digit always changes the Luhn sum (each digit's contribution is a
        # permutation of 0-9), so this makes the token fail the check.
        first = str((int(token[0]) + 1) % 10)
        token = first + token[1:]
    return token


def is_token(value: object) -> str:
    """A token as sent back by a client: digits of PAN length that fail Luhn."""
    if (
        not isinstance(value, str)
        or not (value.isascii() and value.isdigit())
        or not MIN_LEN <= len(value) <= MAX_LEN
        or luhn_sum(value) == 0
    ):
        raise InvalidPan("The card token is not valid.", code="invalid_card_token")
    return value


def redact(pan: str) -> str:
    """At most BIN (first six) and last four, the most PCI DSS 3.4.1 lets anyone see."""
    if len(pan) < MIN_LEN:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


def scrub(text: str, replace: Callable[[str], str]) -> str:
    """Replace every Luhn-valid card number in free text by ``replace(pan)`` (a token)."""

    def one(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        return replace(digits) if luhn_sum(digits) == 0 else match.group(0)

    return _CANDIDATE.sub(one, text)
