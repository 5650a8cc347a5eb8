"""Policy test tables (``zt policy test CASES.yaml``): requests with expected decisions.

A table is YAML::

    defaults:
      context: {aal: 2, auth_age_s: 60, device: {...}, risk: {...}, ...}
    cases:
      - name: a fraud analyst reads a transaction
        request:
          principal: {type: User, id: ana, roles: [fraud_analyst]}
          action: read
          resource: {type: Transaction, id: t1}
          context: {risk: {level: medium}}     # merged over defaults.context
        grant: active                          # optional: active | expired
        expect: {effect: allow, reasons: [role-permit]}

``expect`` needs ``effect``; ``reasons``, ``policies`` and ``obligations`` (compared as
sets) and ``required_aal`` are checked when given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import InvalidInput
from zerotrust.policy.grants import NO_MATCH, Grant, GrantKey, GrantMatch
from zerotrust.policy.model import EFFECTS, Decision, request_from_json
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle

_NOW: Final = 1_700_000_000.0
_EXPECT_KEYS: Final = frozenset({"effect", "reasons", "policies", "obligations", "required_aal"})
_CASE_KEYS: Final = frozenset({"name", "request", "grant", "expect"})


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    request: Mapping[str, Any]
    expect: Mapping[str, Any]
    grant: str | None = None


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    decision: Decision
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def load_cases(text: str) -> list[Case]:
    """Parse a case table; raise ``InvalidInput`` naming the first bad case."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"not valid YAML{where}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise InvalidInput("expected a mapping with a 'cases' list")
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InvalidInput("defaults: expected a mapping")
    return [_case(raw, i, defaults) for i, raw in enumerate(doc["cases"], start=1)]


def _case(raw: object, index: int, defaults: Mapping[str, Any]) -> Case:
    if not isinstance(raw, dict):
        raise InvalidInput(f"case {index}: expected a mapping")
    name = str(raw.get("name") or f"case {index}")
    unknown = sorted(set(raw) - _CASE_KEYS)
    expect = raw.get("expect")
    request = raw.get("request")
    if unknown:
        raise InvalidInput(f"{name}: unknown key {unknown[0]!r}")
    if (
        not isinstance(expect, dict)
        or expect.get("effect") not in EFFECTS
        or set(expect) - _EXPECT_KEYS
    ):
        raise InvalidInput(
            f"{name}: expect needs effect (allow, deny or step_up) and only "
            f"{', '.join(sorted(_EXPECT_KEYS))}"
        )
    if not isinstance(request, dict):
        raise InvalidInput(f"{name}: request: expected a mapping")
    if raw.get("grant") not in (None, "active", "expired"):
        raise InvalidInput(f"{name}: grant must be active or expired")
    merged = {
        **request,
        "context": deep_merge(defaults.get("context") or {}, request.get("context") or {}),
    }
    return Case(name, merged, expect, raw.get("grant"))


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, merging nested mappings key by key."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def run_cases(bundle: PolicyBundle, cases: list[Case]) -> list[CaseResult]:
    """Decide every case and compare with its expectation."""
    results = []
    for case in cases:
        try:
            request = request_from_json(case.request)
        except InvalidInput as exc:
            raise InvalidInput(f"{case.name}: {exc.detail}") from None
        pdp = PolicyDecisionPoint(
            bundle, grants=_CaseGrant(case.grant), clock=FixedClock(_NOW), budget_s=float("inf")
        )
        decision = pdp.decide(request)
        results.append(CaseResult(case, decision, _problems(case.expect, decision)))
    return results


def _problems(expect: Mapping[str, Any], decision: Decision) -> tuple[str, ...]:
    problems = []
    if expect["effect"] != decision.effect:
        problems.append(f"effect {decision.effect}, expected {expect['effect']}")
    for key in ("reasons", "policies", "obligations"):
        if key in expect and set(expect[key] or ()) != set(getattr(decision, key)):
            problems.append(
                f"{key} {sorted(getattr(decision, key))}, expected {sorted(expect[key] or ())}"
            )
    if "required_aal" in expect and expect["required_aal"] != decision.required_aal:
        problems.append(f"required_aal {decision.required_aal}, expected {expect['required_aal']}")
    return tuple(problems)


class _CaseGrant:
    """A grant for exactly the case's request, active or expired as the case says."""

    def __init__(self, state: str | None) -> None:
        self._state = state

    def match(self, key: GrantKey, now: float) -> GrantMatch:
        if self._state is None:
            return NO_MATCH
        expired = self._state == "expired"
        grant = Grant(
            "jit_case",
            *key,
            duration_s=7200,
            justification="case",
            status="approved",
            requested_at=now - 7300,
            expires_at=now - 1 if expired else now + 3600,
        )
        return GrantMatch(expired=grant) if expired else GrantMatch(active=grant)
