"""``/v1/auth``: password, second factor, refresh, logout."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, field_validator

from zerotrust.api import problems
from zerotrust.api.deps import bound_client, client_info, current, services
from zerotrust.api.text import is_unicode
from zerotrust.identity.models import ClientInfo, TokenSet
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services

router = APIRouter(prefix="/v1/auth", tags=["authentication"])
Svc = Annotated[Services, Depends(services)]
Client = Annotated[ClientInfo, Depends(client_info)]
Bound = Annotated[ClientInfo, Depends(bound_client)]
# A second factor: the mfa_token, the proof or the factor failed (401), the body was refused
# (400, 413, 422), or the source is throttled (429).
MFA_REFUSALS = problems.responses(401, 429, 503, *problems.BODY)


class Strict(BaseModel):
    """A request body: no unknown fields, no coercion, and only Unicode text (422)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*")
    @classmethod
    def _unicode(cls, value: Any) -> Any:
        if not is_unicode(value):
            raise ValueError("text must be Unicode")
        return value


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


@router.post(
    "/login", response_model=LoginOut, responses=problems.responses(401, 429, 503, *problems.BODY)
)
def login(body: LoginIn, svc: Svc, client: Client) -> LoginOut:
    result = svc.authenticator.login(body.username, body.password, client)
    return LoginOut(
        mfa_token=result.mfa_token, methods=list(result.methods), expires_in=result.expires_in
    )


@router.post("/mfa/totp", response_model=TokenOut, responses=MFA_REFUSALS)
def mfa_totp(body: TotpIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.authenticator.complete_totp(body.mfa_token, body.code, client))


@router.post("/mfa/recovery", response_model=TokenOut, responses=MFA_REFUSALS)
def mfa_recovery(body: RecoveryIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.authenticator.complete_recovery(body.mfa_token, body.code, client))


@router.post("/mfa/webauthn/options", responses=problems.responses(401, 503, *problems.BODY))
def mfa_webauthn_options(body: WebAuthnOptionsIn, svc: Svc) -> dict[str, Any]:
    return svc.authenticator.webauthn_options(body.mfa_token, require_uv=body.user_verification)


@router.post("/mfa/webauthn/verify", response_model=TokenOut, responses=MFA_REFUSALS)
def mfa_webauthn_verify(body: WebAuthnVerifyIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.authenticator.complete_webauthn(body.mfa_token, body.credential, client))


@router.post(
    "/refresh", response_model=TokenOut, responses=problems.responses(401, 503, *problems.BODY)
)
def refresh(body: RefreshIn, svc: Svc, client: Bound) -> TokenOut:
    return _tokens(svc.sessions.refresh(body.refresh_token, jkt=client.jkt or ""))


@router.post("/logout", status_code=204, responses=problems.responses(*problems.SIGNED_IN))
def logout(ctx: Annotated[AuthContext, Depends(current)], svc: Svc) -> None:
    svc.sessions.revoke(ctx.session.id, actor=ctx.principal.id, reason="logout")
