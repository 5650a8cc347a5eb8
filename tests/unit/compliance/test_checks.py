"""Checks and controls over a plain fake source: no database, no services."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

from zerotrust.compliance.checks import CHECKS
from zerotrust.compliance.controls import CATALOGUE, controls
from zerotrust.compliance.models import (
    AuthSettings,
    FieldFacts,
    GrantFacts,
    IntegrityFacts,
    KeyFacts,
    Permission,
    PrincipalFacts,
    ScannedEntry,
)
from zerotrust.compliance.report import build_report
from zerotrust.core.auditing import AuditRecord, MemoryAudit

NOW = 1_800_000_000.0


@dataclass
class Fake:
    users: list[PrincipalFacts] = field(
        default_factory=lambda: [
            PrincipalFacts("u1", "alice", "user", True, ("fraud_analyst",), ("totp",))
        ]
    )
    settings: AuthSettings = field(default_factory=lambda: AuthSettings(10, 1800, 900, 43200))
    keys: list[KeyFacts] = field(
        default_factory=lambda: [KeyFacts(1, True, NOW - 86_400, 86_400, 10, 1000, 3)]
    )
    integrity: IntegrityFacts = field(default_factory=lambda: IntegrityFacts(True, 10, 1))
    effect: str = "step_up"
    audit: MemoryAudit = field(default_factory=MemoryAudit)

    def now(self) -> float:
        return NOW

    def principals(self) -> list[PrincipalFacts]:
        return self.users

    def auth_settings(self) -> AuthSettings:
        return self.settings

    def key_versions(self) -> list[KeyFacts]:
        return self.keys

    def classified_fields(self) -> list[FieldFacts]:
        return [
            FieldFacts("customer", "CustomerPII", "pan", "PAN", True, False, 2),
            FieldFacts("customer", "CustomerPII", "name", "PII", True, True, 2),
        ]

    def verify_audit_log(self) -> IntegrityFacts:
        return self.integrity

    def audit_entries(self, *, since: float | None) -> Iterator[ScannedEntry]:
        from zerotrust.audit.entry import AuditEntry

        yield ScannedEntry(
            0, AuditEntry(0, "2027-01-01T00:00:00.000Z", "auth.login", "u1", "success")
        )

    def inclusion_proof(self, seq: int) -> dict[str, Any] | None:
        return {"seq": seq, "proof": []}

    def permissions(self, principal: PrincipalFacts) -> frozenset[Permission]:
        return frozenset({("read", "Transaction")})

    def role_permissions(self, principal: PrincipalFacts, role: str) -> frozenset[Permission]:
        return self.permissions(principal)

    def admin_effect_at_aal2(self) -> str:
        return self.effect

    def detectors(self) -> list[str]:
        return ["brute_force"]

    def grants(self) -> list[GrantFacts]:
        return []

    def record(self, record: AuditRecord) -> int:
        return self.audit.append(record)


def test_every_mapped_check_exists_and_every_framework_is_covered() -> None:
    assert {n for c in CATALOGUE for n in c.checks} <= set(CHECKS)
    ids = {c.id for c in controls("pci")}
    assert {"3.4", "3.7", "8.3", "8.6", "10.2", "10.7"} <= ids
    assert {c.id for c in controls("gdpr")} == {"Art. 17", "Art. 30", "Art. 32"}
    assert len(controls("soc2")) == 11


def test_a_healthy_state_passes_pci() -> None:
    report = build_report("pci", Fake())
    assert report.failed() == []


@pytest.mark.parametrize(
    ("change", "control"),
    [
        ({"settings": AuthSettings(11, 1800, 900, 43200)}, "8.3"),
        ({"settings": AuthSettings(10, 1800, 3600, 43200)}, "8.3"),
        ({"effect": "allow"}, "8.5"),
        ({"integrity": IntegrityFacts(False, 10, 1, "entry 3: edited", 3)}, "10.3"),
        ({"keys": [KeyFacts(1, True, 0, 400 * 86_400, 10, 1000, 3)]}, "3.7"),
        ({"keys": [KeyFacts(1, True, NOW, 1, 1000, 1000, 3)]}, "3.6"),
    ],
)
def test_each_failure_fails_its_control(change: dict[str, Any], control: str) -> None:
    report = build_report("pci", replace(Fake(), **change))
    assert control in report.failed()


def test_a_check_that_crashes_fails_closed() -> None:
    class Broken(Fake):
        def auth_settings(self) -> AuthSettings:
            raise RuntimeError("down")

    report = build_report("pci", Broken())
    assert report.check("lockout_settings").status == "fail"
    assert "could not run" in report.check("lockout_settings").summary


def test_the_report_is_audited_and_proofs_attached() -> None:
    fake = Fake(integrity=IntegrityFacts(False, 10, 1, "entry 3: edited", 3))
    report = build_report("pci", fake, recorder=fake, actor="auditor")
    assert report.proofs[3] == {"seq": 3, "proof": []}
    [record] = fake.audit.records
    assert record.action == "compliance.report"
    assert record.details["failed"] == ["10.3", "10.7"]
