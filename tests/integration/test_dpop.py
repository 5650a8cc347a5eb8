"""RFC 9449 attacks against the API: each refused with 401 and an audited reason."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.identity import dpop_headers, make_user, sign_in
from zerotrust.client import DeviceKey, ZTClient
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.dpop import access_token_hash, make_dpop_proof
from zerotrust.crypto.jwt import encode_jwt
from zerotrust.identity.models import ClientInfo
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _rejections(services: Services) -> list[str | None]:
    return [
        r.reason
        for r in services.audit.records  # type: ignore[attr-defined]
        if r.action == "auth.rejected"
    ]


@pytest.fixture
def zc(client: TestClient, services: Services, clock: FixedClock) -> ZTClient:
    return sign_in(client, make_user(services), clock)


def _me(client: TestClient, headers: dict[str, str]) -> Any:
    return client.get("/v1/me", headers=headers)


def test_a_good_request_passes(client: TestClient, zc: ZTClient) -> None:
    assert _me(client, dpop_headers(zc, "GET", "/v1/me")).status_code == 200


def test_token_without_proof(client: TestClient, services: Services, zc: ZTClient) -> None:
    response = _me(client, {"Authorization": f"DPoP {zc.tokens['access_token']}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_dpop_proof"
    assert "missing_proof" in _rejections(services)


def test_token_as_bearer(client: TestClient, services: Services, zc: ZTClient) -> None:
    headers = dpop_headers(zc, "GET", "/v1/me")
    headers["Authorization"] = headers["Authorization"].replace("DPoP", "Bearer")
    assert _me(client, headers).status_code == 401
    assert "not_dpop_scheme" in _rejections(services)


def test_proof_signed_by_another_key(
    client: TestClient, services: Services, zc: ZTClient, clock: FixedClock
) -> None:
    thief = ZTClient("http://testserver", DeviceKey.generate(), http=client, clock=clock.now)
    thief.tokens = dict(zc.tokens)  # a copied token, without the device key
    response = thief.request("GET", "/v1/me")
    assert response.status_code == 401
    assert "dpop_key_mismatch" in _rejections(services)


def test_replayed_proof(client: TestClient, services: Services, zc: ZTClient) -> None:
    headers = dpop_headers(zc, "GET", "/v1/me")
    assert _me(client, headers).status_code == 200
    assert _me(client, headers).status_code == 401
    assert "replayed" in _rejections(services)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"method": "POST"}, "htm_mismatch"),
        ({"url": "http://testserver/v1/devices"}, "htu_mismatch"),
        ({"url": "https://evil.example/v1/me"}, "htu_mismatch"),
        ({"access_token": "another-token"}, "ath_mismatch"),
        ({"access_token": None}, "ath_mismatch"),
        ({"now_offset": 600}, "iat_out_of_window"),
        ({"now_offset": -600}, "iat_out_of_window"),
    ],
)
def test_proof_bound_to_something_else(
    client: TestClient,
    services: Services,
    zc: ZTClient,
    clock: FixedClock,
    change: dict[str, Any],
    reason: str,
) -> None:
    token = zc.tokens["access_token"]
    proof = make_dpop_proof(
        zc.device.key,
        method=change.get("method", "GET"),
        url=change.get("url", "http://testserver/v1/me"),
        now=clock.now() + change.get("now_offset", 0),
        access_token=change.get("access_token", token),
    )
    response = _me(client, {"Authorization": f"DPoP {token}", "DPoP": proof})
    assert response.status_code == 401
    assert reason in _rejections(services)


def test_wrong_typ_private_jwk_and_two_proofs(
    client: TestClient, services: Services, zc: ZTClient, clock: FixedClock
) -> None:
    token = zc.tokens["access_token"]
    claims = {
        "jti": "j1",
        "htm": "GET",
        "htu": "http://testserver/v1/me",
        "iat": int(clock.now()),
        "ath": access_token_hash(token),
    }
    wrong_typ = encode_jwt(
        claims, zc.device.key, typ="jwt", extra_headers={"jwk": zc.device.public_jwk}
    )
    assert _me(client, {"Authorization": f"DPoP {token}", "DPoP": wrong_typ}).status_code == 401
    private = dict(zc.device.public_jwk, d=_b64(b"\x01" * 32))
    with_private = encode_jwt(
        {**claims, "jti": "j2"}, zc.device.key, typ="dpop+jwt", extra_headers={"jwk": private}
    )
    assert _me(client, {"Authorization": f"DPoP {token}", "DPoP": with_private}).status_code == 401
    two = client.get(
        "/v1/me",
        headers=[
            ("Authorization", f"DPoP {token}"),
            ("DPoP", zc.proof("GET", "/v1/me", token)),
            ("DPoP", zc.proof("GET", "/v1/me", token)),
        ],
    )
    assert two.status_code == 401
    assert {"wrong_type", "bad_jwk", "multiple_proofs"} <= set(_rejections(services))


def _forged(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    head = _b64(json.dumps(header).encode())
    body = _b64(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64(sign(f'{head}.{body}'.encode()))}"


def test_alg_none_and_hs256_with_our_public_key(
    client: TestClient, services: Services, zc: ZTClient
) -> None:
    from zerotrust.crypto.jwt import decode_unverified_header

    token = zc.tokens["access_token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    kid = decode_unverified_header(token)["kid"]
    public = json.dumps(client.get("/.well-known/jwks.json").json()["keys"][0]).encode()
    forgeries = [
        _forged({"alg": "none", "kid": kid, "typ": "at+jwt"}, claims, lambda _: b""),
        _forged(
            {"alg": "HS256", "kid": kid, "typ": "at+jwt"},
            claims,
            lambda m: hmac.new(public, m, hashlib.sha256).digest(),
        ),
        _forged(
            {"alg": "EdDSA", "kid": "../../dev/null", "typ": "at+jwt"}, claims, lambda _: b"x" * 64
        ),
        _forged(
            {"alg": "EdDSA", "kid": kid, "jku": "https://evil.example/jwks", "typ": "at+jwt"},
            claims,
            lambda _: b"x" * 64,
        ),
        zc.tokens["refresh_token"],  # a refresh token used as an access token
    ]
    for forged in forgeries:
        response = _me(client, dpop_headers(zc, "GET", "/v1/me", token=forged))
        assert response.status_code == 401
    assert {"alg_not_allowed", "unknown_kid", "forbidden_header", "malformed"} <= set(
        _rejections(services)
    )


def test_logout_and_revocation_end_the_token_at_once(
    client: TestClient, services: Services, zc: ZTClient
) -> None:
    me = zc.get_json("/v1/me")
    services.sessions.revoke(me["session_id"], actor="admin", reason="suspicious")
    assert zc.request("GET", "/v1/me").status_code == 401
    assert "session_revoked" in _rejections(services)


def test_refresh_needs_the_same_key(
    client: TestClient, services: Services, zc: ZTClient, clock: FixedClock
) -> None:
    thief = ZTClient("http://testserver", DeviceKey.generate(), http=client, clock=clock.now)
    response = client.post(
        "/v1/auth/refresh",
        json={"refresh_token": zc.tokens["refresh_token"]},
        headers={"DPoP": thief.proof("POST", "/v1/auth/refresh")},
    )
    assert response.status_code == 401
    assert "dpop_key_mismatch" in _rejections(services)
    zc.refresh()  # the owner still can (the thief's attempt did not spend it)


def test_mfa_step_without_proof_is_refused(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    user = make_user(services, "bob")
    first = client.post("/v1/auth/login", json={"username": "bob", "password": user.password})
    response = client.post(
        "/v1/auth/mfa/totp", json={"mfa_token": first.json()["mfa_token"], "code": user.code(clock)}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_dpop_proof"


def test_signing_key_rotation_keeps_old_tokens_until_they_expire(
    client: TestClient, services: Services, zc: ZTClient, clock: FixedClock
) -> None:
    from zerotrust.crypto.jwt import decode_unverified_header

    old_kid = decode_unverified_header(zc.tokens["access_token"])["kid"]
    new_kid = services.tokens.rotate()
    assert new_kid != old_kid
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {old_kid, new_kid}
    assert zc.request("GET", "/v1/me").status_code == 200  # the old token still verifies
    fresh = zc.refresh()
    assert decode_unverified_header(fresh["access_token"])["kid"] == new_kid
    clock.advance(300 + 61)  # the old key's last token has expired: it is withdrawn
    services.tokens.reload()
    published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert published == {new_kid}


def test_each_upkeep_picks_up_another_replicas_rotation_and_unseals_only_then(
    services: Services, settings: Settings, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zerotrust.crypto.jwt import decode_unverified_header

    other = build_services(settings, clock=clock, audit=MemoryAudit())  # another replica
    try:
        kid = services.tokens.signing_key().kid
        opened: list[str] = []
        real_open = services.tokens.keys.open

        def counting_open(envelope: bytes, *, aad: bytes) -> bytes:
            opened.append(aad.decode())
            return real_open(envelope, aad=aad)

        monkeypatch.setattr(services.tokens.keys, "open", counting_open)
        for _ in range(3):
            services.tokens.reload()
        assert opened == []  # nothing changed: the key in memory stays
        new_kid = other.tokens.rotate()
        services.tokens.reload()
        assert opened == [f"zerotrust/signing-key/{new_kid}"]
        assert services.tokens.signing_key().kid == new_kid != kid
        principal = make_user(services, "bob").principal
        issued = services.sessions.open(principal, aal=1, amr=("pwd",), client=ClientInfo())
        assert decode_unverified_header(issued.access_token)["kid"] == new_kid
    finally:
        other.close()


def test_two_authorization_headers_are_refused(
    client: TestClient, services: Services, zc: ZTClient
) -> None:
    headers = dpop_headers(zc, "GET", "/v1/me")
    both = client.get(
        "/v1/me",
        headers=[
            ("Authorization", headers["Authorization"]),
            ("Authorization", "Bearer x"),
            ("DPoP", headers["DPoP"]),
        ],
    )
    assert both.status_code == 401
    assert "multiple_authorization" in _rejections(services)
