"""The routes file: validated at start, one clear line per problem; routes match safely."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from zerotrust.core.errors import ConfigError
from zerotrust.gateway.config import GatewayConfig
from zerotrust.gateway.routes_file import json_path_steps, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]

BASE: dict[str, Any] = {
    "upstreams": {"svc": {"url": "http://127.0.0.1:9000"}},
    "routes": [
        {
            "name": "tx",
            "prefix": "/api/transactions",
            "upstream": "svc",
            "methods": {"GET": "read"},
            "resource": {"type": "Transaction"},
        },
        {
            "name": "tx-export",
            "prefix": "/api/transactions/export",
            "upstream": "svc",
            "methods": {"POST": "export"},
            "resource": {"type": "Transaction", "id": "{path}"},
        },
        {
            "name": "tx-models",
            "host": "Models.Example.com",
            "prefix": "/api/transactions",
            "upstream": "svc",
            "methods": {"GET": "score"},
            "resource": {"type": "Transaction"},
        },
        {
            "name": "admin",
            "prefix": "/admin",
            "upstream": "svc",
            "methods": {"GET": "manage"},
            "resource": {"type": "Role"},
        },
    ],
}


def config(**changes: Any) -> GatewayConfig:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return parse_config(doc)


def test_the_example_file_loads() -> None:
    example = ROOT / "examples" / "gateway.yaml"
    text = example.read_text()
    # Its TLS files live on the deployment host; point them at stand-ins for the test.
    loaded = parse_config(
        __import__("yaml").safe_load(text.replace("ca/", "")), base_dir=_tls_dir(example)
    )
    assert {r.name for r in loaded.routes} >= {"customer-pii", "transactions"}
    assert loaded.upstreams["customers"].tls is not None
    assert loaded.per_principal.requests == 600


def _tls_dir(example: Path) -> Path:
    import tempfile

    directory = Path(tempfile.mkdtemp())
    for name in ("ca.pem", "gateway-client.pem", "gateway-client.key"):
        (directory / name).write_text("stand-in")
    return directory


def test_routes_match_whole_segments_case_insensitively_longest_first() -> None:
    c = config()
    route, path, segments = c.match("gw.example.com", "/api/transactions/t1") or (None, "", ())
    assert route is not None
    assert route.name == "tx"
    assert segments == ("t1",)
    assert path == "/api/transactions/t1"
    # The prefix takes its configured case; the rest (resource ids) keeps the client's.
    assert c.match("gw", "/API/Transactions/T1")[1:] == ("/api/transactions/T1", ("T1",))  # type: ignore[index]
    assert c.match("gw", "/api/transactions/export/2026")[0].name == "tx-export"  # type: ignore[index]
    assert c.match("gw", "/api/transactionsX") is None  # not a segment boundary
    assert c.match("gw", "/ADMIN")[0].name == "admin"  # type: ignore[index]
    assert c.match("gw", "/") is None


def test_a_route_for_the_host_beats_one_for_any_host() -> None:
    c = config()
    assert c.match("models.example.com", "/api/transactions/t1")[0].name == "tx-models"  # type: ignore[index]
    assert c.match("other.example.com", "/api/transactions/t1")[0].name == "tx"  # type: ignore[index]


def _with_route(**changes: Any) -> dict[str, Any]:
    route = {**copy.deepcopy(BASE["routes"][0]), **changes}
    return {"routes": [route]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (_with_route(methods={"TRACE": "read"}), "routes[0].methods.TRACE: not a routable method"),
        (_with_route(methods={"GET": "Read!"}), "routes[0].methods.GET"),
        (_with_route(methods={}), "at least one method"),
        (_with_route(upstream="elsewhere"), "routes[0].upstream: must name one of the configured"),
        (_with_route(prefix="/api/../admin"), "routes[0].prefix: write the canonical form"),
        (_with_route(prefix="api"), "routes[0].prefix"),
        (_with_route(resource={"type": "transaction"}), "routes[0].resource.type"),
        (_with_route(resource={"type": "Transaction", "id": "{0}"}), "routes[0].resource.id"),
        (_with_route(fields={"card.pan": "pan"}), "a field path starts with '$'"),
        (_with_route(fields={"$.card..pan": "pan"}), "use $.name, [n] and [*] steps only"),
        (_with_route(fields={"$.pan": "PAN"}), "expected a data class"),
        (_with_route(extra=1), "routes[0]: unknown key 'extra'"),
        (_with_route(auth="cookie"), "routes[0].auth: one of dpop, session, public"),
        (_with_route(signin="/login"), "routes[0].signin: only a route with auth: session"),
        (_with_route(auth="session", signin="login"), "routes[0].signin"),
        ({"upstreams": {"svc": {"url": "http://169.254.169.254/"}}}, "link-local"),
        ({"upstreams": {"svc": {"url": "http://0.0.0.0:80"}}}, "link-local"),
        ({"upstreams": {"svc": {"url": "http://[::ffff:169.254.169.254]/"}}}, "link-local"),
        ({"upstreams": {"svc": {"url": "http://[fe80::1]/"}}}, "link-local"),
        ({"upstreams": {"svc": {"url": "http://2852039166/"}}}, "non-standard form"),
        ({"upstreams": {"svc": {"url": "http://0xa9.0xfe.0xa9.0xfe/"}}}, "non-standard form"),
        ({"upstreams": {"svc": {"url": "http://169.254.43518/"}}}, "non-standard form"),
        ({"upstreams": {"svc": {"url": "http://127.1/"}}}, "non-standard form"),
        ({"upstreams": {"svc": {"url": "ftp://files"}}}, "expected an http(s) URL"),
        ({"upstreams": {"svc": {"url": "http://u:p@host/"}}}, "no credentials"),
        (
            {"upstreams": {"svc": {"url": "http://h", "tls": {"ca": "x.pem"}}}},
            "mutual TLS needs an https:// url",
        ),
        (
            {"upstreams": {"svc": {"url": "https://h", "tls": {"ca": "missing.pem"}}}},
            "no such file",
        ),
        ({"upstreams": {}}, "at least one upstream"),
        ({"listen": {"trusted_proxies": ["not-a-net"]}}, "listen.trusted_proxies[0]"),
        ({"listen": {"public_origins": ["https://gw/path"]}}, "listen.public_origins[0]"),
        ({"limits": {"max_header_bytes": 1 << 20}}, "limits.max_header_bytes"),
        ({"identity": {"cache_s": 60}}, "identity.cache_s"),
        ({"identity": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
        ({"rate_limits": {"per_address": {"requests": 0}}}, "rate_limits.per_address.requests"),
        ({"surprise": {}}, "document: unknown key 'surprise'"),
    ],
)
def test_mistakes_stop_the_start_with_one_clear_line(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        config(**changes)
    assert message in err.value.detail
    assert "\n" not in err.value.detail


def test_how_callers_authenticate_is_per_route() -> None:
    assert config().routes[0].auth == "dpop"  # the default: a DPoP-bound access token
    routes = [
        {**BASE["routes"][0], "auth": "session", "signin": "/console/signin/"},
        {**BASE["routes"][1], "auth": "public"},
    ]
    session, public = config(routes=routes).routes
    assert (session.auth, session.signin) == ("session", "/console/signin")
    assert (public.auth, public.signin) == ("public", None)


def test_a_prefix_may_be_written_as_a_folder() -> None:
    route = {**BASE["routes"][0], "prefix": "/api/transactions/"}
    assert config(routes=[route]).routes[0].prefix == "/api/transactions"
    matched = config(routes=[route]).match("h", "/api/transactions/")
    assert matched is not None
    assert matched[1:] == ("/api/transactions/", ())


def test_two_routes_for_the_same_host_and_prefix_are_refused() -> None:
    twice = [
        BASE["routes"][0],
        {**BASE["routes"][0], "name": "again", "prefix": "/API/transactions"},
    ]
    with pytest.raises(ConfigError, match="same host and prefix"):
        config(routes=twice)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "routes.yaml"
    bad.write_text("routes: [unclosed\n")
    with pytest.raises(ConfigError, match=r"routes\.yaml: not valid YAML at line"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    bad.write_text("routes: 3\n")
    with pytest.raises(ConfigError, match=r"routes.yaml: upstreams: expected a mapping|routes"):
        load_config(bad)


def test_json_paths() -> None:
    assert json_path_steps("$.card.pan") == ("card", "pan")
    assert json_path_steps("$.items[*].pan") == ("items", None, "pan")
    assert json_path_steps("$[0].email") == (0, "email")
    with pytest.raises(ConfigError):
        json_path_steps("$")


def test_names_and_ordinary_addresses_are_fine() -> None:
    for url in ("http://10.0.0.5:8080", "https://svc.internal", "http://[2001:db8::1]:80",
                "http://127.0.0.1:9000", "https://1password.internal"):  # fmt: skip
        assert config(upstreams={"svc": {"url": url}}).upstreams["svc"].url == url
