"""Request-scoped dependencies: the services, the caller's address, the verified caller."""

from __future__ import annotations

from fastapi import Request

from zerotrust.core.errors import AuthenticationFailed
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def client_info(request: Request) -> ClientInfo:
    """The socket peer is the address; forwarded headers are the gateway's business."""
    host = request.client.host if request.client else None
    return ClientInfo(
        src_ip=host, user_agent=request.headers.get("user-agent", "")[:512] or None, device_id=None
    )


class MissingToken(AuthenticationFailed):
    code = "invalid_token"
    message = "An access token is required."


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or len(token) > 8192:
        raise MissingToken()
    return token.strip()


def current(request: Request) -> AuthContext:
    """The verified caller: token signature and claims, then the live session."""
    ctx: AuthContext = services(request).sessions.authenticate(bearer_token(request))
    request.state.auth = ctx
    return ctx
