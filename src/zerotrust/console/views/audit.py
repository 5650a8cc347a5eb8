"""Audit explorer: search the tamper-evident log, show the latest signed checkpoint, and
serve inclusion proofs that the page verifies itself (RFC 6962, WebCrypto) after the
server has verified them too."""

from __future__ import annotations

import base64
import hmac
from datetime import UTC, datetime
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from zerotrust.audit.checkpoint import NoteVerifier
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.log import AuditLog
from zerotrust.console.guard import client_info
from zerotrust.console.runtime import console
from zerotrust.core.errors import IntegrityError, InvalidInput, StoreUnavailable, ZTError

PAGE: Final = 100
SCAN: Final = 1000  # entries read per search when filtering by resource


def _log(request: Request) -> AuditLog:
    log = console(request).svc.audit_log
    if log is None:
        raise StoreUnavailable("The audit log is not available.")
    return log


def _when(value: str | None, what: str) -> float | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: a date and time, e.g. 2026-01-01T09:00.") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _int(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return max(-1, int(value))
    except ValueError:
        raise InvalidInput("after: a sequence number.") from None


def _actor(request: Request, who: str) -> str:
    """A name becomes the principal's id, which is what entries record."""
    try:
        return console(request).svc.admin.get(who).id
    except ZTError:
        return who


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "audit")
    log = _log(request)
    q = request.query_params
    form = {k: q.get(k, "").strip()[:256] for k in ("principal", "action", "outcome", "resource")}
    form |= {k: q.get(k, "")[:32] for k in ("since", "until", "after")}
    size = log.size()
    after = _int(form["after"])
    searching = any(form[k] for k in ("principal", "action", "outcome", "resource", "since"))
    if after is None and not searching:
        after = max(-1, size - PAGE - 1)  # no filter: the latest page
    where = EntryFilter(
        actor=_actor(request, form["principal"]) if form["principal"] else None,
        action=form["action"] or None,
        outcome=form["outcome"] or None,
        since=_when(form["since"], "since"),
        until=_when(form["until"], "until"),
        after_seq=after,
    )
    found = log.read(
        where,
        limit=SCAN if form["resource"] else PAGE,
        reader=signed.ctx.principal.id,
        src_ip=client_info(request).src_ip,
        session_id=signed.ctx.session.id,
    )
    if form["resource"]:
        found = [e for e in found if e.resource and form["resource"] in e.resource][:PAGE]
    entries = [e.to_dict() for e in found]
    return c.render(
        request,
        "audit.html",
        signed,
        entries=entries,
        form=form,
        size=size,
        checkpoint=log.latest_checkpoint(),
        vkey=log.verifier_key(),
        next_after=entries[-1]["seq"] if len(found) == PAGE else None,
    )


def proof(request: Request) -> Response:
    """An inclusion proof against the latest signed checkpoint, verified here first."""
    c = console(request)
    signed = c.guard.view(request, "audit")
    log = _log(request)
    seq = _int(request.query_params.get("seq"))
    if seq is None or seq < 0 or seq >= log.size():
        raise InvalidInput("seq: the sequence number of an entry.")
    note = log.latest_checkpoint()
    verifier_key = log.verifier_key()
    if verifier_key is None:
        raise StoreUnavailable("The log does not sign checkpoints.")
    verifier = NoteVerifier.from_vkey(verifier_key)
    if note is None or verifier.open(note).size <= seq:
        note = log.checkpoint().note  # the entry is newer than the last checkpoint
    checkpoint = verifier.open(note)  # IntegrityError unless our key signed it
    found = log.inclusion_proof(seq, checkpoint.size)  # verifies entry, path and root
    if not hmac.compare_digest(found.root, checkpoint.root):
        raise IntegrityError("The proof does not lead to the signed root.")
    body: dict[str, Any] = {
        **found.to_json(),
        "checkpoint": note,
        "checkpoint_root": base64.b64encode(checkpoint.root).decode("ascii"),
        "vkey": verifier_key,
        "server_verified": True,
        "reader": signed.ctx.principal.name,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
