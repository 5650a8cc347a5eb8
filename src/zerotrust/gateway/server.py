"""Serving the gateway with uvicorn, with the limits an ASGI application cannot enforce.

The application only sees a request once its headers are complete, so two attacks must
be stopped in the connection itself (OWASP ASVS 15.2.2; security catalogue F.43):

* headers larger than ``max_header_bytes`` (request line included) → 431 and the
  connection closed, counted as the bytes arrive, so a 100 MB header is never buffered;
* a client that opens a connection, or starts a request, and then drips its headers
  (slowloris) → 408 and closed after ``header_timeout_s``.

The protocol is uvicorn's httptools (llhttp) protocol with those two additions; llhttp
also refuses CL+TE, duplicate lengths, malformed chunks and bad header names, and the
application refuses the framing it lets through (``framing``). uvloop, httptools and
``proxy_headers=False``: the client address is ``client_ip``'s business alone.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from zerotrust.gateway.config import MAX_HEADER_BYTES
from zerotrust.gateway.replies import PROBLEM, problem_body

_STATUS_LINE: Final = {
    400: b"400 Bad Request",
    408: b"408 Request Timeout",
    431: b"431 Request Header Fields Too Large",
}


class _HeadTooLarge(Exception):
    pass


def _problem(status: int, code: str) -> bytes:
    """A whole HTTP/1.1 response, written straight to the transport, then closed."""
    body = problem_body(status, code)
    return b"".join(
        [
            b"HTTP/1.1 " + _STATUS_LINE[status] + b"\r\n",
            b"content-type: " + PROBLEM + b"\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GatewayProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a header size limit and a header deadline."""

    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout_s: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0  # bytes received while in the head (coarse, bounds memory)
        self._head_exact = 0  # request line and header bytes as parsed
        self._rejected = False
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._rejected:
            return
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _HeadTooLarge):
                self._reject(431, "headers_too_large")
            elif not self._rejected:
                self.send_400_response("Invalid HTTP request received.")
            return
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            if not self._rejected:
                self.send_400_response("Invalid HTTP request received.")
            return
        if self._in_head and self._head_bytes > self.max_header_bytes + 1024:
            self._reject(431, "headers_too_large")

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_bytes = self._head_exact = 0
        self._arm()
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._disarm()
        if self.parser.should_upgrade():
            # Upgrades (h2c, WebSocket, CONNECT) would hand the rest of the connection to
            # a protocol nobody verifies: refused before the application sees the request.
            self._reject(400, "bad_request")
            return
        super().on_headers_complete()

    def _count(self, size: int) -> None:
        self._head_exact += size
        if self._head_exact > self.max_header_bytes:
            raise _HeadTooLarge

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timeout)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self._reject(408, "request_timeout")

    def _reject(self, status: int, code: str) -> None:
        self._rejected = True
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_problem(status, code))
            self.transport.close()


def protocol_class(*, max_header_bytes: int, header_timeout_s: float) -> type[GatewayProtocol]:
    """A ``GatewayProtocol`` with these limits (uvicorn instantiates the class itself)."""
    return type(
        "ConfiguredGatewayProtocol",
        (GatewayProtocol,),
        {"max_header_bytes": max_header_bytes, "header_timeout_s": header_timeout_s},
    )


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int,
    max_header_bytes: int = MAX_HEADER_BYTES,
    header_timeout_s: float = 10.0,
    log_level: str = "warning",
    tls: dict[str, Any] | None = None,
) -> uvicorn.Config:
    """The uvicorn configuration the gateway runs with (also used by the tests)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=protocol_class(max_header_bytes=max_header_bytes, header_timeout_s=header_timeout_s),
        ws="none",
        lifespan="on",
        proxy_headers=False,
        server_header=False,
        access_log=False,
        timeout_keep_alive=5,
        log_level=log_level,
        log_config=None,
        **(tls or {}),
    )
