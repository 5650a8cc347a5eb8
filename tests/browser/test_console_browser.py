"""The console in a real Chromium, served through the gateway: enrol and sign in with a
passkey (virtual WebAuthn authenticator, user verification), link the device, check that
every page load is signed and decided at the gateway, see the alert detection raised
from a prober's real denials at the gateway, step up and revoke the session it names,
verify an audit entry's proof in the page, and run a what-if. Each page is photographed
on the way.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import LiveServer
from tests.support.audit import audited
from tests.support.gateway import healthy_posture
from zerotrust.client import DeviceKey, ZTClient
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.core.events import SecurityEvent
from zerotrust.demo.session import via
from zerotrust.identity.models import ClientInfo, Principal

pytestmark = pytest.mark.browser

PASSWORD = "cobalt-heron-ledger-91"
VIEWPORT = {"width": 1366, "height": 860}  # a laptop screen


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.base, viewport=VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("dialog", lambda dialog: dialog.accept())  # the confirm() before an action
    cdp = context.new_cdp_session(tab)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    try:
        yield tab
    finally:
        context.close()


def _probing_through_the_gateway(live: LiveServer) -> tuple[Principal, str]:
    """Mallory, a fraud analyst on her enrolled laptop, tries what her role never allows,
    for real, through the gateway: each request is denied there, the gateway publishes
    the denials, and the privilege-probing detector raises an alert naming her session."""
    svc = live.services
    mallory = svc.admin.create_user(
        "mallory", roles=("fraud_analyst",), password=PASSWORD, actor="test"
    )
    codes = svc.admin.new_recovery_codes(mallory, actor="test")
    with ZTClient(live.control_plane, DeviceKey.generate()) as laptop:
        laptop.login("mallory", PASSWORD, recovery_code=codes[0])
        laptop.enroll("mallory-laptop", healthy_posture(time.time()))
        with via(laptop, live.gateway) as probe:
            for method, path in [
                ("GET", "/api/customers/cust-7"),
                ("POST", "/api/exports/all"),
                ("GET", "/admin/roles/admin"),
                ("GET", "/api/audit"),
                ("POST", "/api/detokenize/cust-7"),
            ]:
                assert probe.request(method, path).status_code in (401, 403)
        session_id = str(svc.tokens.verify(laptop.tokens["access_token"])["sid"])
    deadline = time.monotonic() + 10
    while not any(a.detector == "privilege_probing" for a in svc.alerts.list()):
        assert time.monotonic() < deadline, "no alert from the gateway's denials"
        time.sleep(0.1)
    return mallory, session_id


def _background(live: LiveServer) -> None:
    """Other traffic for the overview: allowed reads, a brute-force burst, vault keys."""
    svc = live.services
    for i in range(12):
        svc.events.emit(
            SecurityEvent.at(
                time.time(),
                kind="access",
                principal=f"analyst{i % 3}",
                principal_roles=("fraud_analyst",),
                outcome="allowed",
                src_ip="10.1.2.3",
                action="read",
                resource_type="Transaction",
                resource=f"t-{i}",
            )
        )
    svc.admin.create_user("bob", roles=("support_agent",), password=PASSWORD, actor="test")
    attacker = ClientInfo(src_ip="203.0.113.7", user_agent="stuffer/2.1")
    for _ in range(10):
        with contextlib.suppress(AuthenticationFailed):  # every guess is refused
            svc.authenticator.login("bob", "Winter2025!-guess", attacker)
    for subject in range(5):
        svc.vault.keys.encryption_key("acme", f"cust-{subject}")
    svc.vault.keys.rotate(actor="test")
    svc.vault.keys.rewrap_batch(after=0, limit=2)  # a rewrap under way
    dev = svc.admin.create_user("dev", roles=("developer",), password=PASSWORD, actor="test")
    svc.grants.request(
        principal_id=dev.id,
        action="read",
        resource_type="Database",
        resource_id="db-payments",
        duration_s=7200,
        justification="INC-4711: reconcile failed payouts",
    )


def _enrol(page: Any, secret: str) -> None:
    page.goto("/console/enrol")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Verify code").click()
    page.get_by_role("button", name="Create passkey").click()
    page.locator("#enrol-done").wait_for(state="visible")


def _agent(live: LiveServer, admin: Principal) -> ZTClient:
    """Ada's device agent: signed in (recovery code), enrolled with healthy posture."""
    codes = live.services.admin.new_recovery_codes(admin, actor="test")
    zc = ZTClient(live.control_plane, DeviceKey.generate())
    zc.login("ada", PASSWORD, recovery_code=codes[0])
    zc.enroll("ada-laptop", healthy_posture(time.time()))
    return zc


def _sign_in(page: Any, agent: ZTClient, shots: Path) -> None:
    page.goto("/console/signin")
    page.get_by_label("Username").fill("ada")
    page.get_by_role("button", name="Sign in with a passkey").click()
    code = page.locator("#link-code")
    code.wait_for(state="visible")
    page.screenshot(path=str(shots / "signin.png"))
    linked = agent.request("POST", "/console/link", json={"code": code.inner_text()})
    assert linked.status_code == 200, linked.text
    page.wait_for_url("**/console/")


def _only_through_the_gateway(page: Any, browser: Any, live: LiveServer) -> None:
    """Every page load is signed by the service worker with the session's key; the cookie
    alone, in another browser, gets the sign-in page; the control plane refuses all."""
    assert page.evaluate("navigator.serviceWorker.controller !== null")
    before = len(_gateway_decisions(live))
    page.goto("/console/principals")
    page.get_by_role("heading", name="Principals").first.wait_for()
    assert len(_gateway_decisions(live)) > before  # the load was a gateway decision
    thief = browser.new_context(base_url=live.base)
    try:
        thief.add_cookies(page.context.cookies())
        stolen = thief.new_page()
        stolen.goto("/console/principals")
        assert "/console/signin?next=/console/principals&why=" in stolen.url
    finally:
        thief.close()
    direct = page.request.get(f"{live.control_plane}/console/principals")
    assert direct.status == 403
    assert direct.json()["code"] == "gateway_required"


def _gateway_decisions(live: LiveServer) -> list[dict[str, Any]]:
    decisions = audited(live.services, "authz.decision")
    return [e for e in decisions if e["resource"] == "Report:console"]


def test_console_end_to_end(
    page: Any,
    browser: Any,
    live_server: LiveServer,
    shots: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    svc = live_server.services
    admin = svc.admin.create_user(
        "ada",
        roles=("admin", "compliance_officer"),
        password=PASSWORD,
        display_name="Ada Lovelace",
        actor="test",
    )
    secret, _ = svc.admin.enroll_totp(admin, actor="test", active=True)
    _enrol(page, secret)
    with _agent(live_server, admin) as agent:
        _sign_in(page, agent, shots)
    _only_through_the_gateway(page, browser, live_server)
    _background(live_server)
    _, suspect_session = _probing_through_the_gateway(live_server)
    time.sleep(1.0)  # a second second of decisions on the chart

    # Overview, kept live by server-sent events.
    page.goto("/console/")
    page.locator("#live-state", has_text="Live · updated").wait_for()  # an SSE snapshot came
    first = page.locator("#live-state").inner_text()
    page.wait_for_function(  # and another: the stream reconnects through the gateway
        "t => document.getElementById('live-state').textContent !== t", arg=first, timeout=8000
    )
    assert "Live · updated" in page.locator("#live-state").inner_text()
    assert int(page.locator("#open-count").inner_text()) >= 2
    page.screenshot(path=str(shots / "overview.png"))

    # Alerts: the probing alert names mallory's session; revoke it after a step-up.
    page.goto("/console/alerts")
    page.screenshot(path=str(shots / "alerts.png"))
    page.get_by_role("link", name="privilege_probing").click()
    page.get_by_role("heading", name="Session it names").wait_for()
    assert suspect_session in page.content()
    page.screenshot(path=str(shots / "alert.png"), full_page=True)
    monkeypatch.setattr("zerotrust.console.guard.FRESH_S", 3)
    time.sleep(3.5)  # the sign-in verification is now older than the freshness window
    page.get_by_role("button", name="Revoke this session").click()
    page.get_by_role("dialog", name="Confirm it is you").wait_for()
    page.get_by_role("button", name="Verify with passkey").click()
    page.locator("#status", has_text="Session revoked.").wait_for()
    revoked = svc.sessions.sessions.get(suspect_session)
    assert revoked is not None
    assert revoked.revoked_reason == "console_revoke"
    monkeypatch.undo()
    page.locator("#named-session-state", has_text="ended").wait_for()

    # Principals.
    page.goto("/console/principals")
    page.screenshot(path=str(shots / "principals.png"))
    page.get_by_role("link", name="ada", exact=True).click()
    page.get_by_role("heading", name="Devices and posture").wait_for()
    page.screenshot(path=str(shots / "principal.png"), full_page=True)

    # Audit: find the revocation and verify its inclusion proof in the page.
    page.goto("/console/audit?action=session.revoke")
    page.get_by_role("button", name="Verify").first.click()
    result = page.locator(".proof-result.ok").first
    result.wait_for()
    assert "included in the signed tree" in result.inner_text()
    assert "signature valid" in result.inner_text()
    page.screenshot(path=str(shots / "audit.png"))

    # Policies: explain a decision, then what-if without the people's permits.
    page.goto("/console/policies")
    page.get_by_label("Principal").select_option(label="mallory (fraud_analyst)")
    page.get_by_label("Resource type").select_option("Transaction")
    page.get_by_role("button", name="Decide and explain").click()
    page.locator("#explain-result .decision").wait_for()
    assert "allow" in page.locator("#explain-result").inner_text()
    page.get_by_label("File", exact=True).fill("30-people.cedar")
    page.keyboard.press("Tab")  # the page loads that file's text into the editor
    assert (
        "fraud-analyst-read"
        in page.get_by_label("Proposed text (empty removes the file)").input_value()
    )
    page.get_by_label("Proposed text (empty removes the file)").fill("")
    page.get_by_role("button", name="Replay decisions").click()
    flips = page.locator("#whatif-flips")
    flips.wait_for()
    assert int(flips.inner_text()) >= 1, (
        page.locator("#whatif-result").inner_text() + page.locator("#explain-result").inner_text()
    )
    page.screenshot(path=str(shots / "policies.png"), full_page=True)

    # Access: approve the developer's request (a second person), start a review.
    page.goto("/console/access")
    page.get_by_role("button", name="Approve").click()
    page.locator("#status", has_text="Grant approved").wait_for()
    page.get_by_text("Nothing is waiting.").wait_for()  # the page reloaded
    assert [g.status for g in svc.grants.find()] == ["approved"]
    page.get_by_label("New campaign").fill("Q4 access review")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url("**/console/access?campaign=*")
    page.get_by_role("heading", name="Q4 access review").wait_for()
    page.screenshot(path=str(shots / "access.png"), full_page=True)

    # Keys and compliance.
    page.goto("/console/keys")
    page.get_by_role("heading", name="Rewrap progress").wait_for()
    page.screenshot(path=str(shots / "keys.png"))
    inventory = Path(__file__).resolve().parents[2] / "examples" / "dataflow.yaml"
    monkeypatch.setenv("ZT_DATAFLOW_INVENTORY", str(inventory))
    page.goto("/console/compliance?framework=pci")
    page.get_by_role("heading", name="Data-flow map").wait_for()
    page.wait_for_function("document.querySelector('img.map')?.complete")
    assert page.evaluate("document.querySelector('img.map').naturalWidth") > 0
    page.screenshot(path=str(shots / "compliance.png"))
    page.locator("img.map").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "dataflow.png"))

    # Signing out ends the session and drops the key.
    page.goto("/console/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/console/signin")
