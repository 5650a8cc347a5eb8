"""RFC 9457 problem details: one mapping from domain error codes to HTTP answers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from zerotrust.core import errors
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.ids import new_id

log = logging.getLogger("zerotrust.api")

PROBLEM = "application/problem+json"

# Most specific first: the first class an error is an instance of decides the status.
_STATUS: tuple[tuple[type[errors.ZTError], int], ...] = (
    (errors.RateLimited, 429),
    (errors.AuthenticationFailed, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.Sealed, 503),
    (errors.StoreUnavailable, 503),
    (errors.InvalidInput, 400),
)
# Codes answered with 422 rather than 400: well-formed requests whose content fails a rule.
_UNPROCESSABLE = frozenset(
    {
        "otp_invalid_format",
        "password_too_short",
        "password_too_long",
        "password_blocklisted",
        "password_contains_username",
        "password_contains_service_name",
        "invalid_name",
        "posture_invalid",
        "invalid_device_name",
        "invalid_pan",
        "invalid_card_token",
        "invalid_field",
        "invalid_query",
        "passphrase_too_short",
        "unknown_role",
        "unknown_kind",
        "invalid_purpose",
        "bad_otp",
        "totp_not_pending",
    }
)


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every refusal. ``code`` is the stable machine
    code; the optional members appear only with the refusals that carry them."""

    model_config = ConfigDict(extra="allow")  # RFC 9457 §3.2: extension members

    type: str
    title: str
    status: int
    code: str
    fields: list[str] | None = None  # 422 invalid_request: the fields, never their values
    reason: str | None = None  # 403: the policy's stable reason code
    correlation_id: str | None = None  # 5xx: what to quote to the operator
    required_aal: int | None = None  # 401 insufficient_user_authentication (RFC 9470)
    max_age: int | None = None


_DESCRIPTIONS = {
    400: "The request is malformed.",
    401: "Authentication is missing or failed (token, DPoP proof, session, credentials), "
    "or the action needs a stronger or fresher one (RFC 9470: see `WWW-Authenticate`).",
    403: "The caller is known but may not do this.",
    404: "Not found, or not visible to this caller.",
    409: "The request conflicts with the current state.",
    410: "The data subject was erased (crypto-shredded).",
    413: "The body is too large.",
    422: "The request is well-formed but its content fails a rule or the schema.",
    429: "Too many attempts; `Retry-After` says when to try again.",
    503: "A dependency (store, vault, audit log) is unavailable; nothing was done.",
}
_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}}},
    429: {"Retry-After": {"required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"}}},
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for the refusals a route can give, each as problem+json."""
    declared: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        declared[status] = {
            "description": _DESCRIPTIONS[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status in _HEADERS:
            declared[status]["headers"] = _HEADERS[status]
    return declared


# Refusals every route behind ``deps.current`` can give: the caller's token, proof or
# session failed (401), or a store did not answer (503).
SIGNED_IN = (401, 503)
# Refusals of a request body: not parseable (400), too large (413), invalid content (422).
BODY = (400, 413, 422)


def document(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the ``Problem`` schema that ``responses`` refers to."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in schemas:
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    return openapi


def problem(
    status: int, code: str, title: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://zerotrust.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


# Crypto-shredded subjects (GDPR Art. 17): the record existed and is gone for good.
_GONE = frozenset({"erased"})


def status_for(exc: errors.ZTError) -> int:
    if exc.code in _UNPROCESSABLE:
        return 422
    if exc.code in _GONE:
        return 410
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


async def zt_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, errors.ZTError):  # registered for ZTError only
        return await unexpected(request, exc)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, errors.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if status == 401 and exc.code == "insufficient_user_authentication":
        # RFC 9470 §3: say what would satisfy the policy; the client steps up and retries.
        aal, max_age = getattr(exc, "required_aal", None), getattr(exc, "max_age_s", None)
        params = ['error="insufficient_user_authentication"']
        if aal:
            params.append(f'acr_values="aal{aal}"')
        if max_age:
            params.append(f'max_age="{max_age}"')
        headers["WWW-Authenticate"] = "DPoP " + ", ".join(params)
        extra = {"required_aal": aal, "max_age": max_age}
        return problem(status, exc.code, exc.detail, headers=headers, **extra)
    if status == 401:
        _audit_rejection(request, exc)
        if exc.code in ("invalid_token", "invalid_dpop_proof"):
            # RFC 9449 §7.1: the DPoP scheme and the error, never the detailed reason.
            headers["WWW-Authenticate"] = f'DPoP algs="ES256 EdDSA", error="{exc.code}"'
    if status == 403 and isinstance(getattr(exc, "reason", None), str):
        return problem(status, exc.code, exc.detail, headers=headers, reason=exc.reason)  # type: ignore[attr-defined]
    if status >= 500:
        cid = new_id("err")
        log.error("request failed: %s (%s)", exc.code, cid)
        return problem(status, exc.code, exc.detail, headers=headers, correlation_id=cid)
    return problem(status, exc.code, exc.detail, headers=headers)


def _audit_rejection(request: Request, exc: errors.ZTError) -> None:
    """Every refused credential, token or proof is an audit entry with its precise reason."""
    reason = getattr(exc, "reason", None) or exc.code
    services = getattr(request.app.state, "services", None)
    if services is None:
        return
    try:
        services.audit.append(
            AuditRecord(
                action="auth.rejected",
                actor="anonymous",
                outcome="denied",
                reason=str(reason),
                resource=request.url.path[:256],
                src_ip=request.client.host if request.client else None,
            )
        )
    except errors.ZTError:
        log.exception("audit write failed for a rejected request")  # the request is refused anyway


async def validation_error(request: Request, exc: Exception) -> JSONResponse:
    # Name the fields, never echo the values (they may be secrets).
    fields = []
    if isinstance(exc, RequestValidationError):
        fields = sorted({".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors()})
    return problem(
        422, "invalid_request", "The request is not valid.", fields=[f for f in fields if f]
    )


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, StarletteHTTPException):  # registered for it only
        return await unexpected(request, exc)
    code = {
        400: "invalid_request",  # a body that is not even parseable (bad UTF-8, say)
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
    }.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {}))


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    cid = new_id("err")
    log.exception("unhandled error (%s)", cid)
    return problem(500, "internal_error", "The request could not be completed.", correlation_id=cid)
