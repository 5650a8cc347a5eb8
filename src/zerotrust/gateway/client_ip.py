"""The client's address: the socket peer, unless that peer is a trusted proxy.

``X-Forwarded-For`` is attacker-controlled text unless the hop that added it is one we
trust (OWASP ASVS 4.1.3, 15.3.4; security catalogue class 11 and F.41). From an untrusted
peer it is ignored entirely. From a trusted proxy it is read from the right: each entry
is the address the next trusted hop saw, and the first address that is not itself a
trusted proxy is the client. Garbage (``unknown``, ports, brackets, IPv6 zones, a
thousand entries) never raises: an entry that does not parse stops the walk at the last
address that did.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Only this many entries are examined, from the right: a proxy chain longer than this is
# not one we configured, and a 1,000-entry header must not cost 1,000 parses.
MAX_HOPS: Final = 16
MAX_HEADER_CHARS: Final = 4096


def parse_address(text: str) -> Address | None:
    """An address from ``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:443``, ``fe80::1%eth0``,
    ``::ffff:1.2.3.4`` (as IPv4), or ``None``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text, closed, _ = text[1:].partition("]")
        if not closed:
            return None
    elif text.count(":") == 1:
        text = text.partition(":")[0]  # IPv4 with a port
    text = text.partition("%")[0]  # an IPv6 zone names a local interface, not a client
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class ClientAddress:
    """Resolves the client address of a request from its peer and forwarding headers."""

    def __init__(self, trusted_proxies: Iterable[Network] = ()) -> None:
        self.trusted = tuple(trusted_proxies)

    def _trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def resolve(self, peer: str | None, forwarded_for: Sequence[bytes] = ()) -> str:
        """The client's address as text; ``"unknown"`` only when there is no peer."""
        address = parse_address(peer) if peer else None
        if address is None:
            return peer or "unknown"
        if not forwarded_for or not self.trusted or not self._trusted(address):
            return str(address)
        for entry in _entries(forwarded_for):
            hop = parse_address(entry)
            if hop is None:
                break  # garbage: nothing left of it can be trusted
            address = hop
            if not self._trusted(hop):
                break
        return str(address)


def _entries(headers: Sequence[bytes]) -> list[str]:
    """The rightmost ``MAX_HOPS`` entries over every ``X-Forwarded-For`` header, in
    order from the right (several headers are one list, RFC 9110 §5.3)."""
    joined = b",".join(headers)
    entries = joined[-MAX_HEADER_CHARS:].decode("latin-1").split(",")
    if len(joined) > MAX_HEADER_CHARS:
        entries[0] = ""  # cut in two: the leftmost remnant is not an address anyone wrote
    return entries[::-1][:MAX_HOPS]
