"""OAuth endpoints: workload tokens (RFC 7523 + RFC 9449), introspection (RFC 7662),
revocation (RFC 7009)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from zerotrust.api.deps import bound_client, current, services
from zerotrust.api.forms import InvalidRequest, form
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


@router.post("/token")
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


@router.post("/introspect")
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


@router.post("/revoke")
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
