"""Two control-plane replicas over one database (SQLite and PostgreSQL), no sticky
sessions: a console sign-in or enrolment started on one continues on the other, each step
happens once whichever replica takes it, ceremony starts are counted across both, and
the console's live figures count every process's decisions."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.support.audit import audited
from tests.support.authenticator import SoftAuthenticator
from tests.support.concurrency import two_processes
from tests.support.console import console_passkey, passkey_verify
from tests.support.gateway import healthy_posture
from tests.support.identity import PASSWORD, User, sign_in
from zerotrust.api.app import create_app
from zerotrust.console.app import create_console
from zerotrust.core.clock import FixedClock
from zerotrust.core.events import SecurityEvent
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.crypto.signing import SigningKey
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

BASE = "http://testserver"
ORIGIN = "http://localhost:8000"


@pytest.fixture
def replicas(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing
) -> Iterator[tuple[Services, Services]]:
    shared = dataclasses.replace(settings, device_auto_approve=True, console_via_gateway=False)
    with two_processes(lambda: build_services(shared, clock=clock, hashing=fast_hashing)) as pair:
        yield pair


@pytest.fixture
def webs(replicas: tuple[Services, Services]) -> Iterator[tuple[TestClient, TestClient]]:
    a, b = replicas
    with (
        TestClient(create_app(a), raise_server_exceptions=False) as web_a,
        TestClient(create_app(b), raise_server_exceptions=False) as web_b,
    ):
        yield web_a, web_b


class RoamingBrowser:
    """One browser (one key, one cookie jar) whose requests a load balancer sends to
    whichever replica it likes."""

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.key = SigningKey.generate("ES256")
        self.cookies = httpx.Cookies()
        self.web: TestClient | None = None

    def at(self, web: TestClient) -> RoamingBrowser:
        self.web = web
        return self

    def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        assert self.web is not None
        proof = make_dpop_proof(self.key, method="POST", url=BASE + path, now=self.clock.now())
        self.web.cookies = self.cookies
        response = self.web.post(path, json=body or {}, headers={"DPoP": proof})
        self.cookies = httpx.Cookies(self.web.cookies)
        return response

    def get(self, path: str) -> httpx.Response:
        assert self.web is not None
        self.web.cookies = self.cookies
        return self.web.get(path, follow_redirects=False)


def test_a_sign_in_moves_between_replicas(
    webs: tuple[TestClient, TestClient],
    replicas: tuple[Services, Services],
    clock: FixedClock,
) -> None:
    web_a, web_b = webs
    svc_a, _ = replicas
    principal = svc_a.admin.create_user("ada", roles=("admin",), password=PASSWORD, actor="t")
    secret, _ = svc_a.admin.enroll_totp(principal, actor="t", active=True)
    passkey = console_passkey(svc_a, principal, ORIGIN)
    agent = sign_in(web_b, User(principal, PASSWORD, secret), clock)  # its agent, on B
    agent.enroll("laptop", healthy_posture(clock.now()))
    browser = RoamingBrowser(clock)

    verified = passkey_verify(browser.at(web_a), web_a, "ada", passkey)  # started on A
    assert verified.status_code == 200, verified.text
    waiting = browser.at(web_b).post("/console/signin/complete")  # polled on B
    assert waiting.json()["status"] == "waiting"
    linked = agent.request("POST", "/console/link", json={"code": verified.json()["code"]})
    assert linked.status_code == 200, linked.text  # confirmed on B
    again = agent.request("POST", "/console/link", json={"code": verified.json()["code"]})
    assert again.status_code == 409
    done = browser.at(web_a).post("/console/signin/complete")  # completed on A
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "signed_in"
    assert browser.at(web_b).get("/console/principals").status_code == 200  # served by B
    # Single use, whichever replica is asked next.
    replay = RoamingBrowser(clock)
    replay.key, replay.cookies = browser.key, httpx.Cookies(browser.cookies)
    replay.cookies.set("ztc_pending", _pending_cookie(done, verified), path="/console")
    assert replay.at(web_b).post("/console/signin/complete").status_code == 401


def _pending_cookie(*responses: httpx.Response) -> str:
    for response in responses:
        value = response.cookies.get("ztc_pending")
        if value:
            return value
    raise AssertionError("no ceremony cookie was set")


def test_an_enrolment_moves_between_replicas(
    webs: tuple[TestClient, TestClient], replicas: tuple[Services, Services], clock: FixedClock
) -> None:
    web_a, web_b = webs
    svc_a, svc_b = replicas
    principal = svc_a.admin.create_user("eve", roles=("admin",), password=PASSWORD, actor="t")
    secret, _ = svc_a.admin.enroll_totp(principal, actor="t", active=True)
    browser = RoamingBrowser(clock)
    password = browser.at(web_a).post(
        "/console/enrol/password", {"username": "eve", "password": PASSWORD}
    )
    assert password.status_code == 200, password.text
    assert "ztc_enrol_mfa" in password.cookies  # the second factor's token stays with it
    code = User(principal, PASSWORD, secret).code(clock)
    options = browser.at(web_b).post("/console/enrol/code", {"code": code})
    assert options.status_code == 200, options.text
    passkey = SoftAuthenticator("localhost", ORIGIN)
    done = browser.at(web_a).post(
        "/console/enrol/passkey", {"credential": passkey.create(options.json())}
    )
    assert done.status_code == 200, done.text
    assert audited(svc_b, "mfa.webauthn_enrol")[-1]["actor"] == principal.id
    again = browser.at(web_b).post(
        "/console/enrol/passkey", {"credential": passkey.create(options.json())}
    )
    assert again.status_code == 401  # the ceremony is over on every replica


def test_ceremony_starts_are_counted_across_replicas(
    webs: tuple[TestClient, TestClient], replicas: tuple[Services, Services]
) -> None:
    web_a, web_b = webs
    replicas[0].admin.create_user("ada", roles=("admin",), password=PASSWORD, actor="t")
    answers = [
        (web_a if i % 2 else web_b).post("/console/signin/options", json={"username": "ada"})
        for i in range(31)
    ]
    assert [a.status_code for a in answers[:30]] == [200] * 30
    assert answers[30].status_code == 429
    assert int(answers[30].headers["retry-after"]) > 0


def test_an_unknown_name_gets_the_same_decoy_from_every_replica(
    webs: tuple[TestClient, TestClient],
) -> None:
    web_a, web_b = webs
    ids = {
        web.post("/console/signin/options", json={"username": "nobody"}).json()["allowCredentials"][
            0
        ]["id"]
        for web in (web_a, web_b, web_a)
    }
    assert len(ids) == 1  # else comparing two replicas' answers tells who exists


def test_the_console_counts_every_processes_decisions(
    replicas: tuple[Services, Services], clock: FixedClock
) -> None:
    svc_a, svc_b = replicas
    live = create_console(svc_a).state.console
    decision = SecurityEvent.at(
        clock.now(),
        kind="access",
        principal="usr_x",
        outcome="allowed",
        action="read",
        resource_type="Transaction",
        resource="t1",
    )
    svc_b.events.emit(decision)  # a gateway replica's access decision, stored by it
    assert sum(live.meter.series()["allow"]) == 0
    svc_a.maintain()  # the control plane's upkeep brings the other processes' events
    assert live.meter.series()["allow"][-1] == 1
    assert live.events.get(decision.id) == decision  # an alert can show what tipped it


def test_the_code_step_needs_the_second_factor_token_the_browser_holds(
    webs: tuple[TestClient, TestClient], replicas: tuple[Services, Services], clock: FixedClock
) -> None:
    web_a, web_b = webs
    principal = replicas[0].admin.create_user("ivy", roles=("admin",), password=PASSWORD, actor="t")
    secret, _ = replicas[0].admin.enroll_totp(principal, actor="t", active=True)
    browser = RoamingBrowser(clock)
    started = browser.at(web_a).post(
        "/console/enrol/password", {"username": "ivy", "password": PASSWORD}
    )
    assert started.status_code == 200, started.text
    token = browser.cookies.get("ztc_enrol_mfa")
    assert token
    # The ceremony alone (its cookie, the browser key) does not pass the second factor.
    browser.cookies.delete("ztc_enrol_mfa")
    code = User(principal, PASSWORD, secret).code(clock)
    without = browser.at(web_b).post("/console/enrol/code", {"code": code})
    assert without.status_code == 401
    browser.cookies.set("ztc_enrol_mfa", token[::-1], path="/console")  # a forged one
    assert browser.at(web_b).post("/console/enrol/code", {"code": code}).status_code == 401
    browser.cookies.set("ztc_enrol_mfa", token, path="/console")
    options = browser.at(web_a).post("/console/enrol/code", {"code": code})
    assert options.status_code == 200, options.text
