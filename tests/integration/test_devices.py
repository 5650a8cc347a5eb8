"""Device enrolment, posture, approval, quarantine and revocation over HTTP."""

from __future__ import annotations

from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from tests.support.identity import User, device_client, make_user, sign_in
from zerotrust.client import DeviceKey, ZTClient, ZTClientError
from zerotrust.core.clock import FixedClock
from zerotrust.devices.models import Posture
from zerotrust.devices.posture import sign_posture
from zerotrust.service import Services


def _posture(clock: FixedClock, **changes: object) -> Posture:
    base = Posture(
        os="debian",
        os_version="12",
        patch_age_days=3,
        disk_encrypted=True,
        firewall=True,
        screen_lock=True,
        endpoint_protection=True,
        collected_at=clock.now(),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def admin(client: TestClient, services: Services, clock: FixedClock) -> ZTClient:
    return sign_in(client, make_user(services, "root", roles=("admin",)), clock)


@pytest.fixture
def alice(services: Services) -> User:
    return make_user(services)


def test_enrol_approve_and_trust(
    client: TestClient, services: Services, clock: FixedClock, alice: User, admin: ZTClient
) -> None:
    zc = sign_in(client, alice, clock)
    device = zc.enroll("alice-laptop", _posture(clock))
    assert device["status"] == "pending"
    assert device["trust"] == "unknown"
    approved = admin.post_json(f"/v1/devices/{device['id']}/approve", {})
    assert approved["status"] == "active"
    assert approved["trust"] == "high"
    assert zc.get_json(f"/v1/devices/{device['id']}")["jkt"] == zc.device.jkt
    actions = [r.action for r in services.audit.records]  # type: ignore[attr-defined]
    assert "device.enroll" in actions
    assert "device.approve" in actions


def test_stale_and_unhealthy_posture(
    client: TestClient, services: Services, clock: FixedClock, alice: User, admin: ZTClient
) -> None:
    zc = sign_in(client, alice, clock)
    device = zc.enroll("laptop", _posture(clock, patch_age_days=45))
    admin.post_json(f"/v1/devices/{device['id']}/approve", {})
    assert zc.get_json(f"/v1/devices/{device['id']}")["trust"] == "low"
    zc.report_posture(device["id"], _posture(clock))
    assert zc.get_json(f"/v1/devices/{device['id']}")["trust"] == "high"
    clock.advance(2 * 3600)  # no report for two hours (and the session idled out)
    zc = sign_in(client, alice, clock, key=zc.device)
    info = zc.get_json(f"/v1/devices/{device['id']}")
    assert info["trust"] == "unknown"
    assert info["trust_reasons"] == ["posture_stale"]


def test_posture_signed_by_another_key_is_refused(
    client: TestClient, clock: FixedClock, alice: User
) -> None:
    zc = sign_in(client, alice, clock)
    device = zc.enroll("laptop")
    forged = sign_posture(DeviceKey.generate().key, _posture(clock), device_id=device["id"])
    for report in (forged, "not.a.report"):
        with pytest.raises(ZTClientError) as err:
            zc.post_json(f"/v1/devices/{device['id']}/posture", {"report": report})
        assert err.value.status == 422
        assert err.value.code == "posture_invalid"
    impostor = device_client(client, clock)  # a stolen token used from another key
    impostor.tokens = zc.tokens
    assert impostor.request("GET", f"/v1/devices/{device['id']}").status_code == 401


def test_enrolling_a_key_you_do_not_hold_is_refused(
    client: TestClient, clock: FixedClock, alice: User
) -> None:
    zc = sign_in(client, alice, clock)
    with pytest.raises(ZTClientError) as err:
        zc.post_json("/v1/devices", {"name": "x", "public_jwk": DeviceKey.generate().public_jwk})
    assert err.value.status == 403
    assert err.value.code == "device_key_mismatch"
    with pytest.raises(ZTClientError) as err:
        zc.post_json("/v1/devices", {"name": "x", "public_jwk": {"kty": "oct", "k": "AAAA"}})
    assert err.value.status == 400


def test_non_admin_cannot_approve_and_cannot_see_others(
    client: TestClient, services: Services, clock: FixedClock, alice: User
) -> None:
    zc = sign_in(client, alice, clock)
    device = zc.enroll("laptop")
    bob = sign_in(client, make_user(services, "bob"), clock)
    with pytest.raises(ZTClientError) as err:
        bob.post_json(f"/v1/devices/{device['id']}/approve", {})
    assert err.value.status == 403
    with pytest.raises(ZTClientError) as err:
        bob.get_json(f"/v1/devices/{device['id']}")
    assert err.value.status == 404
    with pytest.raises(ZTClientError) as missing:
        bob.get_json("/v1/devices/dev_doesnotexist")
    assert missing.value.status == 404  # same answer as someone else's device
    denied = [
        r
        for r in services.audit.records  # type: ignore[attr-defined]
        if r.action == "device.approve" and r.outcome == "denied"
    ]
    assert len(denied) == 1


def test_revocation_kills_bound_sessions_and_future_logins(
    client: TestClient, services: Services, clock: FixedClock, alice: User, admin: ZTClient
) -> None:
    zc = sign_in(client, alice, clock)
    device = zc.enroll("laptop", _posture(clock))
    admin.post_json(f"/v1/devices/{device['id']}/approve", {})
    again = sign_in(client, alice, clock, key=zc.device)  # a second session on the device
    me = again.get_json("/v1/me")
    admin.post_json(f"/v1/devices/{device['id']}/revoke", {})
    assert zc.request("GET", "/v1/me").status_code == 401
    assert again.request("GET", "/v1/me").status_code == 401
    with pytest.raises(ZTClientError):
        sign_in(client, alice, clock, key=zc.device)
    assert me["username"] == "alice"
    other = sign_in(client, alice, clock)  # another device still works (at unknown trust)
    assert other.get_json("/v1/me")["username"] == "alice"


def test_tokens_name_the_enrolled_device(
    client: TestClient, services: Services, clock: FixedClock, alice: User, admin: ZTClient
) -> None:
    zc = sign_in(client, alice, clock)
    device = zc.enroll("laptop", _posture(clock))
    admin.post_json(f"/v1/devices/{device['id']}/approve", {})
    fresh = sign_in(client, alice, clock, key=zc.device)
    claims = services.tokens.verify(fresh.tokens["access_token"])
    assert claims["device_id"] == device["id"]
    assert claims["cnf"] == {"jkt": zc.device.jkt}
