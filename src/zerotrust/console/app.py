"""The console application, mounted at ``/console`` in the control plane."""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zerotrust.api.policy_guard import PolicyDenied, StepUpRequired
from zerotrust.api.problems import status_for
from zerotrust.console import enrol, passkeys
from zerotrust.console.errors import ActionRejected, NotSignedIn
from zerotrust.console.guard import Guard
from zerotrust.console.metrics import DecisionMeter, RecentEvents, SignInCounter, feed_into
from zerotrust.console.runtime import HERE, Console, ConsoleConfig, build_env, console
from zerotrust.console.state import SourceLimiter
from zerotrust.console.via_gateway import GatewayOnly
from zerotrust.console.views import (
    access,
    alerts,
    audit,
    compliance,
    keys,
    overview,
    policies,
    principals,
)
from zerotrust.core.errors import RateLimited, ZTError
from zerotrust.core.events import EventSink, FanoutSink
from zerotrust.core.ids import new_id
from zerotrust.crypto.dpop import DpopInvalid
from zerotrust.service import Services

log = logging.getLogger("zerotrust.console")

# No inline script or style, nothing from elsewhere, never framed (clickjacking).
CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS: Final = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (
        b"permissions-policy",
        b"publickey-credentials-get=(self), publickey-credentials-create=(self), "
        b"camera=(), microphone=(), geolocation=()",
    ),
)


class SecurityHeaders:
    """ASGI middleware: the console's response headers; pages are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/console/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [h for h in HEADERS if h[0] not in present]
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                if b"cache-control" not in present:
                    cache = b"no-cache" if static else b"no-store"
                    headers.append((b"cache-control", cache))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_json(request: Request) -> bool:
    return (
        request.method != "GET"
        or "application/json" in request.headers.get("accept", "")
        or request.url.path.endswith(("/proof", "/events"))
    )


async def zt_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ZTError):
        return await unexpected(request, exc)
    c = console(request)
    status = status_for(exc)
    reason = getattr(exc, "reason", None)
    if isinstance(exc, DpopInvalid | ActionRejected):
        _audit_rejection(c, request, exc)
    if _wants_json(request):
        body: dict[str, object] = {"code": exc.code, "title": exc.detail, "status": status}
        if isinstance(reason, str):
            body["reason"] = reason
        if isinstance(exc, StepUpRequired):
            body |= {"required_aal": exc.required_aal, "max_age": exc.max_age_s}
        headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimited) else {}
        return JSONResponse(body, status_code=status, headers=headers)
    if isinstance(exc, NotSignedIn):
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/console/signin?next={target}", status_code=303)
    signed = None
    try:
        signed = c.guard.signed_in(request)
    except NotSignedIn:
        signed = None
    template = "stepup.html" if isinstance(exc, StepUpRequired) else "error.html"
    return c.render(
        request,
        template,
        signed,
        status=status,
        code=exc.code,
        title=exc.detail,
        reason=reason if isinstance(exc, PolicyDenied | ZTError) else None,
    )


def _audit_rejection(c: Console, request: Request, exc: ZTError) -> None:
    try:
        actor = c.guard.signed_in(request).ctx
    except ZTError:
        actor = None
    try:
        c.guard.audit_rejection(request, exc, actor)
    except ZTError:
        log.exception("audit write failed for a rejected console request")


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if _wants_json(request):
        return JSONResponse({"code": "http_error", "status": status}, status_code=status)
    c = console(request)
    return c.render(
        request,
        "error.html",
        None,
        status=status,
        code="not_found",
        title="Not found.",
        reason=None,
    )


async def unexpected(request: Request, exc: Exception) -> Response:
    cid = new_id("err")
    log.exception("console request failed (%s)", cid)
    body = {"code": "internal_error", "status": 500, "correlation_id": cid}
    if _wants_json(request):
        return JSONResponse(body, status_code=500)
    c = console(request)
    return c.render(
        request,
        "error.html",
        None,
        status=500,
        code="internal_error",
        title=f"Something went wrong (reference {cid}).",
        reason=None,
    )


def signin_page(request: Request) -> Response:
    c = console(request)
    target = request.query_params.get("next", "/console/")
    if not target.startswith("/console/") or target.startswith("//"):
        target = "/console/"  # never an open redirect
    if c.svc.settings.console_via_gateway:
        # Behind the gateway a live cookie is not enough to go on: the gateway wants a
        # proof by the browser key too, and may have sent the browser here for want of
        # one. The page decides (it knows whether this browser holds the key), unless the
        # gateway sent it here (``why``), when it asks for a new sign-in.
        why = request.query_params.get("why", "")[:64]
        return c.render(request, "signin.html", None, next_url=target, resume=not why, why=why)
    try:
        c.guard.signed_in(request)
        return RedirectResponse(target, status_code=303)
    except NotSignedIn:
        return c.render(request, "signin.html", None, next_url=target)


def service_worker(request: Request) -> Response:
    """The worker that signs every console request with the session's browser key (its
    scope is ``/console/``, the folder it is served from)."""
    return FileResponse(
        HERE / "static" / "sw.js",
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


def enrol_page(request: Request) -> Response:
    return console(request).render(request, "enrol.html", None)


def _routes() -> list[Route | Mount]:
    post = ["POST"]
    return [
        Route("/", overview.page),
        Route("/events", overview.stream),
        Route("/signin", signin_page),
        Route("/enrol", enrol_page),
        Route("/sw.js", service_worker),
        Route("/signin/options", passkeys.signin_options, methods=post),
        Route("/signin/verify", passkeys.signin_verify, methods=post),
        Route("/signin/complete", passkeys.signin_complete, methods=post),
        Route("/link", passkeys.link, methods=post),
        Route("/stepup/options", passkeys.stepup_options, methods=post),
        Route("/stepup/verify", passkeys.stepup_verify, methods=post),
        Route("/signout", passkeys.signout, methods=post),
        Route("/enrol/password", enrol.enrol_password, methods=post),
        Route("/enrol/code", enrol.enrol_code, methods=post),
        Route("/enrol/passkey", enrol.enrol_passkey, methods=post),
        Route("/alerts", alerts.page),
        Route("/alerts/{alert_id}", alerts.detail),
        Route("/alerts/{alert_id}/transition", alerts.transition, methods=post),
        Route("/alerts/{alert_id}/undo", alerts.undo, methods=post),
        Route("/principals", principals.page),
        Route("/principals/{principal_id}", principals.detail),
        Route("/principals/{principal_id}/reset-mfa", principals.reset_mfa, methods=post),
        Route("/sessions/{session_id}/revoke", principals.revoke_session, methods=post),
        Route("/devices/{device_id}/quarantine", principals.quarantine, methods=post),
        Route("/devices/{device_id}/approve", principals.approve, methods=post),
        Route("/audit", audit.page),
        Route("/audit/proof", audit.proof),
        Route("/policies", policies.page),
        Route("/policies/explain", policies.explain_decision, methods=post),
        Route("/policies/whatif", policies.whatif, methods=post),
        Route("/access", access.page),
        Route("/grants/{grant_id}/approve", access.approve, methods=post),
        Route("/grants/{grant_id}/deny", access.deny, methods=post),
        Route("/reviews", access.start_campaign, methods=post),
        Route("/reviews/{campaign_id}/decide", access.decide_item, methods=post),
        Route("/keys", keys.page),
        Route("/compliance", compliance.page),
        Route("/compliance/dataflow.svg", compliance.dataflow),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]


def create_console(services: Services, config: ConsoleConfig | None = None) -> Starlette:
    """The console as an ASGI app (mount it at ``/console``)."""
    meter = DecisionMeter(services.clock)
    state = Console(
        svc=services,
        config=config or ConsoleConfig(),
        guard=Guard(services, meter),
        meter=meter,
        events=RecentEvents(),
        signins=SignInCounter(services.clock),
        env=build_env(),
        starts=SourceLimiter(services.counters, services.clock),
    )
    live: list[EventSink] = [meter, state.events, state.signins]
    if isinstance(services.events, FanoutSink):
        services.events.sinks.extend(live)  # this process's events, at once
    services.event_feed.subscribe(feed_into(live))  # the others', at each upkeep
    app = Starlette(
        routes=_routes(),
        exception_handlers={ZTError: zt_error, HTTPException: http_error, Exception: unexpected},
    )
    app.add_middleware(GatewayOnly, services=services)
    app.add_middleware(SecurityHeaders)
    app.state.console = state
    app.state.services = services  # the device agent's /link request authenticates as for /v1
    return app


def mount_console(app: Starlette, services: Services, config: ConsoleConfig | None = None) -> None:
    """Serve the console at ``/console`` of the control-plane app."""
    app.mount("/console", create_console(services, config))
