"""Differential test: the PDP's own combining agrees with Cedar on the policies as written.

The PDP evaluates every policy as a forbid to learn which ones hold, then combines them
itself. Here Cedar combines the same pack as written, and every allow must match, with
the same determining permits.
"""

from __future__ import annotations

import json
import random
from typing import Any

import cedarpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.policy.helpers import BASE_CONTEXT
from zerotrust.policy.model import request_from_json
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import default_pack_dir

ROLES = [
    "fraud_analyst",
    "data_scientist",
    "support_agent",
    "compliance_officer",
    "developer",
    "admin",
    "other",
]
WORKLOADS = ["fraud_model", "credit_model", "analytics"]
ACTIONS = ["read", "list", "write", "delete", "export", "score", "detokenize", "manage"]
TYPES = [
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
]
PACK = default_pack_dir()
SCHEMA = cedarpy.Schema.from_str((PACK / "schema.cedarschema").read_text("utf-8"))
AS_WRITTEN = cedarpy.PolicySet.from_str(
    "\n".join(p.read_text("utf-8") for p in sorted(PACK.glob("*.cedar")))
)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        principal = {
            "type": "User",
            "id": "u1",
            "roles": draw(st.lists(st.sampled_from(ROLES), max_size=2, unique=True)),
        }
    else:
        principal = {
            "type": "ServiceAccount",
            "id": "s1",
            "workload": draw(st.sampled_from(WORKLOADS)),
            "purposes": draw(st.lists(st.sampled_from(["fraud", "credit"]), max_size=2)),
        }
    kind = draw(st.sampled_from(TYPES))
    resource: dict[str, Any] = {"type": kind, "id": "r1"}
    if kind in ("CustomerPII", "Transaction") and draw(st.booleans()):
        resource["customer"] = draw(st.sampled_from(["c1", "c2"]))
    if kind == "Database" and draw(st.booleans()):
        resource["environment"] = draw(st.sampled_from(["staging", "production"]))
    context = {
        **BASE_CONTEXT,
        "aal": draw(st.integers(1, 3)),
        "auth_age_s": draw(st.sampled_from([0, 60, 299, 301, 3600])),
        "device": {
            "enrolled": draw(st.booleans()),
            "trust": draw(st.sampled_from(["high", "medium", "low", "unknown"])),
            "patch_age_days": 1,
        },
        "risk": {"score": 10, "level": draw(st.sampled_from(["low", "medium", "high"]))},
    }
    for key, values in (("purpose", ["fraud", "credit"]), ("case_customer", ["c1", "c2"])):
        if draw(st.booleans()):
            context[key] = draw(st.sampled_from(values))
    return {
        "principal": principal,
        "action": draw(st.sampled_from(ACTIONS)),
        "resource": resource,
        "context": context,
    }


def cedar_as_written(obj: dict[str, Any]) -> cedarpy.AuthzResult:
    entities = [
        {
            "uid": {"type": obj["principal"]["type"], "id": obj["principal"]["id"]},
            "attrs": {k: v for k, v in obj["principal"].items() if k not in ("type", "id")},
            "parents": [],
        }
    ]
    resource_attrs = {k: v for k, v in obj["resource"].items() if k not in ("type", "id")}
    if resource_attrs:
        entities.append(
            {
                "uid": {"type": obj["resource"]["type"], "id": "r1"},
                "attrs": resource_attrs,
                "parents": [],
            }
        )
    request = {
        "principal": {"type": obj["principal"]["type"], "id": obj["principal"]["id"]},
        "action": {"type": "Action", "id": obj["action"]},
        "resource": {"type": obj["resource"]["type"], "id": "r1"},
        "context": obj["context"],
    }
    return cedarpy.is_authorized(request, AS_WRITTEN, json.dumps(entities), SCHEMA)


@settings(max_examples=600, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(obj=requests())
def test_every_allow_matches_cedar(pdp: PolicyDecisionPoint, obj: dict[str, Any]) -> None:
    ours = pdp.decide(request_from_json(obj))
    theirs = cedar_as_written(obj)
    assert not theirs.diagnostics.errors
    assert ours.allowed == theirs.allowed, (ours, theirs.decision)
    if ours.allowed:
        names = theirs.diagnostics.id_annotations_by_reason
        assert set(ours.policies) == {names[r] for r in theirs.diagnostics.reasons}
    if ours.effect == "step_up":
        stepped = {**obj, "context": {**obj["context"], "aal": 3, "auth_age_s": 0}}
        assert cedar_as_written(stepped).allowed


def test_a_seeded_stream_matches_cedar(pdp: PolicyDecisionPoint) -> None:
    rng = random.Random(7)
    for _ in range(1500):
        obj = _random_request(rng)
        assert pdp.decide(request_from_json(obj)).allowed == cedar_as_written(obj).allowed


def _random_request(rng: random.Random) -> dict[str, Any]:
    roles = rng.sample(ROLES, k=rng.randint(0, 2))
    context = {
        **BASE_CONTEXT,
        "aal": rng.randint(1, 3),
        "case_customer": "c1",
        "device": {
            "enrolled": rng.random() > 0.1,
            "trust": rng.choice(["high", "medium", "low"]),
            "patch_age_days": 1,
        },
        "risk": {"score": 5, "level": rng.choice(["low", "low", "medium", "high"])},
    }
    kind = rng.choice(TYPES)
    resource = {"type": kind, "id": "r1"}
    if kind in ("CustomerPII", "Transaction"):
        resource["customer"] = rng.choice(["c1", "c2"])
    return {
        "principal": {"type": "User", "id": "u1", "roles": roles},
        "action": rng.choice(ACTIONS),
        "resource": resource,
        "context": context,
    }
