"""The gateway's configuration: routes, upstreams (an allow-list) and limits.

A route matches on host, path prefix and method, and says which upstream serves it, which
resource the path names and which action each method is. Upstreams are an allow-list: a
route names one, and nothing in a request can choose another host. ``routes_file`` reads
and validates the file these values come from (docs/gateway.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from zerotrust.gateway.assertion import ASSERTION_HEADER

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Methods a route may forward. TRACE (cross-site tracing), CONNECT (tunnels) and anything
# unknown are refused with 405 before a route is even looked up.
ROUTABLE_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_HEADER_BYTES: Final = 16 * 1024
# Principals and device records are cached at most this long (gateway.cache); sessions
# are never cached, so revocation holds on the very next request.
MAX_CACHE_S: Final = 5.0

# Upstreams never live here: link-local (cloud metadata at 169.254.169.254), "this host"
# and multicast addresses are refused even when written into the routes file.
_FORBIDDEN_UPSTREAM_NETS: Final = tuple(
    ipaddress.ip_network(n) for n in ("0.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "::/128",
                                      "fe80::/10", "ff00::/8")
)  # fmt: skip


def forbidden_upstream_address(address: str) -> bool:
    """True for addresses no upstream may have (also checked at connect time)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return True
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _FORBIDDEN_UPSTREAM_NETS)


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` per fixed window of ``window_s`` seconds."""

    requests: int
    window_s: int


@dataclass(frozen=True)
class UpstreamTls:
    """Mutual TLS to an upstream: the CA that signed it, and the gateway's client pair."""

    ca_file: Path
    cert_file: Path | None = None
    key_file: Path | None = None
    server_hostname: str | None = None


@dataclass(frozen=True)
class Upstream:
    name: str
    url: str  # scheme://host[:port][/base], no trailing slash, no query
    timeout_s: float = 10.0
    tls: UpstreamTls | None = None
    audience: str = ""  # the identity assertion's ``aud``; default: the upstream's name

    @property
    def assertion_audience(self) -> str:
        return self.audience or self.name


@dataclass(frozen=True)
class FieldRule:
    """A JSON response field (``$.card.pan``) and its data class (``pan``)."""

    path: str
    steps: tuple[str | int | None, ...]  # key, index, or None for ``[*]``
    data_class: str


@dataclass(frozen=True)
class ResourceSpec:
    """How a request path names the resource: ``{1}`` is the first segment after the
    route prefix, ``{path}`` all of them; a template naming an absent segment is the
    collection (``*``)."""

    type: str
    id: str = "{1}"
    attrs: Mapping[str, str] = field(default_factory=dict)


# How a route's callers prove who they are:
#   dpop     an ``Authorization: DPoP`` access token and a proof by the key it is bound to
#            (clients, agents and workloads);
#   session  a browser session: the session cookie and a ``DPoP`` proof by the
#            non-extractable browser key the session is bound to (the console; its
#            service worker signs every request);
#   public   nobody: the way in to a sign-in (pages, scripts, the passkey ceremony, which
#            the upstream verifies itself). No decision is taken and no identity is
#            asserted, only that the request came through the gateway.
RouteAuth = Literal["dpop", "session", "public"]
ROUTE_AUTH: Final = ("dpop", "session", "public")


@dataclass(frozen=True)
class Route:
    name: str
    prefix: str  # canonical, as configured
    upstream: Upstream
    methods: Mapping[str, str]  # HTTP method -> PDP action
    resource: ResourceSpec
    hosts: tuple[str, ...] = ()  # lower-case host names; empty: any host
    fields: tuple[FieldRule, ...] = ()
    max_body_bytes: int = 1 << 20
    auth: RouteAuth = "dpop"
    # ``session`` routes: where a browser that is not signed in (or must sign in afresh
    # to step up) is sent; the path it asked for follows as ``?next=``.
    signin: str | None = None

    @property
    def allow_header(self) -> str:
        return ", ".join(sorted(self.methods))


@dataclass(frozen=True)
class GatewayConfig:
    routes: tuple[Route, ...]
    upstreams: Mapping[str, Upstream]
    public_origins: tuple[str, ...] = ()  # DPoP ``htu`` bases; empty: the settings' bases
    trusted_proxies: tuple[Network, ...] = ()
    admin_networks: tuple[Network, ...] = (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    max_header_bytes: int = MAX_HEADER_BYTES
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    chain_timeout_s: float = 2.0
    max_response_bytes: int = 16 << 20
    per_principal: RateLimit = RateLimit(600, 60)
    per_address: RateLimit = RateLimit(1200, 60)
    assertion_header: str = ASSERTION_HEADER
    assertion_ttl_s: int = 60
    cache_s: float = MAX_CACHE_S
    timezone: str = "UTC"
    hsts_max_age_s: int = 31_536_000

    def match(self, host: str, path: str) -> tuple[Route, str, tuple[str, ...]] | None:
        """The route for ``host`` and a canonical ``path``, the path with the route's
        prefix in its configured case (the one decided on and forwarded), and the segments
        after the prefix. Prefixes match whole segments, case-insensitively, so ``/ADMIN``
        is the ``/admin`` route; the longest wins, and a route naming the host beats one
        that does not."""
        lowered = path.lower()
        best: tuple[int, int, Route] | None = None
        for route in self.routes:
            if route.hosts and host not in route.hosts:
                continue
            prefix = route.prefix.lower()
            if prefix not in ("/", lowered) and not lowered.startswith(prefix + "/"):
                continue
            rank = (len(prefix), 1 if route.hosts else 0)
            if best is None or rank > best[:2]:
                best = (*rank, route)
        if best is None:
            return None
        route = best[2]
        if route.prefix == "/":
            return route, path, tuple(s for s in path.split("/") if s)
        rest = path[len(route.prefix) :]
        return route, route.prefix + rest, tuple(s for s in rest.split("/") if s)
