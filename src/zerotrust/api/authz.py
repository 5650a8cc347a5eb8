"""``POST /v1/authz/check``: the policy decision point for resource servers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from zerotrust.api.deps import current, services
from zerotrust.core.errors import Forbidden
from zerotrust.identity.sessions import AuthContext
from zerotrust.policy.explain import audit_record
from zerotrust.policy.model import decision_to_json, request_from_json
from zerotrust.service import Services

router = APIRouter(prefix="/v1/authz", tags=["authorization"])
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]


@router.post("/check")
async def check(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
    """Decide one request (the same JSON as ``zt authz check``); the effect is in the body.

    Only resource servers (workloads) and admins may ask: the answer reveals policy.
    """
    if ctx.principal.kind != "service" and "admin" not in ctx.principal.roles:
        raise Forbidden("Decisions are for resource servers.", code="forbidden")
    authz_request = request_from_json(await request.json())
    decision = svc.pdp.decide(authz_request)
    svc.audit.append(
        audit_record(
            authz_request,
            decision,
            src_ip=request.client.host if request.client else None,
            session_id=ctx.session.id,
        )
    )
    svc.decision_log.append(authz_request, decision)
    return decision_to_json(decision)
