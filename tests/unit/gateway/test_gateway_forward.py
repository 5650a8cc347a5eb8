"""Forwarding: which headers cross, and which addresses an upstream name may resolve to
(security catalogue class 18, F.45)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from zerotrust.gateway.forward import GuardedResolver, forwarded_headers


class FakeResolver:
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0, family: Any = socket.AF_INET) -> list[Any]:
        return [{"hostname": host, "host": a, "port": port, "family": family, "proto": 0,
                 "flags": 0} for a in self.addresses]  # fmt: skip

    async def close(self) -> None:
        return None


async def test_dns_answers_pointing_at_metadata_are_dropped() -> None:
    resolver = GuardedResolver()
    resolver._inner = FakeResolver("169.254.169.254", "10.0.0.7")  # type: ignore[assignment]
    assert [a["host"] for a in await resolver.resolve("svc.internal", 443)] == ["10.0.0.7"]
    for answers in (("169.254.169.254",), ("0.0.0.0",), ("::ffff:169.254.169.254",), ("fe80::1",)):
        resolver._inner = FakeResolver(*answers)  # type: ignore[assignment]
        with pytest.raises(OSError, match="forbidden"):
            await resolver.resolve("rebound.example", 443)


def test_identity_bearing_and_hop_by_hop_headers_are_not_forwarded() -> None:
    headers = [
        (b"host", b"gw"),
        (b"authorization", b"DPoP token"),
        (b"dpop", b"proof"),
        (b"zt-identity", b"forged"),
        (b"x-zt-roles", b"admin"),
        (b"x-forwarded-for", b"8.8.8.8"),
        (b"x-forwarded-user", b"admin"),
        (b"forwarded", b"for=8.8.8.8"),
        (b"connection", b"keep-alive, x-secret"),
        (b"x-secret", b"named in Connection"),
        (b"transfer-encoding", b"chunked"),
        (b"accept", b"application/json"),
        (b"x-trace", b"kept"),
    ]
    out = forwarded_headers(
        headers, extra={b"zt-identity": b"signed"}, assertion_header=b"zt-identity"
    )
    assert out == [("accept", "application/json"), ("x-trace", "kept"), ("zt-identity", "signed")]
