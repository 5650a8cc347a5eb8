"""``POST /v1/authz/check``: the PDP for resource servers, audited and logged."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from tests.support.identity import device_client, make_user, sign_in
from zerotrust.client import ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.signing import SigningKey
from zerotrust.service import Services

CONTEXT = {
    "aal": 2,
    "auth_age_s": 60,
    "device": {"enrolled": True, "trust": "high", "patch_age_days": 3},
    "risk": {"score": 5, "level": "low"},
    "country": "GB",
    "hour_local": 10,
}


def _request(roles: list[str], action: str, resource_type: str) -> dict[str, object]:
    return {
        "principal": {"type": "User", "id": "u1", "roles": roles},
        "action": action,
        "resource": {"type": resource_type, "id": "c1"},
        "context": CONTEXT,
    }


@pytest.fixture
def resource_server(client: TestClient, services: Services, clock: FixedClock) -> ZTClient:
    sa = services.admin.create_service_account(
        "records-api", workload_kind="analytics", purposes=["authorization"]
    )
    key = SigningKey.generate("ES256")
    services.workloads.register_key(sa, key.public_jwk(), actor="test")
    zc = device_client(client, clock)
    zc.workload_login("records-api", key)
    return zc


def test_decisions_with_reasons(resource_server: ZTClient, services: Services) -> None:
    denied = resource_server.post_json(
        "/v1/authz/check", _request(["data_scientist"], "read", "CustomerPII")
    )
    assert denied["effect"] == "deny"
    assert denied["reasons"]
    allowed = resource_server.post_json(
        "/v1/authz/check", _request(["fraud_analyst"], "read", "Transaction")
    )
    assert allowed["effect"] == "allow"
    assert allowed["policies"]
    records = [
        r
        for r in services.audit.records  # type: ignore[attr-defined]
        if r.action == "authz.decision"
    ]
    assert [r.outcome for r in records] == ["denied", "allowed"]
    logged = (services.settings.data_dir / "decisions.jsonl").read_text().splitlines()
    assert json.loads(logged[1])["decision"]["effect"] == "allow"


def test_malformed_request_is_a_400(resource_server: ZTClient) -> None:
    response = resource_server.request("POST", "/v1/authz/check", json={"principal": "nope"})
    assert response.status_code == 400
    assert response.json()["status"] == 400


def test_ordinary_users_may_not_ask(
    client: TestClient, services: Services, clock: FixedClock
) -> None:
    user = sign_in(client, make_user(services), clock)
    response = user.request("POST", "/v1/authz/check", json=_request(["admin"], "manage", "User"))
    assert response.status_code == 403
