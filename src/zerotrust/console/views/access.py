"""Access: just-in-time grant requests waiting for a second person, and access review
campaigns (certify or revoke each entitlement in force)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from zerotrust.compliance.reviews import Reviews
from zerotrust.compliance_adapter import LiveEvidence, campaigns_for
from zerotrust.console.gates import ACTIONS
from zerotrust.console.passkeys import endpoint
from zerotrust.console.runtime import Console, console, text
from zerotrust.console.views.common import bounded_note, done
from zerotrust.core.errors import Forbidden, InvalidInput
from zerotrust.identity.models import Principal
from zerotrust.identity.sessions import AuthContext


def _reviews(c: Console) -> Reviews:
    source = LiveEvidence(c.svc)
    return Reviews(source, source, campaigns_for(c.svc))


def _names(c: Console) -> dict[str, str]:
    return {p.id: p.name for p in c.svc.principals.list()}


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "access")
    now = c.svc.clock.now()
    grants = c.svc.grants.find(statuses=("pending", "approved"))
    pending = [g for g in grants if g.state(now) == "pending"]
    active = [g for g in grants if g.state(now) == "active"]
    campaigns = sorted(campaigns_for(c.svc).list(), key=lambda k: -k.started_at)
    chosen_id = request.query_params.get("campaign")
    chosen = next((k for k in campaigns if k.id == chosen_id), None)
    return c.render(
        request,
        "access.html",
        signed,
        pending=sorted(pending, key=lambda g: g.requested_at),
        in_force=sorted(active, key=lambda g: g.expires_at or 0),
        campaigns=campaigns,
        chosen=chosen,
        names=_names(c),
        now=now,
    )


def _is_me(ctx: AuthContext, who: str) -> bool:
    me: Principal = ctx.principal
    return who.strip().casefold() in (me.id.casefold(), me.name.casefold())


def _grant(request: Request, data: dict[str, Any], *, approve: bool) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    grant = c.svc.grants.get(request.path_params["grant_id"])
    c.guard.authorize(signed.ctx, ACTIONS["grant.approve" if approve else "grant.deny"])
    # Grants may name their principal by id or by name: refuse both forms of
    # self-approval here, before the grant service checks the form it knows.
    if approve and _is_me(signed.ctx, grant.principal_id):
        raise Forbidden("A grant needs a second person's approval.", code="self_approval")
    approver = signed.ctx.principal.id
    if approve:
        c.svc.grants.approve(grant.id, approver=approver)
        return done("Grant approved; it is in force until it expires.")
    c.svc.grants.deny(grant.id, approver=approver)
    return done("Grant request denied.")


def _approve(request: Request, data: dict[str, Any]) -> Response:
    return _grant(request, data, approve=True)


def _deny(request: Request, data: dict[str, Any]) -> Response:
    return _grant(request, data, approve=False)


def _start(request: Request, data: dict[str, Any]) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    c.guard.authorize(signed.ctx, ACTIONS["review.start"])
    campaign = _reviews(c).start(text(data, "name", limit=200), actor=signed.ctx.principal.id)
    return done("Campaign started.", reload=False, next=f"/console/access?campaign={campaign.id}")


def _decide(request: Request, data: dict[str, Any]) -> Response:
    c = console(request)
    signed = c.guard.action(request)
    decision = text(data, "decision", limit=16)
    if decision not in ("certify", "revoke"):
        raise InvalidInput("decision: certify or revoke.")
    c.guard.authorize(signed.ctx, ACTIONS[f"review.{decision}"])
    reviews = _reviews(c)
    decide = reviews.certify if decision == "certify" else reviews.revoke
    campaign = decide(
        request.path_params["campaign_id"],
        text(data, "item", limit=600),
        reviewer=signed.ctx.principal.id,
        note=bounded_note(data),
    )
    closed = " The campaign is complete." if campaign.closed_at is not None else ""
    return done(f"Recorded: {decision}.{closed}")


approve = endpoint(_approve)
deny = endpoint(_deny)
start_campaign = endpoint(_start)
decide_item = endpoint(_decide)
