"""The request and decision JSON forms the HTTP endpoint and the CLI share."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerotrust.core.errors import InvalidInput
from zerotrust.policy.model import (
    AuthzRequest,
    Decision,
    Entity,
    decision_from_json,
    decision_to_json,
    request_from_json,
    request_to_json,
)

ISSUE_EXAMPLE = {
    "principal": {"type": "User", "id": "u1", "roles": ["data_scientist"]},
    "action": "read",
    "resource": {"type": "CustomerPII", "id": "c1"},
    "context": {"aal": 2},
}


def test_the_issue_example_parses() -> None:
    request = request_from_json(ISSUE_EXAMPLE)
    assert request.principal == Entity("User", "u1", {"roles": ["data_scientist"]})
    assert (request.action, request.resource.uid) == ("read", ("CustomerPII", "c1"))
    assert request_to_json(request) == ISSUE_EXAMPLE


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([], "request: expected a JSON object"),
        ("read", "request: expected a JSON object"),
        ({**ISSUE_EXAMPLE, "principal": None}, "principal: expected a JSON object"),
        ({**ISSUE_EXAMPLE, "principal": {"id": "u1"}}, "principal.type"),
        ({**ISSUE_EXAMPLE, "principal": {"type": "User", "id": ""}}, "principal.id"),
        ({**ISSUE_EXAMPLE, "principal": {"type": "User", "id": 7}}, "principal.id"),
        ({**ISSUE_EXAMPLE, "resource": {"type": "X", "id": "x" * 513}}, "longer than 512"),
        ({**ISSUE_EXAMPLE, "action": {"type": "Action", "id": "read"}}, "action"),
        ({k: v for k, v in ISSUE_EXAMPLE.items() if k != "action"}, "action"),
        ({**ISSUE_EXAMPLE, "context": []}, "context: expected a JSON object"),
        ({**ISSUE_EXAMPLE, "extra": 1}, "unknown field 'extra'"),
        ({**ISSUE_EXAMPLE, "context": {"jit_grant": {}}}, "set by the PDP"),
        (
            {
                **ISSUE_EXAMPLE,
                "resource": {"type": "X", "id": "x", **{f"a{i}": i for i in range(33)}},
            },
            "too many attributes",
        ),
    ],
)
def test_malformed_requests_raise_one_line(obj: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        request_from_json(obj)
    assert message in caught.value.detail
    assert "\n" not in caught.value.detail
    assert caught.value.code == "invalid_input"


def test_a_missing_context_is_empty() -> None:
    obj = {k: v for k, v in ISSUE_EXAMPLE.items() if k != "context"}
    assert request_from_json(obj).context == {}


def test_decision_json_has_the_issue_fields_and_no_engine_detail() -> None:
    decision = Decision(
        "step_up",
        ("export-needs-aal3",),
        ("export-needs-aal3",),
        required_aal=3,
        max_auth_age_s=300,
        version="sha256:ab",
        errors=("secret engine detail",),
    )
    data = decision_to_json(decision)
    assert data == {
        "effect": "step_up",
        "reasons": ["export-needs-aal3"],
        "policies": ["export-needs-aal3"],
        "obligations": [],
        "required_aal": 3,
        "max_auth_age_s": 300,
        "grant": None,
        "version": "sha256:ab",
    }
    assert "secret" not in json.dumps(data)
    back = decision_from_json(data)
    assert (back.effect, back.reasons, back.required_aal) == ("step_up", ("export-needs-aal3",), 3)


@pytest.mark.parametrize(
    "obj",
    [
        {"effect": "maybe", "reasons": []},
        {"effect": "allow", "reasons": "x"},
        {"effect": "deny", "reasons": [], "required_aal": "3"},
        [],
    ],
)
def test_malformed_recorded_decisions_raise(obj: Any) -> None:
    with pytest.raises(InvalidInput):
        decision_from_json(obj)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
IDS = st.text(min_size=1, max_size=40)
ATTRS = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k not in ("type", "id")),
    JSON_VALUES,
    max_size=4,
)


@given(
    principal=st.builds(Entity, IDS, IDS, ATTRS),
    action=IDS,
    resource=st.builds(Entity, IDS, IDS, ATTRS),
    context=st.dictionaries(st.text(max_size=10).filter(lambda k: k != "jit_grant"), JSON_VALUES),
)
def test_requests_round_trip_through_json(
    principal: Entity, action: str, resource: Entity, context: dict[str, Any]
) -> None:
    request = AuthzRequest(principal, action, resource, context)
    wire = json.loads(json.dumps(request_to_json(request)))
    assert request_from_json(wire) == request
