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

from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.models import ClientInfo, Principal
from zerotrust.identity.sessions import BROWSER_COOKIE, SECURE_BROWSER_COOKIE, AuthContext
from zerotrust.service import Services

COOKIE: Final = BROWSER_COOKIE
SECURE_COOKIE: Final = SECURE_BROWSER_COOKIE
PENDING_COOKIE: Final = "ztc_pending"
# An enrolment's password step answers with a single-use token for its second factor; the
# browser keeps it (like any API client would) until the code step, the server does not.
ENROL_MFA_COOKIE: Final = "ztc_enrol_mfa"
# A passkey with user verification is a multi-factor cryptographic authenticator
# (NIST SP 800-63B §5.1.9); amr values from RFC 8176.
PASSKEY_AAL: Final = 3
PASSKEY_AMR: Final = ("hwk", "user", "mfa")


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
    return svc.sessions.resume(handle or "")


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


def set_pending_cookie(
    response: Response, request: Request, token: str, max_age: int, *, name: str = PENDING_COOKIE
) -> None:
    """A ceremony's cookie: HttpOnly, strict, for the console's paths only."""
    response.set_cookie(
        name,
        token,
        max_age=max_age,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def clear_pending_cookie(
    response: Response, request: Request, *, name: str = PENDING_COOKIE
) -> None:
    response.delete_cookie(
        name,
        path="/console",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
