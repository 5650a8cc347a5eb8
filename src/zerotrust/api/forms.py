"""``application/x-www-form-urlencoded`` bodies for the OAuth endpoints (RFC 6749 §3.2)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import Request

from zerotrust.core.errors import InvalidInput


class InvalidRequest(InvalidInput):
    """RFC 6749 §5.2 ``invalid_request``."""

    code = "invalid_request"
    message = "The request is missing a parameter or has a malformed one."


FORM = "application/x-www-form-urlencoded"


def form_body(properties: dict[str, dict[str, Any]], *required: str) -> dict[str, Any]:
    """``openapi_extra`` describing a form body the handler parses itself with ``form``."""
    schema = {"type": "object", "properties": properties, "required": list(required)}
    return {"requestBody": {"required": True, "content": {FORM: {"schema": schema}}}}


async def form(request: Request) -> dict[str, str]:
    """Parse the body; every parameter at most once (RFC 6749 §3.1)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM:
        raise InvalidRequest("Send application/x-www-form-urlencoded.")
    try:
        parsed = parse_qs(
            (await request.body()).decode("utf-8"), strict_parsing=False, max_num_fields=32
        )
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest() from None
    if any(len(values) != 1 for values in parsed.values()):
        raise InvalidRequest("A parameter appears more than once.")
    return {k: v[0] for k, v in parsed.items()}
