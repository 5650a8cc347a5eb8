"""Field encryption: one AES-256-GCM envelope per field, bound to where the value lives.

The envelope is the crypto layer's version-1 format (version byte, key id ``dek-v<n>``,
96-bit random nonce, ciphertext and 128-bit tag). Its associated data frames the tenant,
the table, the record id, the field name and the data key version, so a ciphertext copied
to another record or field, or relabelled with another key version, fails its tag check
and raises ``IntegrityError`` — never wrong plaintext.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

from zerotrust.core.errors import IntegrityError
from zerotrust.crypto.aead import FORMAT_VERSION
from zerotrust.vault.aad import part, static_part
from zerotrust.vault.keys import DataKey, KeyHierarchy

_LABEL: Final = static_part("zt/vault/field/v1")
_DEK_PREFIX: Final = b"dek-v"


_FIELD_PARTS: dict[tuple[str, int], bytes] = {}


def _field_part(field: str, key_version: int) -> bytes:
    framed = _FIELD_PARTS.get((field, key_version))
    if framed is None:
        framed = static_part(field) + key_version.to_bytes(4, "big")
        if len(_FIELD_PARTS) < _VERSION_CACHE:
            _FIELD_PARTS[(field, key_version)] = framed
    return framed


class RecordContext:
    """Where fields live (tenant, table, record); frames the associated data once per record."""

    __slots__ = ("_prefix", "record_id", "table", "tenant")

    def __init__(self, tenant: str, table: str, record_id: str) -> None:
        self.tenant = tenant
        self.table = table
        self.record_id = record_id
        self._prefix = _LABEL + static_part(tenant) + static_part(table) + part(record_id)

    def aad(self, field: str, key_version: int) -> bytes:
        """The associated data of one field under one data key version."""
        return self._prefix + _field_part(field, key_version)

    def __repr__(self) -> str:
        return f"RecordContext({self.tenant!r}, {self.table!r}, {self.record_id!r})"


def encrypt_field(key: DataKey, where: RecordContext, field: str, plaintext: bytes) -> bytes:
    """Seal one field value under ``key``."""
    return key.handle.seal(plaintext, aad=where.aad(field, key.version))


def decrypt_field(key: DataKey, where: RecordContext, field: str, envelope: bytes) -> bytes:
    """Open one field value; any tampering or misplacement raises ``IntegrityError``."""
    return key.handle.open(envelope, aad=where.aad(field, key.version))


def key_version(envelope: bytes) -> int:
    """The data key version an envelope names; unauthenticated until it opens."""
    if len(envelope) < 2 or envelope[0] != FORMAT_VERSION:
        raise IntegrityError
    header = envelope[: 2 + envelope[1]]
    version = _VERSIONS.get(header)
    if version is None:
        version = _parse_version(header)
        if len(_VERSIONS) < _VERSION_CACHE:
            _VERSIONS[header] = version
    return version


_VERSIONS: dict[bytes, int] = {}
_VERSION_CACHE: Final = 4096


def _parse_version(header: bytes) -> int:
    digits = header[2 + len(_DEK_PREFIX) :]
    if (
        not header[2:].startswith(_DEK_PREFIX)
        or not digits.isdigit()
        or digits.startswith(b"0")
        or len(digits) > 9
    ):
        raise IntegrityError
    return int(digits)


class FieldCipher:
    """Encrypts and decrypts a record's fields under its subject's data keys."""

    def __init__(self, keys: KeyHierarchy) -> None:
        self._keys = keys

    def encrypt(
        self, subject_id: str, where: RecordContext, values: Mapping[str, bytes]
    ) -> dict[str, bytes]:
        """Seal every value; one reservation of uses covers the whole record."""
        key = self._keys.encryption_key(where.tenant, subject_id, uses=max(1, len(values)))
        return {name: encrypt_field(key, where, name, value) for name, value in values.items()}

    def decrypt(
        self,
        subject_id: str,
        where: RecordContext,
        envelopes: Mapping[str, bytes],
        *,
        only: Collection[str] | None = None,
    ) -> dict[str, bytes]:
        """Open the fields (or just ``only``); ``Erased`` once the subject is erased.

        Keys are looked up once per version, not once per field.
        """
        keys: dict[int, DataKey] = {}
        out: dict[str, bytes] = {}
        for name, envelope in envelopes.items():
            if only is not None and name not in only:
                continue
            version = key_version(envelope)
            key = keys.get(version)
            if key is None:
                key = keys[version] = self._keys.decryption_key(where.tenant, subject_id, version)
            out[name] = decrypt_field(key, where, name, envelope)
        return out
