"""Principals: people and AI workloads, their roles, second factors, devices and posture,
and live sessions; revoke a session, quarantine or re-approve a device, reset MFA."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from zerotrust.console.gates import ACTIONS
from zerotrust.console.passkeys import endpoint
from zerotrust.console.runtime import Console, console
from zerotrust.console.views.common import done
from zerotrust.core.errors import Forbidden, NotFound, ZTError
from zerotrust.devices.posture import assess
from zerotrust.identity.models import Principal, Session


def _live(c: Console, sessions: list[Session]) -> list[Session]:
    out = []
    for s in sessions:
        try:
            c.svc.sessions.check_live(s)
        except ZTError:
            continue
        out.append(s)
    return sorted(out, key=lambda s: -s.last_seen_at)


def _row(c: Console, p: Principal) -> dict[str, Any]:
    return {
        "p": p,
        "methods": c.svc.authenticator.methods(p.id) if p.kind == "user" else (),
        "devices": len(c.svc.devices.list(p.id)),
        "sessions": len(_live(c, list(c.svc.sessions.sessions.for_principal(p.id)))),
    }


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "principals")
    kind = request.query_params.get("kind") or None
    everyone = [p for p in c.svc.principals.list() if kind is None or p.kind == kind]
    everyone.sort(key=lambda p: (p.kind, p.name))
    rows = [_row(c, p) for p in everyone[:500]]
    return c.render(request, "principals.html", signed, rows=rows, kind=kind)


def _principal(c: Console, principal_id: str) -> Principal:
    found = c.svc.principals.get(principal_id)
    if found is None:
        raise NotFound("No such principal.")
    return found


def detail(request: Request) -> Response:
    c = console(request)
    principal = _principal(c, request.path_params["principal_id"])
    signed = c.guard.view(request, "principals", principal.id)
    now = c.svc.clock.now()
    devices = [
        {"d": d, "trust": assess(d, now=now, policy=c.svc.devices.policy)}
        for d in c.svc.devices.list(principal.id)
    ]
    sessions = _live(c, list(c.svc.sessions.sessions.for_principal(principal.id)))
    return c.render(
        request,
        "principal.html",
        signed,
        p=principal,
        methods=c.svc.authenticator.methods(principal.id) if principal.kind == "user" else (),
        passkeys=c.svc.authenticator.credentials.for_principal(principal.id),
        devices=devices,
        sessions=sessions,
        risk=c.svc.detection.risk.score(principal.name, now),
        now=now,
    )


def _revoke_session(request: Request, data: dict[str, Any]) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    session = c.svc.sessions.sessions.get(request.path_params["session_id"])
    if session is None:
        raise NotFound("No such session.")
    c.guard.authorize(signed.ctx, ACTIONS["session.revoke"], session.principal_id)
    revoked = c.svc.sessions.revoke(
        session.id, actor=signed.ctx.principal.id, reason="console_revoke"
    )
    own = session.id == signed.ctx.session.id
    message = "Session revoked." if revoked else "The session had already ended."
    return done(message, reload=not own, next="/console/signin" if own else None)


def _device(request: Request, data: dict[str, Any], *, approve: bool) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    device = c.svc.devices.get(request.path_params["device_id"])
    gate = ACTIONS["device.approve" if approve else "device.quarantine"]
    c.guard.authorize(signed.ctx, gate, device.id)
    actor = signed.ctx.principal.id
    if approve:
        c.svc.devices.approve(device.id, actor=actor)
        return done("Device approved.")
    c.svc.devices.quarantine(device.id, actor=actor)
    return done("Device quarantined: its trust is now low and the policy refuses it.")


def _quarantine(request: Request, data: dict[str, Any]) -> Response:
    return _device(request, data, approve=False)


def _approve(request: Request, data: dict[str, Any]) -> Response:
    return _device(request, data, approve=True)


def _reset_mfa(request: Request, data: dict[str, Any]) -> Response:
    """Remove every second factor and end every session of someone else (lost device,
    compromise); they enrol again. Nobody resets their own here (lockout by mistake)."""
    c = console(request)
    signed = c.guard.action(request)
    target = _principal(c, request.path_params["principal_id"])
    if target.id == signed.ctx.principal.id:
        raise Forbidden("Reset your own factors from your own device.", code="self_reset")
    c.guard.authorize(signed.ctx, ACTIONS["principal.reset_mfa"], target.id)
    c.svc.admin.reset_mfa(target, actor=signed.ctx.principal.id)
    return done(f"Second factors of {target.name} removed; their sessions ended.")


revoke_session = endpoint(_revoke_session)
quarantine = endpoint(_quarantine)
approve = endpoint(_approve)
reset_mfa = endpoint(_reset_mfa)
