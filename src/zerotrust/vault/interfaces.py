"""Storage protocols the vault depends on; ``zerotrust.store.vault_repo`` implements them.

Counters are reserved atomically (``reserve_*`` never grants past the limit, even to two
processes at once), and a data key may only be written under a KEK version that exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from zerotrust.vault.models import (
    DataKeyRecord,
    Destruction,
    IndexEntry,
    KekRecord,
    Rewrapped,
    StoredRecord,
)


class KeyRepo(Protocol):
    def keks(self) -> Sequence[KekRecord]:
        """Every KEK version, lowest first."""

    def add_kek(self, kek: KekRecord) -> None:
        """Insert a new primary and retire the previous one; ``Conflict`` if the version exists."""

    def delete_kek(self, version: int) -> None:
        """Delete a version; ``KeyInUse`` while a live data key references it."""

    def reserve_kek(self, version: int, uses: int, *, limit: int) -> int:
        """Atomically add up to ``uses`` to the counter without passing ``limit``.

        Returns the number granted: 0 when the version is exhausted or gone.
        """

    def kek_references(self) -> Mapping[int, int]:
        """Live data keys per KEK version."""

    def data_keys(self, tenant: str, subject_id: str) -> Sequence[DataKeyRecord]:
        """A subject's data key versions, lowest first (destroyed ones included)."""

    def add_data_key(self, key: DataKeyRecord) -> None:
        """Insert; ``Conflict`` if the version exists or its KEK version does not."""

    def reserve_data_key(
        self, tenant: str, subject_id: str, version: int, uses: int, *, limit: int
    ) -> int:
        """Like ``reserve_kek`` for one data key version (0 if destroyed)."""

    def destroy_subject(self, tenant: str, subject_id: str, *, now: float) -> Destruction:
        """Erase the wrapped keys of every version, in one transaction (idempotent).

        A subject with no key gets a tombstone, so it stays erased.
        """

    def pending_rewrap(self, primary: int, *, after: int, limit: int) -> Sequence[DataKeyRecord]:
        """Live data keys not under ``primary`` with ``row_id > after``, in row order."""

    def count_pending(self, primary: int) -> int: ...

    def apply_rewrap(self, updates: Sequence[Rewrapped]) -> int:
        """Apply the updates whose key is still under ``old_kek``, in one transaction."""


class RecordRepo(Protocol):
    def add(self, record: StoredRecord, index: Sequence[IndexEntry]) -> None:
        """Insert the record and its blind index entries in one transaction."""

    def add_many(self, records: Sequence[tuple[StoredRecord, Sequence[IndexEntry]]]) -> None:
        """Insert many records and their index entries in one transaction: all or none.

        ``Conflict`` if any record exists, and then nothing is inserted.
        """

    def get(self, tenant: str, kind: str, record_id: str) -> StoredRecord | None: ...

    def find(
        self, tenant: str, kind: str, field: str, digest: str, *, limit: int
    ) -> Sequence[StoredRecord]: ...

    def for_subject(
        self, tenant: str, kind: str, subject_id: str, *, limit: int
    ) -> Sequence[StoredRecord]: ...

    def drop_index(self, tenant: str, subject_id: str) -> int:
        """Delete a subject's blind index entries (erasure); the number deleted."""
