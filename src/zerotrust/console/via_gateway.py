"""The console behind zerotrust's own gateway (``ZT_CONSOLE_VIA_GATEWAY``, on by default).

The console is then reachable only through the gateway, like any protected service: every
request must carry the gateway's identity assertion (``gateway.assertion``: a short-lived
JWT signed with the token issuer's key, ``aud: console``), or it is refused with 403 and
audited. The gateway has by then verified, on a ``session`` route, the session cookie, a
DPoP proof by the browser key the session is bound to (single-use ``jti``), the linked
device and its posture, the context and the PDP; the assertion names that session
(``sid``), and the console checks it is the cookie's; the client address the console
records and gives the PDP is the assertion's (``ip``). On a ``public`` route (the sign-in,
the step-up ceremony, scripts) the assertion is anonymous and the console verifies
everything itself, as it does without a gateway.

One path stays open: ``/console/link``, the device agent's call confirming a sign-in,
which authenticates with its own DPoP-bound access token as a ``/v1`` call does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from zerotrust.api.policy_guard import CLIENT_IP
from zerotrust.core.auditing import AuditRecord
from zerotrust.crypto.jwt import TokenInvalid
from zerotrust.gateway.assertion import ANONYMOUS, ASSERTION_HEADER, verify_assertion
from zerotrust.service import Services

log = logging.getLogger("zerotrust.console")

AUDIENCE: Final = "console"  # the console upstream's name (or ``audience``) in the routes file
OPEN_PATHS: Final = frozenset({"/console/link"})
_SCOPE_KEY: Final = "zerotrust.gateway_assertion"


@dataclass(frozen=True)
class Asserted:
    """What the gateway vouched for on this request."""

    claims: dict[str, Any]

    @property
    def session_id(self) -> str | None:
        """The session the gateway verified (None on a public route)."""
        if self.claims.get("sub") == ANONYMOUS:
            return None
        sid = self.claims.get("sid")
        return sid if isinstance(sid, str) else None

    @property
    def client_ip(self) -> str | None:
        ip = self.claims.get("ip")
        return ip if isinstance(ip, str) else None


def asserted(request: Request) -> Asserted | None:
    """The gateway's assertion for this request; None when the console runs without one."""
    found = request.scope.get(_SCOPE_KEY)
    return found if isinstance(found, Asserted) else None


class GatewayOnly:
    """ASGI middleware: a request without a valid assertion never reaches a handler."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.svc = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.svc.settings.console_via_gateway:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.url.path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        claims, reason = self._verify(request.headers.getlist(ASSERTION_HEADER))
        if claims is None:
            self._audit(request, reason)
            refusal = JSONResponse(
                {
                    "type": "https://zerotrust.dev/problems/gateway_required",
                    "title": "The console is served through the gateway.",
                    "status": 403,
                    "code": "gateway_required",
                },
                status_code=403,
                media_type="application/problem+json",
                headers={"cache-control": "no-store"},
            )
            await refusal(scope, receive, send)
            return
        via = scope[_SCOPE_KEY] = Asserted(claims)
        # The policy context's address (country, detection) is the browser's, not ours.
        token = CLIENT_IP.set(via.client_ip) if via.client_ip else None
        try:
            await self.app(scope, receive, send)
        finally:
            if token is not None:
                CLIENT_IP.reset(token)

    def _verify(self, values: list[str]) -> tuple[dict[str, Any] | None, str]:
        if len(values) != 1:
            return None, "missing" if not values else "multiple"
        try:
            claims = verify_assertion(
                values[0],
                jwks=self.svc.tokens.jwks(),
                issuer=self.svc.tokens.issuer,
                audience=AUDIENCE,
                now=self.svc.clock.now(),
            )
        except TokenInvalid as exc:
            return None, exc.reason
        return claims, ""

    def _audit(self, request: Request, reason: str) -> None:
        try:
            self.svc.audit.append(
                AuditRecord(
                    action="auth.rejected",
                    actor="anonymous",
                    outcome="denied",
                    reason=f"gateway_assertion_{reason}"[:64],
                    resource=request.url.path[:256],
                    src_ip=request.client.host if request.client else None,
                )
            )
        except Exception:  # refused either way; the failure is logged
            log.exception("audit write failed for a request that bypassed the gateway")
