"""Crypto-shredding (GDPR art. 17): erase a data subject by destroying their data key.

Every record of the subject was encrypted under that key, so once it is gone the
records, their copies and every backup taken since the key was last rewrapped hold only
ciphertext nobody can open. The blind index entries (keyed hashes of the subject's email,
phone and card token) are deleted too, so the subject can no longer be found. Records
then read as ``erased``; erasing again changes nothing and says so. The audit log keeps
the fact of the erasure (an opaque subject id, never personal data), so it still verifies.
"""

from __future__ import annotations

from dataclasses import dataclass

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.vault.interfaces import RecordRepo
from zerotrust.vault.keys import KeyHierarchy


@dataclass(frozen=True)
class Erasure:
    """The outcome of one erasure request."""

    subject_id: str
    keys_destroyed: int
    index_entries_removed: int
    already_erased: bool


def erase_subject(
    *,
    keys: KeyHierarchy,
    records: RecordRepo,
    audit: AuditRecorder,
    tenant: str,
    subject_id: str,
    actor: str,
) -> Erasure:
    """Destroy the subject's keys and index entries; audited, idempotent."""
    destruction = keys.destroy(tenant, subject_id)
    removed = records.drop_index(tenant, subject_id)
    erasure = Erasure(
        subject_id=subject_id,
        keys_destroyed=destruction.destroyed,
        index_entries_removed=removed,
        already_erased=destruction.already_erased,
    )
    audit.append(
        AuditRecord(
            action="vault.erase",
            actor=actor,
            outcome="success",
            resource=f"subject:{subject_id}",
            reason="already_erased" if erasure.already_erased else None,
            details={"tenant": tenant, "keys_destroyed": erasure.keys_destroyed},
        )
    )
    return erasure
