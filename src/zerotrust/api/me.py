"""``/v1/me``: the signed-in principal, and self-service MFA enrolment.

Every enrolment change demands the current password again (OWASP ASVS 6.5.3/7.5.1): a
stolen session alone cannot add an attacker's authenticator.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from zerotrust.api import problems
from zerotrust.api.auth import Strict
from zerotrust.api.deps import client_info, current, services
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services

router = APIRouter(
    prefix="/v1/me", tags=["self-service"], responses=problems.responses(*problems.SIGNED_IN)
)
# Re-authentication failed (401), or the body was refused (400, 413, 422).
CHANGE = problems.responses(*problems.BODY)
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]
Client = Annotated[ClientInfo, Depends(client_info)]


class MeOut(BaseModel):
    id: str
    kind: str
    username: str
    display_name: str
    roles: list[str]
    session_id: str
    aal: int
    amr: list[str]
    auth_time: float
    methods: list[str]


class ReauthIn(Strict):
    password: str | None = None


class CodeIn(Strict):
    code: str


class PasskeyIn(Strict):
    credential: dict[str, Any]
    name: str = "passkey"


class PasskeyOptionsIn(Strict):
    password: str | None = None
    user_verification: bool = True


@router.get("", response_model=MeOut)
def me(ctx: Ctx, svc: Svc) -> MeOut:
    p, s = ctx.principal, ctx.session
    return MeOut(
        id=p.id,
        kind=p.kind,
        username=p.name,
        display_name=p.display_name,
        roles=list(p.roles),
        session_id=s.id,
        aal=s.aal,
        amr=list(s.amr),
        auth_time=s.auth_time,
        methods=list(svc.authenticator.methods(p.id)),
    )


@router.post("/mfa/totp", responses=CHANGE)
def enroll_totp(body: ReauthIn, ctx: Ctx, svc: Svc, client: Client) -> dict[str, str]:
    svc.authenticator.reauthenticate(ctx, body.password, client)
    secret, uri = svc.admin.enroll_totp(ctx.principal, actor=ctx.principal.id)
    return {"status": "pending", "otpauth_uri": uri, "secret": secret}


@router.post("/mfa/totp/confirm", responses=CHANGE)
def confirm_totp(body: CodeIn, ctx: Ctx, svc: Svc) -> dict[str, str]:
    svc.admin.confirm_totp(ctx.principal, body.code)
    return {"status": "active"}


@router.post("/mfa/webauthn/options", responses=CHANGE)
def passkey_options(body: PasskeyOptionsIn, ctx: Ctx, svc: Svc, client: Client) -> dict[str, Any]:
    svc.authenticator.reauthenticate(ctx, body.password, client)
    return svc.webauthn.registration_options(ctx.principal, require_uv=body.user_verification)


@router.post("/mfa/webauthn/verify", responses=problems.responses(*problems.BODY))
def passkey_register(body: PasskeyIn, ctx: Ctx, svc: Svc) -> dict[str, str]:
    # The registration challenge was issued only after re-authentication, and it is
    # single use and bound to this principal, so it carries that proof forward.
    cred = svc.webauthn.verify_registration(ctx.principal, body.credential, name=body.name[:128])
    return {"status": "registered", "credential_id": cred.credential_id}


@router.post("/mfa/recovery-codes", responses=CHANGE)
def recovery_codes(body: ReauthIn, ctx: Ctx, svc: Svc, client: Client) -> dict[str, list[str]]:
    svc.authenticator.reauthenticate(ctx, body.password, client)
    return {"codes": svc.admin.new_recovery_codes(ctx.principal, actor=ctx.principal.id)}
