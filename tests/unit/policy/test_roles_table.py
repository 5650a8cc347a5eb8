"""The default pack against the issue's role table: every role x action x resource type.

The expectation below is written from the specification, not from the policy text, so
the policies are checked against an independent statement of the rules. Each decision's
effect *and* reasons are asserted.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.policy.helpers import make_request, user, workload
from zerotrust.policy.pdp import PolicyDecisionPoint

ACTIONS = ("read", "list", "write", "delete", "export", "score", "detokenize", "manage")
RESOURCE_TYPES = (
    "Customer",
    "CustomerPII",
    "CustomerProfile",
    "Transaction",
    "CreditProfile",
    "FeatureSet",
    "ModelOutput",
    "FraudCase",
    "AuditLog",
    "KeyMaterial",
    "Report",
    "Database",
    "User",
    "Role",
    "Device",
    "Policy",
)
WORKLOADS = ("fraud_model", "credit_model")
ROLES = (
    "fraud_analyst",
    "data_scientist",
    "support_agent",
    "compliance_officer",
    "developer",
    "admin",
)

# What each role may do, straight from the issue (least privilege: nothing else).
PERMITTED: dict[str, set[tuple[str, str]]] = {
    "fraud_model": {("read", "Transaction"), ("score", "Transaction"), ("write", "ModelOutput")},
    "credit_model": {("read", "CreditProfile"), ("read", "FeatureSet"), ("write", "ModelOutput")},
    "fraud_analyst": {
        ("read", "Transaction"),
        ("read", "CustomerProfile"),
        ("read", "ModelOutput"),
        ("write", "FraudCase"),
    },
    "data_scientist": {("read", "ModelOutput"), ("read", "FeatureSet")},
    "support_agent": {("read", "CustomerPII"), ("read", "Transaction")},
    "compliance_officer": {("read", "AuditLog"), ("read", "Report")},
    "developer": {("read", "Database")},
    "admin": {("manage", t) for t in ("User", "Role", "Device", "Policy")},
}
OBLIGATIONS: dict[str | tuple[str, str], tuple[str, ...]] = {
    "support_agent": ("mask:pan",),
    "data_scientist": ("drop:ssn", "tokenize:customer_id", "tokenize:email"),
    # The fraud model's view of transactions is pseudonymised; its outputs are not.
    ("fraud_model", "Transaction"): ("drop:pan", "drop:pii", "tokenize:customer_id"),
}
STEP_UP_ACTIONS = ("export", "detokenize", "manage")
# Resources carry the attributes the PEP knows: whose record, which environment.
RESOURCES: dict[str, dict[str, str]] = {
    "CustomerPII": {"type": "CustomerPII", "id": "r1", "customer": "c1"},
    "Transaction": {"type": "Transaction", "id": "r1", "customer": "c1"},
    "Database": {"type": "Database", "id": "r1", "environment": "staging"},
}


def never(role: str, action: str, kind: str) -> set[str]:
    """The 'never' lines of the issue, as reason codes."""
    rules = {
        "workload-transactions-read-only": role == "fraud_model"
        and action in ("write", "delete")
        and kind == "Transaction",
        "workload-no-pii": role == "fraud_model" and kind == "CustomerPII",
        "data-scientist-no-pii": role == "data_scientist" and kind == "CustomerPII",
        "admin-no-pii": role == "admin" and kind == "CustomerPII",
        "developer-no-manage": role == "developer"
        and action == "manage"
        and kind in ("User", "Role", "KeyMaterial"),
        "support-agent-no-export": role == "support_agent" and action == "export",
    }
    return {reason for reason, applies in rules.items() if applies}


def expected(role: str, action: str, kind: str, *, aal: int) -> tuple[str, set[str]]:
    step_up = {f"{action}-needs-aal3"} if action in STEP_UP_ACTIONS and aal < 3 else set()
    hard = never(role, action, kind)
    if hard:
        return "deny", hard | step_up
    if (action, kind) not in PERMITTED[role]:
        return "deny", {"no-applicable-policy"}
    if step_up:
        return "step_up", step_up
    return "allow", {"role-permit"}


def principal(role: str) -> dict[str, Any]:
    return workload(role) if role in WORKLOADS else user(role)


def context(role: str, aal: int) -> dict[str, Any]:
    ctx: dict[str, Any] = {"aal": aal, "case_customer": "c1"}
    if role in WORKLOADS:
        ctx["purpose"] = "fraud"
    return ctx


@pytest.mark.parametrize("aal", [2, 3])
@pytest.mark.parametrize("role", WORKLOADS + ROLES)
def test_every_role_action_and_resource_type(pdp: PolicyDecisionPoint, role: str, aal: int) -> None:
    mismatches = []
    for action in ACTIONS:
        for kind in RESOURCE_TYPES:
            resource = RESOURCES.get(kind, kind)
            decision = pdp.decide(
                make_request(principal(role), action, resource, context(role, aal))
            )
            effect, reasons = expected(role, action, kind, aal=aal)
            if (decision.effect, set(decision.reasons)) != (effect, reasons):
                mismatches.append(
                    f"{action} {kind}: got {decision.effect} {sorted(decision.reasons)}, "
                    f"expected {effect} {sorted(reasons)}"
                )
            if decision.effect == "allow":
                wanted = OBLIGATIONS.get((role, kind), OBLIGATIONS.get(role, ()))
                assert decision.obligations == wanted
            if decision.effect == "step_up":
                assert (decision.required_aal, decision.max_auth_age_s) == (3, 300)
            assert decision.version.startswith("sha256:")
    assert not mismatches, "\n".join(mismatches)


# -- context rules: device, risk, assurance --------------------------------------------


@pytest.mark.parametrize("trust", ["low", "unknown"])
def test_untrusted_device_is_denied_everything_but_reports(
    pdp: PolicyDecisionPoint, trust: str
) -> None:
    device = {"device": {"trust": trust}}
    analyst = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction", device))
    assert (analyst.effect, analyst.reasons) == ("deny", ("device-untrusted",))
    assert analyst.policies == ("device-untrusted",)
    report = pdp.decide(make_request(user("compliance_officer"), "read", "Report", device))
    assert (report.effect, report.reasons) == ("allow", ("role-permit",))


def test_medium_device_trust_is_enough(pdp: PolicyDecisionPoint) -> None:
    medium = {"device": {"trust": "medium"}}
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction", medium))
    assert decision.effect == "allow"


def test_unenrolled_device_is_denied_everything_but_reports(pdp: PolicyDecisionPoint) -> None:
    device = {"device": {"enrolled": False}}
    analyst = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction", device))
    assert (analyst.effect, analyst.reasons) == ("deny", ("device-not-enrolled",))
    report = pdp.decide(make_request(user("compliance_officer"), "read", "Report", device))
    assert report.effect == "allow"


def test_high_risk_denies(pdp: PolicyDecisionPoint) -> None:
    risk = {"risk": {"score": 90, "level": "high"}, "aal": 3}
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction", risk))
    assert (decision.effect, decision.reasons) == ("deny", ("risk-high",))


def test_medium_risk_asks_for_a_fresh_multi_factor_authentication(
    pdp: PolicyDecisionPoint,
) -> None:
    medium = {"risk": {"score": 50, "level": "medium"}}
    weak = pdp.decide(
        make_request(user("fraud_analyst"), "read", "Transaction", {**medium, "aal": 1})
    )
    assert (weak.effect, weak.reasons, weak.required_aal) == ("step_up", ("risk-medium",), 2)
    assert weak.max_auth_age_s == 300
    stale = pdp.decide(
        make_request(user("fraud_analyst"), "read", "Transaction", {**medium, "auth_age_s": 900})
    )
    assert (stale.effect, stale.required_aal) == ("step_up", 2)
    fresh = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction", medium))
    assert fresh.effect == "allow"


def test_medium_risk_on_something_not_permitted_is_a_plain_deny(pdp: PolicyDecisionPoint) -> None:
    # No one is asked to step up only to be denied afterwards.
    medium = {"risk": {"score": 50, "level": "medium"}, "aal": 1}
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "CustomerPII", medium))
    assert (decision.effect, decision.reasons) == ("deny", ("no-applicable-policy",))


def test_step_up_takes_the_highest_level_demanded(pdp: PolicyDecisionPoint) -> None:
    ctx = {"risk": {"score": 50, "level": "medium"}, "aal": 1}
    decision = pdp.decide(make_request(user("admin"), "manage", "Role", ctx))
    assert decision.effect == "step_up"
    assert set(decision.reasons) == {"risk-medium", "manage-needs-aal3"}
    assert (decision.required_aal, decision.max_auth_age_s) == (3, 300)


def test_admin_manage_needs_a_recent_aal3(pdp: PolicyDecisionPoint) -> None:
    old = pdp.decide(make_request(user("admin"), "manage", "User", {"aal": 3, "auth_age_s": 301}))
    assert (old.effect, old.reasons) == ("step_up", ("manage-needs-aal3",))
    fresh = pdp.decide(make_request(user("admin"), "manage", "User", {"aal": 3, "auth_age_s": 5}))
    assert (fresh.effect, fresh.policies) == ("allow", ("admin-manage",))


# -- role details -----------------------------------------------------------------------


def test_support_agent_sees_one_customer_at_a_time_with_pan_masked(
    pdp: PolicyDecisionPoint,
) -> None:
    pii = {"type": "CustomerPII", "id": "pii-c1", "customer": "c1"}
    bound = pdp.decide(make_request(user("support_agent"), "read", pii, {"case_customer": "c1"}))
    assert (bound.effect, bound.obligations) == ("allow", ("mask:pan",))
    other = pdp.decide(make_request(user("support_agent"), "read", pii, {"case_customer": "c2"}))
    assert (other.effect, other.reasons) == ("deny", ("no-applicable-policy",))
    unbound = pdp.decide(make_request(user("support_agent"), "read", pii))
    assert unbound.effect == "deny"
    unknown_owner = pdp.decide(
        make_request(user("support_agent"), "read", "CustomerPII", {"case_customer": "c1"})
    )
    assert unknown_owner.effect == "deny"
    listing = pdp.decide(make_request(user("support_agent"), "list", pii, {"case_customer": "c1"}))
    assert listing.effect == "deny"


def test_a_restricted_role_binds_the_person_not_the_hat(pdp: PolicyDecisionPoint) -> None:
    both = user("support_agent", "data_scientist")
    pii = {"type": "CustomerPII", "id": "pii-c1", "customer": "c1"}
    decision = pdp.decide(make_request(both, "read", pii, {"case_customer": "c1"}))
    assert (decision.effect, decision.reasons) == ("deny", ("data-scientist-no-pii",))


def test_workloads_act_only_for_a_declared_purpose(pdp: PolicyDecisionPoint) -> None:
    model = workload("fraud_model", purposes=("fraud",))
    missing = pdp.decide(make_request(model, "score", "Transaction"))
    assert (missing.effect, missing.reasons) == ("deny", ("purpose-not-declared",))
    wrong = pdp.decide(make_request(model, "score", "Transaction", {"purpose": "marketing"}))
    assert wrong.reasons == ("purpose-not-declared",)
    right = pdp.decide(make_request(model, "score", "Transaction", {"purpose": "fraud"}))
    assert right.effect == "allow"


@pytest.mark.parametrize(
    ("environment", "effect"),
    [
        ("development", "allow"),
        ("test", "allow"),
        ("staging", "allow"),
        ("production", "deny"),
        ("prod", "deny"),
        (None, "deny"),
    ],
)
def test_developers_read_production_only_through_a_grant(
    pdp: PolicyDecisionPoint, environment: str | None, effect: str
) -> None:
    database = {"type": "Database", "id": "db1"}
    if environment is not None:
        database["environment"] = environment
    decision = pdp.decide(make_request(user("developer"), "read", database))
    assert decision.effect == effect


def test_roles_outside_the_pack_grant_nothing(pdp: PolicyDecisionPoint) -> None:
    for role in ("superuser", "root", "ADMIN", "admin "):
        decision = pdp.decide(make_request(user(role), "manage", "Role", {"aal": 3}))
        assert (decision.effect, decision.reasons) == ("deny", ("no-applicable-policy",))
