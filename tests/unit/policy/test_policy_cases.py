"""The example case tables in ``cases/`` all pass, and the runner reports failures."""

from __future__ import annotations

from pathlib import Path

import pytest

from zerotrust.core.errors import InvalidInput
from zerotrust.policy.cases import deep_merge, load_cases, run_cases
from zerotrust.policy.store import PolicyBundle

CASES = Path(__file__).parent / "cases"


@pytest.mark.parametrize("table", sorted(p.name for p in CASES.glob("*.yaml")))
def test_the_example_tables_pass(bundle: PolicyBundle, table: str) -> None:
    results = run_cases(bundle, load_cases((CASES / table).read_text("utf-8")))
    assert results
    failures = [f"{r.case.name}: {'; '.join(r.problems)}" for r in results if not r.passed]
    assert not failures, "\n".join(failures)


def test_a_wrong_expectation_is_reported(bundle: PolicyBundle) -> None:
    table = """
cases:
  - name: wrong
    request:
      principal: {type: User, id: a, roles: [admin]}
      action: read
      resource: {type: Report, id: r}
      context: {aal: 2, auth_age_s: 1, device: {enrolled: true, trust: high, patch_age_days: 1},
                risk: {score: 1, level: low}, country: GB, hour_local: 1}
    expect: {effect: allow, reasons: [role-permit], required_aal: 3, obligations: [mask:pan]}
"""
    [result] = run_cases(bundle, load_cases(table))
    assert not result.passed
    assert result.problems == (
        "effect deny, expected allow",
        "reasons ['no-applicable-policy'], expected ['role-permit']",
        "obligations [], expected ['mask:pan']",
        "required_aal None, expected 3",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: [", "not valid YAML at line"),
        ("- 1", "'cases' list"),
        ("defaults: 3\ncases: []", "defaults"),
        ("cases: [3]", "case 1: expected a mapping"),
        ("cases: [{name: x, request: {}, expect: {effect: maybe}}]", "x: expect needs effect"),
        ("cases: [{name: x, request: {}, expect: {effect: allow, why: 1}}]", "x: expect needs"),
        ("cases: [{name: x, request: [], expect: {effect: allow}}]", "x: request"),
        ("cases: [{name: x, request: {}, expect: {effect: allow}, grant: forever}]", "grant"),
        ("cases: [{name: x, request: {}, expect: {effect: allow}, when: now}]", "unknown key"),
    ],
)
def test_bad_tables_are_refused(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        load_cases(text)


def test_a_malformed_request_names_its_case(bundle: PolicyBundle) -> None:
    cases = load_cases("cases: [{name: broken, request: {action: read}, expect: {effect: deny}}]")
    with pytest.raises(InvalidInput, match="broken: principal"):
        run_cases(bundle, cases)


def test_deep_merge_overrides_leaves_only() -> None:
    base = {"device": {"trust": "high", "enrolled": True}, "aal": 2}
    assert deep_merge(base, {"device": {"trust": "low"}, "aal": 3}) == {
        "device": {"trust": "low", "enrolled": True},
        "aal": 3,
    }
