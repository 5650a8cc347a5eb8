"""What-if: replay recorded decisions against a proposed policy set and list the flips.

The decision log is JSON lines, one recorded decision per line::

    {"request": {...same as `zt authz check` input...},
     "decision": {"effect": "allow", "reasons": ["role-permit"], "grant": null}}

A recorded ``grant`` is replayed as the grant that was in force then (active, or expired
when the recorded reasons say so), so a grant-based allow does not show up as a flip just
because the replay has no grant store.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Final

from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import InvalidInput
from zerotrust.policy.grants import NO_MATCH, Grant, GrantKey, GrantMatch
from zerotrust.policy.model import (
    GRANT_EXPIRED,
    AuthzRequest,
    Decision,
    decision_from_json,
    decision_to_json,
    request_from_json,
    request_to_json,
)
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle

MAX_LINE_CHARS: Final = 64 * 1024
_REPLAY_NOW: Final = 1_700_000_000.0


@dataclass(frozen=True, slots=True)
class Recorded:
    """One line of the decision log."""

    line: int
    request: AuthzRequest
    decision: Decision


@dataclass(frozen=True, slots=True)
class Flip:
    """A recorded decision whose effect would change under the proposed set."""

    line: int
    request: AuthzRequest
    before: Decision
    after: Decision


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """The outcome of a replay."""

    version: str
    total: int = 0
    flips: tuple[Flip, ...] = ()
    reason_changes: tuple[Flip, ...] = field(default=())


def log_line(request: AuthzRequest, decision: Decision) -> str:
    """The decision-log line for one decision (what the gateway appends)."""
    return json.dumps(
        {"request": request_to_json(request), "decision": decision_to_json(decision)},
        sort_keys=True,
    )


def read_log(lines: Iterable[str]) -> Iterator[Recorded]:
    """Parse a decision log; a bad line raises ``InvalidInput`` naming its number."""
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            yield _parse_line(raw, number)
        except InvalidInput as exc:
            raise InvalidInput(f"line {number}: {exc.detail}") from None


def _parse_line(raw: str, number: int) -> Recorded:
    if len(raw) > MAX_LINE_CHARS:
        raise InvalidInput("longer than 64 KiB")
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidInput("not valid JSON") from None
    if not isinstance(data, dict) or set(data) - {"request", "decision"}:
        raise InvalidInput('expected {"request": ..., "decision": ...}')
    return Recorded(
        number, request_from_json(data.get("request")), decision_from_json(data.get("decision"))
    )


def replay(bundle: PolicyBundle, records: Iterable[Recorded]) -> WhatIfReport:
    """Decide every recorded request under ``bundle`` and collect what changed."""
    flips: list[Flip] = []
    changed: list[Flip] = []
    total = 0
    for record in records:
        total += 1
        pdp = PolicyDecisionPoint(
            bundle,
            grants=_RecordedGrant(record.decision),
            clock=FixedClock(_REPLAY_NOW),
            budget_s=float("inf"),
        )
        after = pdp.decide(record.request)
        flip = Flip(record.line, record.request, record.decision, after)
        if after.effect != record.decision.effect:
            flips.append(flip)
        elif set(after.reasons) != set(record.decision.reasons):
            changed.append(flip)
    return WhatIfReport(bundle.version, total, tuple(flips), tuple(changed))


class _RecordedGrant:
    """A grant view that answers with the grant the recorded decision saw."""

    def __init__(self, decision: Decision) -> None:
        self._decision = decision

    def match(self, key: GrantKey, now: float) -> GrantMatch:
        grant_id = self._decision.grant_id
        if grant_id is None:
            return NO_MATCH
        expired = GRANT_EXPIRED in self._decision.reasons
        grant = Grant(
            grant_id,
            *key,
            duration_s=1,
            justification="recorded",
            status="approved",
            requested_at=now - 2,
            expires_at=now - 1 if expired else now + 3600,
        )
        return GrantMatch(expired=grant) if expired else GrantMatch(active=grant)
