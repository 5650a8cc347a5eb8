"""Self-service enrolment (TOTP, passkeys, recovery codes) and passkey login over HTTP."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.support.authenticator import SoftAuthenticator
from tests.support.identity import PASSWORD, User, login, make_user, sign_in
from zerotrust.client import ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.service import Services

ORIGIN = "http://localhost:8000"


def _register_passkey(zc: ZTClient, authenticator: SoftAuthenticator) -> str:
    options = zc.request("POST", "/v1/me/mfa/webauthn/options", json={"password": PASSWORD})
    assert options.status_code == 200, options.text
    assert options.json()["authenticatorSelection"]["userVerification"] == "required"
    credential = authenticator.create(options.json())
    done = zc.request(
        "POST",
        "/v1/me/mfa/webauthn/verify",
        json={"credential": credential, "name": "laptop"},
    )
    assert done.status_code == 200, done.text
    return str(done.json()["credential_id"])


@pytest.fixture
def signed_in(client: TestClient, services: Services, clock: FixedClock) -> tuple[User, ZTClient]:
    user = make_user(services)
    return user, sign_in(client, user, clock)


def test_enrolment_requires_the_current_password(
    client: TestClient, signed_in: tuple[User, ZTClient]
) -> None:
    _, zc = signed_in
    for body in ({}, {"password": "wrong-password-1"}):
        for path in ("/v1/me/mfa/totp", "/v1/me/mfa/webauthn/options", "/v1/me/mfa/recovery-codes"):
            response = zc.request("POST", path, json=body)
            assert response.status_code == 401, path
            assert response.json()["code"] == "reauth_required"


def test_totp_enrolment_is_pending_until_confirmed(
    client: TestClient,
    services: Services,
    clock: FixedClock,
    signed_in: tuple[User, ZTClient],
) -> None:
    _, zc = signed_in
    started = zc.request("POST", "/v1/me/mfa/totp", json={"password": PASSWORD})
    assert started.status_code == 200
    uri = started.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/")
    app = pyotp.parse_uri(uri)  # the independent client scans the URI
    assert zc.request("GET", "/v1/me").json()["methods"] == []
    wrong = zc.request(
        "POST",
        "/v1/me/mfa/totp/confirm",
        json={"code": "000000" if app.at(int(clock.now())) != "000000" else "111111"},
    )
    assert wrong.status_code == 422
    ok = zc.request("POST", "/v1/me/mfa/totp/confirm", json={"code": app.at(int(clock.now()))})
    assert ok.status_code == 200
    assert zc.request("GET", "/v1/me").json()["methods"] == ["totp"]


def test_passkey_registration_and_login_with_user_verification(
    client: TestClient, services: Services, signed_in: tuple[User, ZTClient]
) -> None:
    user, zc = signed_in
    authenticator = SoftAuthenticator("localhost", ORIGIN)
    _register_passkey(zc, authenticator)
    first = login(client, "alice", user.password).json()
    assert "webauthn" in first["methods"]
    options = client.post(
        "/v1/auth/mfa/webauthn/options",
        json={"mfa_token": first["mfa_token"], "user_verification": True},
    )
    assert options.status_code == 200
    assertion = authenticator.get(options.json())
    done = client.post(
        "/v1/auth/mfa/webauthn/verify",
        headers={"DPoP": zc.proof("POST", "/v1/auth/mfa/webauthn/verify")},
        json={"mfa_token": first["mfa_token"], "credential": assertion},
    )
    assert done.status_code == 200, done.text
    assert done.json()["aal"] == 3
    zc.tokens = done.json()
    me = zc.request("GET", "/v1/me").json()
    assert me["amr"] == ["pwd", "hwk", "user", "mfa"]


def _passkey_attempt(
    zc: ZTClient,
    user: User,
    authenticator: SoftAuthenticator,
    *,
    require_uv: bool = False,
    **knobs: Any,
) -> Any:
    client = zc.http
    first = login(client, "alice", user.password).json()
    options = client.post(
        "/v1/auth/mfa/webauthn/options",
        json={"mfa_token": first["mfa_token"], "user_verification": require_uv},
    ).json()
    assertion = authenticator.get(options, **knobs)
    return client.post(
        "/v1/auth/mfa/webauthn/verify",
        headers={"DPoP": zc.proof("POST", "/v1/auth/mfa/webauthn/verify")},
        json={"mfa_token": first["mfa_token"], "credential": assertion},
    )


@pytest.mark.parametrize(
    ("knobs", "code"),
    [
        ({"origin": "https://evil.example"}, "origin_mismatch"),
        ({"rp_id_hash": bytes(32)}, "rp_id_mismatch"),
        ({"client_data_type": "webauthn.create"}, "malformed"),
        ({"tamper_auth_data": lambda b: b[:20]}, "malformed"),
        ({"client_data_json": b"{" + b" " * (1024 * 1024) + b"}"}, None),
        ({"tamper_signature": lambda b: b[:-1] + bytes([b[-1] ^ 1])}, "webauthn_rejected"),
    ],
)
def test_bad_assertions_get_4xx_never_5xx(
    client: TestClient,
    services: Services,
    signed_in: tuple[User, ZTClient],
    knobs: dict[str, Any],
    code: str | None,
) -> None:
    user, zc = signed_in
    authenticator = SoftAuthenticator("localhost", ORIGIN)
    _register_passkey(zc, authenticator)
    response = _passkey_attempt(zc, user, authenticator, **knobs)
    assert 400 <= response.status_code < 500, response.text
    if code is not None:
        assert response.json()["code"] == code


def test_missing_user_verification_when_required(
    client: TestClient, services: Services, signed_in: tuple[User, ZTClient]
) -> None:
    user, zc = signed_in
    authenticator = SoftAuthenticator("localhost", ORIGIN)
    _register_passkey(zc, authenticator)
    authenticator.user_verified = False
    response = _passkey_attempt(zc, user, authenticator, require_uv=True)
    assert response.status_code == 400
    assert response.json()["code"] == "uv_required"
    # Without UV demanded, a UP-only assertion gives AAL2, not AAL3.
    ok = _passkey_attempt(zc, user, authenticator)
    assert ok.status_code == 200
    assert ok.json()["aal"] == 2


def test_replayed_assertion_and_regressed_counter(
    client: TestClient, services: Services, signed_in: tuple[User, ZTClient]
) -> None:
    user, zc = signed_in
    authenticator = SoftAuthenticator("localhost", ORIGIN)
    _register_passkey(zc, authenticator)
    first = login(client, "alice", user.password).json()
    options = client.post(
        "/v1/auth/mfa/webauthn/options", json={"mfa_token": first["mfa_token"]}
    ).json()
    assertion = authenticator.get(options)
    assert (
        client.post(
            "/v1/auth/mfa/webauthn/verify",
            headers={"DPoP": zc.proof("POST", "/v1/auth/mfa/webauthn/verify")},
            json={"mfa_token": first["mfa_token"], "credential": assertion},
        ).status_code
        == 200
    )
    second = login(client, "alice", user.password).json()
    replay = client.post(
        "/v1/auth/mfa/webauthn/verify",
        headers={"DPoP": zc.proof("POST", "/v1/auth/mfa/webauthn/verify")},
        json={"mfa_token": second["mfa_token"], "credential": assertion},
    )
    assert replay.status_code == 400
    assert replay.json()["code"] == "challenge_invalid"
    cloned = _passkey_attempt(zc, user, authenticator, sign_count=1)
    assert cloned.status_code == 400
    assert cloned.json()["code"] == "possible_cloned_authenticator"


def test_malformed_registration_is_a_4xx(
    client: TestClient, signed_in: tuple[User, ZTClient]
) -> None:
    _, zc = signed_in
    authenticator = SoftAuthenticator("localhost", ORIGIN)
    options = zc.request("POST", "/v1/me/mfa/webauthn/options", json={"password": PASSWORD}).json()
    credential = authenticator.create(options, tamper_attestation_object=lambda b: b"\xff" + b)
    response = zc.request("POST", "/v1/me/mfa/webauthn/verify", json={"credential": credential})
    assert response.status_code == 400
    garbage = zc.request(
        "POST",
        "/v1/me/mfa/webauthn/verify",
        json={"credential": {"id": "!!", "response": "x"}},
    )
    assert garbage.status_code == 400


def test_recovery_codes_are_single_use(
    client: TestClient, services: Services, signed_in: tuple[User, ZTClient]
) -> None:
    user, zc = signed_in
    codes = zc.request("POST", "/v1/me/mfa/recovery-codes", json={"password": PASSWORD}).json()[
        "codes"
    ]
    assert len(codes) == 10
    assert len(set(codes)) == 10
    first = login(client, "alice", user.password).json()
    assert "recovery" in first["methods"]
    ok = client.post(
        "/v1/auth/mfa/recovery",
        headers={"DPoP": zc.proof("POST", "/v1/auth/mfa/recovery")},
        json={"mfa_token": first["mfa_token"], "code": codes[0].lower()},
    )
    assert ok.status_code == 200
    assert ok.json()["aal"] == 2
    second = login(client, "alice", user.password).json()
    again = client.post(
        "/v1/auth/mfa/recovery",
        headers={"DPoP": zc.proof("POST", "/v1/auth/mfa/recovery")},
        json={"mfa_token": second["mfa_token"], "code": codes[0]},
    )
    assert again.status_code == 401
    stored = services.authenticator.recovery_codes.hashes(user.principal.id)
    assert len(stored) == 9
    assert not any(c.replace("-", "") in h for c in codes for h in stored)


def test_admin_mfa_reset_removes_factors_and_sessions(
    client: TestClient, services: Services, signed_in: tuple[User, ZTClient]
) -> None:
    user, zc = signed_in
    services.admin.reset_mfa(user.principal, actor="test")
    assert zc.request("GET", "/v1/me").status_code == 401
    assert login(client, "alice", user.password).json()["methods"] == []
