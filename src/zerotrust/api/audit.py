"""``/v1/audit``: what a witness needs (checkpoints, key, proofs) and, for those the policy
allows, the entries themselves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from zerotrust.api.deps import current, services
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.log import AuditLog
from zerotrust.core.errors import NotFound, StoreUnavailable
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]


def _log(svc: Services) -> AuditLog:
    if svc.audit_log is None:
        raise StoreUnavailable("The audit log is not available.")
    return svc.audit_log


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(svc: Svc) -> str:
    """The latest signed tree head (C2SP signed note), for witnesses to poll and keep."""
    note = _log(svc).latest_checkpoint()
    if note is None:
        raise NotFound("No checkpoint has been issued yet.", code="no_checkpoint")
    return note


@router.get("/key", response_class=PlainTextResponse)
def key(svc: Svc) -> str:
    """The verifier key of the checkpoints (a signed-note vkey)."""
    vkey = _log(svc).verifier_key()
    if vkey is None:
        raise NotFound("The log does not sign checkpoints.", code="no_key")
    return vkey


@router.get("/proof/inclusion")
def inclusion(
    svc: Svc, seq: Annotated[int, Query(ge=0)], size: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, Any]:
    return _log(svc).inclusion_proof(seq, size).to_json()


@router.get("/proof/consistency")
def consistency(
    svc: Svc, first: Annotated[int, Query(ge=0)], second: Annotated[int | None, Query(ge=1)] = None
) -> dict[str, Any]:
    return _log(svc).consistency_proof(first, second).to_json()


@router.get("/entries")
def entries(
    request: Request,
    ctx: Ctx,
    svc: Svc,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    after_seq: Annotated[int | None, Query(ge=-1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    """Entries, each checked against its leaf hash; reading is policy-checked and audited."""
    request.app.state.authorize(ctx, "read", "AuditLog", "main")  # the PDP (policy_guard)
    where = EntryFilter(actor=actor, action=action, outcome=outcome, after_seq=after_seq)
    found = _log(svc).read(
        where,
        limit=limit,
        reader=ctx.principal.id,
        src_ip=request.client.host if request.client else None,
        session_id=ctx.session.id,
    )
    return [e.to_dict() for e in found]
