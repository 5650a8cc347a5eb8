"""Signing in to the console: a passkey with user verification, then the device link.

1. ``/signin/options`` — WebAuthn request options for the name (UV required). Unknown
   names, disabled accounts and people without a passkey get options of the same shape
   with a decoy credential, so the answer does not say which names exist.
2. ``/signin/verify`` — the assertion, verified by identity's ceremony (single-use
   challenge, origin, RP ID, UV, sign counter), with the proof of the browser's fresh
   non-extractable key: the session will be bound to that key. Failures count towards
   the same per-account lockout as the API's and are published for detection.
3. ``/link`` — the person's enrolled device agent confirms the short code shown in the
   browser (``zt agent request POST /console/link``), from the same address, so the
   session carries that device's posture into every policy decision.
4. ``/signin/complete`` — the session opens (linked, or for reports only); the browser
   gets an HttpOnly cookie and never a token.

Step-up re-runs the ceremony for the signed-in person and rotates the session: a fresh
id with a fresh authentication time, the old one revoked.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zerotrust.api.deps import current
from zerotrust.console.errors import NotSignedIn
from zerotrust.console.guard import client_info
from zerotrust.console.runtime import Console, console, json_body, text
from zerotrust.console.sessions import (
    PENDING_COOKIE,
    clear_pending_cookie,
    clear_session_cookie,
    csrf_token,
    open_session,
    set_pending_cookie,
    set_session_cookie,
)
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import Conflict, Forbidden, NotFound
from zerotrust.core.events import SecurityEvent
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.ceremonies import Ceremony
from zerotrust.identity.lockout import Attempt
from zerotrust.identity.models import ClientInfo, Principal, name_key
from zerotrust.identity.webauthn import WebAuthnRejected

Impl = Callable[[Request, dict[str, Any]], Response]


def endpoint(impl: Impl) -> Callable[[Request], Awaitable[Response]]:
    """An async endpoint that reads the JSON body, then runs ``impl`` off the event loop."""

    async def handle(request: Request) -> Response:
        data = await json_body(request)
        return await run_in_threadpool(impl, request, data)

    handle.__name__ = impl.__name__.lstrip("_")
    handle.__doc__ = impl.__doc__
    return handle


# -- the ceremony's parts -----------------------------------------------------------------


def _usable(c: Console, principal: Principal | None) -> Principal | None:
    if principal is None or not principal.active or principal.kind != "user":
        return None
    return principal if c.svc.authenticator.credentials.for_principal(principal.id) else None


def decoy_options(c: Console, username: str) -> dict[str, Any]:
    """Options shaped like real ones, with a credential id stable for the name."""
    # Keyed by a root-derived key: stable for the name on every replica and across restarts.
    fake = hmac.new(c.svc.decoy_key, name_key(username).encode(), hashlib.sha256).digest()
    return {
        "challenge": b64url_encode(secrets.token_bytes(32)),
        "timeout": 300_000,
        "rpId": c.svc.settings.rp_id,
        "allowCredentials": [
            {"id": b64url_encode(fake[:16]), "type": "public-key", "transports": ["internal"]}
        ],
        "userVerification": "required",
    }


def _emit(
    c: Console,
    who: str,
    principal: Principal | None,
    outcome: str,
    client: ClientInfo,
    *,
    reason: str | None = None,
    session_id: str | None = None,
) -> None:
    c.svc.events.emit(
        SecurityEvent.at(
            c.svc.clock.now(),
            kind="auth.mfa",
            principal=principal.name if principal else who,
            principal_type="user",
            principal_roles=principal.roles if principal else (),
            outcome=outcome,
            src_ip=client.src_ip,
            user_agent=client.user_agent,
            mfa_method="webauthn",
            reason=reason,
            session_id=session_id,
        )
    )


def _fail(
    c: Console,
    who: str,
    principal: Principal | None,
    client: ClientInfo,
    reason: str,
    reserved: Attempt | None,
) -> NoReturn:
    """Count, publish and audit a failed assertion, then give the one generic answer."""
    c.svc.guard.failed_from(client.src_ip)
    _emit(c, who, principal, "failure", client, reason=reason)
    if reserved is not None and reserved.locks_now:
        c.svc.audit.append(
            AuditRecord(
                action="auth.lockout",
                actor="system",
                outcome="success",
                resource=f"principal:{principal.id if principal else name_key(who)}",
                reason="webauthn_failures",
                src_ip=client.src_ip,
                details={"factor": "webauthn", "threshold": c.svc.guard.threshold},
            )
        )
    raise WebAuthnRejected()


def verify_passkey(
    c: Console, who: str, principal: Principal | None, credential: Any, client: ClientInfo
) -> Principal:
    """Identity's assertion check plus user verification, counted like the API's."""
    key = name_key(who)
    reserved = c.svc.guard.reserve("webauthn", key)
    if principal is None:
        _fail(c, who, None, client, "unknown_user", reserved)
    if not reserved.allowed:
        _fail(c, who, principal, client, "factor_locked", reserved)
    if not isinstance(credential, dict):
        _fail(c, who, principal, client, "malformed_response", reserved)
    try:
        verified = c.svc.webauthn.verify_authentication(principal, credential)
    except WebAuthnRejected as exc:
        _fail(c, who, principal, client, exc.code, reserved)
    # The challenge may have come from elsewhere (the API issues UV-optional ones after
    # a password); the console accepts only a verified user, whatever the challenge said.
    if not verified.user_verified:
        _fail(c, who, principal, client, "uv_required", reserved)
    c.svc.guard.succeeded("webauthn", key)
    return principal


# -- sign-in ------------------------------------------------------------------------------


def _signin_options(request: Request, data: dict[str, Any]) -> Response:
    """WebAuthn request options for a name (UV required)."""
    c, client = console(request), client_info(request)
    c.svc.guard.check_source(client.src_ip)
    c.starts.check(client.src_ip)
    username = text(data, "username", limit=128)
    principal = _usable(c, c.svc.principals.by_name(name_key(username)))
    if principal is None:
        return JSONResponse(decoy_options(c, username))
    return JSONResponse(c.svc.webauthn.authentication_options(principal, require_uv=True))


def _signin_verify(request: Request, data: dict[str, Any]) -> Response:
    """Verify the assertion and the browser key's proof; wait for the device link."""
    c, client = console(request), client_info(request)
    c.svc.guard.check_source(client.src_ip)
    proof = c.guard.proof(request, expected_jkt=None)
    username = text(data, "username", limit=128)
    found = _usable(c, c.svc.principals.by_name(name_key(username)))
    principal = verify_passkey(c, username, found, data.get("credential"), client)
    _emit(c, username, principal, "success", client)
    ttl = c.config.pending_ttl_s
    ceremony = Ceremony("signin", principal.id, proof.jkt, client.src_ip, c.svc.clock.now() + ttl)
    token, code = c.svc.ceremonies.start(ceremony, with_code=True)
    body = {"status": "link_device", "code": code, "expires_in": ttl}
    response = JSONResponse(body)
    set_pending_cookie(response, request, token, ttl)
    return response


def _signin_complete(request: Request, data: dict[str, Any]) -> Response:
    """Open the session once linked (or, if asked, without a device: reports only)."""
    c, client = console(request), client_info(request)
    token = request.cookies.get(PENDING_COOKIE)
    pending = c.svc.ceremonies.get(token)
    if pending is None or pending.kind != "signin" or pending.src_ip != client.src_ip:
        raise NotSignedIn("signin_expired")
    c.guard.proof(request, expected_jkt=pending.jkt)
    if pending.device_id is None and data.get("without_device") is not True:
        left = max(0, int(pending.expires_at - c.svc.clock.now()))
        return JSONResponse({"status": "waiting", "expires_in": left})
    # Taken as it stands now: a device linked since the read above counts (on any replica).
    pending = c.svc.ceremonies.take(token)
    if pending is None:
        raise NotSignedIn("signin_expired")
    principal = c.svc.principals.get(pending.principal_id)
    if principal is None or not principal.active:
        raise NotSignedIn("principal_disabled")
    handle, session_id = open_session(
        c.svc, principal, jkt=pending.jkt, device_id=pending.device_id, client=client
    )
    c.svc.audit.append(
        AuditRecord(
            action="console.signin",
            actor=principal.id,
            outcome="success",
            src_ip=client.src_ip,
            device_id=pending.device_id,
            session_id=session_id,
            details={"method": "passkey", "device_linked": pending.device_id is not None},
        )
    )
    response = JSONResponse({"status": "signed_in", "next": "/console/"})
    set_session_cookie(response, request, handle, c.svc.settings.session_absolute_s)
    clear_pending_cookie(response, request)
    return response


def _link(request: Request, data: dict[str, Any]) -> Response:
    """The device agent confirms a waiting sign-in (DPoP-bound API token, as for /v1)."""
    c, client = console(request), client_info(request)
    ctx = current(request)
    jkt = request.state.dpop.jkt
    found = c.svc.devices.lookup(ctx.principal.id, jkt)
    if found is None or found[1] != "active":
        raise Forbidden("Link from an enrolled, approved device.", code="device_not_active")
    code = text(data, "code", limit=16)
    pending = c.svc.ceremonies.by_code(code)

    def refuse(reason: str, error: Exception) -> NoReturn:
        c.svc.audit.append(
            AuditRecord(
                action="console.device_link",
                actor=ctx.principal.id,
                outcome="denied",
                reason=reason,
                src_ip=client.src_ip,
                device_id=found[0],
                session_id=ctx.session.id,
            )
        )
        raise error

    unknown = NotFound("No sign-in is waiting for that code.", code="link_unknown")
    if pending is None or pending.kind != "signin" or pending.principal_id != ctx.principal.id:
        refuse("unknown_code", unknown)
    # The browser and its device share a network: a code phished from someone far away
    # cannot be confirmed by the victim's agent from elsewhere, nor the reverse.
    if pending.src_ip != client.src_ip:
        refuse("source_mismatch", Forbidden("Link from the browser's machine.", code="link_source"))
    used = Conflict("That sign-in is already linked.", code="link_used")
    if pending.device_id is not None:
        refuse("already_linked", used)
    # One statement: of two confirmations racing (on any replicas), one links.
    if not c.svc.ceremonies.link(code, found[0]):
        if c.svc.ceremonies.by_code(code) is None:  # it ended meanwhile
            refuse("unknown_code", unknown)
        refuse("already_linked", used)
    c.svc.audit.append(
        AuditRecord(
            action="console.device_link",
            actor=ctx.principal.id,
            outcome="success",
            resource=f"device:{found[0]}",
            src_ip=client.src_ip,
            device_id=found[0],
            session_id=ctx.session.id,
        )
    )
    return JSONResponse({"linked": True, "device_id": found[0]})


# -- step-up and sign-out -----------------------------------------------------------------


def _stepup_options(request: Request, data: dict[str, Any]) -> Response:
    """Options for the signed-in person's passkeys (UV required)."""
    c = console(request)
    signed = c.guard.action(request)
    principal = signed.ctx.principal
    return JSONResponse(c.svc.webauthn.authentication_options(principal, require_uv=True))


def _stepup_verify(request: Request, data: dict[str, Any]) -> Response:
    """Verify again and rotate the session: new id, new authentication time."""
    c, client = console(request), client_info(request)
    signed = c.guard.action(request)
    old, principal = signed.ctx.session, signed.ctx.principal
    verify_passkey(c, principal.name, principal, data.get("credential"), client)
    handle, session_id = open_session(
        c.svc, principal, jkt=old.jkt or "", device_id=old.device_id, client=client
    )
    c.svc.sessions.revoke(old.id, actor=principal.id, reason="step_up_rotated")
    _emit(c, principal.name, principal, "success", client, session_id=session_id)
    c.svc.audit.append(
        AuditRecord(
            action="console.step_up",
            actor=principal.id,
            outcome="success",
            src_ip=client.src_ip,
            device_id=old.device_id,
            session_id=session_id,
            details={"replaces": old.id, "aal": 3},
        )
    )
    response = JSONResponse({"status": "verified", "csrf": csrf_token(handle)})
    set_session_cookie(response, request, handle, c.svc.settings.session_absolute_s)
    return response


def _signout(request: Request, data: dict[str, Any]) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    c.svc.sessions.revoke(signed.ctx.session.id, actor=signed.ctx.principal.id, reason="logout")
    response = JSONResponse({"status": "signed_out", "next": "/console/signin"})
    clear_session_cookie(response, request)
    return response


signin_options = endpoint(_signin_options)
signin_verify = endpoint(_signin_verify)
signin_complete = endpoint(_signin_complete)
link = endpoint(_link)
stepup_options = endpoint(_stepup_options)
stepup_verify = endpoint(_stepup_verify)
signout = endpoint(_signout)
