"""The browser's console session: identity's server-side session behind an opaque cookie.

Signing in opens an ordinary identity session (so logout, admin revocation, detection
responses and the idle and absolute timeouts end it like any other) bound to the
browser's non-extractable ECDSA P-256 key (``jkt``, RFC 7638). The access token that
opening a session mints is dropped on the spot: the browser never holds one. The cookie
carries the session's opaque refresh handle, which the server stores only as SHA-256 and
which rotates away if anyone uses it at the token endpoint — and that needs a proof by
the browser key as well (RFC 9449 §5).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from zerotrust.core.ids import token_digest
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.models import ClientInfo, Principal
from zerotrust.identity.sessions import TOUCH_INTERVAL_S, AuthContext, SessionInvalid
from zerotrust.service import Services

COOKIE: Final = "ztc"
SECURE_COOKIE: Final = "__Host-ztc"  # RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain
PENDING_COOKIE: Final = "ztc_pending"
# A passkey with user verification is a multi-factor cryptographic authenticator
# (NIST SP 800-63B §5.1.9); amr values from RFC 8176.
PASSKEY_AAL: Final = 3
PASSKEY_AMR: Final = ("hwk", "user", "mfa")
MAX_HANDLE: Final = 256


def open_session(
    svc: Services,
    principal: Principal,
    *,
    jkt: str,
    device_id: str | None,
    client: ClientInfo,
) -> tuple[str, str]:
    """A fresh session (a new id, never one the browser chose); ``(handle, session id)``."""
    bound = replace(client, jkt=jkt, device_id=device_id)
    tokens = svc.sessions.open(principal, aal=PASSKEY_AAL, amr=PASSKEY_AMR, client=bound)
    return tokens.refresh_token, tokens.session_id


def resolve(svc: Services, handle: str | None) -> AuthContext:
    """The live session and principal behind a cookie, or ``SessionInvalid``."""
    if not handle or len(handle) > MAX_HANDLE:
        raise SessionInvalid("no_session")
    stored = svc.sessions.sessions.refresh_token(token_digest(handle))
    now = svc.clock.now()
    # A used handle means the pair rotated at the token endpoint: this cookie is over.
    if stored is None or stored.used_at is not None or stored.expires_at <= now:
        raise SessionInvalid("session_unknown")
    session = svc.sessions.sessions.get(stored.session_id)
    if session is None:
        raise SessionInvalid("session_unknown")
    svc.sessions.check_live(session)
    principal = svc.principals.get(session.principal_id)
    if principal is None or not principal.active or principal.kind != "user":
        raise SessionInvalid("principal_disabled")
    if now - session.last_seen_at >= TOUCH_INTERVAL_S:
        svc.sessions.sessions.touch(session.id, now=now)
    return AuthContext(principal, replace(session, last_seen_at=now), {})


def csrf_token(handle: str) -> str:
    """The synchroniser token of a session: derived from the cookie, which scripts and
    other sites cannot read, so it is unguessable and needs no storage of its own."""
    digest = hashlib.sha256(b"zerotrust-console-csrf-v1\0" + handle.encode("ascii")).digest()
    return b64url_encode(digest)


def cookie_name(request: Request) -> str:
    return SECURE_COOKIE if request.url.scheme == "https" else COOKIE


def session_handle(request: Request) -> str | None:
    return request.cookies.get(cookie_name(request))


def set_session_cookie(response: Response, request: Request, handle: str, max_age: int) -> None:
    https = request.url.scheme == "https"
    response.set_cookie(
        cookie_name(request),
        handle,
        max_age=max_age,
        path="/" if https else "/console",
        secure=https,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    https = request.url.scheme == "https"
    response.delete_cookie(
        cookie_name(request),
        path="/" if https else "/console",
        secure=https,
        httponly=True,
        samesite="strict",
    )


def set_pending_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        PENDING_COOKIE,
        token,
        max_age=max_age,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_pending_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        PENDING_COOKIE,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
