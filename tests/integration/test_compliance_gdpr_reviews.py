"""GDPR export and erasure over the live vault; review campaigns revoke at once; the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from tests.support.identity import make_user
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.cli import compliance as cli
from zerotrust.compliance.gdpr import erase_subject, export_subject
from zerotrust.compliance.reviews import Reviews
from zerotrust.compliance_adapter import LiveEvidence, campaigns_for
from zerotrust.core.clock import FixedClock
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

INVENTORY = Path(__file__).resolve().parents[2] / "examples" / "dataflow.yaml"


@pytest.fixture
def svc(settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing) -> Iterator[Services]:
    s = build_services(settings, clock=clock, hashing=fast_hashing)
    yield s
    s.close()


def test_export_then_erase(svc: Services) -> None:
    source = LiveEvidence(svc)
    records = svc.vault.records
    cus = records.create_customer(
        name="Ada Lovelace", email="ada@example.com", pan="4111111111111111"
    )
    records.create_transaction(
        customer_id=cus.record_id, amount="12.50", currency="EUR", merchant="Books"
    )
    records.create_credit_profile(customer_id=cus.record_id, score=710)
    other = records.create_customer(name="Grace Hopper", email="grace@example.com")

    export = export_subject(records, cus.record_id, actor="dpo", recorder=source, now=source.now())
    data = export.to_json()
    assert data["status"] == "active"
    kinds = sorted(r["kind"] for r in data["records"])
    assert kinds == ["credit_profile", "customer", "transaction"]
    customer = next(r for r in data["records"] if r["kind"] == "customer")
    assert customer["name"] == "Ada Lovelace"
    assert customer["email"] == "ada@example.com"
    assert "pan" not in customer  # the PAN is never exported in the clear (PCI DSS 3.4)

    erase_subject(records, cus.record_id, actor="dpo", recorder=source)
    after = export_subject(records, cus.record_id, actor="dpo", recorder=source, now=source.now())
    assert after.status == "erased"
    assert {r.status for r in after.records} == {"erased"}
    assert all(not r.fields for r in after.records)
    assert records.get("customer", cus.record_id).status == "erased"
    assert {r.status for r in records.for_customer("transaction", cus.record_id)} == {"erased"}
    assert records.get("customer", other.record_id).status == "active"  # only the subject
    integrity = source.verify_audit_log()
    assert integrity.verified, integrity.error
    assert svc.audit_log is not None
    actions = [e.action for e in svc.audit_log.read(EntryFilter(action="gdpr."), reader="t")]
    assert actions == ["gdpr.dsar_export", "gdpr.erasure_request", "gdpr.dsar_export"]


def test_campaign_revocation_takes_effect_immediately(svc: Services) -> None:
    make_user(svc, "alice", roles=("fraud_analyst", "developer"))
    make_user(svc, "rita", roles=("admin",))
    source = LiveEvidence(svc)
    reviews = Reviews(source, source, campaigns_for(svc))
    [alice] = [r for r in reviews.principals() if r.principal.name == "alice"]
    assert ("read", "Transaction") in alice.granted
    assert alice.over_privileged
    campaign = reviews.start("Q1", actor="rita")
    alice_id = svc.admin.get("alice").id
    item = f"{alice_id}/role/developer"
    with pytest.raises(Exception, match="own access"):
        reviews.revoke(campaign.id, f"{svc.admin.get('rita').id}/role/admin", reviewer="rita")
    reviews.revoke(campaign.id, item, reviewer="rita", note="not a developer")
    assert svc.admin.get("alice").roles == ("fraud_analyst",)
    stored = reviews.get(campaign.id)
    assert stored.item(item).decision == "revoke"
    assert stored.closed_at is None
    assert svc.audit_log is not None
    logged = svc.audit_log.read(EntryFilter(action="review."), reader="t")
    assert [e.action for e in logged] == ["review.campaign_start", "review.revoke"]
    assert logged[1].details["entitlement"] == "developer"


@pytest.fixture
def env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ZT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ZT_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("ZT_ROOT_KEY", settings.root_key)
    monkeypatch.setenv("ZT_DATAFLOW_INVENTORY", str(INVENTORY))
    return settings


def run(group: click.Command, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(group, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli(env: Settings, tmp_path: Path) -> None:
    code, out, _ = run(cli.dataflow, "render", "--format", "mermaid")
    assert code == 0
    assert out.startswith("flowchart LR")
    assert "card_processor" in out
    code, out, _ = run(cli.dataflow, "render", "--format", "json")
    assert code == 0
    assert len(json.loads(out)["flows"]) == 8
    code, out, _ = run(cli.report, "gdpr", "--format", "json")
    data = json.loads(out)
    assert code == 0, [k for c in data["controls"] for k in c["checks"] if k["status"] == "fail"]
    assert data["summary"] == {"pass": 3, "fail": 0, "manual": 0}
    code, _, err = run(cli.report, "pci", "--since", "yesterday")
    assert code != 0
    assert err.startswith("error: --since")
    code, _, err = run(cli.dsar, "export", "cus_missing", "--actor", "dpo")
    assert code == 1
    assert err.startswith("error:")
    assert "\n" not in err.strip()
    code, out, _ = run(cli.review, "start", "Q1", "--actor", "rita")
    assert code == 0
    assert json.loads(out)["items"] == 0
    code, _, err = run(cli.review, "certify", "bogus", "x", "--reviewer", "rita")
    assert code == 1
    assert err.startswith("error:")
