"""The Cedar adapter: parsing per file, the evaluation set, and the entity cache."""

from __future__ import annotations

import json

import pytest

from zerotrust.policy.cedar import Compiled, PolicyLoadError, entities_json, parse_file
from zerotrust.policy.store import default_pack_dir

SCHEMA = (default_pack_dir() / "schema.cedarschema").read_text("utf-8")
POLICIES = """
@id("reader") @reason("role-permit")
permit (principal is User, action == Action::"read", resource is Report)
when { principal.roles.contains("reader") };
@id("no-bob") @reason("no-bob")
forbid (principal is User, action, resource) when { principal.roles.contains("banned") };
"""
CONTEXT = json.dumps(
    {
        "aal": 2,
        "auth_age_s": 1,
        "device": {"enrolled": True, "trust": "high", "patch_age_days": 1},
        "risk": {"score": 1, "level": "low"},
        "country": "GB",
        "hour_local": 1,
    }
)


def satisfied(compiled: Compiled, uid: str, roles: list[str]) -> tuple[str, ...]:
    entities = entities_json([("User", uid, {"roles": roles})])
    outcome = compiled.evaluate(("User", uid), "read", ("Report", "r"), CONTEXT, entities)
    assert not outcome.errors
    return outcome.satisfied


def test_every_satisfied_policy_is_reported_permits_included() -> None:
    compiled = Compiled(parse_file(POLICIES, "p.cedar"), SCHEMA)
    assert satisfied(compiled, "u1", ["reader"]) == ("reader",)
    assert set(satisfied(compiled, "u1", ["reader", "banned"])) == {"reader", "no-bob"}
    assert satisfied(compiled, "u1", []) == ()


def test_the_entity_cache_is_bounded_and_never_stale() -> None:
    compiled = Compiled(parse_file(POLICIES, "p.cedar"), SCHEMA, entity_cache_size=2)
    for i in range(10):
        assert satisfied(compiled, f"u{i}", ["reader"]) == ("reader",)
    assert len(compiled._entities) == 2
    # The same principal with a role removed is a different key: no stale answer.
    assert satisfied(compiled, "u9", ["reader"]) == ("reader",)
    assert satisfied(compiled, "u9", []) == ()


def test_entities_that_break_the_schema_are_rejected_not_cached() -> None:
    compiled = Compiled(parse_file(POLICIES, "p.cedar"), SCHEMA)
    bad = entities_json([("User", "u1", {"roles": "reader"})])
    outcome = compiled.evaluate(("User", "u1"), "read", ("Report", "r"), CONTEXT, bad)
    assert outcome.rejected
    assert outcome.errors[0].startswith("entities:")
    assert not compiled._entities


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("permit (principal, action, resource);", "needs an @id"),
        ('@id("t") permit (principal == ?principal, action, resource);', "templates"),
        ("permit (", "p.cedar:"),
    ],
)
def test_parse_errors_name_the_file(text: str, message: str) -> None:
    with pytest.raises(PolicyLoadError, match=message):
        parse_file(text, "p.cedar")


def test_policy_text_is_rendered_from_the_parsed_form() -> None:
    [reader, _] = parse_file(POLICIES, "p.cedar")
    assert reader.text().startswith('@id("reader")')
    assert "permit(principal is User" in reader.text()


def test_an_identical_request_reuses_the_answer_and_any_change_asks_cedar() -> None:
    compiled = Compiled(parse_file(POLICIES, "p.cedar"), SCHEMA, answer_cache_size=4)
    calls: list[str] = []
    real = compiled._evaluate

    def counted(*args: object) -> object:
        calls.append(str(args[0]))
        return real(*args)  # type: ignore[arg-type]

    compiled._evaluate = counted  # type: ignore[method-assign]
    assert satisfied(compiled, "u1", ["reader"]) == ("reader",)
    assert satisfied(compiled, "u1", ["reader"]) == ("reader",)
    assert len(calls) == 1
    # Another role, another principal, another context: each is a new question.
    assert set(satisfied(compiled, "u1", ["reader", "banned"])) == {"reader", "no-bob"}
    assert satisfied(compiled, "u2", ["reader"]) == ("reader",)
    later = json.dumps({**json.loads(CONTEXT), "auth_age_s": 2})
    entities = entities_json([("User", "u1", {"roles": ["reader"]})])
    compiled.evaluate(("User", "u1"), "read", ("Report", "r"), later, entities)
    assert len(calls) == 4
    # Bounded: past the limit it starts afresh rather than grow.
    for i in range(10):
        satisfied(compiled, f"v{i}", [])
    assert len(compiled._answers) <= 4
