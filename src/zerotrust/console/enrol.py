"""A person's first console passkey: password, then the second factor, then the passkey.

The same proof identity demands before any MFA change (the current password, then a
second factor, both counted by the lockout), and the registration challenge is issued
only after both, single use and bound to this principal (WebAuthn §13.4.3). The session
the second factor opens is ended at once: enrolment signs nobody in. Every step is bound
to the browser key whose proof started it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zerotrust.console.errors import NotSignedIn
from zerotrust.console.guard import client_info
from zerotrust.console.passkeys import endpoint
from zerotrust.console.runtime import Console, console, text
from zerotrust.console.sessions import (
    ENROL_MFA_COOKIE,
    PENDING_COOKIE,
    clear_pending_cookie,
    set_pending_cookie,
)
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import Forbidden
from zerotrust.identity.ceremonies import Ceremony
from zerotrust.identity.models import name_key

ENROL_TTL_S = 300


def _pending(c: Console, request: Request, *, second_factor_done: bool) -> Ceremony:
    pending = c.svc.ceremonies.get(request.cookies.get(PENDING_COOKIE))
    if (
        pending is None
        or pending.kind != "enrol"
        or pending.second_factor_done is not second_factor_done
        or pending.src_ip != client_info(request).src_ip
    ):
        raise NotSignedIn("enrolment_expired")
    c.guard.proof(request, expected_jkt=pending.jkt)
    return pending


def _password(request: Request, data: dict[str, Any]) -> Response:
    """Step 1: the password (identity's login: same answers, same lockout)."""
    c, client = console(request), client_info(request)
    c.starts.check(client.src_ip)
    proof = c.guard.proof(request, expected_jkt=None)
    username = text(data, "username", limit=128)
    result = c.svc.authenticator.login(username, text(data, "password", limit=1024), client)
    if "totp" not in result.methods:
        raise Forbidden(
            "Enrol an authenticator app first; an admin can help.", code="second_factor_needed"
        )
    principal = c.svc.principals.by_name(name_key(username))
    if principal is None:  # it just signed in: only a concurrent deletion gets here
        raise NotSignedIn("principal_unknown")
    ceremony = Ceremony(
        "enrol", principal.id, proof.jkt, client.src_ip, c.svc.clock.now() + ENROL_TTL_S
    )
    token, _ = c.svc.ceremonies.start(ceremony)
    response = JSONResponse({"status": "code_required"})
    set_pending_cookie(response, request, token, ENROL_TTL_S)
    set_pending_cookie(
        response, request, result.mfa_token or "", ENROL_TTL_S, name=ENROL_MFA_COOKIE
    )
    return response


def _code(request: Request, data: dict[str, Any]) -> Response:
    """Step 2: the authenticator code; answers with registration options (UV required)."""
    c, client = console(request), client_info(request)
    pending = _pending(c, request, second_factor_done=False)
    bound = replace(client, jkt=pending.jkt)
    tokens = c.svc.authenticator.complete_totp(
        request.cookies.get(ENROL_MFA_COOKIE) or "", text(data, "code", limit=64), bound
    )
    c.svc.sessions.revoke(tokens.session_id, actor=pending.principal_id, reason="passkey_enrolment")
    if not c.svc.ceremonies.pass_second_factor(request.cookies.get(PENDING_COOKIE)):
        raise NotSignedIn("enrolment_expired")  # ended, or another request got here first
    principal = c.svc.principals.get(pending.principal_id)
    if principal is None:
        raise NotSignedIn("principal_unknown")
    response = JSONResponse(c.svc.webauthn.registration_options(principal, require_uv=True))
    clear_pending_cookie(response, request, name=ENROL_MFA_COOKIE)
    return response


def _passkey(request: Request, data: dict[str, Any]) -> Response:
    """Step 3: verify the attestation and keep the public key."""
    c, client = console(request), client_info(request)
    pending = _pending(c, request, second_factor_done=True)
    principal = c.svc.principals.get(pending.principal_id)
    if principal is None or not principal.active:
        raise NotSignedIn("principal_disabled")
    name = text(data, "name", limit=64, required=False) or "Console passkey"
    credential = data.get("credential")
    stored = c.svc.webauthn.verify_registration(
        principal, credential if isinstance(credential, dict) else {}, name=name
    )
    c.svc.ceremonies.take(request.cookies.get(PENDING_COOKIE))
    c.svc.audit.append(
        AuditRecord(
            action="mfa.webauthn_enrol",
            actor=principal.id,
            outcome="success",
            resource=f"webauthn_credential:{stored.credential_id}",
            src_ip=client.src_ip,
            details={"name": stored.name, "aaguid": stored.aaguid, "via": "console"},
        )
    )
    response = JSONResponse({"status": "enrolled", "next": "/console/signin"})
    clear_pending_cookie(response, request)
    return response


enrol_password = endpoint(_password)
enrol_code = endpoint(_code)
enrol_passkey = endpoint(_passkey)
