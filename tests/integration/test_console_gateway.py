"""The console served through zerotrust's own gateway, as ``zt demo up`` deploys it.

The control plane and the gateway run for real (uvicorn, 127.0.0.1, ephemeral ports) and a
Python client plays the browser: the session cookie, a fresh ECDSA P-256 key per sign-in
(the page's non-extractable WebCrypto key) and a DPoP proof on every request, as the
console's service worker makes them. What is checked: the ways in are public and the
rest needs the cookie *and* a proof by the session's key; the control plane refuses
whatever did not come through the gateway; every page load is a gateway decision in the
audit log; a person without a console role gets the gateway's 403 page; a revoked
session, a stolen cookie and a replayed proof get nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.audit import audited
from tests.support.authenticator import SoftAuthenticator
from tests.support.console import console_passkey, passkey_sign_in
from tests.support.gateway import console_behind_gateway, free_port, healthy_posture
from tests.support.identity import PASSWORD
from zerotrust.client import DeviceKey, ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.crypto.signing import SigningKey
from zerotrust.gateway.assertion import AssertionSigner
from zerotrust.identity.models import ClientInfo, Principal
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
PAGE = {"Accept": "text/html", "Sec-Fetch-Mode": "navigate"}
SCRIPT = {"Accept": "application/json", "Sec-Fetch-Mode": "cors"}


@dataclass
class Deployment:
    svc: Services
    clock: FixedClock
    gateway: str  # where the client connects
    origin: str  # the origin the browser sees (RP ID localhost)
    control_plane: str
    clients: list[httpx.Client]


@pytest.fixture
def deployment(tmp_path: Path, fast_hashing: PasswordHashing) -> Iterator[Deployment]:
    cp_port, gw_port = free_port(), free_port()
    control_plane, origin = f"http://127.0.0.1:{cp_port}", f"http://localhost:{gw_port}"
    clock = FixedClock(1_767_225_600.0)
    svc = build_services(
        Settings(
            data_dir=tmp_path,
            root_key=b64url_encode(secrets.token_bytes(32)),
            issuer=control_plane,
            origins=(origin,),
            rp_id="localhost",
            device_auto_approve=True,
        ),
        clock=clock,
        hashing=fast_hashing,
    )
    try:
        with console_behind_gateway(
            svc,
            cp_port=cp_port,
            gw_port=gw_port,
            # This machine plays a front proxy in one test (X-Forwarded-For).
            listen={"public_origins": [origin], "trusted_proxies": ["127.0.0.1/32"]},
            proxy_headers=False,
        ):
            dep = Deployment(svc, clock, f"http://127.0.0.1:{gw_port}", origin, control_plane, [])
            yield dep
            for client in dep.clients:
                client.close()
    finally:
        svc.close()


class Browser:
    """The console's pages, script and service worker, driven from Python."""

    def __init__(self, dep: Deployment) -> None:
        self.dep = dep
        self.http = httpx.Client(base_url=dep.gateway, follow_redirects=False, timeout=10)
        dep.clients.append(self.http)
        self.key = SigningKey.generate("ES256")
        self.csrf = ""

    def proof(self, method: str, path: str, key: SigningKey | None = None) -> str:
        return make_dpop_proof(
            key or self.key,
            method=method,
            url=self.dep.origin + path.split("?", maxsplit=1)[0],
            now=self.dep.clock.now(),
        )

    def page(self, path: str, *, proof: str | None = None, signed: bool = True) -> httpx.Response:
        """A page load: the service worker adds a proof once there is a session key."""
        headers = dict(PAGE)
        if signed:
            headers["DPoP"] = proof or self.proof("GET", path)
        response = self.http.get(path, headers=headers)
        found = _CSRF.search(response.text)
        if found and found.group(1):
            self.csrf = found.group(1)
        return response

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        headers = {
            **SCRIPT,
            "DPoP": self.proof("POST", path),
            "X-CSRF-Token": self.csrf,
            "Origin": self.dep.origin,
        }
        return self.http.post(path, json=body or {}, headers=headers)

    def sign_in(self, who: Person, *, agent: ZTClient | None = None) -> None:
        passkey_sign_in(self, self.http, who.principal.name, who.passkey, agent=agent)


@dataclass
class Person:
    principal: Principal
    passkey: SoftAuthenticator


def person(dep: Deployment, name: str, roles: tuple[str, ...]) -> Person:
    principal = dep.svc.admin.create_user(name, roles=roles, password=PASSWORD, actor="test")
    return Person(principal, console_passkey(dep.svc, principal, dep.origin))


def agent(dep: Deployment, who: Person) -> ZTClient:
    """The person's device agent, talking to the control plane, enrolled and healthy."""
    codes = dep.svc.admin.new_recovery_codes(who.principal, actor="test")
    zc = ZTClient(dep.control_plane, DeviceKey.generate(), clock=dep.clock.now)
    zc.login(who.principal.name, PASSWORD, recovery_code=codes[0])
    zc.enroll("laptop", healthy_posture(dep.clock.now()))
    return zc


def test_the_ways_in_are_public_and_pages_send_a_stranger_to_sign_in(
    deployment: Deployment,
) -> None:
    http = httpx.Client(base_url=deployment.gateway, follow_redirects=False)
    deployment.clients.append(http)
    assert http.get("/console/signin", headers=PAGE).status_code == 200
    assert http.get("/console/static/session-key.js").status_code == 200
    worker = http.get("/console/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    page = http.get("/console/alerts", headers=PAGE)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/signin?next=/console/alerts&why=invalid_token"
    fetched = http.get("/console/alerts", headers=SCRIPT)
    assert fetched.status_code == 401
    assert fetched.headers["content-type"] == "application/problem+json"


def test_a_signed_in_browser_reaches_each_page_through_the_gateway(
    deployment: Deployment,
) -> None:
    dep, browser = deployment, Browser(deployment)
    ada = person(dep, "ada", ("admin", "compliance_officer"))
    with agent(dep, ada) as laptop:
        browser.sign_in(ada, agent=laptop)
    for path in ("/console/", "/console/alerts", "/console/principals", "/console/audit"):
        answer = browser.page(path)
        assert answer.status_code == 200, (path, answer.text[:300])
        assert answer.headers["x-correlation-id"].startswith("req_")
    # Each load was a gateway decision on the console, with the linked device's trust.
    decisions = [
        e
        for e in audited(dep.svc, "authz.decision")
        if e["resource"] == "Report:console" and e["actor"] == f"User:{ada.principal.id}"
    ]
    assert len(decisions) >= 4
    assert decisions[-1]["outcome"] == "allowed"
    assert decisions[-1]["details"]["route"] == "console"
    assert decisions[-1]["device_id"] == dep.svc.devices.list(ada.principal.id)[0].id
    # An action: the script's own proof, verified (and spent) by the gateway.
    explained = browser.post(
        "/console/policies/explain",
        {
            "principal": ada.principal.id,
            "action": "read",
            "resource_type": "Report",
            "resource_id": "compliance",
            "aal": 3,
            "auth_age_s": 10,
            "device_trust": "high",
            "device_enrolled": True,
            "patch_age_days": 2,
            "risk_level": "low",
            "country": "GB",
            "hour_local": 10,
        },
    )
    assert explained.status_code == 200, explained.text
    # The live-update stream: one verified snapshot per request.
    stream = browser.http.get(
        "/console/events",
        headers={"Accept": "text/event-stream", "DPoP": browser.proof("GET", "/console/events")},
    )
    assert stream.status_code == 200
    assert stream.text.startswith("retry: 2000")
    assert stream.text.count("event: overview") == 1


def test_the_cookie_alone_gets_nothing(deployment: Deployment) -> None:
    dep, browser = deployment, Browser(deployment)
    ada = person(dep, "ada", ("compliance_officer",))  # reports need no linked device
    browser.sign_in(ada)
    assert browser.page("/console/").status_code == 200
    unsigned = browser.page("/console/", signed=False)
    assert unsigned.status_code == 303
    assert "why=invalid_dpop_proof" in unsigned.headers["location"]
    # A thief with the cookie signs with a key of their own: the session is not bound to it.
    thief = browser.page(
        "/console/", proof=browser.proof("GET", "/console/", SigningKey.generate("ES256"))
    )
    assert thief.status_code == 303
    # A proof is good once.
    proof = browser.proof("GET", "/console/")
    assert browser.page("/console/", proof=proof).status_code == 200
    assert browser.page("/console/", proof=proof).status_code == 303
    reasons = {e["reason"] for e in audited(dep.svc, "auth.rejected")}
    assert {"missing_proof", "dpop_key_mismatch", "replayed"} <= reasons


def test_the_control_plane_refuses_what_did_not_come_through_the_gateway(
    deployment: Deployment,
) -> None:
    dep, browser = deployment, Browser(deployment)
    ada = person(dep, "ada", ("admin",))
    browser.sign_in(ada)
    cookie = browser.http.cookies.get("ztc")
    assert cookie
    direct = httpx.get(
        f"{dep.control_plane}/console/",
        headers={"Cookie": f"ztc={cookie}", "DPoP": browser.proof("GET", "/console/")},
    )
    assert direct.status_code == 403
    assert direct.json()["code"] == "gateway_required"
    # An assertion of the client's own making is stripped by the gateway, and worthless
    # at the control plane: it must be signed by the token issuer's key.
    forged = SigningKey.generate("EdDSA")
    from zerotrust.crypto.jwt import encode_jwt

    claims = {"iss": dep.control_plane, "aud": "console", "sub": ada.principal.id,
              "iat": int(dep.clock.now()), "exp": int(dep.clock.now()) + 60}  # fmt: skip
    token = encode_jwt(claims, forged, typ="zt-identity+jwt")
    direct = httpx.get(f"{dep.control_plane}/console/", headers={"zt-identity": token})
    assert direct.status_code == 403
    reasons = [e["reason"] for e in audited(dep.svc, "auth.rejected")]
    assert "gateway_assertion_missing" in reasons
    assert any(
        r.startswith("gateway_assertion_") and r != "gateway_assertion_missing" for r in reasons
    )
    # The device agent's link call is the one console path it answers directly.
    assert httpx.post(f"{dep.control_plane}/console/link", json={}).status_code == 401


def test_no_console_role_is_the_gateways_403_page(deployment: Deployment) -> None:
    dep, browser = deployment, Browser(deployment)
    fred = person(dep, "fred", ("fraud_analyst",))
    browser.sign_in(fred)
    page = browser.page("/console/alerts")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "<code>no-applicable-policy</code>" in page.text  # the policy's reason
    assert 'href="/console/signin"' in page.text
    assert "Alerts" not in page.text  # nothing of the console itself
    fetched = browser.http.get(
        "/console/alerts", headers={**SCRIPT, "DPoP": browser.proof("GET", "/console/alerts")}
    )
    assert fetched.status_code == 403
    assert fetched.json()["code"] == "access_denied"


def test_a_revoked_session_is_sent_to_sign_in_on_its_next_page(deployment: Deployment) -> None:
    dep, browser = deployment, Browser(deployment)
    ada = person(dep, "ada", ("compliance_officer",))
    browser.sign_in(ada)
    assert browser.page("/console/principals").status_code == 200
    dep.svc.sessions.revoke_all(ada.principal.id, actor="test", reason="test")
    page = browser.page("/console/principals")
    assert page.status_code == 303
    assert page.headers["location"].endswith("why=invalid_token")
    signin = browser.page(page.headers["location"], signed=False)
    assert signin.status_code == 200
    assert "sign in again" in signin.text
    assert 'data-resume="true"' not in signin.text  # the page does not bounce back


def test_the_console_sees_the_browsers_address_not_the_gateways(deployment: Deployment) -> None:
    dep, browser = deployment, Browser(deployment)
    browser.http.headers["X-Forwarded-For"] = "81.2.69.142"  # from the trusted front proxy
    chloe = person(dep, "chloe", ("compliance_officer",))
    browser.sign_in(chloe)
    assert browser.page("/console/keys").status_code == 200
    pages = [
        e
        for e in audited(dep.svc, "authz.decision")
        if e["resource"] == "Report:key-inventory" and e["actor"] == f"User:{chloe.principal.id}"
    ]
    assert pages
    assert {e["src_ip"] for e in pages} == {"81.2.69.142"}  # the console's own decision
    signins = audited(dep.svc, "console.signin")
    assert signins[-1]["src_ip"] == "81.2.69.142"


def test_an_assertion_for_another_session_does_not_open_this_cookies_pages(
    deployment: Deployment,
) -> None:
    """A gateway assertion (genuinely signed) that names one session never serves the
    pages of another session's cookie: the console checks they are the same."""
    dep, browser = deployment, Browser(deployment)
    chloe = person(dep, "chloe", ("compliance_officer",))
    browser.sign_in(chloe)
    cookie = browser.http.cookies.get("ztc")
    other = dep.svc.sessions.open(
        chloe.principal, aal=3, amr=("hwk", "user", "mfa"), client=ClientInfo(jkt="k" * 43)
    )
    auth = dep.svc.sessions.authenticate(other.access_token, jkt="k" * 43)
    signer = AssertionSigner(dep.svc.tokens, dep.clock)
    token = signer.sign(
        auth, device_id=None, audience="console", correlation_id="req_x", client_ip="127.0.0.1"
    )
    headers = {"zt-identity": token, "Cookie": f"ztc={cookie}", "Accept": "text/html"}
    assert httpx.get(f"{dep.control_plane}/console/keys", headers=headers).status_code == 303
    own = dep.svc.sessions.resume(str(cookie))
    mine = signer.sign(
        own, device_id=None, audience="console", correlation_id="req_y", client_ip="127.0.0.1"
    )
    headers["zt-identity"] = mine
    assert httpx.get(f"{dep.control_plane}/console/keys", headers=headers).status_code == 200
