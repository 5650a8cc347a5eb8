from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from zerotrust.audit.entry import AuditEntry
from zerotrust.compliance.dataflow import load_inventory, merge, observe, parse_inventory, use_of
from zerotrust.compliance.gdpr import processing_records, processing_records_markdown
from zerotrust.compliance.models import PrincipalFacts
from zerotrust.compliance.render import dot_available, to_dot, to_mermaid, to_svg
from zerotrust.core.errors import InvalidInput

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "dataflow.yaml"
FRAUD = PrincipalFacts("svc_1", "fraud-model", "service", True, ("fraud_model",))
SPY = PrincipalFacts("svc_2", "spy-model", "service", True, ("analytics",))


def entry(seq: int, actor: str, resource: str, action: str = "read") -> AuditEntry:
    return AuditEntry(
        seq,
        "2026-01-01T00:00:00.000Z",
        "authz.decision",
        actor,
        "allowed",
        resource=resource,
        details={"action": action},
    )


def test_the_example_inventory_loads() -> None:
    inv = load_inventory(EXAMPLE)
    assert {n.kind for n in inv.nodes} == {"store", "service", "workload", "external"}
    assert len(inv.flows) == 8


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"nodes": "x"}, "nodes: a list"),
        ({"nodes": [{"id": "a", "kind": "cloud"}]}, "kind"),
        ({"nodes": [{"id": "a", "kind": "store"}, {"id": "a", "kind": "store"}]}, "twice"),
        (
            {
                "nodes": [{"id": "a", "kind": "store"}],
                "flows": [{"from": "a", "to": "b", "data": ["PII"], "encrypted": True}],
            },
            "no node",
        ),
        (
            {
                "nodes": [{"id": "a", "kind": "store"}],
                "flows": [{"from": "a", "to": "a", "data": ["secrets"], "encrypted": True}],
            },
            "classes",
        ),
        (
            {
                "nodes": [{"id": "a", "kind": "store"}],
                "flows": [{"from": "a", "to": "a", "data": ["PII"], "encrypted": "yes"}],
            },
            "true or",
        ),
    ],
)
def test_bad_inventories_are_refused(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_inventory(data)


def test_observed_flows_merge_and_undeclared_pii_is_flagged() -> None:
    inv = load_inventory(EXAMPLE)
    seen = observe(
        inv,
        [FRAUD, SPY],
        [
            entry(1, "ServiceAccount:svc_1", "Transaction:t1"),
            entry(2, "ServiceAccount:svc_1", "Transaction:t2"),
            entry(3, "ServiceAccount:svc_2", "CustomerPII:c1"),
            entry(4, "ServiceAccount:svc_1", "ModelOutput:m1", action="write"),
        ],
    )
    fmap = merge(inv, seen)
    by_id = {f.id: f for f in fmap.flows}
    assert by_id["records_store->fraud_model"].observed == 2
    assert by_id["fraud_model->model_outputs"].observed == 1
    [undeclared] = fmap.risky("undeclared")
    assert undeclared.id == "records_store->principal:spy-model"
    assert set(undeclared.data) == {"PII", "PAN"}
    assert undeclared.samples == (3,)
    assert [f.id for f in fmap.risky("external_transfer")] == ["customer_api->card_processor"]
    assert fmap.risky("unencrypted") == []


def test_unencrypted_pii_hop_is_flagged() -> None:
    inv = parse_inventory(
        {
            "nodes": [{"id": "a", "kind": "service"}, {"id": "b", "kind": "store"}],
            "flows": [{"from": "a", "to": "b", "data": ["PII"], "encrypted": False}],
        }
    )
    assert [f.id for f in merge(inv).risky("unencrypted")] == ["a->b"]


def test_denials_and_key_management_are_not_flows() -> None:
    denied = AuditEntry(
        1,
        "t",
        "authz.decision",
        "User:u",
        "denied",
        resource="CustomerPII:c",
        details={"action": "read"},
    )
    erase = AuditEntry(2, "t", "vault.erase", "dpo", "success", resource="subject:c")
    assert use_of(denied) is None
    assert use_of(erase) is None


def test_render_marks_risky_flows() -> None:
    inv = load_inventory(EXAMPLE)
    fmap = merge(inv, observe(inv, [SPY], [entry(3, "ServiceAccount:svc_2", "CustomerPII:c1")]))
    mermaid = to_mermaid(fmap)
    assert mermaid.startswith("flowchart LR")
    assert "-.->" in mermaid
    assert "#d00000" in mermaid
    assert "penwidth=3" in to_dot(fmap)
    if dot_available():
        assert "<svg" in to_svg(fmap)


def test_art30_records_from_the_map() -> None:
    records = processing_records(load_inventory(EXAMPLE))
    external = [r for r in records if r["external_recipient"]]
    assert [r["purpose"] for r in external] == ["card payment authorisation"]
    assert "| Customer data API → Card processor (external) |" in processing_records_markdown(
        records
    )
