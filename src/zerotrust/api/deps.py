"""Request-scoped dependencies: the services, the caller's address, DPoP, the verified caller."""

from __future__ import annotations

from fastapi import Request

from zerotrust.core.errors import AuthenticationFailed
from zerotrust.crypto.dpop import DpopInvalid, DpopProof, canonical_htu
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.sessions import AuthContext
from zerotrust.service import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def client_info(request: Request) -> ClientInfo:
    """The socket peer is the address; forwarded headers are the gateway's business."""
    host = request.client.host if request.client else None
    return ClientInfo(src_ip=host, user_agent=request.headers.get("user-agent", "")[:512] or None)


class MissingToken(AuthenticationFailed):
    code = "invalid_token"
    message = "A DPoP-bound access token is required."

    def __init__(self, reason: str = "missing_token") -> None:
        super().__init__()
        self.reason = reason


def request_urls(request: Request) -> frozenset[str]:
    """The ``htu`` values a proof for this request may carry: this path under each public
    origin the deployment answers on (configured, never taken from the Host header)."""
    return frozenset(
        canonical_htu(base.rstrip("/") + request.url.path)
        for base in services(request).public_bases
    )


def dpop_proof(request: Request, *, access_token: str | None = None) -> DpopProof:
    """Verify the request's single ``DPoP`` header (RFC 9449 §4.3 step 1: exactly one)."""
    proofs = request.headers.getlist("dpop")
    if len(proofs) > 1:
        raise DpopInvalid("multiple_proofs")
    proof = services(request).dpop.verify(
        proofs[0] if proofs else None,
        method=request.method,
        urls=request_urls(request),
        access_token=access_token,
    )
    request.state.dpop = proof
    return proof


def bound_client(request: Request) -> ClientInfo:
    """The caller, with the key thumbprint of its verified DPoP proof."""
    base = client_info(request)
    return ClientInfo(src_ip=base.src_ip, user_agent=base.user_agent, jkt=dpop_proof(request).jkt)


def access_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise MissingToken("missing_token")
    if scheme.lower() != "dpop":
        raise MissingToken("not_dpop_scheme")  # bearer tokens are not accepted (RFC 9449 §7.1)
    if not token.strip() or len(token) > 8192:
        raise MissingToken("malformed")
    return token.strip()


def current(request: Request) -> AuthContext:
    """The verified caller: DPoP proof over this request and token, token, live session."""
    token = access_token(request)
    proof = dpop_proof(request, access_token=token)
    ctx: AuthContext = services(request).sessions.authenticate(token, jkt=proof.jkt)
    request.state.auth = ctx
    return ctx
