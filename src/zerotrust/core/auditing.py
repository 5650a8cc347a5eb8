"""The audit contract every package writes to; the audit package implements the log.

An ``AuditRecord`` holds the PCI DSS 10.2.2 fields: who, what, when (stamped by the log),
where from, outcome and the affected resource. It never holds secrets, tokens or card
numbers. Writers fail closed: if ``append`` raises, the action that needed auditing fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class AuditRecord:
    """One security-relevant action to be written to the tamper-evident log."""

    action: str  # e.g. "auth.lockout", "role.grant", "authz.decision"
    actor: str  # principal id or "system"
    outcome: str  # "success" | "failure" | "allowed" | "denied" | …
    resource: str | None = None
    reason: str | None = None
    src_ip: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


class AuditRecorder(Protocol):
    """Appends records to the audit log; raises on failure (callers fail closed)."""

    def append(self, record: AuditRecord) -> int:
        """Append and return the entry's sequence number."""
        ...


class MemoryAudit:
    """An in-memory recorder for tests and dry runs."""

    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def append(self, record: AuditRecord) -> int:
        self.records.append(record)
        return len(self.records) - 1
