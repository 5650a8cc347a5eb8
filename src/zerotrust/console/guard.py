"""The checks every console request passes: a live session, the PDP, and — for anything
that changes state — the CSRF token, a same-origin request and a proof of possession of
the browser key the session is bound to (checked here, or by the gateway in front: see
``via_gateway``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Final

from starlette.requests import Request

from zerotrust.api.policy_guard import PdpAuthorizer, PolicyDenied, StepUpRequired
from zerotrust.console.errors import ActionRejected, NotSignedIn
from zerotrust.console.gates import PAGES, Gate, choose
from zerotrust.console.metrics import DecisionMeter
from zerotrust.console.sessions import csrf_token, resolve, session_handle
from zerotrust.console.via_gateway import asserted
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import NotFound, ZTError
from zerotrust.crypto.dpop import DpopInvalid, DpopProof, canonical_htu
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.sessions import AuthContext, SessionInvalid
from zerotrust.service import Services

CSRF_HEADER: Final = "x-csrf-token"
FRESH_S: Final = 300  # OWASP ASVS 7.5.3: sensitive actions need a recent verification


@dataclass(frozen=True)
class Signed:
    """A signed-in request: the caller, and the CSRF token its pages carry."""

    ctx: AuthContext
    csrf: str


def client_info(request: Request) -> ClientInfo:
    """The client address the gateway vouched for (its assertion), else the socket peer —
    never a forwarded header — and the user agent."""
    via = asserted(request)
    host = via.client_ip if via else (request.client.host if request.client else None)
    return ClientInfo(src_ip=host, user_agent=request.headers.get("user-agent", "")[:512] or None)


class Guard:
    """Authentication, authorization and request-forgery checks for the console."""

    def __init__(self, svc: Services, meter: DecisionMeter) -> None:
        self.svc = svc
        self.meter = meter
        self.pdp = PdpAuthorizer(svc)

    # -- who ---------------------------------------------------------------------------

    def signed_in(self, request: Request) -> Signed:
        handle = session_handle(request)
        try:
            ctx = resolve(self.svc, handle)
        except SessionInvalid as exc:
            raise NotSignedIn(exc.reason) from None
        via = asserted(request)
        if via is not None and via.session_id not in (None, ctx.session.id):
            raise NotSignedIn("session_mismatch")  # the gateway verified another session
        return Signed(ctx, csrf_token(handle or ""))

    def through_session_route(self, request: Request) -> None:
        """Behind the gateway, pages come only through a route that verified the session
        (never a public one, whatever the routes file says)."""
        if self.svc.settings.console_via_gateway:
            via = asserted(request)
            if via is None or via.session_id is None:
                raise NotSignedIn("no_verified_session")

    # -- may they ----------------------------------------------------------------------

    def view(self, request: Request, page: str, resource_id: str | None = None) -> Signed:
        """A signed-in caller the PDP lets see ``page``; raises otherwise."""
        self.through_session_route(request)
        signed = self.signed_in(request)
        gate = choose(PAGES[page], signed.ctx.principal.roles)
        self.authorize(signed.ctx, gate, resource_id)
        return signed

    def authorize(self, ctx: AuthContext, gate: Gate, resource_id: str | None = None) -> None:
        """Ask the PDP (audited by ``PdpAuthorizer``); step-up and deny raise."""
        if gate.sensitive:
            self.require_fresh(ctx)
        try:
            self.pdp(
                self.linked(ctx), gate.action, gate.resource_type, resource_id or gate.resource_id
            )
        except StepUpRequired:
            self.meter.record("step_up")
            raise
        except PolicyDenied:
            self.meter.record("deny")
            raise
        self.meter.record("allow")

    def linked(self, ctx: AuthContext) -> AuthContext:
        """The caller as the PDP should see them: on the enrolled device their own device
        agent linked at sign-in (its posture is the device's), else on the browser key,
        which is no enrolled device and so earns no device trust."""
        device_id = ctx.session.device_id
        if device_id is None:
            return ctx
        try:
            device = self.svc.devices.get(device_id)
        except NotFound:
            return replace(ctx, session=replace(ctx.session, device_id=None))
        if device.owner_id != ctx.principal.id:
            return replace(ctx, session=replace(ctx.session, device_id=None))
        return replace(ctx, session=replace(ctx.session, jkt=device.jkt))

    def require_fresh(self, ctx: AuthContext) -> None:
        """A sensitive action needs AAL3 verified within ``FRESH_S``, whatever the policy."""
        age = self.svc.clock.now() - ctx.session.auth_time
        if ctx.session.aal < 3 or age > FRESH_S:
            raise StepUpRequired(3, FRESH_S)

    # -- did they mean it --------------------------------------------------------------

    def action(self, request: Request) -> Signed:
        """A signed-in, same-origin request with the session's CSRF token and a fresh
        proof by the session's browser key (refusals are audited by the error handler)."""
        signed = self.signed_in(request)
        self.check_origin(request)
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), signed.csrf.encode()):
            raise ActionRejected("csrf_token_mismatch")
        via = asserted(request)
        if via is not None and via.session_id == signed.ctx.session.id:
            # The gateway verified this request's proof by the session's key (and spent
            # its ``jti``); it does not forward the proof, so it cannot be checked twice.
            return signed
        self.proof(request, expected_jkt=signed.ctx.session.jkt or "")
        return signed

    def check_origin(self, request: Request) -> None:
        """Refuse cross-site requests (Fetch Metadata, then the Origin header)."""
        site = request.headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            raise ActionRejected("cross_site")
        origin = request.headers.get("origin")
        if origin is not None:
            allowed = {canonical_htu(b).rstrip("/") for b in self.svc.public_bases}
            if canonical_htu(origin).rstrip("/") not in allowed:
                raise ActionRejected("foreign_origin")

    def proof(self, request: Request, *, expected_jkt: str | None) -> DpopProof:
        """Verify the request's one ``DPoP`` proof (RFC 9449 §4.3; ``jti`` used once),
        and, given ``expected_jkt``, that the session's key signed it."""
        proofs = request.headers.getlist("dpop")
        if len(proofs) > 1:
            raise DpopInvalid("multiple_proofs")
        urls = frozenset(
            canonical_htu(base.rstrip("/") + request.url.path) for base in self.svc.public_bases
        )
        proof = self.svc.dpop.verify(
            proofs[0] if proofs else None, method=request.method, urls=urls
        )
        if expected_jkt is not None and not hmac.compare_digest(
            proof.jkt.encode(), expected_jkt.encode()
        ):
            raise DpopInvalid("dpop_key_mismatch")
        return proof

    def audit_rejection(self, request: Request, exc: ZTError, ctx: AuthContext | None) -> None:
        self.svc.audit.append(
            AuditRecord(
                action="auth.rejected",
                actor=ctx.principal.id if ctx else "anonymous",
                outcome="denied",
                reason=str(getattr(exc, "reason", None) or exc.code),
                resource=request.url.path[:256],
                src_ip=client_info(request).src_ip,
                session_id=ctx.session.id if ctx else None,
            )
        )
