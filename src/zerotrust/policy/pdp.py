"""The policy decision point: Cedar wrapped so that it can only fail closed.

Cedar skips a policy whose evaluation errors, so a failing ``forbid`` can turn into an
Allow (reproduced; security catalogue E.34). ``decide`` therefore denies on any
diagnostic error, on a request the schema rejects, on an empty policy set, on an
exception and on a decision slower than its budget — each with its own reason.

One Cedar call reports every satisfied policy (see ``cedar``), and the PDP combines them
as Cedar does: a satisfied forbid denies, else a satisfied permit allows, else deny.

Cedar answers allow or deny; step-up is a policy design. Step-up conditions are
``forbid`` policies annotated ``@step_up("aalN")`` (and optionally ``@max_age("s")``).
When a permit holds and every forbid that fired is a step-up forbid, the PDP evaluates
once more with the assurance raised to the highest level demanded and a brand-new
authentication; if that would be allowed the answer is ``step_up`` with the level to
reach, otherwise the second answer stands. When no permit holds, the answer is a plain
deny: no one is asked to step up only to be denied. So allows and denies — the hot
path — take one Cedar call, and only a ``step_up`` answer takes two.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from zerotrust.core.clock import Clock, SystemClock
from zerotrust.policy import obligations
from zerotrust.policy.cedar import Compiled, Outcome, entities_json
from zerotrust.policy.grants import NO_MATCH, GrantKey, GrantMatch, GrantView
from zerotrust.policy.model import (
    EMPTY_POLICY_SET,
    GRANT_EXPIRED,
    INVALID_REQUEST,
    NO_APPLICABLE_POLICY,
    PDP_ERROR,
    PDP_TIMEOUT,
    POLICY_EVALUATION_ERROR,
    AuthzRequest,
    Decision,
    context_problem,
    deny,
)
from zerotrust.policy.store import PolicyBundle, PolicyInfo, PolicyStore

DEFAULT_BUDGET_S: Final = 0.050


class PolicyDecisionPoint:
    """Answers ``decide(request)`` for the gateway, the API, the console and the CLI."""

    def __init__(
        self,
        policies: PolicyStore | PolicyBundle,
        *,
        grants: GrantView | None = None,
        clock: Clock | None = None,
        budget_s: float = DEFAULT_BUDGET_S,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._policies = policies
        self._grants = grants
        self._clock = clock or SystemClock()
        self._budget_s = budget_s
        self._timer = timer

    @property
    def bundle(self) -> PolicyBundle:
        """The policy set in force now (a reload swaps it between decisions)."""
        policies = self._policies
        return policies if isinstance(policies, PolicyBundle) else policies.current

    def decide(self, request: AuthzRequest) -> Decision:
        """Decide one request; never raises, and denies whenever in doubt."""
        started = self._timer()
        bundle = self.bundle
        try:
            decision = self._decide(bundle, request)
        except Exception as exc:  # the decision path must not raise: deny instead
            decision = deny(PDP_ERROR, version=bundle.version, errors=(type(exc).__name__,))
        if self._timer() - started > self._budget_s:
            # A late answer is not trusted: the enforcement point may already have timed
            # out, and a slow decision is a symptom worth surfacing (catalogue E.36).
            return deny(PDP_TIMEOUT, version=bundle.version)
        return decision

    def _decide(self, bundle: PolicyBundle, request: AuthzRequest) -> Decision:
        if bundle.is_empty or bundle.compiled is None:
            return deny(EMPTY_POLICY_SET, version=bundle.version)
        problem = context_problem(request.context) or _entity_problem(request)
        if problem:
            return deny(INVALID_REQUEST, version=bundle.version, errors=(problem,))
        match = self._match(request)
        context = dict(request.context)
        if match.active is not None:
            context["jit_grant"] = {
                "id": match.active.id,
                "expires_at": int(match.active.expires_at or 0),
            }
        evaluation = _Evaluation(bundle, request)
        decision = evaluation.interpret(evaluation.run(context), context, step_up=True)
        return _with_grant(decision, match)

    def _match(self, request: AuthzRequest) -> GrantMatch:
        if self._grants is None:
            return NO_MATCH
        key: GrantKey = (
            request.principal.type,
            request.principal.id,
            request.action,
            request.resource.type,
            request.resource.id,
        )
        return self._grants.match(key, self._clock.now())


class _Evaluation:
    """One request against one bundle: Cedar calls and the reading of their answers."""

    def __init__(self, bundle: PolicyBundle, request: AuthzRequest) -> None:
        if bundle.compiled is None:  # guarded by the caller; kept for the type checker
            raise ValueError("empty bundle")
        self.compiled: Compiled = bundle.compiled
        self.infos = bundle.infos
        self.version = bundle.version
        self.request = request
        self.entities = entities_json(_entities(request))

    def run(self, context: Mapping[str, Any]) -> Outcome:
        r = self.request
        return self.compiled.evaluate(
            r.principal.uid, r.action, r.resource.uid, json.dumps(context), self.entities
        )

    def interpret(self, outcome: Outcome, context: Mapping[str, Any], *, step_up: bool) -> Decision:
        if outcome.rejected:
            return deny(INVALID_REQUEST, version=self.version, errors=outcome.errors)
        if outcome.errors:
            return deny(POLICY_EVALUATION_ERROR, version=self.version, errors=outcome.errors)
        fired = [self.infos[p] for p in sorted(outcome.satisfied)]
        permits = [i for i in fired if i.policy.effect == "permit"]
        forbids = [i for i in fired if i.policy.effect == "forbid"]
        if not permits:
            # Default deny, naming any forbid that fired. If only step-up forbids fired
            # there is nothing to unlock: no one is asked to step up only to be denied.
            hard = [i for i in forbids if i.step_up_aal is None]
            if hard:
                return Decision("deny", _reasons(forbids), _ids(forbids), version=self.version)
            return deny(NO_APPLICABLE_POLICY, version=self.version)
        if not forbids:
            merged = obligations.merge(i.obligations for i in permits)
            return Decision("allow", _reasons(permits), _ids(permits), merged, version=self.version)
        if step_up and all(i.step_up_aal is not None for i in forbids):
            return self._step_up(forbids, context)
        return Decision("deny", _reasons(forbids), _ids(forbids), version=self.version)

    def _step_up(self, fired: Sequence[PolicyInfo], context: Mapping[str, Any]) -> Decision:
        aal = max(i.step_up_aal or 0 for i in fired)
        ages = [i.max_age_s for i in fired if i.max_age_s is not None]
        current = context.get("aal")
        raised = {
            **context,
            "aal": max(aal, current if isinstance(current, int) else 0),
            "auth_age_s": 0,
        }
        decision = self.interpret(self.run(raised), raised, step_up=False)
        if not decision.allowed:
            return decision  # stepping up would not help: the second answer stands
        return Decision(
            "step_up",
            _reasons(fired),
            _ids(fired),
            required_aal=aal,
            max_auth_age_s=min(ages) if ages else None,
            version=self.version,
        )


def _entities(request: AuthzRequest) -> list[tuple[str, str, Mapping[str, Any]]]:
    principal, resource = request.principal, request.resource
    found = [(principal.type, principal.id, principal.attrs)]
    # A resource without attributes need not exist as an entity; Cedar treats `has` on
    # it as false, and the schema would demand attributes it does not have.
    if resource.attrs and resource.uid != principal.uid:
        found.append((resource.type, resource.id, resource.attrs))
    return found


def _entity_problem(request: AuthzRequest) -> str | None:
    same = request.principal.uid == request.resource.uid
    if same and request.resource.attrs and request.resource.attrs != request.principal.attrs:
        return "principal and resource are one entity with different attributes"
    return None


def _reasons(fired: Sequence[PolicyInfo]) -> tuple[str, ...]:
    return tuple(sorted({i.reason for i in fired}))


def _ids(fired: Sequence[PolicyInfo]) -> tuple[str, ...]:
    return tuple(i.id for i in fired)


def _with_grant(decision: Decision, match: GrantMatch) -> Decision:
    if match.active is not None:
        return dataclasses.replace(decision, grant_id=match.active.id)
    if match.expired is not None and decision.reasons == (NO_APPLICABLE_POLICY,):
        return dataclasses.replace(
            decision, reasons=(NO_APPLICABLE_POLICY, GRANT_EXPIRED), grant_id=match.expired.id
        )
    return decision
