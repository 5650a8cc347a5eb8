"""``/v1/alerts``: detections for the security team — list, acknowledge, resolve, and undo
an automated response (unlock an account, unblock a source, approve a quarantined device,
restore the sessions it ended)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from zerotrust.api import problems
from zerotrust.api.auth import Strict
from zerotrust.api.deps import current, services
from zerotrust.core.errors import Forbidden
from zerotrust.identity.sessions import AuthContext
from zerotrust.responses import Undo
from zerotrust.service import Services

# Every route: the caller (401), not on the security team (403), a store down (503).
router = APIRouter(
    prefix="/v1/alerts",
    tags=["detection"],
    responses=problems.responses(*problems.SIGNED_IN, 403),
)
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]
AlertId = Annotated[str, Path(min_length=1, max_length=64)]


def _security_team(ctx: AuthContext) -> None:
    if "admin" not in ctx.principal.roles and "compliance_officer" not in ctx.principal.roles:
        raise Forbidden("Alerts are for the security team.", code="forbidden")


class AlertOut(BaseModel):
    id: str
    time: str
    detector: str
    severity: str
    principal: str | None
    event_id: str
    event_ids: list[str]
    explanation: str
    src_ip: str | None
    device_id: str | None
    session_id: str | None
    sources: list[str]
    state: Literal["open", "acknowledged", "resolved"]


class UndoOut(BaseModel):
    alert_id: str
    undone: str


# A transition: no such alert (404), not allowed from its state (409), bad input (422).
TRANSITION = problems.responses(404, 409, 422)


class ResolveIn(Strict):
    note: str | None = None


class UndoIn(Strict):
    action: Undo


@router.get("", response_model=list[AlertOut], responses=problems.responses(422))
def list_alerts(
    ctx: Ctx, svc: Svc, state: Literal["open", "acknowledged", "resolved"] | None = None
) -> list[dict[str, Any]]:
    _security_team(ctx)
    return [a.to_dict() for a in svc.alerts.list(state=state)]


@router.post("/{alert_id}/acknowledge", response_model=AlertOut, responses=TRANSITION)
def acknowledge(alert_id: AlertId, ctx: Ctx, svc: Svc) -> dict[str, Any]:
    _security_team(ctx)
    return svc.alerts.acknowledge(alert_id, actor=ctx.principal.id).to_dict()


@router.post(
    "/{alert_id}/resolve",
    response_model=AlertOut,
    responses=problems.responses(404, 409, *problems.BODY),
)
def resolve(alert_id: AlertId, body: ResolveIn, ctx: Ctx, svc: Svc) -> dict[str, Any]:
    _security_team(ctx)
    note = body.note[:500] if body.note else None
    return svc.alerts.resolve(alert_id, actor=ctx.principal.id, note=note).to_dict()


@router.post(
    "/{alert_id}/undo",
    response_model=UndoOut,
    responses=problems.responses(404, 409, *problems.BODY),
)
def undo(alert_id: AlertId, body: UndoIn, ctx: Ctx, svc: Svc) -> dict[str, Any]:
    """Reverse what the playbook did for this alert; audited. ``restore_sessions`` revives
    the sessions this alert's response revoked (not those a step-up response ended, nor any
    since timed out); ``approve_device`` approves a quarantined device again. Nothing of
    that kind in force: 409 ``nothing_to_undo``."""
    if "admin" not in ctx.principal.roles:
        raise Forbidden("Undoing a response needs the admin role.", code="forbidden")
    alert = svc.alerts.get(alert_id)
    svc.responses.undo(alert, body.action, actor=ctx.principal.id)
    return {"alert_id": alert.id, "undone": body.action}
