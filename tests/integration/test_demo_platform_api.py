"""The platform's data API trusts the gateway's identity assertion and nothing else."""

from __future__ import annotations

import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from zerotrust.crypto.jwt import encode_jwt
from zerotrust.crypto.signing import SigningKey
from zerotrust.demo.platform_api import AUDIENCE, Jwks, create_platform_app
from zerotrust.gateway.assertion import ASSERTION_TYP
from zerotrust.service import Services


def assertion(key: SigningKey, issuer: str, **overrides: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": "usr_1",
        "name": "fiona",
        "iat": now,
        "exp": now + 60,
        "jti": "req_1",
        **overrides,
    }
    return encode_jwt(claims, key, typ=ASSERTION_TYP)


@pytest.fixture
def platform(services: Services) -> tuple[TestClient, Services, str]:
    issuer = services.tokens.issuer
    portfolio: list[str] = []
    app = create_platform_app(
        services.vault.records,
        Jwks(services.tokens.jwks),
        issuer=issuer,
        portfolio=lambda: portfolio,
    )
    customer = services.vault.records.create(
        "customer", {"name": "Tracy Taylor", "email": "tracy@example.org"}
    )
    services.vault.records.create(
        "transaction",
        {"customer_id": customer.record_id, "amount": "12.50", "currency": "GBP", "merchant": "M"},
    )
    portfolio.append(customer.record_id)
    return TestClient(app), services, customer.record_id


def test_without_the_gateways_assertion_nothing_is_served(
    platform: tuple[TestClient, Services, str],
) -> None:
    client, _services, cid = platform
    answer = client.get(f"/api/customers/{cid}")
    assert answer.status_code == 401
    assert answer.json()["code"] == "assertion_missing"
    assert "Tracy" not in answer.text


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "another-service"},  # an assertion for another upstream
        {"iss": "https://evil.example"},
        {"exp": 1},
    ],
)
def test_a_wrong_or_expired_assertion_is_refused(
    platform: tuple[TestClient, Services, str], change: dict[str, Any]
) -> None:
    client, services, cid = platform
    token = assertion(services.tokens.signing_key(), services.tokens.issuer, **change)
    answer = client.get(f"/api/customers/{cid}", headers={"zt-identity": token})
    assert answer.status_code == 401
    assert answer.json()["code"] == "assertion_invalid"


def test_an_assertion_signed_by_another_key_is_refused(
    platform: tuple[TestClient, Services, str],
) -> None:
    client, services, cid = platform
    forged = assertion(SigningKey.generate("EdDSA", kid="forged"), services.tokens.issuer)
    answer = client.get(f"/api/customers/{cid}", headers={"zt-identity": forged})
    assert answer.status_code == 401


def test_the_gateway_gets_records_and_model_outputs_are_written_encrypted(
    platform: tuple[TestClient, Services, str],
) -> None:
    client, services, cid = platform
    headers = {"zt-identity": assertion(services.tokens.signing_key(), services.tokens.issuer)}
    person = client.get(f"/api/customers/{cid}", headers=headers)
    assert person.status_code == 200
    assert person.json()["name"] == "Tracy Taylor"
    items = client.get(f"/api/transactions/{cid}", headers=headers).json()["items"]
    assert [i["amount"] for i in items] == ["12.50"]
    features = client.get(f"/api/features/{cid}", headers=headers).json()["items"]
    assert "description" not in features[0]
    assert "card_token" not in features[0]
    written = client.post(
        f"/api/model-outputs/{cid}",
        headers=headers,
        json={"model": "fraud-v1", "subject": items[0]["id"], "score": 0.91234, "label": "fraud"},
    )
    assert written.status_code == 201, written.text
    assert written.json()["score"] == "0.9123"
    assert written.json()["producer"] == "fiona"
    outputs = client.get(f"/api/model-outputs/{cid}", headers=headers).json()["items"]
    assert [o["label"] for o in outputs] == ["fraud"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("not json", "bad_json"),
        ('{"model": "m", "score": 7}', "bad_score"),
        ('{"model": "m", "score": "NaN"}', "bad_score"),
    ],
)
def test_bad_input_is_a_clear_400(
    platform: tuple[TestClient, Services, str], body: str, code: str
) -> None:
    client, services, cid = platform
    headers = {
        "zt-identity": assertion(services.tokens.signing_key(), services.tokens.issuer),
        "content-type": "application/json",
    }
    answer = client.post(f"/api/model-outputs/{cid}", headers=headers, content=body)
    assert answer.status_code == 400
    assert answer.json()["code"] == code
    assert client.get("/api/customers/cus_nope", headers=headers).status_code == 404


def test_the_service_describes_itself(platform: tuple[TestClient, Services, str]) -> None:
    client, _services, _cid = platform
    document = client.get("/openapi.json").json()
    assert "/api/transactions/{cid}" in document["paths"]


def test_the_fraud_report_counts_what_the_models_concluded_and_names_nobody(
    platform: tuple[TestClient, Services, str],
) -> None:
    client, services, cid = platform
    headers = {"zt-identity": assertion(services.tokens.signing_key(), services.tokens.issuer)}
    for score, label in ((0.91, "fraud"), (0.12, "ok"), (0.2, "ok")):
        body = {"model": "fraud-v1", "subject": "txn_1", "score": score, "label": label}
        assert client.post(f"/api/model-outputs/{cid}", headers=headers, json=body).is_success
    report = client.get("/api/reports/fraud-summary", headers=headers).json()
    assert report["customers"] == 1
    assert report["customers_flagged"] == 1
    assert report["outputs"] == {"fraud-v1": {"fraud": 1, "ok": 2}}
    assert report["mean_score"] == pytest.approx(0.41, abs=1e-4)
    assert cid not in str(report)
