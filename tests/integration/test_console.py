"""The security console over HTTP: signing in with a passkey, the device link, the session
cookie, the PDP on every page, and what a page must never show.

``ConsoleBrowser`` plays the browser: a fresh ECDSA P-256 key per sign-in (the page's
non-extractable WebCrypto key), a software passkey, the cookie jar of a TestClient, the
page's CSRF token and a DPoP proof on every state-changing request.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.audit import audited
from tests.support.authenticator import SoftAuthenticator
from tests.support.console import console_passkey, passkey_sign_in, passkey_verify
from tests.support.gateway import healthy_posture
from tests.support.identity import PASSWORD, User, sign_in
from zerotrust.api.app import create_app
from zerotrust.client import ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.crypto.signing import SigningKey
from zerotrust.identity.models import Principal
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

BASE = "http://testserver"
ORIGIN = "http://localhost:8000"
PAGES = (
    "/console/",
    "/console/alerts",
    "/console/principals",
    "/console/audit",
    "/console/policies",
    "/console/access",
    "/console/keys",
    "/console/compliance",
)
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@dataclass
class Person:
    principal: Principal
    user: User
    passkey: SoftAuthenticator


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The console is storage-agnostic: SQLite is enough here."""
    return f"sqlite:///{tmp_path / 'zt.db'}"


@pytest.fixture
def product(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing, tmp_path: Path
) -> Iterator[Services]:
    """The real product (the Merkle audit log included), devices approved on enrolment,
    and brute-force detection that blocks the source and alerts."""
    detect = tmp_path / "console-detect.yaml"
    detect.write_text(
        "playbooks:\n  brute_force:\n    - {action: block_source, minutes: 30}\n"
        "    - {action: alert}\n"
        "  bulk_exfiltration:\n    - {action: revoke_sessions}\n    - {action: alert}\n"
    )
    svc = build_services(
        # These tests drive the console without a gateway in front (the development
        # setting); test_console_gateway.py drives it through one.
        replace(
            settings,
            device_auto_approve=True,
            detect_config=str(detect),
            console_via_gateway=False,
        ),
        clock=clock,
        hashing=fast_hashing,
    )
    yield svc
    svc.close()


@pytest.fixture
def web(product: Services) -> Iterator[TestClient]:
    with TestClient(create_app(product), raise_server_exceptions=False) as client:
        yield client


def person(svc: Services, name: str, roles: tuple[str, ...], *, uv: bool = True) -> Person:
    """A user with a password, TOTP and a console passkey in a software authenticator."""
    principal = svc.admin.create_user(name, roles=roles, password=PASSWORD, actor="test")
    secret, _ = svc.admin.enroll_totp(principal, actor="test", active=True)
    passkey = console_passkey(svc, principal, ORIGIN, user_verified=uv)
    return Person(principal, User(principal, PASSWORD, secret), passkey)


def agent(web: TestClient, who: Person, clock: FixedClock) -> ZTClient:
    """The person's device agent: signed in with password and TOTP, enrolled, healthy."""
    zc = sign_in(web, who.user, clock)
    zc.enroll("laptop", healthy_posture(clock.now()))
    return zc


class ConsoleBrowser:
    """What the console's pages and script do, driven from Python."""

    def __init__(self, web: TestClient, clock: FixedClock) -> None:
        self.web = web
        self.clock = clock
        self.key = SigningKey.generate("ES256")
        self.csrf = ""

    def proof(self, path: str, method: str = "POST", key: SigningKey | None = None) -> str:
        return make_dpop_proof(
            key or self.key, method=method, url=BASE + path, now=self.clock.now()
        )

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        csrf: str | None = None,
        proof: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = {
            "DPoP": proof or self.proof(path),
            "X-CSRF-Token": self.csrf if csrf is None else csrf,
        }
        return self.web.post(path, json=body or {}, headers={**sent, **(headers or {})})

    def get(self, path: str) -> httpx.Response:
        response = self.web.get(path, follow_redirects=False)
        found = _CSRF.search(response.text)
        if found and found.group(1):
            self.csrf = found.group(1)
        return response

    def verify(self, who: Person, *, username: str | None = None) -> httpx.Response:
        """Steps 1-2: options and the assertion, with a new browser key."""
        return passkey_verify(self, self.web, username or who.principal.name, who.passkey)

    def sign_in(self, who: Person, *, device: ZTClient | None = None) -> None:
        passkey_sign_in(self, self.web, who.principal.name, who.passkey, agent=device)
        assert self.get("/console/").status_code in (200, 403)

    def step_up(self, who: Person) -> httpx.Response:
        options = self.post("/console/stepup/options")
        assert options.status_code == 200, options.text
        verified = self.post(
            "/console/stepup/verify", {"credential": who.passkey.get(options.json())}
        )
        if verified.status_code == 200:
            self.csrf = verified.json()["csrf"]
        return verified


def signed_in(
    web: TestClient, svc: Services, clock: FixedClock, name: str, roles: tuple[str, ...]
) -> tuple[ConsoleBrowser, Person]:
    who = person(svc, name, roles)
    browser = ConsoleBrowser(web, clock)
    browser.sign_in(who, device=agent(web, who, clock))
    return browser, who


# -- signing in ---------------------------------------------------------------------------


def test_every_page_sends_the_signed_out_to_sign_in(web: TestClient) -> None:
    for page in PAGES:
        response = web.get(page, follow_redirects=False)
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/console/signin?next=")
    action = web.post("/console/sessions/ses_x/revoke", json={})
    assert action.status_code == 401
    assert action.json()["code"] == "not_signed_in"


def test_sign_in_with_a_passkey_and_a_linked_device(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    page = browser.get("/console/principals")
    assert page.status_code == 200
    assert "ada" in page.text
    cookie = web.cookies.get("ztc")
    session = product.sessions.sessions.get(
        product.sessions.sessions.refresh_token(_digest(cookie)).session_id  # type: ignore[union-attr]
    )
    assert session is not None
    assert session.aal == 3
    assert session.device_id is not None  # the agent's device
    assert session.jkt != product.devices.get(session.device_id).jkt  # bound to the browser
    signins = audited(product, "console.signin")
    assert signins[-1]["details"]["device_linked"] is True
    assert audited(product, "console.device_link")[-1]["outcome"] == "success"


def _digest(value: str | None) -> str:
    from zerotrust.core.ids import token_digest

    return token_digest(value or "")


def test_the_session_cookie_is_opaque_http_only_and_strict(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    who = person(product, "ada", ("admin",))
    browser = ConsoleBrowser(web, clock)
    browser.verify(who)
    done = browser.post("/console/signin/complete", {"without_device": True})
    header = next(h for h in done.headers.get_list("set-cookie") if h.startswith("ztc="))
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    assert "Path=/console" in header
    assert set(done.json()) == {"status", "next"}  # no token in the body, ever
    handle = header.split(";")[0].split("=", 1)[1]
    assert not handle.startswith("eyJ")  # not a JWT
    assert product.sessions.sessions.refresh_token(_digest(handle)) is not None


def test_unknown_names_get_options_shaped_like_real_ones(
    web: TestClient, product: Services
) -> None:
    person(product, "ada", ("admin",))
    real = web.post("/console/signin/options", json={"username": "ada"}).json()
    fake = web.post("/console/signin/options", json={"username": "nobody"}).json()
    again = web.post("/console/signin/options", json={"username": "nobody"}).json()
    assert set(real) == set(fake)
    assert fake["userVerification"] == real["userVerification"] == "required"
    assert fake["allowCredentials"][0]["id"] == again["allowCredentials"][0]["id"]
    assert fake["challenge"] != again["challenge"]


def test_a_passkey_without_user_verification_is_refused(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    who = person(product, "ada", ("admin",), uv=False)
    refused = ConsoleBrowser(web, clock).verify(who)
    assert refused.status_code == 400
    assert refused.json()["code"] == "webauthn_rejected"
    assert "ztc_pending" not in refused.headers.get("set-cookie", "")


def test_sign_in_needs_a_proof_by_the_browser_key(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    who = person(product, "ada", ("admin",))
    options = web.post("/console/signin/options", json={"username": "ada"}).json()
    body = {"username": "ada", "credential": who.passkey.get(options)}
    refused = web.post("/console/signin/verify", json=body)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_dpop_proof"


def test_completing_needs_the_key_that_started(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    who = person(product, "ada", ("admin",))
    browser = ConsoleBrowser(web, clock)
    assert browser.verify(who).status_code == 200
    thief = SigningKey.generate("ES256")
    stolen = browser.post(
        "/console/signin/complete",
        {"without_device": True},
        proof=browser.proof("/console/signin/complete", key=thief),
    )
    assert stolen.status_code == 401
    assert "ztc=" not in stolen.headers.get("set-cookie", "")


def test_the_link_is_confirmed_only_by_the_same_persons_enrolled_device(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    ada = person(product, "ada", ("admin",))
    bob = person(product, "bob", ("admin",))
    browser = ConsoleBrowser(web, clock)
    code = browser.verify(ada).json()["code"]
    bobs_agent = agent(web, bob, clock)
    assert bobs_agent.request("POST", "/console/link", json={"code": code}).status_code == 404
    bare = sign_in(web, ada.user, clock)  # signed in, but no enrolled device
    assert bare.request("POST", "/console/link", json={"code": code}).status_code == 403
    wrong = agent(web, ada, clock).request("POST", "/console/link", json={"code": "AAAA-AAAA"})
    assert wrong.status_code == 404
    assert [e["reason"] for e in audited(product, "console.device_link")] == [
        "unknown_code",
        "unknown_code",
    ]
    waiting = browser.post("/console/signin/complete")
    assert waiting.json()["status"] == "waiting"


# -- the PDP on every page ----------------------------------------------------------------


def test_a_role_without_permission_gets_403_pages_and_no_data(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    product.alerts.add(_alert("mallory", "secret detail of an alert"))
    browser, _ = signed_in(web, product, clock, "fay", ("fraud_analyst",))
    for page in PAGES:
        response = browser.get(page)
        assert response.status_code == 403, page
        assert "Not allowed" in response.text
        assert "secret detail of an alert" not in response.text
    denied = [e for e in audited(product, "authz.decision") if e["outcome"] == "denied"]
    assert len(denied) >= len(PAGES)  # every refusal is a decision in the audit log


def test_compliance_officers_read_reports_but_change_nothing(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "carol", ("compliance_officer",))
    for page in ("/console/", "/console/alerts", "/console/audit", "/console/keys"):
        assert browser.get(page).status_code == 200, page
    sessions = product.sessions.sessions.for_principal(browser_principal(product, "carol"))
    refused = browser.post(f"/console/sessions/{sessions[0].id}/revoke")
    assert refused.status_code == 403
    assert refused.json()["code"] == "policy_denied"


def browser_principal(svc: Services, name: str) -> str:
    return svc.admin.get(name).id


def test_an_unlinked_browser_is_an_unknown_device(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    admin = person(product, "ada", ("admin",))
    browser = ConsoleBrowser(web, clock)
    browser.sign_in(admin)  # without a device
    refused = browser.get("/console/principals")
    assert refused.status_code == 403
    assert "device-untrusted" in refused.text or "device-not-enrolled" in refused.text, (
        refused.text[-2500:]
    )
    officer = person(product, "carol", ("compliance_officer",))
    reports = ConsoleBrowser(web, clock)
    reports.sign_in(officer)
    assert reports.get("/console/keys").status_code == 200  # reports need no device
    assert reports.get("/console/audit").status_code == 403


def test_pages_never_show_secrets(web: TestClient, product: Services, clock: FixedClock) -> None:
    browser, who = signed_in(web, product, clock, "ada", ("admin", "compliance_officer"))
    handle = web.cookies.get("ztc") or ""
    agent_tokens = sign_in(web, who.user, clock).tokens
    pages = [browser.get(p).text for p in PAGES]
    pages.append(browser.get(f"/console/principals/{who.principal.id}").text)
    for text in pages:
        assert handle not in text
        assert agent_tokens["access_token"] not in text
        assert agent_tokens["refresh_token"] not in text
        assert who.user.totp_secret not in text
        assert PASSWORD not in text
        assert "eyJ" not in text  # no JWT of any kind


def test_untrusted_text_is_escaped(web: TestClient, product: Services, clock: FixedClock) -> None:
    product.alerts.add(_alert("mallory", "<script>alert(1)</script>"))
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    page = browser.get("/console/alerts").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_security_headers(web: TestClient) -> None:
    page = web.get("/console/signin")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text  # every script is a file


def _alert(principal: str, explanation: str) -> Any:
    from zerotrust.detect.alerts import Alert

    return Alert(
        id="alt_" + "0" * 32,
        ts=1_767_225_600.0,
        detector="privilege_probing",
        severity="high",
        principal=principal,
        event_id="evt_1",
        event_ids=("evt_1",),
        explanation=explanation,
    )


def test_starting_sign_ins_is_rate_limited_per_address(web: TestClient, product: Services) -> None:
    person(product, "ada", ("admin",))
    answers = [
        web.post("/console/signin/options", json={"username": "ada"}).status_code for _ in range(31)
    ]
    assert answers[:30] == [200] * 30
    assert answers[30] == 429


def test_enrolling_a_passkey_takes_password_code_and_the_same_browser_key(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    principal = product.admin.create_user("eve", roles=("admin",), password=PASSWORD, actor="t")
    secret, _ = product.admin.enroll_totp(principal, actor="t", active=True)
    browser = ConsoleBrowser(web, clock)
    wrong = browser.post(
        "/console/enrol/password", {"username": "eve", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == 401
    assert (
        browser.post(
            "/console/enrol/password", {"username": "eve", "password": PASSWORD}
        ).status_code
        == 200
    )
    code = User(principal, PASSWORD, secret).code(clock)
    other = SigningKey.generate("ES256")
    stolen = browser.post(
        "/console/enrol/code", {"code": code}, proof=browser.proof("/console/enrol/code", key=other)
    )
    assert stolen.status_code == 401
    options = browser.post("/console/enrol/code", {"code": code})
    assert options.status_code == 200, options.text
    assert options.json()["authenticatorSelection"]["userVerification"] == "required"
    passkey = SoftAuthenticator("localhost", ORIGIN)
    done = browser.post("/console/enrol/passkey", {"credential": passkey.create(options.json())})
    assert done.status_code == 200, done.text
    assert audited(product, "mfa.webauthn_enrol")[-1]["actor"] == principal.id
    # The session the second factor opened was ended at once: enrolment signs nobody in.
    assert all(
        s.revoked_at is not None for s in product.sessions.sessions.for_principal(principal.id)
    )
    fresh = ConsoleBrowser(web, clock)
    fresh.sign_in(Person(principal, User(principal, PASSWORD, secret), passkey))
