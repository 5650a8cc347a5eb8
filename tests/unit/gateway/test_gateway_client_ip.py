"""X-Forwarded-For is honoured only from trusted proxies (class 11, catalogue F.41)."""

from __future__ import annotations

import ipaddress

import pytest

from zerotrust.gateway.client_ip import ClientAddress, parse_address

PROXIES = ClientAddress([ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8")])


def test_an_untrusted_peer_is_the_client_whatever_it_says() -> None:
    assert PROXIES.resolve("203.0.113.9", [b"8.8.8.8"]) == "203.0.113.9"
    assert PROXIES.resolve("203.0.113.9", [b"8.8.8.8", b"1.1.1.1"]) == "203.0.113.9"
    assert ClientAddress().resolve("10.0.0.1", [b"8.8.8.8"]) == "10.0.0.1"  # nothing trusted


def test_a_trusted_proxy_names_the_client() -> None:
    assert PROXIES.resolve("10.0.0.1", [b"198.51.100.7"]) == "198.51.100.7"
    # Several proxies: the rightmost untrusted entry is the client; left of it is hearsay.
    assert PROXIES.resolve("10.0.0.1", [b"8.8.8.8, 198.51.100.7, 10.2.3.4"]) == "198.51.100.7"
    # Several headers are one list (RFC 9110 §5.3).
    assert PROXIES.resolve("10.0.0.1", [b"8.8.8.8", b"198.51.100.7", b"10.9.9.9"]) == (
        "198.51.100.7"
    )


@pytest.mark.parametrize(
    "header",
    [b"unknown", b"", b"not-an-ip", b"1.2.3.4.5", b"\xff\xfe", b"[::1", b"%eth0", b",,,,"],
)
def test_garbage_stops_at_the_last_address_that_parsed(header: bytes) -> None:
    assert PROXIES.resolve("10.0.0.1", [header]) == "10.0.0.1"


def test_a_thousand_entries_cost_a_bounded_walk() -> None:
    header = b", ".join(b"10.0.%d.%d" % (i // 250, i % 250) for i in range(1000))
    assert PROXIES.resolve("10.0.0.1", [b"198.51.100.7, " + header]).startswith("10.")
    spoofed = b", ".join([b"8.8.8.8"] * 1000)
    assert PROXIES.resolve("10.0.0.1", [spoofed]) == "8.8.8.8"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4", "1.2.3.4"),
        ("1.2.3.4:80", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ('"192.0.2.1"', "192.0.2.1"),
        ("unknown", None),
        ("1.2.3.4:80:90", None),
    ],
)
def test_address_forms(text: str, expected: str | None) -> None:
    address = parse_address(text)
    assert (str(address) if address else None) == expected


def test_an_ipv6_peer_with_a_zone_does_not_crash() -> None:
    assert PROXIES.resolve("fe80::1%eth0", [b"8.8.8.8"]) == "fe80::1"
    assert PROXIES.resolve("fd00::1", [b"[2001:db8::7]:1234"]) == "2001:db8::7"
    assert PROXIES.resolve(None, [b"8.8.8.8"]) == "unknown"
