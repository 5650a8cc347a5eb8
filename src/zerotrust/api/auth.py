"""``/v1/auth``: password, second factor, refresh, logout."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from zerotrust.api.deps import bound_client, client_info, current, services
from zerotrust.identity.models import ClientInfo, TokenSet
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services

router = APIRouter(prefix="/v1/auth", tags=["authentication"])
Svc = Annotated[Services, Depends(services)]
Client = Annotated[ClientInfo, Depends(client_info)]
Bound = Annotated[ClientInfo, Depends(bound_client)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class LoginIn(Strict):
    username: str
    password: str


class LoginOut(BaseModel):
    status: str = "mfa_required"
    mfa_token: str
    methods: list[str]
    expires_in: int


class TotpIn(Strict):
    mfa_token: str
    code: str


class RecoveryIn(Strict):
    mfa_token: str
    code: str


class WebAuthnOptionsIn(Strict):
    mfa_token: str
    user_verification: bool = False


class WebAuthnVerifyIn(Strict):
    mfa_token: str
    credential: dict[str, Any]


class RefreshIn(Strict):
    refresh_token: str


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str
    aal: int


def _tokens(t: TokenSet) -> TokenOut:
    return TokenOut(
        access_token=t.access_token,
        token_type=t.token_type,
        expires_in=t.expires_in,
        refresh_token=t.refresh_token,
        aal=t.aal,
    )


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, svc: Svc, client: Client) -> LoginOut:
    result = svc.authenticator.login(body.username, body.password, client)
    return LoginOut(
        mfa_token=result.mfa_token, methods=list(result.methods), expires_in=result.expires_in
    )


@router.post("/mfa/totp", response_model=TokenOut)
def mfa_totp(body: TotpIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.authenticator.complete_totp(body.mfa_token, body.code, client))


@router.post("/mfa/recovery", response_model=TokenOut)
def mfa_recovery(body: RecoveryIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.authenticator.complete_recovery(body.mfa_token, body.code, client))


@router.post("/mfa/webauthn/options")
def mfa_webauthn_options(body: WebAuthnOptionsIn, svc: Svc) -> dict[str, Any]:
    return svc.authenticator.webauthn_options(body.mfa_token, require_uv=body.user_verification)


@router.post("/mfa/webauthn/verify", response_model=TokenOut)
def mfa_webauthn_verify(body: WebAuthnVerifyIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.authenticator.complete_webauthn(body.mfa_token, body.credential, client))


@router.post("/refresh", response_model=TokenOut)
def refresh(body: RefreshIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.sessions.refresh(body.refresh_token, jkt=client.jkt or ""))


@router.post("/logout", status_code=204)
def logout(ctx: Annotated[AuthContext, Depends(current)], svc: Svc) -> None:
    svc.sessions.revoke(ctx.session.id, actor=ctx.principal.id, reason="logout")
