"""AES-256-GCM (NIST SP 800-38D) and the versioned envelope that carries its key id.

Two layers, like pyca's ``fernet``/``hazmat`` split: ``aesgcm_encrypt``/``aesgcm_decrypt`` are
the raw primitive with length checks; ``seal``/``open_sealed`` are the recipe the rest of the
platform uses. Envelope format, version 1::

    0x01 | len(key_id) (1 byte) | key_id (ASCII) | nonce (12 bytes) | ciphertext || tag (16 bytes)

The header (version, length, key id) is prepended to the caller's associated data, so the
key id is authenticated too; every failure to open raises one opaque ``IntegrityError``.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from zerotrust.core.errors import IntegrityError, InvalidInput

__all__ = [
    "FORMAT_VERSION",
    "KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "AeadKey",
    "Keyring",
    "aesgcm_decrypt",
    "aesgcm_encrypt",
    "envelope_key_id",
    "open_sealed",
    "seal",
]

KEY_SIZE = 32  # AES-256 only.
NONCE_SIZE = 12  # 96 bits: the one IV length GCM specifies directly (SP 800-38D §8.2).
TAG_SIZE = 16  # Full 128-bit tags; truncated tags weaken forgery resistance (SP 800-38D App. C).
FORMAT_VERSION = 1
MAX_KEY_ID = 64
_VERSION_BYTE = bytes([FORMAT_VERSION])


def _check_key_and_nonce(key: bytes, nonce: bytes) -> None:
    if len(key) != KEY_SIZE:
        raise InvalidInput("AES-256-GCM needs a 32-byte key.")
    if len(nonce) != NONCE_SIZE:
        raise InvalidInput("AES-256-GCM needs a 12-byte nonce.")


def aesgcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt with AES-256-GCM; returns ciphertext || 16-byte tag.

    The caller must never reuse ``nonce`` with the same key: a repeat reveals the XOR of
    plaintexts and the GHASH key (forgeries). ``seal`` draws random nonces for you.
    """
    _check_key_and_nonce(key, nonce)
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aesgcm_decrypt(key: bytes, nonce: bytes, ciphertext_and_tag: bytes, aad: bytes) -> bytes:
    """Decrypt and authenticate AES-256-GCM; any failure raises ``IntegrityError``."""
    _check_key_and_nonce(key, nonce)
    if len(ciphertext_and_tag) < TAG_SIZE:
        raise IntegrityError
    try:
        return AESGCM(key).decrypt(nonce, ciphertext_and_tag, aad)
    except InvalidTag:
        raise IntegrityError from None


def _valid_key_id(key_id: object) -> bool:
    return (
        isinstance(key_id, str)
        and 1 <= len(key_id) <= MAX_KEY_ID
        and key_id.isascii()
        and key_id.isprintable()
    )


@dataclass(frozen=True)
class AeadKey:
    """An AES-256 key and the id stored in each envelope it seals; repr omits the material."""

    key_id: str
    material: bytes = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not _valid_key_id(self.key_id):
            raise InvalidInput("Key id must be 1-64 printable ASCII characters.")
        if not isinstance(self.material, bytes) or len(self.material) != KEY_SIZE:
            raise InvalidInput("AEAD key material must be 32 bytes.")

    def __eq__(self, other: object) -> bool:
        # Constant-time on the material, so equality is never a timing oracle on the key.
        if not isinstance(other, AeadKey):
            return NotImplemented
        same_material = hmac.compare_digest(self.material, other.material)
        return same_material and self.key_id == other.key_id

    def __hash__(self) -> int:
        return hash(self.key_id)


class Keyring:
    """The primary key seals; any listed key opens (rotation, like ``MultiFernet``)."""

    __slots__ = ("_keys", "_primary")

    def __init__(self, primary: AeadKey, others: Iterable[AeadKey] = ()) -> None:
        keys = {primary.key_id: primary}
        for key in others:
            # One id naming two keys would make an envelope's key ambiguous.
            if keys.setdefault(key.key_id, key) != key:
                raise InvalidInput("Two different keys share one key id.")
        self._primary = primary
        self._keys = MappingProxyType(keys)

    @property
    def primary(self) -> AeadKey:
        """The key new envelopes are sealed with."""
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id this keyring can open, primary first."""
        return tuple(self._keys)

    def get(self, key_id: str) -> AeadKey:
        """The key named ``key_id``; unknown ids raise ``IntegrityError``."""
        try:
            return self._keys[key_id]
        except KeyError:
            raise IntegrityError from None

    def __repr__(self) -> str:
        return f"Keyring(primary={self._primary.key_id!r}, key_ids={list(self._keys)!r})"


def _header(key_id: str) -> bytes:
    raw = key_id.encode("ascii")
    return _VERSION_BYTE + bytes([len(raw)]) + raw


def _parse_header(envelope: bytes) -> tuple[str, int]:
    """Return (key id, header length); a malformed header raises ``IntegrityError``."""
    if len(envelope) < 2 or envelope[0] != FORMAT_VERSION:
        raise IntegrityError
    end = 2 + envelope[1]
    try:
        key_id = envelope[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise IntegrityError from None
    if len(envelope) < end or not _valid_key_id(key_id):
        raise IntegrityError
    return key_id, end


def seal(key: AeadKey, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt ``plaintext`` into a version-1 envelope bound to ``aad``.

    ``aad`` should name where the value lives (tenant, table, record, field, key version) so
    a ciphertext copied to another record or field fails to open.
    """
    header = _header(key.key_id)
    # Random 96-bit nonces: the collision risk stays below 2^-32 for up to 2^32 seals per key
    # (SP 800-38D §8.3); key rotation keeps each key's count far below that.
    nonce = os.urandom(NONCE_SIZE)
    return header + nonce + aesgcm_encrypt(key.material, nonce, plaintext, header + aad)


def open_sealed(keyring: Keyring, envelope: bytes, *, aad: bytes) -> bytes:
    """Authenticate and decrypt an envelope; every failure raises one opaque ``IntegrityError``."""
    key_id, start = _parse_header(envelope)
    body = envelope[start:]
    if len(body) < NONCE_SIZE + TAG_SIZE:
        raise IntegrityError
    key = keyring.get(key_id)
    nonce, sealed = body[:NONCE_SIZE], body[NONCE_SIZE:]
    return aesgcm_decrypt(key.material, nonce, sealed, envelope[:start] + aad)


def envelope_key_id(envelope: bytes) -> str:
    """The key id an envelope names, for rotation bookkeeping.

    Unauthenticated until ``open_sealed`` succeeds: use it to find envelopes to rewrap, never
    to make a security decision.
    """
    key_id, start = _parse_header(envelope)
    if len(envelope) < start + NONCE_SIZE + TAG_SIZE:
        raise IntegrityError
    return key_id
