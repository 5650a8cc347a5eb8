"""The login flow over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet

from tests.support.identity import full_login, login, make_user, sign_in
from zerotrust.core.clock import FixedClock
from zerotrust.core.events import MemorySink
from zerotrust.service import Services


def test_password_then_totp_yields_tokens_and_me(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    user = make_user(services)
    first = login(client, "alice", user.password)
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "mfa_required"
    assert body["methods"] == ["totp"]
    zc = sign_in(client, user, clock)
    tokens = zc.tokens
    assert tokens["token_type"] == "DPoP"
    assert tokens["aal"] == 2
    assert 0 < tokens["expires_in"] <= 300
    me = zc.request("GET", "/v1/me")
    assert me.status_code == 200
    data = me.json()
    assert data["username"] == "alice"
    assert data["roles"] == ["fraud_analyst"]
    assert data["aal"] == 2
    assert data["amr"] == ["pwd", "otp", "mfa"]
    assert data["methods"] == ["totp"]


def test_password_alone_never_yields_access(client: TestClient, services: Services) -> None:
    user = make_user(services)
    mfa_token = login(client, "alice", user.password).json()["mfa_token"]
    response = client.get("/v1/me", headers={"Authorization": f"DPoP {mfa_token}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_dpop_proof"
    assert client.get("/v1/me").status_code == 401


def test_access_token_verifies_with_independent_jose_library(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    tokens = full_login(client, make_user(services), clock)
    jwks = KeySet.import_key_set(client.get("/.well-known/jwks.json").json())
    # joserfc flags "EdDSA" as superseded by "Ed25519" (RFC 9864) but verifies it.
    with pytest.warns(SecurityWarning):
        decoded = jwt.decode(tokens["access_token"], jwks, algorithms=["EdDSA"])
    assert decoded.header["typ"] == "at+jwt"
    claims = decoded.claims
    assert claims["iss"] == services.settings.issuer
    assert claims["aud"] == services.settings.audience
    assert claims["exp"] - claims["iat"] <= 300
    assert {"sub", "jti", "sid", "aal", "amr"} <= set(claims)


def test_unknown_known_disabled_and_locked_answer_identically(
    client: TestClient, services: Services
) -> None:
    user = make_user(services)
    make_user(services, "bob")
    services.admin.set_status(services.admin.get("bob"), active=False, actor="test")
    wrong = login(client, "alice", "wrong-password-123")
    unknown = login(client, "mallory", "wrong-password-123")
    disabled = login(client, "bob", user.password)
    for _ in range(10):
        login(client, "carol", "x" * 12)
    locked = login(client, "carol", "x" * 12)
    bodies = {r.text for r in (wrong, unknown, disabled, locked)}
    assert {r.status_code for r in (wrong, unknown, disabled, locked)} == {401}
    assert len(bodies) == 1
    assert wrong.json()["code"] == "invalid_credentials"
    assert wrong.headers["content-type"] == "application/problem+json"


def test_ten_failures_lock_and_the_right_password_is_refused(
    client: TestClient, services: Services, sink: MemorySink
) -> None:
    user = make_user(services)
    for _ in range(10):
        assert login(client, "alice", "not-the-password-1").status_code == 401
    refused = login(client, "alice", user.password)
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_credentials"
    lockouts = [r for r in services.audit.records if r.action == "auth.lockout"]  # type: ignore[attr-defined]
    assert len(lockouts) == 1
    assert lockouts[0].details["factor"] == "password"
    reasons = [e.reason for e in sink.events if e.kind == "auth.password"]
    assert reasons[-1] == "account_locked"


def test_lock_expires_after_thirty_minutes(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    user = make_user(services)
    for _ in range(10):
        login(client, "alice", "not-the-password-1")
    clock.advance(29 * 60)
    assert login(client, "alice", user.password).status_code == 401
    clock.advance(31 * 60)
    assert login(client, "alice", user.password).status_code == 200


def test_usernames_are_case_insensitive_with_one_counter(
    client: TestClient, services: Services
) -> None:
    user = make_user(services, "Alice")
    for name in ("Alice", "alice", "ALICE") * 3 + ("aLiCe",):
        login(client, name, "not-the-password-1")
    assert login(client, "alice", user.password).status_code == 401  # locked as one account


def test_success_resets_the_failure_counter(client: TestClient, services: Services) -> None:
    user = make_user(services)
    for _ in range(9):
        login(client, "alice", "not-the-password-1")
    assert login(client, "alice", user.password).status_code == 200
    for _ in range(9):
        login(client, "alice", "not-the-password-1")
    assert login(client, "alice", user.password).status_code == 200


def test_logout_ends_the_session_at_once(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    zc = sign_in(client, make_user(services), clock)
    tokens = dict(zc.tokens)
    assert zc.request("POST", "/v1/auth/logout").status_code == 204
    zc.tokens = tokens
    after = zc.request("GET", "/v1/me")
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("DPoP")
    refresh = client.post(
        "/v1/auth/refresh",
        json={"refresh_token": tokens["refresh_token"]},
        headers={"DPoP": zc.proof("POST", "/v1/auth/refresh")},
    )
    assert refresh.status_code == 401


def test_disable_ends_sessions_on_the_next_request(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    user = make_user(services)
    zc = sign_in(client, user, clock)
    services.admin.set_status(user.principal, active=False, actor="test")
    assert zc.request("GET", "/v1/me").status_code == 401


def test_session_idle_and_absolute_timeouts(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    user = make_user(services)
    zc = sign_in(client, user, clock)
    clock.advance(14 * 60)
    zc.refresh()
    clock.advance(15 * 60 + 1)
    idle = client.post(
        "/v1/auth/refresh",
        json={"refresh_token": zc.tokens["refresh_token"]},
        headers={"DPoP": zc.proof("POST", "/v1/auth/refresh")},
    )
    assert idle.status_code == 401

    zc = sign_in(client, user, clock)
    for _ in range(12 * 4):  # keep it busy: every 15 minutes for 12 hours
        clock.advance(14 * 60 + 59)
        r = client.post(
            "/v1/auth/refresh",
            json={"refresh_token": zc.tokens["refresh_token"]},
            headers={"DPoP": zc.proof("POST", "/v1/auth/refresh")},
        )
        if r.status_code != 200:
            break
        zc.tokens = r.json()
    else:
        raise AssertionError("the session outlived its absolute lifetime")


def test_expired_access_token_is_refused(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    zc = sign_in(client, make_user(services), clock)
    clock.advance(300 - 30 - 1)  # sign_in already advanced 30 s
    assert zc.request("GET", "/v1/me").status_code == 200
    clock.advance(1)  # exactly exp: RFC 7519 §4.1.4 says no longer valid
    assert zc.request("GET", "/v1/me").status_code == 401


def test_refresh_rotates_and_reuse_kills_the_family(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    zc = sign_in(client, make_user(services), clock)
    old = dict(zc.tokens)
    new = zc.refresh()
    assert new["refresh_token"] != old["refresh_token"]

    def refresh_with(token: str) -> int:
        return client.post(
            "/v1/auth/refresh",
            json={"refresh_token": token},
            headers={"DPoP": zc.proof("POST", "/v1/auth/refresh")},
        ).status_code

    assert refresh_with(old["refresh_token"]) == 401
    # The whole family is dead: the newest refresh token and the session too.
    assert refresh_with(new["refresh_token"]) == 401
    assert zc.request("GET", "/v1/me").status_code == 401
    assert any(r.action == "session.refresh_reuse" for r in services.audit.records)  # type: ignore[attr-defined]


def test_oversized_body_is_refused_before_hashing(
    client: TestClient, services: Services, sink: MemorySink
) -> None:
    make_user(services)
    response = login(client, "alice", "a" * (1024 * 1024))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not [e for e in sink.events if e.kind == "auth.password"]


def test_malformed_bodies_get_problem_json(client: TestClient) -> None:
    for body in (
        {},
        {"username": "a"},
        {"username": 1, "password": "x"},
        {"username": "a", "password": "b", "roles": ["admin"]},
    ):
        response = client.post("/v1/auth/login", json=body)
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_request"
        assert "b" not in response.json().get("fields", [])
    raw = client.post(
        "/v1/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert raw.status_code == 422


def test_source_address_is_throttled_without_locking_victims(
    client: TestClient, services: Services
) -> None:
    victims = [make_user(services, f"user{i}") for i in range(3)]
    statuses = []
    for i in range(services.settings.ip_failure_limit + 5):
        statuses.append(login(client, f"user{i % 60}x", "Spring-is-here-1").status_code)
    assert statuses[: services.settings.ip_failure_limit] == [401] * 50
    throttled = login(client, "user0", victims[0].password)
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    for v in victims:
        assert not services.authenticator.guard.is_locked("password", v.principal.name)


def test_every_step_emits_a_security_event(
    client: TestClient, services: Services, clock: FixedClock, sink: MemorySink
) -> None:
    user = make_user(services)
    login(client, "alice", "not-the-password-1")
    full_login(client, user, clock)
    kinds = [(e.kind, e.outcome, e.reason) for e in sink.events]
    assert kinds == [
        ("auth.password", "failure", "bad_password"),
        ("auth.password", "success", None),
        ("auth.mfa", "success", None),
    ]
    event = sink.events[-1]
    assert event.principal == "alice"
    assert event.mfa_method == "totp"
    assert event.session_id is not None
    assert event.src_ip == "testclient"
    assert event.to_dict()["time"].endswith("Z")
