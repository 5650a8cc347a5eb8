"""``application/x-www-form-urlencoded`` bodies for the OAuth endpoints (RFC 6749 §3.2)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import Request

from zerotrust.core.errors import InvalidInput


class InvalidRequest(InvalidInput):
    """RFC 6749 §5.2 ``invalid_request``."""

    code = "invalid_request"
    message = "The request is missing a parameter or has a malformed one."


async def form(request: Request) -> dict[str, str]:
    """Parse the body; every parameter at most once (RFC 6749 §3.1)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != (
        "application/x-www-form-urlencoded"
    ):
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
