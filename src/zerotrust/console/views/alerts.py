"""Alerts: the list, one alert with the events that tipped it and the automated response
in force, and the analyst's moves — acknowledge, resolve, undo a response."""

from __future__ import annotations

from typing import Any, get_args

from starlette.requests import Request
from starlette.responses import Response

from zerotrust.console.gates import ACTIONS
from zerotrust.console.passkeys import endpoint
from zerotrust.console.runtime import Console, console, text
from zerotrust.console.views.common import bounded_note, done
from zerotrust.core.errors import InvalidInput, NotFound, RateLimited, ZTError
from zerotrust.detect.alerts import SEVERITY_RANK, Alert, AlertState
from zerotrust.identity.models import name_key
from zerotrust.responses import UNDO_ACTIONS, revoked_for

STATES: dict[str, AlertState] = {s: s for s in get_args(AlertState)}


def _principal_id(c: Console, alert: Alert) -> str:
    """The resource id of a decision about this alert's principal (``*`` if unknown)."""
    if not alert.principal:
        return "*"
    try:
        return c.svc.admin.get(alert.principal).id
    except ZTError:
        return "*"


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "alerts")
    asked = request.query_params.get("state") or None
    state = STATES.get(asked) if asked else None
    if asked and state is None:
        raise InvalidInput("state: open, acknowledged or resolved.")
    severity = request.query_params.get("severity") or None
    found = [
        a for a in c.svc.alerts.list(state=state) if severity is None or a.severity == severity
    ]
    found.sort(key=lambda a: (-SEVERITY_RANK[a.severity], -a.ts))
    return c.render(
        request, "alerts.html", signed, alerts=found[:500], state=state, severity=severity
    )


def response_in_force(c: Console, alert: Alert) -> list[dict[str, Any]]:
    """The playbook steps this alert ran, and whether each is still in force now."""
    responder = c.svc.detection.responder
    steps = responder.books.get(alert.detector, ()) if responder is not None else ()
    out = []
    for step in steps:
        if SEVERITY_RANK[alert.severity] < SEVERITY_RANK[step.min_severity]:
            continue
        out.append(
            {"action": step.action, "minutes": step.minutes, **_state(c, step.action, alert)}
        )
    return out


def _state(c: Console, action: str, alert: Alert) -> dict[str, Any]:
    svc = c.svc
    if action == "lock_account" and alert.principal:
        locked = svc.guard.is_locked("password", name_key(alert.principal))
        return {"target": alert.principal, "in_force": locked, "undo": "unlock_account"}
    if action == "block_source" and alert.src_ip:
        try:
            svc.guard.check_source(alert.src_ip)
            blocked = False
        except RateLimited:
            blocked = True
        return {"target": alert.src_ip, "in_force": blocked, "undo": "unblock_source"}
    if action == "quarantine_device" and alert.device_id:
        try:
            quarantined = svc.devices.get(alert.device_id).status == "quarantined"
        except NotFound:
            quarantined = False
        return {
            "target": alert.device_id,
            "in_force": quarantined,
            "undo": "approve_device",
        }
    if action == "revoke_sessions" and alert.principal:
        principal_id = _principal_id(c, alert)
        mine = svc.sessions.sessions.for_principal(principal_id) if principal_id != "*" else []
        ended = revoked_for(mine, alert)
        return {"target": alert.principal, "in_force": bool(ended), "undo": "restore_sessions"}
    if action == "require_step_up":
        # Final by design: its point is a fresh sign-in with a second factor.
        return {"target": alert.principal or "—", "in_force": True, "undo": None}
    return {"target": alert.id, "in_force": False, "undo": None}


def detail(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "alerts")
    alert = c.svc.alerts.get(request.path_params["alert_id"])
    events = [(eid, c.events.get(eid)) for eid in alert.event_ids]
    session = c.svc.sessions.sessions.get(alert.session_id) if alert.session_id else None
    live = False
    if session is not None:
        try:
            c.svc.sessions.check_live(session)
            live = True
        except ZTError:
            live = False
    return c.render(
        request,
        "alert.html",
        signed,
        alert=alert,
        events=events,
        response=response_in_force(c, alert),
        named_session=session,
        session_live=live,
    )


def _transition(request: Request, data: dict[str, Any]) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    alert = c.svc.alerts.get(request.path_params["alert_id"])
    to = text(data, "to", limit=16)
    if to not in ("acknowledged", "resolved"):
        raise InvalidInput("to: acknowledged or resolved.")
    c.guard.authorize(signed.ctx, ACTIONS["alert.transition"], _principal_id(c, alert))
    actor = signed.ctx.principal.id
    if to == "acknowledged":
        c.svc.alerts.acknowledge(alert.id, actor=actor)
    else:
        c.svc.alerts.resolve(alert.id, actor=actor, note=bounded_note(data))
    return done(f"Alert {to}.")


def _undo(request: Request, data: dict[str, Any]) -> Response:
    """Reverse what the playbook did (``IdentityResponses.undo``, as the API's ``/undo``)."""
    c = console(request)
    signed = c.guard.action(request)
    alert = c.svc.alerts.get(request.path_params["alert_id"])
    what = text(data, "action", limit=32)
    if what not in UNDO_ACTIONS:
        raise InvalidInput(
            "action: unlock_account, unblock_source, approve_device or restore_sessions."
        )
    c.guard.authorize(signed.ctx, ACTIONS["alert.undo"], _principal_id(c, alert))
    if what == "approve_device" and alert.device_id:
        c.guard.authorize(signed.ctx, ACTIONS["device.approve"], alert.device_id)
    c.svc.responses.undo(
        alert,
        what,
        actor=signed.ctx.principal.id,
        session_id=signed.ctx.session.id,
        via="console",
    )
    return done(f"Undone: {what.replace('_', ' ')}.")


transition = endpoint(_transition)
undo = endpoint(_undo)
