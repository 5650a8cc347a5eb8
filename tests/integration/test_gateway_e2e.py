"""End to end: a device-bound client, the control plane, the gateway over TLS, and a real
upstream process that accepts only the gateway (mutual TLS). The acceptance scenarios of
the gateway issue, each checked on both sides of the gateway."""

from __future__ import annotations

import secrets
import shutil
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pyotp
import pytest

from tests.support.authenticator import SoftAuthenticator
from tests.support.gateway import (
    Pki,
    UpstreamProcess,
    free_port,
    healthy_posture,
    make_pki,
    routes,
    serve_in_thread,
)
from tests.support.identity import PASSWORD
from zerotrust.api.app import create_app
from zerotrust.client import DeviceKey, ZTClient
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.events import FanoutSink, MemorySink
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.gateway.app import create_gateway
from zerotrust.gateway.assertion import verify_assertion
from zerotrust.identity.models import Principal
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import default_pack_dir, load_dir
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

ORIGIN = "http://localhost:8000"  # the WebAuthn origin the authenticator signs for
# The default pack permits no export; this deployment lets compliance officers export
# reports, which the pack's step-up forbid then guards with a fresh AAL3.
EXPORT_POLICY = """
@id("compliance-export-reports")
@reason("role-permit")
permit (principal is User, action == Action::"export", resource is Report)
when { principal.roles.contains("compliance_officer") };
"""


class Cases:
    """Support sessions bound to one customer's case."""

    def __init__(self) -> None:
        self.bound: dict[str, str] = {}

    def case_for(self, principal_id: str, session_id: str) -> str | None:
        return self.bound.get(principal_id)


@dataclass
class Env:
    services: Services
    clock: FixedClock
    cp_url: str
    gw_url: str
    upstream: UpstreamProcess
    pki: Pki
    cases: Cases
    sink: MemorySink
    clients: list[ZTClient]

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()

    def user(self, name: str, role: str) -> tuple[Principal, str]:
        principal = self.services.admin.create_user(
            name, roles=(role,), password=PASSWORD, actor="test"
        )
        secret, _ = self.services.admin.enroll_totp(principal, actor="test", active=True)
        return principal, secret

    def sign_in(self, name: str, secret: str, key: DeviceKey) -> ZTClient:
        """Password + TOTP at the control plane, with the device key (AAL2)."""
        control = ZTClient(self.cp_url, key, clock=self.clock.now)
        self.clients.append(control)
        code = pyotp.TOTP(secret).at(int(self.clock.now()))
        control.login(name, PASSWORD, totp=code)
        self.clock.advance(30)  # the next login needs a fresh TOTP step
        return control

    def device(self, control: ZTClient, **posture: object) -> dict[str, object]:
        """Enrol the client's key with a signed posture report; an admin approves it."""
        device = control.enroll("laptop", healthy_posture(self.clock.now(), **posture))
        self.services.devices.approve(str(device["id"]), actor="admin")
        return device

    def through_gateway(self, control: ZTClient) -> ZTClient:
        http = httpx.Client(base_url=self.gw_url, verify=self.pki.client_context(), timeout=10)
        gateway = ZTClient(self.gw_url, control.device, http=http, clock=self.clock.now)
        self.clients.append(gateway)
        gateway.tokens = control.tokens
        return gateway

    def seen(self, marker: str) -> list[dict[str, object]]:
        return [r for r in self.upstream.received() if marker in str(r["query"])]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, fast_hashing: PasswordHashing) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("gw-e2e")
    pki = make_pki(tmp)
    cp_port, gw_port = free_port(), free_port()
    cp_url, gw_url = f"http://127.0.0.1:{cp_port}", f"https://127.0.0.1:{gw_port}"
    clock = FixedClock(1_767_225_600.0)
    sink = MemorySink()
    services = build_services(
        Settings(
            data_dir=tmp,
            root_key=b64url_encode(secrets.token_bytes(32)),
            issuer=cp_url,
            origins=(ORIGIN,),
        ),
        clock=clock,
        hashing=fast_hashing,
        extra_sinks=(sink,),
        audit=MemoryAudit(),
    )
    assert isinstance(services.events, FanoutSink)
    pack = tmp / "pack"
    shutil.copytree(default_pack_dir(), pack)
    (pack / "60-export.cedar").write_text(EXPORT_POLICY)
    upstream = UpstreamProcess(tmp, pki)
    cases = Cases()
    gateway = create_gateway(
        services,
        PolicyDecisionPoint(load_dir(pack)),
        routes(upstream, origin=gw_url),
        cases=cases,
        tokenizer=lambda field, value: f"tok_{field}_{len(value)}",
    )
    tls = {
        "ssl_certfile": str(pki.path("gateway.pem")),
        "ssl_keyfile": str(pki.path("gateway.key")),
    }
    try:
        with (
            serve_in_thread(create_app(services), port=cp_port, gateway=False),
            serve_in_thread(gateway, port=gw_port, tls=tls),
        ):
            yield Env(services, clock, cp_url, gw_url, upstream, pki, cases, sink, [])
    finally:
        upstream.stop()
        services.close()


@pytest.fixture(autouse=True)
def _close_clients(env: Env) -> Iterator[None]:
    yield
    env.close_clients()


def probe() -> str:
    return uuid.uuid4().hex


def test_no_token_is_401_and_nothing_is_forwarded(env: Env) -> None:
    marker = probe()
    response = httpx.get(
        f"{env.gw_url}/api/transactions/t1?m={marker}", verify=env.pki.client_context()
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'DPoP algs="ES256 EdDSA"'
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"]
    assert response.headers["strict-transport-security"].startswith("max-age=31536000")
    assert env.seen(marker) == []


def test_an_allowed_role_on_a_healthy_device_gets_masked_fields(env: Env) -> None:
    principal, secret = env.user("sonia", "support_agent")
    control = env.sign_in("sonia", secret, DeviceKey.generate())
    device = env.device(control)
    control = env.sign_in("sonia", secret, control.device)  # the session names the device
    env.cases.bound[principal.id] = "c1"
    gateway = env.through_gateway(control)
    marker = probe()
    response = gateway.request("GET", f"/api/customers/c1?m={marker}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["card"]["pan"] == "************1111"  # mask:pan, by field name
    assert body["card"]["number"] == "************5559"  # classified pan by the route
    assert body["email"] == "ada@example.com"  # no obligation names it
    # What crossed to the upstream: the signed assertion, not the client's credentials.
    [seen] = env.seen(marker)
    headers = dict(seen["headers"])  # type: ignore[arg-type]
    assert "authorization" not in headers
    assert "dpop" not in headers
    claims = verify_assertion(
        headers["zt-identity"],
        jwks=env.services.tokens.jwks(),
        issuer=env.cp_url,
        audience="svc",
        now=env.clock.now(),
    )
    assert (claims["sub"], claims["device_id"], claims["aal"]) == (principal.id, device["id"], 2)
    assert claims["cid"] == response.headers["x-correlation-id"]
    # Audited and published.
    audit = env.services.audit
    assert isinstance(audit, MemoryAudit)
    [decision] = [
        r
        for r in audit.records
        if r.action == "authz.decision"
        and r.details.get("correlation_id") == response.headers["x-correlation-id"]
    ]
    assert decision.outcome == "allowed"
    assert decision.details["obligations"] == ["mask:pan"]
    assert decision.resource == "CustomerPII:c1"
    event = _event(env, "sonia")
    assert (event.outcome, event.action, event.resource_type) == ("allowed", "read", "CustomerPII")
    assert event.records == 1
    assert event.bytes == len(response.content)


def _event(env: Env, name: str) -> object:
    deadline = time.monotonic() + 5
    while True:
        found = [e for e in env.sink.events if e.kind == "access" and e.principal == name]
        if found:
            return found[-1]
        assert time.monotonic() < deadline, "no access event"
        time.sleep(0.02)


def test_a_role_without_permission_is_403_and_the_upstream_never_sees_it(env: Env) -> None:
    _, secret = env.user("dan", "data_scientist")
    control = env.sign_in("dan", secret, DeviceKey.generate())
    env.device(control)
    gateway = env.through_gateway(env.sign_in("dan", secret, control.device))
    marker = probe()
    response = gateway.request("GET", f"/api/customers/c1?m={marker}")
    assert response.status_code == 403
    problem = response.json()
    assert problem["code"] == "access_denied"
    assert problem["reason"] == "data-scientist-no-pii"
    assert problem["correlation_id"] == response.headers["x-correlation-id"]
    assert env.seen(marker) == []
    event = _event(env, "dan")
    assert (event.outcome, event.reason) == ("denied", "data-scientist-no-pii")  # type: ignore[attr-defined]
    # The same user's permitted read is pseudonymised on the way out.
    features = gateway.request("GET", "/api/features/f1")
    assert features.status_code == 200
    assert features.json() == [
        {"customer_id": "tok_customer_id_2", "email": "tok_email_15", "score": 0.4}
    ]


def test_a_low_trust_device_is_403(env: Env) -> None:
    _, secret = env.user("lou", "fraud_analyst")
    control = env.sign_in("lou", secret, DeviceKey.generate())
    env.device(control, disk_encrypted=False)
    gateway = env.through_gateway(env.sign_in("lou", secret, control.device))
    marker = probe()
    response = gateway.request("GET", f"/api/transactions/t1?m={marker}")
    assert response.status_code == 403
    assert response.json()["reason"] == "device-untrusted"
    assert env.seen(marker) == []
    # A device that never enrolled is no better.
    stranger = env.through_gateway(env.sign_in("lou", secret, DeviceKey.generate()))
    assert stranger.request("GET", "/api/transactions/t1").json()["reason"] in (
        "device-not-enrolled",
        "device-untrusted",
    )


def test_export_at_a_stale_aal_steps_up_with_webauthn_then_succeeds(env: Env) -> None:
    _, secret = env.user("cora", "compliance_officer")
    control = env.sign_in("cora", secret, DeviceKey.generate())
    env.device(control)
    authenticator = SoftAuthenticator("localhost", ORIGIN)
    options = control.request(
        "POST", "/v1/me/mfa/webauthn/options", json={"password": PASSWORD}
    ).json()
    registered = control.request(
        "POST",
        "/v1/me/mfa/webauthn/verify",
        json={"credential": authenticator.create(options), "name": "key"},
    )
    assert registered.status_code == 200, registered.text
    control = env.sign_in("cora", secret, control.device)  # AAL2: password + TOTP
    gateway = env.through_gateway(control)
    marker = probe()
    refused = gateway.request("POST", f"/api/reports/export/r1?m={marker}")
    assert refused.status_code == 401
    challenge = refused.headers["www-authenticate"]
    assert challenge.startswith("DPoP ")
    assert 'error="insufficient_user_authentication"' in challenge
    assert 'acr_values="aal3"' in challenge
    assert 'max_age="300"' in challenge
    assert refused.json()["reasons"] == ["export-needs-aal3"]
    assert env.seen(marker) == []
    # The client steps up: a WebAuthn sign-in with user verification, on the same device.
    control.login("cora", PASSWORD, webauthn=authenticator.get)
    assert control.tokens["aal"] == 3
    gateway.tokens = control.tokens
    exported = gateway.request("POST", f"/api/reports/export/r1?m={marker}")
    assert exported.status_code == 200, exported.text
    assert len(env.seen(marker)) == 1
    env.clock.advance(301)  # the step-up is fresh for five minutes only
    control.refresh()
    gateway.tokens = control.tokens
    assert gateway.request("POST", "/api/reports/export/r1").status_code == 401


def test_upstreams_accept_only_the_gateway(env: Env) -> None:
    context = ssl.create_default_context(cafile=str(env.pki.path("ca.pem")))
    with pytest.raises(httpx.HTTPError):  # no client certificate
        httpx.get(f"{env.upstream.url}/api/transactions/t1", verify=context)
    intruder = ssl.create_default_context(cafile=str(env.pki.path("ca.pem")))
    intruder.load_cert_chain(env.pki.path("intruder.pem"), env.pki.path("intruder.key"))
    with pytest.raises(httpx.HTTPError):  # a certificate from another CA
        httpx.get(f"{env.upstream.url}/api/transactions/t1", verify=intruder)


def test_readiness_reports_each_dependency(env: Env) -> None:
    ready = httpx.get(f"{env.gw_url}/readyz", verify=env.pki.client_context()).json()
    assert ready["status"] == "ready"
    assert {k for k, v in ready.items() if v == "ok"} >= {
        "database",
        "counters",
        "policy",
        "signing_key",
        "upstream:svc",
    }
