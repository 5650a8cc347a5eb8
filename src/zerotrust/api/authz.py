"""``POST /v1/authz/check``: the policy decision point for resource servers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from zerotrust.api import problems
from zerotrust.api.deps import current, services
from zerotrust.api.text import is_unicode
from zerotrust.core.errors import Forbidden, InvalidInput
from zerotrust.identity.sessions import AuthContext
from zerotrust.policy.explain import audit_record
from zerotrust.policy.model import MAX_ATTRS, MAX_ID_CHARS, decision_to_json, request_from_json
from zerotrust.service import Services

router = APIRouter(prefix="/v1/authz", tags=["authorization"])
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]

_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS}
# An entity: its type and id, and up to MAX_ATTRS attributes beside them.
_ENTITY = {
    "type": "object",
    "properties": {"type": _NAME, "id": _NAME},
    "required": ["type", "id"],
    "maxProperties": MAX_ATTRS + 2,
}
# The shared JSON form of a request (``policy.model.request_from_json``).
CHECK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "principal": _ENTITY,
                        "action": _NAME,
                        "resource": _ENTITY,
                        "context": {"type": "object"},
                    },
                    "required": ["principal", "action", "resource"],
                    "additionalProperties": False,
                }
            }
        },
    }
}


class DecisionOut(BaseModel):
    effect: Literal["allow", "deny", "step_up"]
    reasons: list[str]
    policies: list[str]
    obligations: list[str]
    required_aal: int | None
    max_auth_age_s: int | None
    grant: str | None
    version: str


@router.post(
    "/check",
    response_model=DecisionOut,
    openapi_extra=CHECK_BODY,
    responses=problems.responses(*problems.SIGNED_IN, 400, 403, 413),
)
async def check(request: Request, ctx: Ctx, svc: Svc) -> dict[str, Any]:
    """Decide one request (the same JSON as ``zt authz check``); the effect is in the body.

    Only resource servers (workloads) and admins may ask: the answer reveals policy.
    """
    if ctx.principal.kind != "service" and "admin" not in ctx.principal.roles:
        raise Forbidden("Decisions are for resource servers.", code="forbidden")
    authz_request = request_from_json(await _json(request))
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


async def _json(request: Request) -> object:
    """The body as JSON: 400 if it is not UTF-8 JSON, nests too deep to parse, or holds
    text that is not Unicode (``zerotrust.api.text``)."""
    try:
        body: object = await request.json()
    except (ValueError, RecursionError):
        raise InvalidInput("The body is not valid JSON.", code="invalid_request") from None
    if not is_unicode(body):
        raise InvalidInput("Text in the body must be Unicode.", code="invalid_request")
    return body
