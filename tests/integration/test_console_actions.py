"""Console actions: forgery defences, step-up, and what each page's actions do."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient
from starlette.routing import Mount

from tests.integration.test_console import (  # the fixtures are shared by import
    ConsoleBrowser,
    agent,
    database_url,
    person,
    product,
    signed_in,
    web,
)
from tests.support.audit import audited
from zerotrust.audit.checkpoint import NoteVerifier
from zerotrust.audit.merkle import leaf_hash, verify_inclusion
from zerotrust.console.runtime import Console, ConsoleConfig
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed, RateLimited
from zerotrust.crypto.signing import SigningKey
from zerotrust.detect.alerts import Alert
from zerotrust.identity.models import ClientInfo, Session
from zerotrust.service import Services

__all__ = ["database_url", "product", "web"]


def _other_session(svc: Services, name: str) -> Session:
    """A live session of ``name`` that is not the console's (the agent's)."""
    pid = svc.admin.get(name).id
    return next(
        s
        for s in svc.sessions.sessions.for_principal(pid)
        if s.revoked_at is None and "hwk" not in s.amr
    )


def test_actions_need_the_csrf_token_and_a_proof_by_the_session_key(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    target = _other_session(product, "ada")
    path = f"/console/sessions/{target.id}/revoke"
    cases = {
        "no csrf": browser.post(path, csrf=""),
        "wrong csrf": browser.post(path, csrf="A" * 43),
        "no proof": web.post(path, json={}, headers={"X-CSRF-Token": browser.csrf}),
        "other key": browser.post(
            path, proof=browser.proof(path, key=SigningKey.generate("ES256"))
        ),
        "other path": browser.post(path, proof=browser.proof("/console/signout")),
        "cross site": browser.post(path, headers={"Sec-Fetch-Site": "cross-site"}),
        "foreign origin": browser.post(path, headers={"Origin": "https://evil.example"}),
    }
    for name, response in cases.items():
        assert response.status_code in (401, 403), name
        assert response.json()["code"] in ("action_rejected", "invalid_dpop_proof"), name
    proof = browser.proof(path)
    assert browser.post(path, proof=proof).status_code == 200
    replayed = browser.post(path, proof=proof)
    assert replayed.status_code == 401  # the proof's jti is single use
    reasons = {e["reason"] for e in audited(product, "auth.rejected")}
    assert {"csrf_token_mismatch", "missing_proof", "cross_site", "foreign_origin"} <= reasons
    assert {"dpop_key_mismatch", "htu_mismatch", "replayed"} <= reasons


def test_a_sensitive_action_needs_a_recent_verification_then_succeeds(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, who = signed_in(web, product, clock, "ada", ("admin",))
    target = _other_session(product, "ada")
    old_cookie = web.cookies.get("ztc")
    clock.advance(301)
    stale = browser.post(f"/console/sessions/{target.id}/revoke")
    assert stale.status_code == 401
    assert stale.json()["code"] == "insufficient_user_authentication"
    assert stale.json()["required_aal"] == 3
    page = browser.get("/console/principals")  # the policy's own step-up, on a page
    assert page.status_code == 401
    assert "Verify with passkey" in page.text
    assert browser.step_up(who).status_code == 200
    assert web.cookies.get("ztc") != old_cookie  # a new session id after step-up
    done = browser.post(f"/console/sessions/{target.id}/revoke")
    assert done.status_code == 200, done.text
    assert product.sessions.sessions.get(target.id).revoked_at is not None  # type: ignore[union-attr]
    assert audited(product, "console.step_up")
    web.cookies.set("ztc", old_cookie or "", path="/console")
    assert web.get("/console/", follow_redirects=False).status_code == 303  # the old one is over


def test_step_up_with_a_passkey_that_did_not_verify_the_user_fails(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, who = signed_in(web, product, clock, "ada", ("admin",))
    who.passkey.user_verified = False
    assert browser.step_up(who).status_code == 400


def test_revoking_the_console_session_ends_it_at_once(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, who = signed_in(web, product, clock, "ada", ("admin",))
    assert browser.get("/console/principals").status_code == 200
    product.sessions.revoke_all(who.principal.id, actor="system:detect", reason="detection")
    after = browser.get("/console/principals")
    assert after.status_code == 303
    assert after.headers["location"].startswith("/console/signin")


def test_sessions_a_false_positive_revoked_are_restored(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    mallory = person(product, "mallory", ("fraud_analyst",)).principal
    where = ClientInfo(src_ip="10.9.8.7", jkt="k" * 43)
    sid = product.sessions.open(mallory, aal=2, amr=("pwd", "otp"), client=where).session_id
    older = product.sessions.open(mallory, aal=2, amr=("pwd", "otp"), client=where).session_id
    product.sessions.revoke(older, actor="ada", reason="admin")  # not the response's doing
    alert = Alert(
        id="alt_bulk1", ts=clock.now(), detector="bulk_exfiltration", severity="high",
        principal="mallory", event_id="evt_1", event_ids=("evt_1",),
        explanation="read 5000 records in a minute", session_id=sid,
    )  # fmt: skip
    product.alerts.add(alert)
    product.sessions.revoke_all(mallory.id, actor="system:detect", reason="detection")
    detail = browser.get(f"/console/alerts/{alert.id}")
    assert "restore sessions" in detail.text
    undo = browser.post(f"/console/alerts/{alert.id}/undo", {"action": "restore_sessions"})
    assert undo.status_code == 200, undo.text
    live = product.sessions.sessions.get(sid)
    assert live is not None
    product.sessions.check_live(live)  # raises if still revoked
    assert product.sessions.sessions.get(older).revoked_reason == "admin"  # type: ignore[union-attr]
    again = browser.post(f"/console/alerts/{alert.id}/undo", {"action": "restore_sessions"})
    assert again.status_code == 409  # as the API answers
    assert again.json()["code"] == "nothing_to_undo"
    assert "no session left to restore" in browser.get(f"/console/alerts/{alert.id}").text
    [restored] = audited(product, "session.restore")
    assert restored["details"]["sessions"] == [sid]
    assert audited(product, "detect.undo.restore_sessions")[-1]["details"]["via"] == "console"


def test_an_alert_acknowledged_resolved_and_its_response_undone(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    person(product, "mallory", ("fraud_analyst",))
    attacker = ClientInfo(src_ip="203.0.113.9", user_agent="stuffer/1.0")
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            product.authenticator.login("mallory", "not-the-password-1", attacker)
    alert = next(a for a in product.alerts.list() if a.detector == "brute_force")
    with pytest.raises(RateLimited):
        product.guard.check_source("203.0.113.9")
    detail = browser.get(f"/console/alerts/{alert.id}")
    assert detail.status_code == 200
    assert "block source" in detail.text
    assert "203.0.113.9" in detail.text
    ack = browser.post(f"/console/alerts/{alert.id}/transition", {"to": "acknowledged"})
    assert ack.status_code == 200, ack.text
    undo = browser.post(f"/console/alerts/{alert.id}/undo", {"action": "unblock_source"})
    assert undo.status_code == 200, undo.text
    product.guard.check_source("203.0.113.9")  # no longer blocked
    resolved = browser.post(f"/console/alerts/{alert.id}/transition", {"to": "resolved"})
    assert resolved.status_code == 200
    assert product.alerts.get(alert.id).state == "resolved"
    assert audited(product, "detect.undo.unblock_source")[-1]["details"]["via"] == "console"
    assert [e["action"] for e in audited(product, "alert.*")] == [
        "alert.acknowledged",
        "alert.resolved",
    ]


def test_a_grant_needs_a_second_person(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, who = signed_in(web, product, clock, "ada", ("admin",))
    mine = product.grants.request(
        principal_id=who.principal.id,
        action="read",
        resource_type="Database",
        resource_id="db-payments",
        duration_s=3600,
        justification="INC-1",
    )
    refused = browser.post(f"/console/grants/{mine.id}/approve")
    assert refused.status_code == 403
    assert refused.json()["code"] == "self_approval"
    theirs = product.grants.request(
        principal_id=person(product, "dev", ("developer",)).principal.id,
        action="read",
        resource_type="Database",
        resource_id="db-payments",
        duration_s=3600,
        justification="INC-2",
    )
    assert browser.get("/console/access").status_code == 200
    approved = browser.post(f"/console/grants/{theirs.id}/approve")
    assert approved.status_code == 200, approved.text
    assert product.grants.get(theirs.id).status == "approved"


def test_reset_mfa_and_quarantine(web: TestClient, product: Services, clock: FixedClock) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    bob = person(product, "bob", ("fraud_analyst",))
    bobs = agent(web, bob, clock)
    device = product.devices.list(bob.principal.id)[0]
    quarantined = browser.post(f"/console/devices/{device.id}/quarantine")
    assert quarantined.status_code == 200, quarantined.text
    assert product.devices.get(device.id).status == "quarantined"
    assert bobs.request("GET", "/v1/me").status_code == 200  # identity still knows bob
    reset = browser.post(f"/console/principals/{bob.principal.id}/reset-mfa")
    assert reset.status_code == 200, reset.text
    assert product.authenticator.methods(bob.principal.id) == ()
    me = browser.post(f"/console/principals/{product.admin.get('ada').id}/reset-mfa")
    assert me.status_code == 403


def test_the_audit_proof_verifies_against_the_signed_checkpoint(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "carol", ("compliance_officer",))
    page = browser.get("/console/audit?action=console.signin")
    assert page.status_code == 200
    seq = audited(product, "console.signin")[-1]["seq"]
    proof = web.get(f"/console/audit/proof?seq={seq}").json()
    assert proof["server_verified"] is True
    checkpoint = NoteVerifier.from_vkey(proof["vkey"]).open(proof["checkpoint"])
    assert checkpoint.size == proof["tree_size"] > seq
    leaf = leaf_hash(proof["entry"].encode("ascii"))
    verify_inclusion(
        index=seq,
        size=checkpoint.size,
        leaf=leaf,
        proof=[base64.b64decode(h) for h in proof["proof"]],
        root=checkpoint.root,
    )
    assert audited(product, "audit.read")  # the search was itself audited


def test_explain_then_what_if_finds_the_flip(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    analyst = person(product, "fay", ("fraud_analyst",))
    request = {
        "principal": analyst.principal.id,
        "action": "read",
        "resource_type": "Transaction",
        "resource_id": "t-1",
        "aal": "2",
        "auth_age_s": "60",
        "device_trust": "high",
        "device_enrolled": True,
        "patch_age_days": "3",
        "risk_level": "low",
        "country": "GB",
        "hour_local": "10",
    }
    explained = browser.post("/console/policies/explain", request)
    assert explained.status_code == 200, explained.text
    assert explained.json()["effect"] == "allow"
    assert "role-permit" in explained.json()["html"]
    whatif = browser.post("/console/policies/whatif", {"file": "30-people.cedar", "text": ""})
    assert whatif.status_code == 200, whatif.text
    assert whatif.json()["flips"] >= 1
    assert audited(product, "policy.whatif")[-1]["details"]["flips"] >= 1
    broken = browser.post("/console/policies/whatif", {"file": "99-x.cedar", "text": "permit ("})
    assert "does not load" in broken.json()["html"]


def test_the_overview_stream_stops_when_the_session_is_revoked(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    _, who = signed_in(web, product, clock, "carol", ("compliance_officer",))
    mount = next(r for r in web.app.routes if isinstance(r, Mount) and r.path == "/console")  # type: ignore[attr-defined]
    state: Console = mount.app.state.console  # type: ignore[attr-defined]
    state.config = ConsoleConfig(sse_interval_s=0.05, sse_max_s=5.0)
    events: list[str] = []
    with web.stream("GET", "/console/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line[7:])
                if events.count("overview") == 2:
                    product.sessions.revoke_all(who.principal.id, actor="test", reason="test")
            if line.startswith("data: ") and events and events[-1] == "overview":
                assert set(json.loads(line[6:])) >= {"severity", "decisions", "risky"}
    assert events[-1] == "signedout"


def test_signing_out_ends_the_session(
    web: TestClient, product: Services, clock: FixedClock
) -> None:
    browser, _ = signed_in(web, product, clock, "ada", ("admin",))
    out = browser.post("/console/signout")
    assert out.status_code == 200
    assert browser.get("/console/").status_code == 303
    again = ConsoleBrowser(web, clock)
    assert again.get("/console/signin").status_code == 200
