"""Request-scoped dependencies: the services, the caller's address, DPoP, the verified caller."""

from __future__ import annotations

from fastapi import Request

from zerotrust.crypto.dpop import DpopInvalid, DpopProof, canonical_htu
from zerotrust.identity.dpop import dpop_access_token
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
    return dpop_access_token(request.headers.getlist("authorization"))


def current(request: Request) -> AuthContext:
    """The verified caller: DPoP proof over this request and token, token, live session."""
    token = access_token(request)
    proof = dpop_proof(request, access_token=token)
    ctx: AuthContext = services(request).sessions.authenticate(token, jkt=proof.jkt)
    request.state.auth = ctx
    return ctx
