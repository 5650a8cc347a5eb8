"""The vault's stored shapes: key versions, data keys, encrypted records, index entries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

DEFAULT_TENANT: Final = "default"

# SP 800-38D §8.3: with random 96-bit nonces, at most 2^32 invocations per key. Rotation
# starts at 90 % of that, as HashiCorp Vault does (3,865,470,566).
AES_GCM_USAGE_LIMIT: Final = 3_865_470_566


@dataclass(frozen=True)
class KekRecord:
    """One version of the key-encryption key, sealed by the root key."""

    version: int
    wrapped: bytes = field(repr=False)
    created_at: float
    usage: int = 0  # encryptions reserved under this version
    retired_at: float | None = None  # when it stopped being primary


@dataclass(frozen=True)
class DataKeyRecord:
    """One version of a data subject's key, wrapped by a KEK version; None once destroyed."""

    tenant: str
    subject_id: str
    version: int
    kek_version: int | None
    wrapped: bytes | None = field(repr=False)
    created_at: float
    usage: int = 0
    destroyed_at: float | None = None
    row_id: int = 0

    @property
    def destroyed(self) -> bool:
        return self.destroyed_at is not None


@dataclass(frozen=True)
class Destruction:
    """What erasing a subject's keys did."""

    destroyed: int  # key versions destroyed by this call
    already_erased: bool  # the subject had been erased before: nothing changed


@dataclass(frozen=True)
class Rewrapped:
    """A data key moved from one KEK version to another (compare-and-set on ``old_kek``)."""

    row_id: int
    old_kek: int
    new_kek: int
    wrapped: bytes = field(repr=False)


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: identifiers in the clear, every other field an envelope."""

    tenant: str
    kind: str
    record_id: str
    subject_id: str
    created_at: float
    fields: Mapping[str, bytes] = field(repr=False)


@dataclass(frozen=True)
class IndexEntry:
    """A blind index entry: keyed HMAC of a normalised field value."""

    field: str
    digest: str


@dataclass(frozen=True)
class KekStatus:
    """What ``zt keys status`` shows for one KEK version."""

    version: int
    primary: bool
    created_at: float
    age_s: float
    usage: int
    usage_limit: int
    data_keys: int  # live data keys still wrapped by this version
    retired_at: float | None
