"""A known state fails exactly the controls it should, with the right evidence.

The state: one user without MFA, a key-encryption key past its cryptoperiod (the clock
advanced 400 days), one undeclared flow of PII (a workload reading CustomerPII that the
inventory does not know), and one audit entry edited in the database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.support.identity import PASSWORD, make_user
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.compliance.dataflow import load_inventory
from zerotrust.compliance.report import Report, build_report, render_report
from zerotrust.compliance.reviews import Reviews
from zerotrust.compliance_adapter import LiveEvidence, campaigns_for
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

INVENTORY = Path(__file__).resolve().parents[2] / "examples" / "dataflow.yaml"
DAY = 86_400


@dataclass
class Known:
    svc: Services
    source: LiveEvidence
    no_mfa_user: str
    undeclared_seq: int
    tampered_seq: int


def decision(svc: Services, actor: str, resource: str, action: str = "read") -> int:
    return svc.audit.append(
        AuditRecord(
            action="authz.decision",
            actor=actor,
            outcome="allowed",
            resource=resource,
            reason="role-permit",
            details={"action": action, "route": "records"},
        )
    )


def tamper(svc: Services, seq: int) -> None:
    table = sa.table("audit_entries", sa.column("seq"), sa.column("entry"))
    with svc.db.engine.begin() as conn:
        entry = conn.execute(sa.select(table.c.entry).where(table.c.seq == seq)).scalar_one()
        edited = bytes(entry).replace(b'"outcome":"success"', b'"outcome":"failure"')
        assert edited != bytes(entry)
        conn.execute(sa.update(table).where(table.c.seq == seq).values(entry=edited))


@pytest.fixture
def known(settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing) -> Iterator[Known]:
    svc = build_services(settings, clock=clock, hashing=fast_hashing)
    make_user(svc, "alice", roles=("fraud_analyst",))
    make_user(svc, "bob", roles=("compliance_officer",))
    make_user(svc, "rita", roles=("admin",))
    carol = svc.admin.create_user(
        "carol", roles=("support_agent",), password=PASSWORD, actor="test"
    )
    fraud = svc.admin.create_service_account(
        "fraud-model", workload_kind="fraud_model", purposes=["fraud"], actor="test"
    )
    marketing = svc.admin.create_service_account(
        "marketing-model", workload_kind="analytics", purposes=["marketing"], actor="test"
    )
    customer = svc.vault.records.create_customer(
        name="Ada Lovelace", email="ada@example.com", pan="4111111111111111"
    )
    svc.vault.records.create_transaction(
        customer_id=customer.record_id, amount="12.50", currency="EUR", merchant="Books"
    )
    # The one tampered entry: carol's creation, long before the report period.
    tampered = next(
        e.seq
        for e in svc.audit_log.read(limit=1000, reader="test")  # type: ignore[union-attr]
        if e.action == "principal.create" and e.details.get("name") == "carol"
    )
    clock.advance(400 * DAY)  # the KEK created at start-up is now past its cryptoperiod
    decision(svc, f"ServiceAccount:{fraud.id}", "Transaction:txn_1")
    decision(svc, f"User:{svc.admin.get('alice').id}", "Transaction:txn_1")
    undeclared = decision(
        svc, f"ServiceAccount:{marketing.id}", f"CustomerPII:{customer.record_id}"
    )
    source = LiveEvidence(svc)
    reviews = Reviews(source, source, campaigns_for(svc))
    campaign = reviews.start("Q1 review", actor="rita")
    rita = svc.admin.get("rita").id
    for item in campaign.items:
        reviewer = "bob" if item.principal_id == rita else "rita"
        reviews.certify(campaign.id, item.id, reviewer=reviewer)
    tamper(svc, tampered)
    yield Known(svc, source, carol.name, undeclared, tampered)
    svc.close()


def report(k: Known, framework: str) -> Report:
    return build_report(
        framework,
        k.source,
        inventory=load_inventory(INVENTORY),
        campaigns=campaigns_for(k.svc),
        recorder=k.source,
        actor="bob",
    )


def test_pci_fails_exactly_mfa_keys_and_audit_integrity(known: Known) -> None:
    r = report(known, "pci")
    assert sorted(r.failed()) == ["10.3", "10.7", "3.6", "3.7", "8.4"]
    mfa = r.check("mfa_coverage")
    assert [u["name"] for u in mfa.evidence["without_mfa"]] == [known.no_mfa_user]
    keys = r.check("key_rotation")
    assert keys.status == "fail"
    assert "400 days old" in keys.summary
    integrity = r.check("audit_integrity")
    assert integrity.evidence["first_bad_seq"] == known.tampered_seq
    assert "edited" in (integrity.evidence["error"] or "")
    assert r.check("detections_responded").status == "pass"


def test_soc2_fails_exactly_cc61_and_cc72(known: Known) -> None:
    r = report(known, "soc2")
    assert sorted(r.failed()) == ["CC6.1", "CC7.2"]
    assert r.status_of("CC6.4") == "manual"
    review = r.check("access_review")
    assert review.status == "pass"
    assert review.evidence["pending"] == 0
    assert review.evidence["certified"] == review.evidence["items"] > 0


def test_gdpr_fails_art30_with_the_undeclared_flow_and_its_proof(known: Known) -> None:
    r = report(known, "gdpr")
    assert sorted(r.failed()) == ["Art. 30", "Art. 32"]
    declared = r.check("dataflow_declared")
    [flow] = declared.evidence["undeclared"]
    assert flow["flow"] == "records_store->principal:marketing-model"
    assert set(flow["data"]) == {"PII", "PAN"}
    assert flow["audit_seqs"] == [known.undeclared_seq]
    proof = r.proofs[known.undeclared_seq]
    assert proof["seq"] == known.undeclared_seq
    assert proof["proof"]
    assert json.loads(proof["entry"])["actor"].startswith("ServiceAccount:")


def test_reports_render_and_are_audited(known: Known) -> None:
    r = report(known, "pci")
    assert "| 8.4 | FAIL |" in render_report(r, "md")
    assert "<b>FAIL</b>" in render_report(r, "html")
    data = json.loads(render_report(r, "json"))
    assert data["summary"]["fail"] == 5
    assert known.svc.audit_log is not None
    # Reading past the tampered entry raises, so read only the report entries.
    last = known.svc.audit_log.read(EntryFilter(action="compliance.report"), reader="test")
    assert [(e.actor, e.resource) for e in last] == [("bob", "report:pci")]
    assert last[0].details["failed"] == ["3.6", "3.7", "8.4", "10.3", "10.7"]


def test_model_outputs_and_transaction_circumstances_are_classified(services: Services) -> None:
    """A model's conclusion about a customer is its own data class; a transaction's
    where, when and how are financial data, like its amount."""
    classes = {(f.kind, f.field): f.data_class for f in LiveEvidence(services).classified_fields()}
    assert classes[("model_output", "score")] == "model_output"
    assert classes[("model_output", "explanation")] == "model_output"
    assert classes[("credit_profile", "score")] == "financial"
    for name in ("category", "country", "occurred_at", "channel", "fraud_label"):
        assert classes[("transaction", name)] == "financial"
    assert classes[("customer", "name")] == "PII"
