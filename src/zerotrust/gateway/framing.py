"""One framing per request, and bounded request bodies (security catalogue F.42, F.43).

Request smuggling needs two parsers to disagree about where a request ends. The server's
parser (httptools/llhttp) already refuses most ambiguity; the gateway refuses the rest
itself, whatever server runs it: ``Content-Length`` together with ``Transfer-Encoding``,
more than one ``Content-Length``, a length that is not plain digits, and any
``Transfer-Encoding`` other than a single plain ``chunked`` (``gzip, chunked`` would be
decoded differently by an upstream that honours the gzip). Each answer is 400 with the
connection closed, so nothing that follows on the connection is parsed as a request.

Sizes are checked before any token work: headers over the limit → 431, a declared or
streamed body over the route's limit → 413, a body that trickles in slower than the
deadline → 408 (slowloris).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from starlette.types import Receive

from zerotrust.core.errors import InvalidInput

MAX_LENGTH_DIGITS: Final = 15


class BadFraming(InvalidInput):
    """The request's framing is ambiguous or outside our limits."""

    code = "bad_request"
    message = "The request is malformed."

    def __init__(self, status: int, code: str, reason: str) -> None:
        super().__init__()
        self.status = status
        self.code = code  # type: ignore[misc]  # instance override of a stable default
        self.reason = reason


def _bad(reason: str) -> BadFraming:
    return BadFraming(400, "bad_request", reason)


@dataclass(frozen=True, slots=True)
class Framing:
    """How the body is delimited: a declared length, chunked, or no body at all."""

    content_length: int | None
    chunked: bool

    @property
    def has_body(self) -> bool:
        return self.chunked or bool(self.content_length)


def check_framing(headers: Sequence[tuple[bytes, bytes]], *, max_header_bytes: int) -> Framing:
    """Refuse ambiguous framing and oversized headers; say how the body is delimited."""
    size = 0
    lengths: list[bytes] = []
    encodings: list[bytes] = []
    hosts = 0
    for name, value in headers:
        size += len(name) + len(value) + 4  # "name: value\r\n"
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            encodings.append(value)
        elif name == b"host":
            hosts += 1
    if size > max_header_bytes:
        raise BadFraming(431, "headers_too_large", "headers_too_large")
    if lengths and encodings:
        raise _bad("content_length_and_transfer_encoding")
    if len(lengths) > 1:
        raise _bad("duplicate_content_length")
    if hosts > 1:
        raise _bad("duplicate_host")
    if encodings:
        if len(encodings) > 1 or encodings[0].strip().lower() != b"chunked":
            raise _bad("unsupported_transfer_encoding")
        return Framing(None, chunked=True)
    if lengths:
        raw = lengths[0].strip()
        if not raw.isdigit() or len(raw) > MAX_LENGTH_DIGITS:
            raise _bad("bad_content_length")
        return Framing(int(raw), chunked=False)
    return Framing(None, chunked=False)


async def read_body(receive: Receive, framing: Framing, *, limit: int, timeout_s: float) -> bytes:
    """The whole body, at most ``limit`` bytes, arriving within ``timeout_s`` seconds."""
    if not framing.has_body:
        return b""
    if framing.content_length is not None and framing.content_length > limit:
        raise BadFraming(413, "payload_too_large", "body_over_limit")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - loop.time()
        try:
            if remaining <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(receive(), remaining)
        except TimeoutError:
            raise BadFraming(408, "request_timeout", "body_too_slow") from None
        if message["type"] == "http.disconnect":
            raise BadFraming(400, "bad_request", "client_disconnected")
        body: bytes = message.get("body", b"")
        size += len(body)
        if size > limit:
            raise BadFraming(413, "payload_too_large", "body_over_limit")
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)
