"""The routes file: read, validated in full, turned into a ``GatewayConfig``.

A YAML (or JSON) document, checked at start so a typo stops the gateway with one clear
line (``routes[2].methods.TRACE: not a routable method``) instead of opening or closing a
door at run time. The format is documented in docs/gateway.md; examples/gateway.yaml is a
complete example.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from zerotrust.core.errors import ConfigError
from zerotrust.gateway.canonical import BadPath, canonical_path
from zerotrust.gateway.config import (
    MAX_CACHE_S,
    MAX_HEADER_BYTES,
    ROUTABLE_METHODS,
    ROUTE_AUTH,
    FieldRule,
    GatewayConfig,
    Network,
    RateLimit,
    ResourceSpec,
    Route,
    Upstream,
    UpstreamTls,
    forbidden_upstream_address,
)

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_ACTION = re.compile(r"^[a-z][a-z_]{0,31}$")
_ENTITY_TYPE = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")
_CLASS = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HEADER = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_TEMPLATE_REF = re.compile(r"\{([^{}]*)\}")
_JSON_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]{0,63})|\[(\*|[0-9]{1,6})\]")
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$")
# The keys each top-level section may hold (anything else is a typo, and refused).
_SECTIONS = {
    "listen": {"public_origins", "trusted_proxies", "admin_networks"},
    "limits": {
        "max_header_bytes", "header_timeout_s", "body_timeout_s", "chain_timeout_s",
        "max_response_bytes", "hsts_max_age_s",
    },
    "rate_limits": {"per_principal", "per_address"},
    "identity": {"assertion_header", "assertion_ttl_s", "cache_s", "timezone"},
}  # fmt: skip


def load_config(path: Path) -> GatewayConfig:
    """Read and validate a routes file; raise ``ConfigError`` with one clear line."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc.__class__.__name__})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    try:
        return parse_config(data, base_dir=path.parent)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.detail}") from None


def parse_config(data: object, *, base_dir: Path = Path()) -> GatewayConfig:
    """Validate a routes document already parsed from YAML or JSON."""
    doc = _mapping(data, "document")
    _known(doc, {*_SECTIONS, "upstreams", "routes"}, "document")
    listen, limits, rates, ident = (
        _section(doc, name) for name in ("listen", "limits", "rate_limits", "identity")
    )
    upstreams = _upstreams(doc.get("upstreams"), base_dir)
    routes = _routes(doc.get("routes"), upstreams)
    defaults = GatewayConfig(routes=(), upstreams={})
    return GatewayConfig(
        routes=routes,
        upstreams=upstreams,
        public_origins=tuple(
            _origin(o, f"listen.public_origins[{i}]")
            for i, o in enumerate(_list(listen.get("public_origins", []), "listen.public_origins"))
        ),
        trusted_proxies=_networks(listen.get("trusted_proxies", []), "listen.trusted_proxies"),
        admin_networks=_networks(
            listen.get("admin_networks", [str(n) for n in defaults.admin_networks]),
            "listen.admin_networks",
        ),
        max_header_bytes=_int(
            limits, "max_header_bytes", defaults.max_header_bytes, 1024, MAX_HEADER_BYTES, "limits"
        ),
        header_timeout_s=_number(limits, "header_timeout_s", defaults.header_timeout_s, 60),
        body_timeout_s=_number(limits, "body_timeout_s", defaults.body_timeout_s, 600),
        chain_timeout_s=_number(limits, "chain_timeout_s", defaults.chain_timeout_s, 30),
        max_response_bytes=_int(
            limits, "max_response_bytes", defaults.max_response_bytes, 1, 1 << 30, "limits"
        ),
        hsts_max_age_s=_int(
            limits, "hsts_max_age_s", defaults.hsts_max_age_s, 0, 2 * 31_536_000, "limits"
        ),
        per_principal=_rate(
            rates.get("per_principal"), defaults.per_principal, "rate_limits.per_principal"
        ),
        per_address=_rate(
            rates.get("per_address"), defaults.per_address, "rate_limits.per_address"
        ),
        assertion_header=_header(ident.get("assertion_header", defaults.assertion_header)),
        assertion_ttl_s=_int(
            ident, "assertion_ttl_s", defaults.assertion_ttl_s, 1, 300, "identity"
        ),
        cache_s=_number(
            ident, "cache_s", defaults.cache_s, MAX_CACHE_S, section="identity", zero=True
        ),
        timezone=_timezone(ident.get("timezone", defaults.timezone)),
    )


def _upstreams(data: object, base_dir: Path) -> dict[str, Upstream]:
    items = _mapping(data, "upstreams")
    if not items:
        raise ConfigError("upstreams: at least one upstream is required")
    return {name: _upstream(name, spec, base_dir) for name, spec in items.items()}


def _upstream(name: str, data: object, base_dir: Path) -> Upstream:
    where = f"upstreams.{name}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: names are lower-case letters, digits, '_', '.', '-'")
    spec = _mapping(data, where)
    _known(spec, {"url", "timeout_s", "tls", "audience"}, where)
    url = _upstream_url(spec.get("url"), f"{where}.url")
    tls = None
    if "tls" in spec:
        if not url.startswith("https://"):
            raise ConfigError(f"{where}.tls: mutual TLS needs an https:// url")
        tls = _tls(spec["tls"], base_dir, f"{where}.tls")
    audience = spec.get("audience", "")
    if not isinstance(audience, str):
        raise ConfigError(f"{where}.audience: expected a string")
    return Upstream(
        name=name,
        url=url,
        timeout_s=_number(spec, "timeout_s", 10.0, 300, section=where),
        tls=tls,
        audience=audience,
    )


def _upstream_url(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected an http(s) URL")
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"{where}: not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(f"{where}: expected an http(s) URL with a host")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigError(f"{where}: no credentials, query or fragment in an upstream URL")
    if _is_ip(host):
        if forbidden_upstream_address(host):
            raise ConfigError(f"{where}: {host} is link-local, unspecified or multicast")
    elif _NUMERIC_HOST.match(host):
        # "2852039166", "0xa9.0xfe.0xa9.0xfe" or "169.254.43518" name 169.254.169.254 to
        # inet_aton: a host is a dotted quad or a name, never a number in disguise.
        raise ConfigError(f"{where}: {host} is a numeric address in a non-standard form")
    return value.rstrip("/")


def _tls(data: object, base_dir: Path, where: str) -> UpstreamTls:
    spec = _mapping(data, where)
    _known(spec, {"ca", "cert", "key", "server_hostname"}, where)
    ca = _file(spec.get("ca"), base_dir, f"{where}.ca")
    cert = _file(spec["cert"], base_dir, f"{where}.cert") if "cert" in spec else None
    key = _file(spec["key"], base_dir, f"{where}.key") if "key" in spec else None
    if (cert is None) != (key is None):
        raise ConfigError(f"{where}: cert and key go together")
    hostname = spec.get("server_hostname")
    if hostname is not None and not isinstance(hostname, str):
        raise ConfigError(f"{where}.server_hostname: expected a string")
    return UpstreamTls(ca_file=ca, cert_file=cert, key_file=key, server_hostname=hostname)


def _file(value: object, base_dir: Path, where: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a file path")
    path = Path(value) if Path(value).is_absolute() else base_dir / value
    if not path.is_file():
        raise ConfigError(f"{where}: no such file {value}")
    return path


def _routes(data: object, upstreams: Mapping[str, Upstream]) -> tuple[Route, ...]:
    items = _list(data, "routes")
    if not items:
        raise ConfigError("routes: at least one route is required")
    routes = tuple(_route(item, upstreams, f"routes[{i}]") for i, item in enumerate(items))
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for i, route in enumerate(routes):
        key = (route.prefix.lower(), route.hosts)
        if key in seen:
            raise ConfigError(f"routes[{i}]: another route has the same host and prefix")
        seen.add(key)
    return routes


def _route(data: object, upstreams: Mapping[str, Upstream], where: str) -> Route:
    spec = _mapping(data, where)
    _known(
        spec,
        {
            "name",
            "host",
            "hosts",
            "prefix",
            "upstream",
            "methods",
            "resource",
            "fields",
            "max_body_bytes",
            "auth",
            "signin",
        },
        where,
    )
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}.name: lower-case letters, digits, '_', '.', '-'")
    upstream = spec.get("upstream")
    if not isinstance(upstream, str) or upstream not in upstreams:
        raise ConfigError(f"{where}.upstream: must name one of the configured upstreams")
    auth = spec.get("auth", "dpop")
    if auth not in ROUTE_AUTH:
        raise ConfigError(f"{where}.auth: one of {', '.join(ROUTE_AUTH)}")
    signin = spec.get("signin")
    if signin is not None:
        if auth != "session":
            raise ConfigError(f"{where}.signin: only a route with auth: session has one")
        signin = _prefix(signin, f"{where}.signin")
    return Route(
        name=name,
        prefix=_prefix(spec.get("prefix"), f"{where}.prefix"),
        upstream=upstreams[upstream],
        methods=_methods(spec.get("methods"), f"{where}.methods"),
        resource=_resource(spec.get("resource"), f"{where}.resource"),
        hosts=_hosts(spec, where),
        fields=_fields(spec.get("fields", {}), f"{where}.fields"),
        max_body_bytes=_int(spec, "max_body_bytes", 1 << 20, 0, 1 << 30, where),
        auth=auth,
        signin=signin,
    )


def _prefix(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ConfigError(f"{where}: expected a path starting with '/'")
    try:
        canonical = canonical_path(value.encode("ascii"))
    except (BadPath, UnicodeEncodeError):
        raise ConfigError(f"{where}: not a plain path") from None
    canonical = canonical.rstrip("/") or "/"  # a prefix is a folder either way
    if canonical != (value.rstrip("/") or "/"):
        raise ConfigError(f"{where}: write the canonical form {canonical!r}")
    return canonical


def _methods(data: object, where: str) -> dict[str, str]:
    spec = _mapping(data, where)
    if not spec:
        raise ConfigError(f"{where}: at least one method is required")
    methods: dict[str, str] = {}
    for method, action in spec.items():
        upper = method.upper()
        if upper not in ROUTABLE_METHODS:
            raise ConfigError(f"{where}.{method}: not a routable method")
        if not isinstance(action, str) or not _ACTION.match(action):
            raise ConfigError(f"{where}.{method}: expected an action name such as read")
        methods[upper] = action
    return methods


def _resource(data: object, where: str) -> ResourceSpec:
    spec = _mapping(data, where)
    _known(spec, {"type", "id", "attrs"}, where)
    kind = spec.get("type")
    if not isinstance(kind, str) or not _ENTITY_TYPE.match(kind):
        raise ConfigError(f"{where}.type: expected an entity type such as Transaction")
    rid = spec.get("id", "{1}")
    _template(rid, f"{where}.id")
    attrs = _mapping(spec.get("attrs", {}), f"{where}.attrs")
    for key, value in attrs.items():
        _template(value, f"{where}.attrs.{key}")
    return ResourceSpec(type=kind, id=rid, attrs=dict(attrs))


def _template(value: object, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a string template")
    for ref in _TEMPLATE_REF.findall(value):
        if ref != "path" and not (ref.isdigit() and 0 < int(ref) <= 16):
            raise ConfigError(f"{where}: {{{ref}}} is not {{1}}..{{16}} or {{path}}")


def _fields(data: object, where: str) -> tuple[FieldRule, ...]:
    spec = _mapping(data, where)
    rules = []
    for path, data_class in spec.items():
        if not isinstance(data_class, str) or not _CLASS.match(data_class):
            raise ConfigError(f"{where}.{path}: expected a data class such as pan")
        rules.append(FieldRule(path, json_path_steps(path, f"{where}.{path}"), data_class))
    return tuple(rules)


def json_path_steps(path: str, where: str = "field") -> tuple[str | int | None, ...]:
    """``$.card.pan`` → ``("card", "pan")``; ``$.items[*].pan`` → ``("items", None, "pan")``."""
    if not path.startswith("$") or len(path) > 256:
        raise ConfigError(f"{where}: a field path starts with '$'")
    steps: list[str | int | None] = []
    pos = 1
    while pos < len(path):
        match = _JSON_STEP.match(path, pos)
        if match is None:
            raise ConfigError(f"{where}: use $.name, [n] and [*] steps only")
        key, index = match.groups()
        steps.append(key if key is not None else None if index == "*" else int(index))
        pos = match.end()
    if not steps:
        raise ConfigError(f"{where}: the path names no field")
    return tuple(steps)


def _hosts(spec: Mapping[str, Any], where: str) -> tuple[str, ...]:
    raw = spec.get("hosts", [spec["host"]] if "host" in spec else [])
    hosts = []
    for value in _list(raw, f"{where}.hosts"):
        if not isinstance(value, str) or not re.match(r"^[A-Za-z0-9.-]{1,253}$", value):
            raise ConfigError(f"{where}.hosts: expected host names without ports")
        hosts.append(value.lower())
    return tuple(sorted(hosts))


def _origin(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected an origin such as https://gw.example.com")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(f"{where}: expected an origin such as https://gw.example.com")
    return value.rstrip("/")


def _networks(data: object, where: str) -> tuple[Network, ...]:
    out = []
    for i, value in enumerate(_list(data, where)):
        try:
            out.append(ipaddress.ip_network(str(value), strict=False))
        except ValueError:
            raise ConfigError(f"{where}[{i}]: not an address or CIDR network") from None
    return tuple(out)


def _rate(data: object, default: RateLimit, where: str) -> RateLimit:
    if data is None:
        return default
    spec = _mapping(data, where)
    _known(spec, {"requests", "window_s"}, where)
    return RateLimit(
        requests=_int(spec, "requests", default.requests, 1, 10**9, where),
        window_s=_int(spec, "window_s", default.window_s, 1, 86_400, where),
    )


def _header(value: object) -> str:
    if not isinstance(value, str) or not _HEADER.match(value.lower()):
        raise ConfigError("identity.assertion_header: expected a header name")
    return value.lower()


def _timezone(value: object) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"identity.timezone: unknown time zone {value!r}") from None
    return str(value)


# -- small validators ------------------------------------------------------------------------


def _section(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    section = _mapping(doc.get(name, {}), name)
    _known(section, _SECTIONS[name], name)
    return section


def _mapping(data: object, where: str) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise ConfigError(f"{where}: expected a mapping")
    return data


def _list(data: object, where: str) -> Sequence[Any]:
    if not isinstance(data, list):
        raise ConfigError(f"{where}: expected a list")
    return data


def _known(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")


def _int(data: Mapping[str, Any], key: str, default: int, low: int, high: int, where: str) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{where}.{key}: expected an integer {low}-{high}")
    return value


def _number(
    data: Mapping[str, Any],
    key: str,
    default: float,
    high: float,
    section: str = "limits",
    *,
    zero: bool = False,
) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{section}.{key}: expected a number of seconds, at most {high}")
    if not (value >= 0 if zero else value > 0) or value > high:
        raise ConfigError(f"{section}.{key}: expected a number of seconds, at most {high}")
    return float(value)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
