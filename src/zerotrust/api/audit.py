"""``/v1/audit``: what a witness needs (checkpoints, key, proofs) and, for those the policy
allows, the entries themselves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from zerotrust.api import problems
from zerotrust.api.deps import current, services
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.log import AuditLog
from zerotrust.core.errors import NotFound, StoreUnavailable
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Svc = Annotated[Services, Depends(services)]
Ctx = Annotated[AuthContext, Depends(current)]
# Sequence numbers and tree sizes are 64-bit integers in the store; a larger one is refused
# here (422) rather than overflowing the database driver.
SEQ_MAX = 2**63 - 1


class InclusionProofOut(BaseModel):
    """RFC 6962 §2.1.1: the entry, its leaf hash, the audit path and the root it reaches."""

    seq: int
    tree_size: int
    entry: str
    leaf_hash: str
    proof: list[str]
    root: str


class ConsistencyProofOut(BaseModel):
    """RFC 6962 §2.1.2: the proof that the tree of ``size2`` extends that of ``size1``."""

    size1: int
    size2: int
    proof: list[str]
    root1: str
    root2: str


class EntryOut(BaseModel):
    seq: int
    time: str
    action: str
    actor: str
    outcome: str
    resource: str | None = None
    reason: str | None = None
    src_ip: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    details: dict[str, Any] | None = None


def _log(svc: Services) -> AuditLog:
    if svc.audit_log is None:
        raise StoreUnavailable("The audit log is not available.")
    return svc.audit_log


@router.get("/checkpoint", response_class=PlainTextResponse, responses=problems.responses(404, 503))
def checkpoint(svc: Svc) -> str:
    """The latest signed tree head (C2SP signed note), for witnesses to poll and keep."""
    note = _log(svc).latest_checkpoint()
    if note is None:
        raise NotFound("No checkpoint has been issued yet.", code="no_checkpoint")
    return note


@router.get("/key", response_class=PlainTextResponse, responses=problems.responses(404, 503))
def key(svc: Svc) -> str:
    """The verifier key of the checkpoints (a signed-note vkey)."""
    vkey = _log(svc).verifier_key()
    if vkey is None:
        raise NotFound("The log does not sign checkpoints.", code="no_key")
    return vkey


@router.get(
    "/proof/inclusion",
    response_model=InclusionProofOut,
    responses=problems.responses(400, 404, 422, 503),
)
def inclusion(
    svc: Svc,
    seq: Annotated[int, Query(ge=0, le=SEQ_MAX)],
    size: Annotated[int | None, Query(ge=1, le=SEQ_MAX)] = None,
) -> dict[str, Any]:
    return _log(svc).inclusion_proof(seq, size).to_json()


@router.get(
    "/proof/consistency",
    response_model=ConsistencyProofOut,
    responses=problems.responses(400, 422, 503),
)
def consistency(
    svc: Svc,
    first: Annotated[int, Query(ge=0, le=SEQ_MAX)],
    second: Annotated[int | None, Query(ge=1, le=SEQ_MAX)] = None,
) -> dict[str, Any]:
    return _log(svc).consistency_proof(first, second).to_json()


@router.get(
    "/entries",
    response_model=list[EntryOut],
    response_model_exclude_none=True,
    responses=problems.responses(*problems.SIGNED_IN, 400, 403, 422),
)
def entries(
    request: Request,
    ctx: Ctx,
    svc: Svc,
    actor: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    after_seq: Annotated[int | None, Query(ge=-1, le=SEQ_MAX)] = None,
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
