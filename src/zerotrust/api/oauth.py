"""OAuth endpoints: workload tokens (RFC 7523 + RFC 9449), introspection (RFC 7662),
revocation (RFC 7009)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from zerotrust.api import problems
from zerotrust.api.deps import bound_client, current, services
from zerotrust.api.forms import InvalidRequest, form, form_body
from zerotrust.core.errors import AuthenticationFailed, Forbidden
from zerotrust.core.ids import token_digest
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.sessions import AuthContext
from zerotrust.identity.workloads import ASSERTION_TYPE
from zerotrust.service import Services

router = APIRouter(prefix="/v1/oauth", tags=["oauth"])
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]
Bound = Annotated[ClientInfo, Depends(bound_client)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
TEXT = {"type": "string"}
TOKEN_FORM = form_body(
    {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_assertion_type": {"type": "string", "enum": [ASSERTION_TYPE]},
        "client_assertion": TEXT,
        "scope": TEXT,
    },
    "grant_type",
    "client_assertion_type",
    "client_assertion",
)
# RFC 7662 §2.1 and RFC 7009 §2.1: the token, and an optional hint the server may ignore.
TOKEN_PARAM_FORM = form_body({"token": TEXT, "token_type_hint": TEXT}, "token")


class WorkloadTokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class IntrospectionOut(BaseModel):
    """RFC 7662 §2.2: ``active``, and the token's claims only when it is active."""

    model_config = ConfigDict(extra="allow")

    active: bool


class RevocationOut(BaseModel):
    """RFC 7009 §2.2: an empty answer, whatever the token was."""


@router.post(
    "/token",
    response_model=WorkloadTokenOut,
    openapi_extra=TOKEN_FORM,
    responses=problems.responses(400, 401, 413, 503),
)
async def token(request: Request, svc: Svc, client: Bound) -> JSONResponse:
    """``client_credentials`` with a ``private_key_jwt`` assertion and a DPoP proof."""
    params = await form(request)
    if params.get("grant_type") != "client_credentials":
        raise InvalidRequest(
            "Only grant_type=client_credentials is supported here.", code="unsupported_grant_type"
        )
    if params.get("client_assertion_type") != ASSERTION_TYPE or not params.get("client_assertion"):
        raise InvalidRequest("A private_key_jwt client assertion is required.")
    access, ttl, scope = svc.workloads.token(
        params["client_assertion"], scope=params.get("scope"), client=client
    )
    return JSONResponse(
        {"access_token": access, "token_type": "DPoP", "expires_in": ttl, "scope": " ".join(scope)},
        headers=NO_STORE,
    )


def _may_introspect(ctx: AuthContext) -> None:
    # Resource servers (workloads) and admins may ask; a user may not probe others' tokens.
    if ctx.principal.kind != "service" and "admin" not in ctx.principal.roles:
        raise Forbidden("Introspection is for resource servers.", code="forbidden")


@router.post(
    "/introspect",
    response_model=IntrospectionOut,
    openapi_extra=TOKEN_PARAM_FORM,
    responses=problems.responses(400, 401, 403, 413, 503),
)
async def introspect(request: Request, svc: Svc, ctx: Ctx) -> JSONResponse:
    """RFC 7662: ``{"active": false}`` for anything not currently valid, nothing more."""
    _may_introspect(ctx)
    params = await form(request)
    candidate = params.get("token", "")
    if not candidate:
        raise InvalidRequest()
    body: dict[str, Any] = {"active": False}
    try:
        claims = svc.tokens.verify(candidate)
        session = svc.sessions.sessions.get(str(claims.get("sid", "")))
        if session is not None:
            svc.sessions.check_live(session)
            body = {
                "active": True,
                "token_type": "DPoP",
                **{
                    k: claims[k]
                    for k in (
                        "sub",
                        "aud",
                        "iss",
                        "exp",
                        "iat",
                        "jti",
                        "sid",
                        "aal",
                        "amr",
                        "cnf",
                        "scope",
                        "device_id",
                    )
                    if k in claims
                },
            }
    except AuthenticationFailed:
        pass
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/revoke",
    response_model=RevocationOut,
    openapi_extra=TOKEN_PARAM_FORM,
    responses=problems.responses(400, 413, 503),
)
async def revoke(request: Request, svc: Svc) -> JSONResponse:
    """RFC 7009: holding a token is authority enough to end its session; always 200."""
    params = await form(request)
    candidate = params.get("token", "")
    if not candidate:
        raise InvalidRequest()
    session_id: str | None = None
    try:
        session_id = str(svc.tokens.verify(candidate).get("sid", "")) or None
    except AuthenticationFailed:
        stored = svc.sessions.sessions.refresh_token(token_digest(candidate[:512]))
        session_id = stored.session_id if stored else None
    if session_id:
        svc.sessions.revoke(session_id, actor="token_holder", reason="token_revoked")
    return JSONResponse({}, headers=NO_STORE)
