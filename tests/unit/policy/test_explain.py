"""Explanations for people and the audit entry of a decision."""

from __future__ import annotations

from tests.unit.policy.helpers import make_request, user
from zerotrust.policy.explain import audit_record, explain
from zerotrust.policy.model import Decision
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle


def test_a_step_up_explains_what_to_present(pdp: PolicyDecisionPoint, bundle: PolicyBundle) -> None:
    decision = pdp.decide(make_request(user("admin"), "manage", "Role"))
    text = explain(decision, bundle)
    assert text.startswith("STEP-UP (policy set sha256:")
    assert "step up to aal3, authenticated within 300 s" in text
    assert "policy manage-needs-aal3 (forbid, 10-step-up.cedar):" in text
    assert 'forbid(principal, action == Action::"manage", resource)' in text


def test_an_allow_names_its_obligations(pdp: PolicyDecisionPoint, bundle: PolicyBundle) -> None:
    decision = pdp.decide(make_request(user("data_scientist"), "read", "FeatureSet"))
    text = explain(decision, bundle)
    assert "ALLOW" in text
    assert "obligations: drop:ssn, tokenize:customer_id" in text


def test_pdp_reasons_and_errors_are_described(bundle: PolicyBundle) -> None:
    decision = Decision("deny", ("invalid-request",), ("gone",), errors=("bad context",))
    text = explain(decision, bundle)
    assert "reason: invalid-request — the request does not conform to the schema" in text
    assert "error: bad context" in text
    assert "policy gone: not in the policy set in force" in text


def test_the_audit_record_carries_the_detail(pdp: PolicyDecisionPoint) -> None:
    request = make_request(user("support_agent", uid="sa1"), "export", "CustomerPII")
    decision = pdp.decide(request)
    record = audit_record(request, decision, src_ip="203.0.113.9")
    assert (record.action, record.actor, record.outcome) == (
        "authz.decision",
        "User:sa1",
        "denied",
    )
    assert record.resource == "CustomerPII:r1"
    assert record.reason == "export-needs-aal3,support-agent-no-export"
    assert record.details["version"] == decision.version
    assert record.src_ip == "203.0.113.9"
