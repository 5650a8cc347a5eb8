"""Helpers for the gateway tests: certificates, a recording upstream process, servers in
threads, routes, enrolled devices and raw sockets."""

from __future__ import annotations

import json
import os
import secrets
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn

from zerotrust.api.app import create_app
from zerotrust.client import DeviceKey
from zerotrust.core.auditing import MemoryAudit
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.x509ca import IssuedPair, create_ca, issue
from zerotrust.demo.stack import CONSOLE_UPSTREAM, console_routes
from zerotrust.devices.models import Posture
from zerotrust.devices.posture import sign_posture
from zerotrust.gateway.app import create_gateway
from zerotrust.gateway.config import GatewayConfig
from zerotrust.gateway.routes_file import parse_config
from zerotrust.gateway.server import uvicorn_config
from zerotrust.identity.models import ClientInfo, Principal
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port}")


# -- certificates ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    """A CA, an upstream server certificate, the gateway's client and server certificates."""

    dir: Path

    def path(self, name: str) -> Path:
        return self.dir / name

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.path("ca.pem")))


def make_pki(directory: Path) -> Pki:
    now = time.time()
    ca = create_ca("test CA", now=now, days=2)

    def save(name: str, pair: IssuedPair) -> None:
        (directory / f"{name}.pem").write_bytes(pair.cert_pem)
        (directory / f"{name}.key").write_bytes(pair.key_pem)

    save("ca", ca)
    save("upstream", issue(ca, "upstream", ips=["127.0.0.1"], dns=["localhost"], now=now, days=1))
    save("gateway-client", issue(ca, "gateway", usage="client", now=now, days=1))
    save("gateway", issue(ca, "gateway", ips=["127.0.0.1"], dns=["localhost"], now=now, days=1))
    save("intruder", issue(create_ca("other", now=now, days=1), "x", usage="client", now=now))
    return Pki(directory)


# -- the recording upstream ----------------------------------------------------------------------


class UpstreamProcess:
    """``tests.support.upstream_app`` in its own process, with or without mutual TLS."""

    def __init__(self, directory: Path, pki: Pki | None = None) -> None:
        self.port = free_port()
        self.log = directory / f"upstream-{self.port}.jsonl"
        self.log.touch()
        self.pki = pki
        args = [sys.executable, "-m", "tests.support.upstream_app", "--port", str(self.port)]
        args += ["--log", str(self.log)]
        if pki is not None:
            args += [
                "--cert",
                str(pki.path("upstream.pem")),
                "--key",
                str(pki.path("upstream.key")),
            ]
            args += ["--ca", str(pki.path("ca.pem"))]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(  # our own interpreter and module
            args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)

    @property
    def url(self) -> str:
        return f"{'https' if self.pki else 'http'}://127.0.0.1:{self.port}"

    def received(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def paths(self) -> list[str]:
        return [r["path"] + (f"?{r['query']}" if r["query"] else "") for r in self.received()]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


# -- servers in threads --------------------------------------------------------------------------


@contextmanager
def serve_in_thread(
    app: Any,
    *,
    port: int,
    tls: Mapping[str, Any] | None = None,
    gateway: bool = True,
    proxy_headers: bool = True,
    **limits: Any,
) -> Iterator[uvicorn.Server]:
    """Serve ``app`` on 127.0.0.1 (the gateway with its own protocol and limits).
    ``proxy_headers=False`` keeps uvicorn from taking ``X-Forwarded-For`` from loopback
    as the client address, as a server on another host than its proxy would."""
    if gateway:
        config = uvicorn_config(app, host="127.0.0.1", port=port, tls=dict(tls or {}), **limits)
    else:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="none",
            lifespan="on",
            proxy_headers=proxy_headers,
            **dict(tls or {}),
        )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("server did not start")
        time.sleep(0.02)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def console_behind_gateway(
    services: Services,
    *,
    cp_port: int,
    gw_port: int,
    listen: Mapping[str, Any],
    upstreams: Mapping[str, Any] | None = None,
    routes: Sequence[Mapping[str, Any]] = (),
    proxy_headers: bool = True,
) -> Iterator[None]:
    """The control plane and, in front of it, the gateway with the console's routes, as
    ``zt demo up`` deploys them, each served in a thread of this process; ``upstreams``
    and ``routes`` are added to the console's."""
    control_plane = f"http://127.0.0.1:{cp_port}"
    config = parse_config(
        {
            "listen": dict(listen),
            "upstreams": {CONSOLE_UPSTREAM: {"url": control_plane}, **(upstreams or {})},
            "routes": [*console_routes(), *routes],
        }
    )
    with (
        serve_in_thread(
            create_app(services), port=cp_port, gateway=False, proxy_headers=proxy_headers
        ),
        serve_in_thread(create_gateway(services, services.pdp, config), port=gw_port),
    ):
        yield


# -- routes ------------------------------------------------------------------------------------


def routes(
    upstream: UpstreamProcess,
    *,
    origin: str,
    extra_upstreams: Mapping[str, Any] | None = None,
    extra_routes: Sequence[Mapping[str, Any]] = (),
    **overrides: Any,
) -> GatewayConfig:
    """The test routes: customers' PII, transactions, features, reports, admin, misc."""
    tls = None
    if upstream.pki is not None:
        tls = {
            "ca": str(upstream.pki.path("ca.pem")),
            "cert": str(upstream.pki.path("gateway-client.pem")),
            "key": str(upstream.pki.path("gateway-client.key")),
        }
    service: dict[str, Any] = {"url": upstream.url, "timeout_s": 2}
    if tls:
        service["tls"] = tls
    doc: dict[str, Any] = {
        "listen": {"public_origins": [origin], "trusted_proxies": ["10.0.0.0/8"]},
        "upstreams": {"svc": service},
        "routes": [
            {
                "name": "pii",
                "prefix": "/api/customers",
                "upstream": "svc",
                "methods": {"GET": "read", "POST": "write"},
                "resource": {"type": "CustomerPII", "id": "{1}", "attrs": {"customer": "{1}"}},
                "fields": {"$.card.number": "pan"},
                "max_body_bytes": 1024,
            },
            {
                "name": "tx",
                "prefix": "/api/transactions",
                "upstream": "svc",
                "methods": {"GET": "read", "POST": "write"},
                "resource": {"type": "Transaction", "id": "{1}"},
            },
            {
                "name": "features",
                "prefix": "/api/features",
                "upstream": "svc",
                "methods": {"GET": "read"},
                "resource": {"type": "FeatureSet", "id": "{1}"},
            },
            {
                "name": "export",
                "prefix": "/api/reports/export",
                "upstream": "svc",
                "methods": {"POST": "export"},
                "resource": {"type": "Report", "id": "{1}"},
            },
            {
                "name": "reports",
                "prefix": "/api/reports",
                "upstream": "svc",
                "methods": {"GET": "read"},
                "resource": {"type": "Report", "id": "{1}"},
            },
            {
                "name": "redirect",
                "prefix": "/api/redirect",
                "upstream": "svc",
                "methods": {"GET": "read"},
                "resource": {"type": "Transaction", "id": "{1}"},
            },
            {
                "name": "text",
                "prefix": "/api/text",
                "upstream": "svc",
                "methods": {"GET": "read"},
                "resource": {"type": "CustomerPII", "id": "c1", "attrs": {"customer": "c1"}},
            },
            {
                "name": "admin",
                "prefix": "/admin",
                "upstream": "svc",
                "methods": {"GET": "manage", "POST": "manage"},
                "resource": {"type": "Role", "id": "{1}"},
            },
        ],
    }
    doc["upstreams"].update(extra_upstreams or {})
    doc["routes"].extend(extra_routes)
    for key, value in overrides.items():
        section, _, name = key.partition("__")
        doc.setdefault(section, {})[name] = value
    return parse_config(doc)


# -- principals, devices, tokens ----------------------------------------------------------------


def product(directory: Path, hashing: PasswordHashing, **settings: Any) -> Services:
    """The product on SQLite in ``directory``, auditing to memory so tests can read it."""
    defaults: dict[str, Any] = {
        "data_dir": directory,
        "root_key": b64url_encode(secrets.token_bytes(32)),
        "issuer": "http://cp.test",
        "origins": ("http://localhost:8000",),
    }
    return build_services(
        Settings(**{**defaults, **settings}), hashing=hashing, audit=MemoryAudit()
    )


def healthy_posture(now: float, **changes: Any) -> Posture:
    base = Posture(
        os="debian",
        os_version="12",
        patch_age_days=3,
        disk_encrypted=True,
        firewall=True,
        screen_lock=True,
        endpoint_protection=True,
        collected_at=now,
    )
    return replace(base, **changes)


def enrolled_device(
    services: Services, owner: Principal, *, approve: bool = True, **posture: Any
) -> DeviceKey:
    """A device key enrolled for ``owner``, approved, with a fresh signed posture report."""
    key = DeviceKey.generate()
    device = services.devices.enroll(owner.id, key.public_jwk, name="laptop", proof_jkt=key.jkt)
    if approve:
        services.devices.approve(device.id, actor="test-admin")
    report = sign_posture(
        key.key, healthy_posture(services.clock.now(), **posture), device_id=device.id
    )
    services.devices.report_posture(device.id, report, proof_jkt=key.jkt)
    return key


def access_token(services: Services, principal: Principal, key: DeviceKey, *, aal: int = 2) -> str:
    """A session opened directly (as after a password + TOTP login) and its access token."""
    amr = ("pwd", "otp", "mfa") if aal == 2 else ("pwd", "hwk", "user", "mfa")
    tokens = services.sessions.open(
        principal, aal=aal, amr=amr, client=ClientInfo(src_ip="127.0.0.1", jkt=key.jkt)
    )
    return tokens.access_token


# -- raw sockets -------------------------------------------------------------------------------


def raw_exchange(port: int, data: bytes, *, timeout_s: float = 3.0, pause: float = 0.0) -> bytes:
    """Send bytes as they are and read until the server closes (or ``timeout_s``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
        sock.sendall(data)
        if pause:
            time.sleep(pause)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
    return b"".join(chunks)


def statuses(response: bytes) -> list[int]:
    """The status codes of every response in a raw byte stream."""
    return [int(line.split()[1]) for line in response.split(b"\r\n") if line.startswith(b"HTTP/1.")]
