"""AI workloads: RFC 7523 client assertions + DPoP, purposes as scope; introspection and
revocation (RFC 7662, RFC 7009)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.support.identity import device_client, make_user, sign_in
from zerotrust.client import ZTClient, ZTClientError
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.jwt import encode_jwt
from zerotrust.crypto.signing import SigningKey
from zerotrust.identity.workloads import ASSERTION_TYPE
from zerotrust.service import Services


@pytest.fixture
def workload(services: Services) -> SigningKey:
    sa = services.admin.create_service_account(
        "fraud-scorer", workload_kind="fraud_model", purposes=["fraud_detection", "reporting"]
    )
    key = SigningKey.generate("ES256")
    services.workloads.register_key(sa, key.public_jwk(), actor="test")
    return key


def test_workload_gets_a_dpop_token_limited_to_its_purposes(
    client: TestClient, services: Services, clock: FixedClock, workload: SigningKey
) -> None:
    zc = device_client(client, clock)
    tokens = zc.workload_login("fraud-scorer", workload, scope="fraud_detection")
    assert tokens["token_type"] == "DPoP"
    assert tokens["scope"] == "fraud_detection"
    assert "refresh_token" not in tokens
    claims = services.tokens.verify(tokens["access_token"])
    assert claims["cnf"] == {"jkt": zc.device.jkt}
    assert claims["ptype"] == "service"
    assert claims["scope"] == "fraud_detection"
    me = zc.get_json("/v1/me")
    assert me["kind"] == "service"
    assert me["roles"] == ["fraud_model"]


def test_undeclared_purpose_is_refused(
    client: TestClient, clock: FixedClock, workload: SigningKey
) -> None:
    with pytest.raises(ZTClientError) as err:
        device_client(client, clock).workload_login(
            "fraud-scorer", workload, scope="credit_decisioning"
        )
    assert err.value.status == 400
    assert err.value.code == "invalid_scope"


def _assertion(key: SigningKey, clock: FixedClock, **changes: object) -> str:
    now = int(clock.now())
    claims: dict[str, object] = {
        "iss": "fraud-scorer",
        "sub": "fraud-scorer",
        "aud": "http://testserver/v1/oauth/token",
        "iat": now,
        "exp": now + 60,
        "jti": "a-1",
    }
    claims.update(changes)
    return encode_jwt({k: v for k, v in claims.items() if v is not None}, key, typ="JWT")


def _token(client: TestClient, zc: ZTClient, assertion: str) -> int:
    return client.post(
        "/v1/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
        headers={"DPoP": zc.proof("POST", "/v1/oauth/token")},
    ).status_code


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "http://testserver/other"},
        {"sub": "someone-else"},
        {"iss": "someone-else"},
        {"exp": None},
        {"exp": 1},
    ],
)
def test_bad_assertions_are_invalid_client(
    client: TestClient,
    services: Services,
    clock: FixedClock,
    workload: SigningKey,
    changes: dict[str, object],
) -> None:
    zc = device_client(client, clock)
    assert _token(client, zc, _assertion(workload, clock, **changes)) == 401


def test_assertion_replay_and_foreign_key(
    client: TestClient, clock: FixedClock, workload: SigningKey
) -> None:
    zc = device_client(client, clock)
    assertion = _assertion(workload, clock, jti="once")
    assert _token(client, zc, assertion) == 200
    assert _token(client, zc, assertion) == 401
    assert _token(client, zc, _assertion(SigningKey.generate("ES256"), clock)) == 401


def test_token_endpoint_needs_dpop_and_a_form(
    client: TestClient, clock: FixedClock, workload: SigningKey
) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(workload, clock),
    }
    assert client.post("/v1/oauth/token", data=form).status_code == 401
    zc = device_client(client, clock)
    as_json = client.post(
        "/v1/oauth/token", json=form, headers={"DPoP": zc.proof("POST", "/v1/oauth/token")}
    )
    assert as_json.status_code == 400
    wrong_grant = client.post(
        "/v1/oauth/token",
        data={**form, "grant_type": "password"},
        headers={"DPoP": zc.proof("POST", "/v1/oauth/token")},
    )
    assert wrong_grant.status_code == 400
    assert wrong_grant.json()["code"] == "unsupported_grant_type"


def test_introspection_and_revocation(
    client: TestClient, services: Services, clock: FixedClock, workload: SigningKey
) -> None:
    user = sign_in(client, make_user(services), clock)
    server = device_client(client, clock)
    server.workload_login("fraud-scorer", workload)

    def introspect(token: str) -> dict[str, object]:
        response = server.request("POST", "/v1/oauth/introspect", data={"token": token})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        return dict(response.json())

    active = introspect(user.tokens["access_token"])
    assert active["active"] is True
    assert active["cnf"] == {"jkt": user.device.jkt}
    assert introspect("garbage") == {"active": False}
    # A user may not introspect others' tokens.
    assert user.request("POST", "/v1/oauth/introspect", data={"token": "x"}).status_code == 403
    revoked = client.post("/v1/oauth/revoke", data={"token": user.tokens["refresh_token"]})
    assert revoked.status_code == 200
    assert introspect(user.tokens["access_token"]) == {"active": False}
    assert user.request("GET", "/v1/me").status_code == 401
    assert client.post("/v1/oauth/revoke", data={"token": "unknown"}).status_code == 200
