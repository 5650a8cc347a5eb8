"""GDPR: the data-subject access export (art. 15/20), erasure by crypto-shredding (art. 17)
and records of processing activities generated from the data-flow map (art. 30).

The export decrypts everything held on one customer for the request only, in memory, and
the request is audited with counts, never with the personal data. Erasure destroys the
subject's data keys in the vault: every record then reads as ``erased``, including in
backups taken afterwards, while the audit log (which holds no personal data) still
verifies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from zerotrust.compliance.dataflow import SENSITIVE, Inventory
from zerotrust.compliance.models import AccessControl
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import iso_utc
from zerotrust.vault.kinds import Record
from zerotrust.vault.shred import Erasure

OWNED_KINDS: Final = ("transaction", "credit_profile")
MAX_PER_KIND: Final = 1000


class SubjectRecords(Protocol):
    """The vault's record API, as far as a data-subject request needs it."""

    def get(self, kind: str, record_id: str, *, tenant: str = ...) -> Record: ...

    def for_customer(
        self, kind: str, customer_id: str, *, tenant: str = ..., limit: int = ...
    ) -> list[Record]: ...

    def erase(self, subject_id: str, *, actor: str, tenant: str = ...) -> Erasure: ...


@dataclass(frozen=True)
class SubjectExport:
    """Everything held on one data subject, as of ``generated_at``."""

    customer_id: str
    status: str  # active | erased
    generated_at: float
    records: tuple[Record, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.customer_id,
            "status": self.status,
            "generated_at": iso_utc(self.generated_at),
            "records": [r.to_json() for r in self.records],
        }


def export_subject(
    records: SubjectRecords,
    customer_id: str,
    *,
    actor: str,
    recorder: AccessControl,
    now: float,
    tenant: str = "default",
) -> SubjectExport:
    """The subject's records, decrypted; audited before anything is returned.

    ``NotFound`` if the vault holds no customer by that id.
    """
    customer = records.get("customer", customer_id, tenant=tenant)
    held = [customer]
    for kind in OWNED_KINDS:
        held += records.for_customer(kind, customer_id, tenant=tenant, limit=MAX_PER_KIND)
    status = "erased" if customer.status == "erased" else "active"
    recorder.record(
        AuditRecord(
            action="gdpr.dsar_export",
            actor=actor,
            outcome="success",
            resource=f"customer:{customer_id}",
            details={"records": len(held), "subject_status": status, "tenant": tenant},
        )
    )
    return SubjectExport(customer_id, status, now, tuple(held))


def erase_subject(
    records: SubjectRecords,
    customer_id: str,
    *,
    actor: str,
    recorder: AccessControl,
    tenant: str = "default",
) -> Erasure:
    """Crypto-shred the subject (idempotent); the request and the vault's act are audited."""
    records.get("customer", customer_id, tenant=tenant)  # NotFound for an unknown subject
    recorder.record(
        AuditRecord(
            action="gdpr.erasure_request",
            actor=actor,
            outcome="success",
            resource=f"customer:{customer_id}",
            details={"tenant": tenant},
        )
    )
    return records.erase(customer_id, actor=actor, tenant=tenant)


def processing_records(inventory: Inventory) -> list[dict[str, Any]]:
    """Art. 30(1) records: one per declared flow of personal data."""
    out = []
    for flow in inventory.flows:
        personal = sorted(SENSITIVE & set(flow.data))
        if not personal and "pseudonymised" not in flow.data:
            continue
        source, target = inventory.node(flow.source), inventory.node(flow.target)
        out.append(
            {
                "controller": inventory.controller,
                "activity": f"{source.name if source else flow.source} → "
                f"{target.name if target else flow.target}",
                "purpose": flow.purpose or "(not declared)",
                "lawful_basis": flow.lawful_basis or "(not declared)",
                "data_categories": list(flow.data),
                "recipient": target.name if target else flow.target,
                "external_recipient": bool(target and target.kind == "external"),
                "security_measures": "encrypted in transit"
                if flow.encrypted
                else "NOT encrypted in transit",
            }
        )
    return out


def processing_records_markdown(records: Sequence[dict[str, Any]]) -> str:
    lines = [
        "# Records of processing activities (GDPR art. 30)",
        "",
        "| activity | purpose | lawful basis | data | recipient | external | security |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['activity']} | {r['purpose']} | {r['lawful_basis']} | "
        f"{', '.join(r['data_categories'])} | {r['recipient']} | "
        f"{'yes' if r['external_recipient'] else 'no'} | {r['security_measures']} |"
        for r in records
    ]
    return "\n".join(lines) + "\n"
