"""The gateway's hardening, each case over a raw socket against a real server and a real
upstream process (security catalogue classes 11, 17, 18 and F.41-F.46)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.support.gateway import (
    UpstreamProcess,
    access_token,
    enrolled_device,
    free_port,
    product,
    raw_exchange,
    routes,
    serve_in_thread,
    statuses,
)
from zerotrust.client import DeviceKey
from zerotrust.core.auditing import MemoryAudit
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.gateway.app import Gateway, create_gateway
from zerotrust.gateway.assertion import verify_assertion
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import load_default
from zerotrust.service import Services

HEADER_TIMEOUT_S = 1.0


@dataclass
class Env:
    services: Services
    gateway: Gateway
    upstream: UpstreamProcess
    port: int
    key: DeviceKey
    token: str

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def auth(self, method: str, path: str) -> bytes:
        """Authorization and DPoP header lines for ``path`` (its canonical form)."""
        proof = make_dpop_proof(
            self.key.key,
            method=method,
            url=self.origin + path,
            now=time.time(),
            access_token=self.token,
        )
        return f"Authorization: DPoP {self.token}\r\nDPoP: {proof}\r\n".encode()

    def request(self, line: str, *, auth_path: str | None = None, extra: bytes = b"") -> bytes:
        method = line.split(maxsplit=1)[0]
        auth = self.auth(method, auth_path) if auth_path else b""
        head = f"{line} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n".encode()
        return raw_exchange(self.port, head + auth + extra + b"\r\n")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, fast_hashing: PasswordHashing) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("gw-hardening")
    services = product(tmp, fast_hashing)
    upstream = UpstreamProcess(tmp)
    port = free_port()
    config = routes(upstream, origin=f"http://127.0.0.1:{port}", limits__body_timeout_s=1.0)
    gateway = create_gateway(services, PolicyDecisionPoint(load_default()), config)
    analyst = services.admin.create_user(
        "hank", roles=("fraud_analyst",), password="cobalt-heron-ledger-91", actor="test"
    )
    key = enrolled_device(services, analyst)
    token = access_token(services, analyst, key)
    try:
        with serve_in_thread(gateway, port=port, header_timeout_s=HEADER_TIMEOUT_S):
            yield Env(services, gateway, upstream, port, key, token)
    finally:
        upstream.stop()
        services.close()


def probe() -> str:
    return uuid.uuid4().hex


def never_forwarded(env: Env, marker: str) -> bool:
    return not any(marker in path for path in env.upstream.paths())


# -- F.42 request smuggling -----------------------------------------------------------------


SMUGGLED = "GET /api/transactions/{m} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.mark.parametrize(
    "framing",
    [
        "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n",  # CL + TE
        "Content-Length: 5\r\nContent-Length: 6\r\n",  # conflicting lengths
        "Content-Length: 5\r\nContent-Length: 5\r\n",  # duplicate lengths
        "Transfer-Encoding : chunked\r\n",  # a space before the colon
        "Transfer-Encoding: gzip, chunked\r\n",  # not plain chunked
        "Transfer-Encoding: chunked, gzip\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    ],
)
def test_ambiguous_framing_is_400_and_nothing_follows(env: Env, framing: str) -> None:
    marker = probe()
    data = (
        f"POST /api/transactions/t1 HTTP/1.1\r\nHost: 127.0.0.1\r\n{framing}\r\n0\r\n\r\n"
        + SMUGGLED.format(m=marker)
    ).encode()
    answer = raw_exchange(env.port, data)
    assert statuses(answer) == [400]  # one answer: the second request was never parsed
    assert never_forwarded(env, marker)


@pytest.mark.parametrize(
    "body",
    [
        b"3\r\nabcXX0\r\n\r\n",  # bad chunk terminator
        b"3;ext\nabc\r\n0\r\n\r\n",  # a bare LF after a chunk extension
        b"zz\r\nabc\r\n0\r\n\r\n",  # not a chunk size
    ],
)
def test_malformed_chunks_are_refused(env: Env, body: bytes) -> None:
    marker = probe()
    head = b"POST /api/transactions/t1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    answer = raw_exchange(env.port, head + body + SMUGGLED.format(m=marker).encode())
    codes = statuses(answer)
    assert codes in ([400], [])  # refused, or the connection closed on the spot
    assert 200 not in codes
    assert never_forwarded(env, marker)


@pytest.mark.parametrize(
    "upgrade",
    [
        "Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABk\r\n",
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n",
    ],
)
def test_protocol_upgrades_are_refused_before_the_application(env: Env, upgrade: str) -> None:
    marker = probe()
    head = f"GET /api/transactions/t1?m={marker} HTTP/1.1\r\nHost: x\r\n{upgrade}"
    answer = raw_exchange(
        env.port, head.encode() + env.auth("GET", "/api/transactions/t1") + b"\r\n"
    )
    assert statuses(answer) == [400]
    time.sleep(0.2)
    assert never_forwarded(env, marker)


# -- F.43 sizes and slow clients, before any token work ---------------------------------------


def test_headers_over_16_kib_are_431_and_closed(env: Env) -> None:
    filler = b"X-Filler: " + b"a" * (17 * 1024) + b"\r\n"
    answer = raw_exchange(
        env.port, b"GET /api/transactions/t1 HTTP/1.1\r\nHost: x\r\n" + filler + b"\r\n"
    )
    assert statuses(answer) == [431]
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(200))
    assert statuses(raw_exchange(env.port, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")) == [
        431
    ]


def test_a_body_over_the_route_limit_is_413_before_authentication(env: Env) -> None:
    declared = env.request("POST /api/customers/c1", extra=b"Content-Length: 2000\r\n")
    assert statuses(declared) == [413]  # not 401: no token was even looked at
    head = b"POST /api/customers/c1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"".join(b"200\r\n" + b"x" * 512 + b"\r\n" for _ in range(3)) + b"0\r\n\r\n"
    assert statuses(raw_exchange(env.port, head + chunks)) == [413]


def test_a_slow_drip_of_headers_is_cut_off(env: Env) -> None:
    started = time.monotonic()
    answer = raw_exchange(
        env.port, b"GET /api/transactions/t1 HTTP/1.1\r\nHost: x\r\nX-Slow: ", timeout_s=5
    )
    assert statuses(answer) == [408]
    assert time.monotonic() - started < HEADER_TIMEOUT_S + 2
    idle = raw_exchange(env.port, b"", timeout_s=5)  # connect and say nothing at all
    assert statuses(idle) == [408]


def test_a_slow_body_is_cut_off(env: Env) -> None:
    head = b"POST /api/customers/c1 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial"
    started = time.monotonic()
    answer = raw_exchange(env.port, head, timeout_s=5)
    assert statuses(answer) == [408]
    assert time.monotonic() - started < 4


# -- F.44 paths and methods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "/api/../admin/roles",
        "/api/%2e%2e/admin/roles",
        "/api/.%2E/admin/roles",
        "//admin/roles",
        "/ADMIN/roles",
        "/Admin//roles",
        "/api/transactions/../../admin/roles",
        "/api/..;/admin/roles",
    ],
)
def test_path_tricks_are_decided_on_the_canonical_path(env: Env, raw: str) -> None:
    marker = probe()
    answer = env.request(f"GET {raw}?m={marker}", auth_path="/admin/roles")
    assert statuses(answer) == [403]  # the admin route's policy: an analyst may not manage
    assert b"access_denied" in answer
    assert never_forwarded(env, marker)


@pytest.mark.parametrize(
    "raw",
    ["/api/%252e%252e/admin", "/api%2fadmin", "/api/%00", "/api\\..\\admin", "/api/%e2%80%ae"],
)
def test_paths_we_will_not_interpret_are_400(env: Env, raw: str) -> None:
    answer = env.request(f"GET {raw}")
    assert statuses(answer) == [400]
    assert b"bad_path" in answer


@pytest.mark.parametrize(
    ("raw", "forwarded"),
    [
        ("/api/transactions;jsessionid=x/t1", "/api/transactions/t1"),
        ("/API/Transactions/t1", "/api/transactions/t1"),
        ("/api/./transactions//t1", "/api/transactions/t1"),
    ],
)
def test_the_same_canonical_path_is_forwarded(env: Env, raw: str, forwarded: str) -> None:
    marker = probe()
    answer = env.request(f"GET {raw}?m={marker}", auth_path="/api/transactions/t1")
    assert statuses(answer) == [200], answer[:300]
    assert f"{forwarded}?m={marker}" in env.upstream.paths()


def test_a_trailing_slash_is_kept_and_must_be_what_the_proof_names(env: Env) -> None:
    marker = probe()
    raw = "/api/transactions/t1/"
    answer = env.request(f"GET /api//transactions/./t1/?m={marker}", auth_path=raw)
    assert statuses(answer) == [200], answer[:300]
    assert f"{raw}?m={marker}" in env.upstream.paths()
    other = env.request(f"GET {raw}?m={probe()}", auth_path="/api/transactions/t1")
    assert statuses(other) == [401]  # the proof names another URL


def test_trace_and_unknown_methods_are_refused(env: Env) -> None:
    assert statuses(env.request("TRACE /api/transactions/t1")) == [405]
    assert statuses(env.request("PROPFIND /api/transactions/t1")) == [405]
    assert statuses(env.request("FOO /api/transactions/t1")) in ([400], [405])
    wrong = env.request("DELETE /api/transactions/t1")
    assert statuses(wrong) == [405]
    assert b"allow: get, post" in wrong.lower()
    assert statuses(env.request("GET /nowhere")) == [404]


# -- F.41 forwarded addresses, and forged identity headers -------------------------------------


def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(env: Env) -> None:
    audit = env.services.audit
    assert isinstance(audit, MemoryAudit)
    for spoof in (
        b"X-Forwarded-For: 8.8.8.8\r\n",
        b"X-Forwarded-For: 8.8.8.8\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: unknown\r\n",
        b"X-Forwarded-For: " + b", ".join([b"8.8.8.8"] * 1000) + b"\r\n",
        b"X-Forwarded-For: fe80::1%eth0, [2001:db8::1]:80, 1.2.3.4:80, \xff\r\n",
    ):
        marker = probe()
        answer = env.request(
            f"GET /api/transactions/t1?m={marker}", auth_path="/api/transactions/t1", extra=spoof
        )
        assert statuses(answer) == [200]
        [seen] = [r for r in env.upstream.received() if marker in r["query"]]
        forwarded = [v for k, v in seen["headers"] if k == "x-forwarded-for"]
        assert forwarded == ["127.0.0.1"]  # the socket peer, and only the gateway's header
        decision = [r for r in audit.records if r.details.get("path") == "/api/transactions/t1"]
        assert decision[-1].src_ip == "127.0.0.1"


def test_client_supplied_identity_headers_never_reach_the_upstream(env: Env) -> None:
    marker = probe()
    forged = (
        b"ZT-Identity: eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.\r\n"
        b"X-Forwarded-User: admin\r\nX-Remote-User: admin\r\nX-ZT-Roles: admin\r\n"
    )
    answer = env.request(
        f"GET /api/transactions/t1?m={marker}", auth_path="/api/transactions/t1", extra=forged
    )
    assert statuses(answer) == [200]
    [seen] = [r for r in env.upstream.received() if marker in r["query"]]
    names = [k for k, _ in seen["headers"]]
    for header in ("x-forwarded-user", "x-remote-user", "x-zt-roles", "authorization", "dpop"):
        assert header not in names
    [assertion] = [v for k, v in seen["headers"] if k == "zt-identity"]
    claims = verify_assertion(
        assertion,
        jwks=env.services.tokens.jwks(),
        issuer=env.services.settings.issuer,
        audience="svc",
        now=time.time(),
    )
    assert claims["roles"] == ["fraud_analyst"]


# -- class 18: upstream redirects are returned, never followed ----------------------------------


def test_upstream_redirects_are_not_followed(env: Env) -> None:
    answer = env.request("GET /api/redirect/x", auth_path="/api/redirect/x")
    assert statuses(answer) == [302]
    assert b"location: http://169.254.169.254/latest" in answer.lower()


# -- F.46 an exception in a handler ---------------------------------------------------------------


def test_an_unexpected_error_is_a_generic_500_and_the_worker_stays_up(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(env.gateway, "_forward", explode)
    answer = env.request("GET /api/transactions/t1", auth_path="/api/transactions/t1")
    assert statuses(answer) == [500]
    assert b"internal_error" in answer
    assert b"correlation_id" in answer
    assert b"secret internals" not in answer
    monkeypatch.undo()
    deadline = time.monotonic() + 5
    audit = env.services.audit
    assert isinstance(audit, MemoryAudit)
    while not any(r.action == "gateway.error" for r in audit.records):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ok = env.request("GET /api/transactions/t1", auth_path="/api/transactions/t1")
    assert statuses(ok) == [200]


def test_admin_endpoints_answer_local_peers(env: Env) -> None:
    ready = httpx.get(f"{env.origin}/readyz")
    assert ready.status_code == 200
    assert ready.json()["upstream:svc"] == "ok"
    assert ready.json()["database"] == ready.json()["policy"] == "ok"
    env.request("GET /api%2fadmin")
    env.request("GET /api/transactions/t1", auth_path="/api/transactions/t1")
    metrics = httpx.get(f"{env.origin}/metrics").text
    assert 'zt_gateway_refusals_total{code="bad_path",status="400"}' in metrics
    assert 'zt_gateway_decisions_total{effect="allow",reason="role-permit"}' in metrics
    assert 'zt_gateway_stage_seconds_count{stage="decide"}' in metrics
    assert "zt_detect_feed_events_total" in metrics  # the detection engine behind it
    assert httpx.get(f"{env.origin}/healthz").json() == {"status": "ok"}
