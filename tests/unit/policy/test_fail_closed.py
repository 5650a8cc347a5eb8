"""The PDP fails closed: engine errors, bad requests, empty sets, exceptions, timeouts,
and entity ids that try to be policy text (security catalogue E.34-E.37)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import cedarpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.policy.helpers import BASE_CONTEXT, make_request, user
from zerotrust.core.errors import InvalidInput
from zerotrust.policy.cedar import PolicyLoadError
from zerotrust.policy.grants import GrantKey, GrantMatch
from zerotrust.policy.model import AuthzRequest, Entity
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle, default_pack_dir, load_dir, load_sources


def pack_with(tmp_path: Path, files: dict[str, str]) -> Path:
    """A copy of the default pack plus (or replacing) the given files."""
    target = tmp_path / "pack"
    shutil.copytree(default_pack_dir(), target)
    for name, text in files.items():
        (target / name).write_text(text, encoding="utf-8")
    return target


# -- E.34: Cedar skips an erroring forbid; we deny ------------------------------------------

OVERFLOW_GUARD = """
@id("risk-score-guard")
@reason("risk-score-guard")
forbid (principal, action, resource)
when { context.risk.score * 4611686018427387904 > 1000 };
"""


def test_raw_cedar_allows_when_a_forbid_errors() -> None:
    # The hazard, reproduced: the forbid overflows, Cedar skips it, the permit wins.
    policies = OVERFLOW_GUARD + '\n@id("p") permit (principal, action, resource);'
    request = {
        "principal": {"type": "User", "id": "u1"},
        "action": {"type": "Action", "id": "read"},
        "resource": {"type": "Transaction", "id": "t1"},
        "context": {"risk": {"score": 10, "level": "low"}},
    }
    result = cedarpy.is_authorized(request, policies, "[]")
    assert result.allowed
    assert result.diagnostics.errors


def test_a_forbid_that_errors_at_runtime_denies(tmp_path: Path) -> None:
    bundle = load_dir(pack_with(tmp_path, {"99-guard.cedar": OVERFLOW_GUARD}))
    pdp = PolicyDecisionPoint(bundle)
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction"))
    assert (decision.effect, decision.reasons) == ("deny", ("policy-evaluation-error",))
    assert "overflow" in decision.errors[0]
    # Below the overflow threshold the guard evaluates normally.
    calm = make_request(user("fraud_analyst"), "read", "Transaction", {"risk": {"score": 0}})
    assert pdp.decide(calm).effect == "allow"


MANAGED_SCHEMA_GUARD = """
@id("unmanaged-device")
@reason("unmanaged-device")
forbid (principal, action, resource)
unless { context.device.managed };
"""


def test_raw_cedar_allows_when_a_guard_reads_a_missing_attribute() -> None:
    policies = MANAGED_SCHEMA_GUARD + '\n@id("p") permit (principal, action, resource);'
    request = {
        "principal": {"type": "User", "id": "u1"},
        "action": {"type": "Action", "id": "read"},
        "resource": {"type": "Transaction", "id": "t1"},
        "context": {"device": {"trust": "high"}},
    }
    result = cedarpy.is_authorized(request, policies, "[]")
    assert result.allowed
    assert "managed" in result.diagnostics.errors[0]


def test_a_guard_on_an_attribute_the_schema_lacks_is_refused_at_load(tmp_path: Path) -> None:
    with pytest.raises(PolicyLoadError, match="unmanaged-device"):
        load_dir(pack_with(tmp_path, {"99-managed.cedar": MANAGED_SCHEMA_GUARD}))


def test_a_request_missing_the_guarded_attribute_denies(tmp_path: Path) -> None:
    # With `managed` in the schema the guard loads, and a request without it is refused.
    schema = (
        (default_pack_dir() / "schema.cedarschema")
        .read_text("utf-8")
        .replace("patch_age_days: Long,", "patch_age_days: Long,\n  managed: Bool,")
    )
    bundle = load_dir(
        pack_with(
            tmp_path, {"99-managed.cedar": MANAGED_SCHEMA_GUARD, "schema.cedarschema": schema}
        )
    )
    pdp = PolicyDecisionPoint(bundle)
    missing = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction"))
    assert (missing.effect, missing.reasons) == ("deny", ("invalid-request",))
    assert "managed" in missing.errors[0]
    managed = make_request(
        user("fraud_analyst"), "read", "Transaction", {"device": {"managed": True}}
    )
    assert pdp.decide(managed).effect == "allow"
    unmanaged = make_request(
        user("fraud_analyst"), "read", "Transaction", {"device": {"managed": False}}
    )
    assert pdp.decide(unmanaged).reasons == ("unmanaged-device",)


# -- requests the schema or the PDP refuses ---------------------------------------------------


@pytest.mark.parametrize(
    ("context", "detail"),
    [
        ({"device": {"trust": "banana"}}, "device.trust"),
        ({"device": {"trust": ["high"]}}, "device.trust"),
        ({"risk": {"level": "extreme"}}, "risk.level"),
        ({"risk": {"score": 101}}, "risk.score"),
        ({"aal": 7}, "aal"),
        ({"aal": 3.0}, "aal"),
        ({"aal": True}, "aal"),
        ({"auth_age_s": -1}, "auth_age_s"),
        ({"hour_local": 24}, "hour_local"),
        ({"country": "gb"}, "country"),
        ({"device": {"enrolled": "yes"}}, "enrolled"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_out_of_domain_context_denies(
    pdp: PolicyDecisionPoint, context: dict[str, Any], detail: str
) -> None:
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction", context))
    assert (decision.effect, decision.reasons) == ("deny", ("invalid-request",))
    assert detail in decision.errors[0]


@pytest.mark.parametrize("drop", ["aal", "auth_age_s", "device", "risk", "country", "hour_local"])
def test_missing_required_context_denies(pdp: PolicyDecisionPoint, drop: str) -> None:
    context = {k: v for k, v in BASE_CONTEXT.items() if k != drop}
    request = AuthzRequest(
        Entity("User", "u1", {"roles": ["fraud_analyst"]}),
        "read",
        Entity("Transaction", "t1"),
        context,
    )
    decision = pdp.decide(request)
    assert (decision.effect, decision.reasons) == ("deny", ("invalid-request",))


@pytest.mark.parametrize(
    ("principal", "action", "resource"),
    [
        ({"type": "Robot", "id": "r", "roles": ["admin"]}, "read", "Transaction"),
        ({"type": "User", "id": "u1"}, "read", "Transaction"),  # no roles attribute
        ({"type": "User", "id": "u1", "roles": "fraud_analyst"}, "read", "Transaction"),
        (
            {"type": "User", "id": "u1", "roles": ["fraud_analyst"], "is_admin": True},
            "read",
            "Transaction",
        ),
        (user("fraud_analyst"), "steal", "Transaction"),
        (user("fraud_analyst"), "read", "Spaceship"),
        (user("fraud_analyst"), "read", {"type": "Transaction", "id": "t", "customer": 5}),
        (user("fraud_analyst"), "read", {"type": "User", "id": "u1", "roles": ["admin"]}),
        (
            user("fraud_analyst"),
            "read",
            {
                "type": "Transaction",
                "id": "t",
                "customer": {"__entity": {"type": "User", "id": "x"}},
            },
        ),
    ],
)
def test_requests_outside_the_schema_deny(
    pdp: PolicyDecisionPoint, principal: dict[str, Any], action: str, resource: object
) -> None:
    decision = pdp.decide(make_request(principal, action, resource))  # type: ignore[arg-type]
    assert (decision.effect, decision.reasons) == ("deny", ("invalid-request",))


def test_a_caller_cannot_claim_a_grant() -> None:
    with pytest.raises(InvalidInput, match="jit_grant"):
        make_request(
            user("developer"), "read", "Database", {"jit_grant": {"id": "x", "expires_at": 9}}
        )


# -- E.35: empty policy sets -------------------------------------------------------------


def test_an_empty_policy_set_denies() -> None:
    decision = PolicyDecisionPoint(PolicyBundle.empty()).decide(
        make_request(user("admin"), "read", "Report")
    )
    assert (decision.effect, decision.reasons) == ("deny", ("empty-policy-set",))


def test_a_schema_with_no_policies_denies(tmp_path: Path) -> None:
    schema = (default_pack_dir() / "schema.cedarschema").read_text("utf-8")
    bundle = load_sources([], schema)
    decision = PolicyDecisionPoint(bundle).decide(make_request(user("admin"), "read", "Report"))
    assert decision.reasons == ("empty-policy-set",)


def test_a_pack_of_only_forbids_denies_by_default(tmp_path: Path) -> None:
    schema = (default_pack_dir() / "schema.cedarschema").read_text("utf-8")
    guards = (default_pack_dir() / "00-guards.cedar").read_text("utf-8")
    pdp = PolicyDecisionPoint(load_sources([("00-guards.cedar", guards)], schema))
    decision = pdp.decide(make_request(user("admin"), "read", "Report"))
    assert (decision.effect, decision.reasons) == ("deny", ("no-applicable-policy",))


# -- E.36: exceptions and timeouts ---------------------------------------------------------


class ExplodingGrants:
    def match(self, key: GrantKey, now: float) -> GrantMatch:
        raise RuntimeError("grant store on fire")


def test_an_exception_denies(bundle: PolicyBundle) -> None:
    pdp = PolicyDecisionPoint(bundle, grants=ExplodingGrants())
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction"))
    assert (decision.effect, decision.reasons) == ("deny", ("pdp-error",))
    assert decision.errors == ("RuntimeError",)
    assert decision.version == bundle.version


def test_a_slow_decision_denies(bundle: PolicyBundle) -> None:
    ticks = iter([0.0, 0.051])
    pdp = PolicyDecisionPoint(bundle, timer=lambda: next(ticks))
    decision = pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction"))
    assert (decision.effect, decision.reasons) == ("deny", ("pdp-timeout",))


def test_a_decision_within_budget_stands(bundle: PolicyBundle) -> None:
    ticks = iter([0.0, 0.049])
    pdp = PolicyDecisionPoint(bundle, timer=lambda: next(ticks))
    assert pdp.decide(make_request(user("fraud_analyst"), "read", "Transaction")).allowed


# -- E.37: entity ids are data, never policy text ---------------------------------------------

HOSTILE_IDS = [
    '"',
    "\\",
    ")",
    "\n",
    "permit",
    "forbid",
    "when",
    "unless",
    "true",
    "in",
    "is",
    'u1" || true || "',
    'r1"); permit(principal, action, resource); //',
    'User::"admin"',
    "\u202e",
    "\x00",
    "a" * 512,
]
SAFE_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=64)


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_hostile_ids_are_data(pdp: PolicyDecisionPoint, hostile: str) -> None:
    analyst = {"type": "User", "id": hostile, "roles": ["fraud_analyst"]}
    allowed = pdp.decide(make_request(analyst, "read", {"type": "Transaction", "id": hostile}))
    assert (allowed.effect, allowed.reasons) == ("allow", ("role-permit",))
    denied = pdp.decide(make_request(analyst, "delete", {"type": "Transaction", "id": hostile}))
    assert (denied.effect, denied.reasons) == ("deny", ("no-applicable-policy",))
    intruder = {"type": "User", "id": hostile, "roles": [hostile]}
    assert pdp.decide(make_request(intruder, "read", "Transaction")).effect == "deny"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(principal_id=SAFE_TEXT, resource_id=SAFE_TEXT, customer=SAFE_TEXT)
def test_any_id_gets_the_same_answer_as_a_plain_one(
    pdp: PolicyDecisionPoint, principal_id: str, resource_id: str, customer: str
) -> None:
    agent = {"type": "User", "id": principal_id, "roles": ["support_agent"]}
    own = {"type": "Transaction", "id": resource_id, "customer": customer}
    allowed = pdp.decide(make_request(agent, "read", own, {"case_customer": customer}))
    assert (allowed.effect, allowed.obligations) == ("allow", ("mask:pan",))
    other = pdp.decide(make_request(agent, "read", own, {"case_customer": customer + '"'}))
    assert other.effect == "deny"


def test_policy_text_is_never_built_from_request_strings(bundle: PolicyBundle) -> None:
    # The compiled set is fixed at load; deciding cannot add to it.
    before = len(bundle)
    PolicyDecisionPoint(bundle).decide(
        make_request(
            {"type": "User", "id": '"); permit(principal,action,resource);//', "roles": []},
            "manage",
            "Policy",
        )
    )
    assert len(bundle) == before
    assert json.dumps(sorted(bundle.infos)) == json.dumps(sorted(bundle.infos))
