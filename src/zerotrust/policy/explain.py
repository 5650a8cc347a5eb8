"""Explanations: why a decision came out as it did, for people and for the audit log."""

from __future__ import annotations

from zerotrust.core.auditing import AuditRecord
from zerotrust.policy.model import PDP_REASONS, AuthzRequest, Decision
from zerotrust.policy.store import PolicyBundle

_HEADLINE = {"allow": "ALLOW", "deny": "DENY", "step_up": "STEP-UP"}


def explain(decision: Decision, bundle: PolicyBundle) -> str:
    """A readable account: effect, reasons, each determining policy's file and text."""
    lines = [f"{_HEADLINE[decision.effect]} (policy set {decision.version or 'unknown'})"]
    for reason in decision.reasons:
        note = PDP_REASONS.get(reason)
        lines.append(f"  reason: {reason}" + (f" — {note}" if note else ""))
    if decision.effect == "step_up":
        age = (
            f", authenticated within {decision.max_auth_age_s} s" if decision.max_auth_age_s else ""
        )
        lines.append(f"  step up to aal{decision.required_aal}{age}, then retry")
    if decision.obligations:
        lines.append(f"  obligations: {', '.join(decision.obligations)}")
    if decision.grant_id:
        lines.append(f"  just-in-time grant: {decision.grant_id}")
    lines.extend(f"  error: {error}" for error in decision.errors)
    for policy_id in decision.policies:
        lines.extend(_policy(policy_id, bundle))
    return "\n".join(lines)


def _policy(policy_id: str, bundle: PolicyBundle) -> list[str]:
    info = bundle.infos.get(policy_id)
    if info is None:
        return [f"  policy {policy_id}: not in the policy set in force"]
    body = info.policy.text().splitlines()
    return [
        f"  policy {policy_id} ({info.policy.effect}, {info.policy.source}):",
        *(f"    {line}" for line in body),
    ]


def audit_record(
    request: AuthzRequest,
    decision: Decision,
    *,
    src_ip: str | None = None,
    device_id: str | None = None,
    session_id: str | None = None,
) -> AuditRecord:
    """The ``authz.decision`` audit entry for one decision, with the engine's detail."""
    outcome = {"allow": "allowed", "deny": "denied", "step_up": "step_up"}[decision.effect]
    return AuditRecord(
        action="authz.decision",
        actor=f"{request.principal.type}:{request.principal.id}",
        outcome=outcome,
        resource=f"{request.resource.type}:{request.resource.id}",
        reason=",".join(decision.reasons),
        src_ip=src_ip,
        device_id=device_id,
        session_id=session_id,
        details={
            "action": request.action,
            "policies": list(decision.policies),
            "obligations": list(decision.obligations),
            "required_aal": decision.required_aal,
            "grant": decision.grant_id,
            "version": decision.version,
            "errors": list(decision.errors),
        },
    )
