"""What one request leaves behind: the access event, audit entries, the access log line.

The ``authz.decision`` and refusal entries are written by the chain, before anything is
forwarded; here are the records that follow from the answer. Every line and event names
the request's correlation id, which the client sees in ``x-correlation-id`` and the
upstream in the identity assertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from zerotrust.core.auditing import AuditRecord
from zerotrust.core.events import SecurityEvent
from zerotrust.gateway.chain import RequestFacts, Verdict
from zerotrust.gateway.config import Route

MAX_LOGGED_CHARS = 256


@dataclass(slots=True)
class Exchange:
    """One request as it went: for the access log and the security event."""

    correlation_id: str
    method: str
    path: str = ""
    route: Route | None = None
    client_ip: str = ""
    forwarded_for: str = ""  # as sent (truncated): the log encodes it, nothing trusts it
    user_agent: str | None = None
    refusal: str | None = None  # why it was refused before verification, if it was
    verdict: Verdict | None = None
    records: int | None = None
    nbytes: int | None = None
    upstream_status: int | None = None


def access_event(ex: Exchange, *, now: float) -> SecurityEvent | None:
    """The access event, for every policy decision (allow, deny, step-up).

    Refusals before a decision (authentication, rate limits, dependencies down) are audited
    but not published: they say nothing about what the principal may reach, and an outage
    must not look like a thousand denials to the detectors. The device is the session's
    (the one identity recorded at sign-in), so every event of a session names the same
    device, as the session-replay detector expects.
    """
    verdict = ex.verdict
    if verdict is None or verdict.outcome not in ("allow", "deny", "step_up"):
        return None
    auth, request = verdict.auth, verdict.request
    if auth is None or request is None:
        return None
    allowed = verdict.outcome == "allow" and ex.upstream_status is not None
    return SecurityEvent.at(
        now,
        kind="access",
        principal=auth.principal.name,
        principal_type=auth.principal.kind,
        principal_roles=auth.principal.roles,
        outcome="allowed" if allowed else "denied",
        src_ip=ex.client_ip,
        user_agent=ex.user_agent,
        device_id=auth.session.device_id,
        session_id=auth.session.id,
        reason=None if allowed else verdict.reason,
        action=request.action,
        resource_type=request.resource.type,
        resource=request.resource.id,
        records=ex.records if allowed else None,
        bytes=ex.nbytes if allowed else None,
    )


def withheld_record(facts: RequestFacts, verdict: Verdict) -> AuditRecord:
    """An allowed response the obligations could not be applied to, and so withheld."""
    return AuditRecord(
        action="gateway.withheld",
        actor=verdict.auth.principal.id if verdict.auth else "anonymous",
        outcome="failure",
        resource=f"{facts.route.resource.type}:{facts.path[:MAX_LOGGED_CHARS]}",
        reason="obligation_unfulfilled",
        src_ip=facts.client_ip,
        details={"correlation_id": facts.correlation_id},
    )


def error_record(ex: Exchange) -> AuditRecord:
    """An unexpected error (catalogue F.46): the request failed with a generic 500."""
    return AuditRecord(
        action="gateway.error",
        actor=ex.verdict.auth.principal.id if ex.verdict and ex.verdict.auth else "system",
        outcome="failure",
        resource=ex.path[:MAX_LOGGED_CHARS] or None,
        reason="internal_error",
        src_ip=ex.client_ip or None,
        details={"correlation_id": ex.correlation_id},
    )


def access_line(ex: Exchange, status: int, elapsed_s: float) -> dict[str, Any]:
    """The structured access log entry (``gateway.logs`` renders it as one JSON line)."""
    verdict = ex.verdict
    return {
        "cid": ex.correlation_id,
        "method": ex.method,
        "path": ex.path[:MAX_LOGGED_CHARS],
        "route": ex.route.name if ex.route else None,
        "status": status,
        "outcome": verdict.outcome if verdict else None,
        "reason": verdict.reason if verdict else ex.refusal,
        "principal": verdict.principal_label if verdict else None,
        "device": verdict.device_id if verdict else None,
        "client_ip": ex.client_ip or None,
        "xff": ex.forwarded_for or None,
        "upstream_status": ex.upstream_status,
        "ms": round(elapsed_s * 1000, 3),
    }
