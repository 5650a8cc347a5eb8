"""The facts compliance reads from live state, and the ``EvidenceSource`` that supplies them.

The compliance package never touches storage, the service or the edges: it asks an
``EvidenceSource`` (implemented over the live services by ``zerotrust.compliance_adapter``,
and by a plain object in unit tests) for read-only facts, and reports what they show.
Writes it needs (its own audit entries, revocations decided in a review) go through the
narrow ``AccessControl`` protocol.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from zerotrust.audit.entry import AuditEntry
from zerotrust.core.auditing import AuditRecord

Status = Literal["pass", "fail", "manual"]
Permission = tuple[str, str]  # (action, resource type), e.g. ("read", "CustomerPII")


@dataclass(frozen=True)
class PrincipalFacts:
    """A principal as compliance sees it: who, which roles, which second factors."""

    id: str
    name: str
    kind: Literal["user", "service"]
    active: bool
    roles: tuple[str, ...]
    mfa_methods: tuple[str, ...] = ()
    workload_kind: str | None = None
    purposes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuthSettings:
    """Authentication settings in force (PCI DSS 8.2.8, 8.3.4)."""

    lockout_threshold: int
    lockout_duration_s: int
    session_idle_s: int
    session_absolute_s: int


@dataclass(frozen=True)
class KeyFacts:
    """One key-encryption key version (PCI DSS 3.6, 3.7)."""

    version: int
    primary: bool
    created_at: float
    age_s: float
    usage: int
    usage_limit: int
    data_keys: int


@dataclass(frozen=True)
class FieldFacts:
    """One classified field of a vault record kind and how it is stored."""

    kind: str
    resource_type: str
    field: str
    data_class: str  # PII | PAN | financial
    encrypted: bool  # every stored value sampled is an AES-GCM envelope
    revealed: bool  # returned by reads (False for the PAN: detokenise only)
    sampled: int = 0


@dataclass(frozen=True)
class IntegrityFacts:
    """The outcome of a fresh verification of the audit log."""

    verified: bool
    size: int
    checkpoints: int = 0
    error: str | None = None
    seq: int | None = None  # the first bad entry, when one is named


@dataclass(frozen=True)
class GrantFacts:
    """A just-in-time grant in force."""

    id: str
    principal_id: str
    action: str
    resource_type: str
    resource_id: str
    approved_at: float | None
    expires_at: float | None


@dataclass(frozen=True)
class ScannedEntry:
    """An audit entry read for evidence, or the seq of one that failed its leaf hash."""

    seq: int
    entry: AuditEntry | None  # None: the stored bytes do not match the leaf hash


@dataclass(frozen=True)
class CheckResult:
    """What one automated check found."""

    check: str
    status: Status
    summary: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    samples: tuple[int, ...] = ()  # audit entry seqs backing the evidence
    remediation: str | None = None


class EvidenceSource(Protocol):
    """Read-only facts about live state."""

    def now(self) -> float: ...

    def principals(self) -> Sequence[PrincipalFacts]: ...

    def auth_settings(self) -> AuthSettings: ...

    def key_versions(self) -> Sequence[KeyFacts]: ...

    def classified_fields(self) -> Sequence[FieldFacts]: ...

    def verify_audit_log(self) -> IntegrityFacts:
        """Recompute the log from storage against the signed checkpoints, now."""

    def audit_entries(self, *, since: float | None) -> Iterable[ScannedEntry]:
        """Entries at or after ``since`` in seq order, streamed (flat memory)."""

    def inclusion_proof(self, seq: int) -> Mapping[str, Any] | None:
        """The entry's inclusion proof (JSON form), or None if it cannot be proven."""

    def permissions(self, principal: PrincipalFacts) -> frozenset[Permission]:
        """What the policy in force lets this principal do (allow or step-up)."""

    def role_permissions(self, principal: PrincipalFacts, role: str) -> frozenset[Permission]:
        """What one of the principal's roles alone lets it do."""

    def admin_effect_at_aal2(self) -> str:
        """The policy's answer to an admin managing a role at AAL2 (``step_up`` expected)."""

    def detectors(self) -> Sequence[str]: ...

    def grants(self) -> Sequence[GrantFacts]: ...


class AccessControl(Protocol):
    """The writes compliance may make: its own audit entries and review revocations."""

    def record(self, record: AuditRecord) -> int: ...

    def revoke_role(self, principal_id: str, role: str, *, actor: str) -> None: ...

    def revoke_grant(self, grant_id: str, *, actor: str) -> None: ...
