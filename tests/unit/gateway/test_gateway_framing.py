"""Framing checks and bounded bodies (security catalogue F.42, F.43)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from zerotrust.gateway.framing import BadFraming, Framing, check_framing, read_body

LIMIT = 16 * 1024


def headers(*pairs: tuple[str, str]) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"gw"), *((k.encode(), v.encode()) for k, v in pairs)]


@pytest.mark.parametrize(
    ("pairs", "status", "reason"),
    [
        (
            (("content-length", "5"), ("transfer-encoding", "chunked")),
            400,
            "content_length_and_transfer_encoding",
        ),
        ((("content-length", "5"), ("content-length", "6")), 400, "duplicate_content_length"),
        ((("content-length", "5"), ("content-length", "5")), 400, "duplicate_content_length"),
        ((("content-length", "+5"),), 400, "bad_content_length"),
        ((("content-length", "0x10"),), 400, "bad_content_length"),
        ((("content-length", "9" * 20),), 400, "bad_content_length"),
        ((("transfer-encoding", "gzip, chunked"),), 400, "unsupported_transfer_encoding"),
        (
            (("transfer-encoding", "chunked"), ("transfer-encoding", "chunked")),
            400,
            "unsupported_transfer_encoding",
        ),
        ((("transfer-encoding", "identity"),), 400, "unsupported_transfer_encoding"),
        ((("host", "other"),), 400, "duplicate_host"),
        ((("x-filler", "a" * LIMIT),), 431, "headers_too_large"),
    ],
)
def test_ambiguous_or_oversized_framing_is_refused(
    pairs: tuple[tuple[str, str], ...], status: int, reason: str
) -> None:
    with pytest.raises(BadFraming) as err:
        check_framing(headers(*pairs), max_header_bytes=LIMIT)
    assert (err.value.status, err.value.reason) == (status, reason)


def test_plain_framings_are_accepted() -> None:
    assert check_framing(headers(), max_header_bytes=LIMIT) == Framing(None, chunked=False)
    assert check_framing(headers(("content-length", "12")), max_header_bytes=LIMIT) == Framing(
        12, chunked=False
    )
    chunked = check_framing(headers(("transfer-encoding", " Chunked ")), max_header_bytes=LIMIT)
    assert chunked == Framing(None, chunked=True)


def _receiver(*messages: dict[str, Any], delay: float = 0.0) -> Any:
    queue = list(messages)

    async def receive() -> dict[str, Any]:
        if delay:
            await asyncio.sleep(delay)
        return queue.pop(0)

    return receive


async def test_a_body_arrives_whole_within_its_limits() -> None:
    receive = _receiver(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    )
    body = await read_body(receive, Framing(None, chunked=True), limit=10, timeout_s=1)
    assert body == b"abcd"


async def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    async def never() -> dict[str, Any]:
        raise AssertionError("the body must not be read")

    with pytest.raises(BadFraming) as err:
        await read_body(never, Framing(11, chunked=False), limit=10, timeout_s=1)
    assert err.value.status == 413


async def test_a_streamed_body_over_the_limit_is_refused() -> None:
    receive = _receiver(*({"type": "http.request", "body": b"x" * 4, "more_body": True},) * 4)
    with pytest.raises(BadFraming) as err:
        await read_body(receive, Framing(None, chunked=True), limit=10, timeout_s=1)
    assert err.value.status == 413


async def test_a_slow_body_times_out() -> None:
    receive = _receiver({"type": "http.request", "body": b"x", "more_body": True}, delay=0.2)
    with pytest.raises(BadFraming) as err:
        await read_body(receive, Framing(None, chunked=True), limit=10, timeout_s=0.05)
    assert (err.value.status, err.value.reason) == (408, "body_too_slow")


async def test_a_client_that_leaves_is_not_a_body() -> None:
    receive = _receiver({"type": "http.disconnect"})
    with pytest.raises(BadFraming) as err:
        await read_body(receive, Framing(3, chunked=False), limit=10, timeout_s=1)
    assert err.value.reason == "client_disconnected"


async def test_no_framing_means_no_body() -> None:
    async def never() -> dict[str, Any]:
        raise AssertionError("nothing to read")

    assert await read_body(never, Framing(None, chunked=False), limit=10, timeout_s=1) == b""
