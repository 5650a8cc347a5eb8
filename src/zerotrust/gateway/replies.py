"""What the gateway answers by itself: RFC 9457 problem details, step-up challenges.

Problems have the control plane's shape (``type``, ``title``, ``status``, ``code``) plus
the request's ``correlation_id``. They stay generic: the precise reason of a refusal is
in the audit log, except for policy reason codes, which are meant to be read (a client
told ``device-untrusted`` knows to fix its device).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from starlette.types import Send

PROBLEM: Final = b"application/problem+json"
DPOP_ALGS: Final = 'algs="ES256 EdDSA"'

TITLES: Final = {
    "bad_request": "The request is malformed.",
    "bad_path": "The request path is not valid.",
    "headers_too_large": "The request headers are too large.",
    "payload_too_large": "The body is too large.",
    "request_timeout": "The request was not received in time.",
    "not_found": "Not found.",
    "method_not_allowed": "The method is not allowed here.",
    "invalid_token": "The access token is not valid.",
    "invalid_dpop_proof": "The DPoP proof is not valid.",
    "insufficient_user_authentication": "A stronger or more recent authentication is required.",
    "access_denied": "You are not allowed to do this.",
    "rate_limited": "Too many requests; try again later.",
    "service_unavailable": "A dependency is unavailable; the request was not forwarded.",
    "policy_unavailable": "The policy decision point is unavailable.",
    "obligation_unfulfilled": "The response cannot be released under the policy's obligations.",
    "bad_gateway": "The upstream service did not answer.",
    "internal_error": "The request could not be completed.",
}


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    close: bool = False

    async def send(self, send: Send, *, extra: list[tuple[bytes, bytes]]) -> None:
        headers = [*self.headers, *extra]
        if self.status not in (204, 304):  # RFC 9110 §8.6: no length on these
            headers.append((b"content-length", str(len(self.body)).encode()))
        if self.close:
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def problem_body(status: int, code: str, **extra: Any) -> bytes:
    """The RFC 9457 document, in the control plane's shape."""
    body = {
        "type": f"https://zerotrust.dev/problems/{code}",
        "title": TITLES.get(code, TITLES["internal_error"]),
        "status": status,
        "code": code,
        **extra,
    }
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


def problem(
    status: int,
    code: str,
    correlation_id: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    close: bool = False,
    **extra: Any,
) -> Reply:
    return Reply(
        status,
        problem_body(status, code, correlation_id=correlation_id, **extra),
        [(b"content-type", PROBLEM), (b"cache-control", b"no-store"), *(headers or [])],
        close=close,
    )


def unauthenticated(code: str, correlation_id: str, *, with_error: bool) -> Reply:
    """401 with the DPoP challenge (RFC 9449 §7.1); no ``error`` when nothing was sent."""
    challenge = f'DPoP {DPOP_ALGS}, error="{code}"' if with_error else f"DPoP {DPOP_ALGS}"
    return problem(401, code, correlation_id, headers=[(b"www-authenticate", challenge.encode())])


def step_up(
    correlation_id: str, *, required_aal: int | None, max_age_s: int | None, reasons: list[str]
) -> Reply:
    """RFC 9470 §3: ``insufficient_user_authentication`` with ``acr_values``/``max_age``."""
    parts = [
        f"DPoP {DPOP_ALGS}",
        'error="insufficient_user_authentication"',
        'error_description="A different authentication level is required"',
    ]
    extra: dict[str, Any] = {"reasons": reasons}
    if required_aal is not None:
        parts.append(f'acr_values="aal{required_aal}"')
        extra["acr_values"] = f"aal{required_aal}"
    if max_age_s is not None:
        parts.append(f'max_age="{max_age_s}"')
        extra["max_age"] = max_age_s
    challenge = ", ".join(parts).encode()
    return problem(
        401,
        "insufficient_user_authentication",
        correlation_id,
        headers=[(b"www-authenticate", challenge)],
        **extra,
    )
