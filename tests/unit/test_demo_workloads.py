"""The AI workloads' batch workers, against an in-process fake of the platform's data API."""

from __future__ import annotations

import functools
import re
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from zerotrust.client import DeviceKey, ZTClient
from zerotrust.crypto.jwt import decode_jwt, decode_unverified_header
from zerotrust.crypto.signing import VerifyingKey, jwk_thumbprint
from zerotrust.demo.models import FRAUD_FEATURES, SCORECARD, FraudModel
from zerotrust.demo.workloads import (
    MAX_WAIT_S,
    Attempt,
    WorkloadIdentity,
    overreach,
    retry_after,
    run_credit_batch,
    run_fraud_batch,
)

BASE = "http://testserver"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _model() -> FraudModel:
    """Abroad is fraud, at home is not: outcomes a test can read off the data."""
    weights = [10.0 if f == "foreign" else 0.0 for f in FRAUD_FEATURES]
    return FraudModel("fraud-v1", tuple(weights), -5.0, 0.5)


def _tx(tx_id: str, country: str) -> dict[str, Any]:
    return {
        "id": tx_id,
        "amount": "40.00",
        "currency": "GBP" if country == "GB" else "EUR",
        "merchant": "Patel Market",
        "category": "grocery",
        "country": country,
        "occurred_at": "2025-05-01T13:00:00Z",
        "channel": "card_present",
    }


def _problem(status: int, code: str, headers: dict[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": code, "status": status, "code": code}
    return JSONResponse(body, status, headers, media_type="application/problem+json")


@dataclass
class FakeDataApi:
    """The data API behind the gateway, with the gateway's refusals scripted per customer."""

    transactions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    denied: set[str] = field(default_factory=set)
    throttled: dict[str, int] = field(default_factory=dict)  # 429s left, per customer
    retry_after: str = "2"
    unauthenticated: dict[str, str] = field(default_factory=dict)  # customer -> 401 code
    outputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    logins: list[dict[str, str]] = field(default_factory=list)
    on_output: Any = None

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/oauth/token", self.token, methods=["POST"]),
                Route("/api/transactions/{cid}", self.read_transactions, methods=["GET", "POST"]),
                Route("/api/credit-profiles/{cid}", self.read_profile, methods=["GET"]),
                Route("/api/customers/{cid}", self.customer, methods=["GET"]),
                Route("/api/model-outputs/{cid}", self.write_output, methods=["POST"]),
                Route("/{rest:path}", self.nowhere, methods=["GET", "POST"]),
            ]
        )

    def _gate(self, request: Request) -> Response | None:
        raw = request.scope["raw_path"].decode()
        self.seen.append((request.method, raw, dict(request.headers)))
        cid = request.path_params.get("cid", "")
        if cid in self.unauthenticated:
            code = self.unauthenticated.pop(cid)
            return _problem(401, code, {"www-authenticate": f'DPoP error="{code}"'})
        if self.throttled.get(cid):
            self.throttled[cid] -= 1
            return _problem(429, "rate_limited", {"retry-after": self.retry_after})
        if cid in self.denied:
            return _problem(403, "access_denied")
        return None

    async def token(self, request: Request) -> Response:
        self.logins.append(dict(parse_qsl((await request.body()).decode())))
        self.seen.append(("POST", "/v1/oauth/token", dict(request.headers)))
        scope = self.logins[-1].get("scope", "")
        return JSONResponse({"access_token": f"token-{len(self.logins)}", "scope": scope})

    async def read_transactions(self, request: Request) -> Response:
        if request.method == "POST":  # no workload may alter a transaction
            self._gate(request)
            return _problem(403, "access_denied")
        refused = self._gate(request)
        if refused is not None:
            return refused
        cid = request.path_params["cid"]
        items = self.transactions.get(cid, [])[: int(request.query_params["limit"])]
        return JSONResponse({"customer_id": f"tok_{cid}", "items": items})

    async def read_profile(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        return JSONResponse(self.profiles[request.path_params["cid"]])

    async def customer(self, request: Request) -> Response:
        self._gate(request)
        return _problem(403, "purpose-not-declared")

    async def write_output(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        self.outputs.append((request.path_params["cid"], await request.json()))
        if self.on_output is not None:
            self.on_output()
        return JSONResponse({"id": f"out-{len(self.outputs)}"}, 201)

    async def nowhere(self, request: Request) -> Response:
        self.seen.append((request.method, request.scope["raw_path"].decode(), {}))
        return _problem(404, "not_found")


@pytest.fixture
def api() -> FakeDataApi:
    return FakeDataApi(
        transactions={
            "c1": [_tx("t1", "GB"), _tx("t2", "ES"), _tx("t3", "GB")],
            "c2": [_tx("t4", "GB")],
            "c3": [_tx("t5", "NG"), _tx("t6", "US")],
        }
    )


@pytest.fixture
def client(api: FakeDataApi) -> Iterator[ZTClient]:
    with TestClient(api.app(), base_url=BASE) as http:
        zc = ZTClient(BASE, DeviceKey.generate(), http=http)
        zc.tokens = {"access_token": "token-0"}
        yield zc


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --- the fraud batch -----------------------------------------------------------------------


def test_outputs_are_written_only_for_fraud(api: FakeDataApi, client: ZTClient) -> None:
    report = run_fraud_batch(client, _model(), ["c1", "c2", "c3"], summaries=False)
    flagged = [(cid, out["subject"], out["label"]) for cid, out in api.outputs]
    assert flagged == [("c1", "t2", "fraud"), ("c3", "t5", "fraud"), ("c3", "t6", "fraud")]
    assert all(out["model"] == "fraud-v1" for _, out in api.outputs)
    assert [out["score"] for _, out in api.outputs] == ["0.9933"] * 3  # sigmoid(5), 4 places
    assert "foreign" in api.outputs[0][1]["explanation"]
    assert (report.customers, report.scored, report.flagged, report.outputs) == (3, 6, 3, 3)
    assert (report.allowed, report.denied, report.errors) == (6, 0, 0)


def test_each_customer_gets_a_summary(api: FakeDataApi, client: ZTClient) -> None:
    run_fraud_batch(client, _model(), ["c1", "c2"])
    summaries = [out for _, out in api.outputs if out["subject"].startswith("tok_")]
    assert [(s["subject"], s["label"]) for s in summaries] == [
        ("tok_c1", "fraud"),
        ("tok_c2", "ok"),
    ]
    assert summaries[0]["explanation"] == "1 of 3 transactions flagged"
    assert [s["score"] for s in summaries] == ["0.9933", "0.0067"]  # the highest of each


def test_every_request_carries_proof_and_purpose(api: FakeDataApi, client: ZTClient) -> None:
    run_fraud_batch(client, _model(), ["c1"], limit=2)
    assert api.seen[0][1] == "/api/transactions/c1"
    for _, _, headers in api.seen:
        assert headers["zt-purpose"] == "fraud_detection"
        assert headers["authorization"] == "DPoP token-0"
        assert decode_unverified_header(headers["dpop"])["typ"] == "dpop+jwt"


def test_a_denial_is_counted_and_the_batch_goes_on(api: FakeDataApi, client: ZTClient) -> None:
    api.denied.add("c1")
    report = run_fraud_batch(client, _model(), ["c1", "c3"], summaries=False)
    assert (report.denied, report.problems["access_denied"]) == (1, 1)
    assert [cid for cid, _ in api.outputs] == ["c3", "c3"]
    assert report.customers == 1
    assert not report.stopped


def test_a_429_is_retried_after_its_retry_after(api: FakeDataApi, client: ZTClient) -> None:
    api.throttled["c1"] = 2
    sleeps = Sleeps()
    report = run_fraud_batch(client, _model(), ["c1"], summaries=False, sleep=sleeps)
    assert sleeps == [2.0, 2.0]
    assert (report.retries, report.errors, report.outputs) == (2, 0, 1)
    assert report.allowed == 2  # the read (after its retries) and the output


def test_retries_are_bounded(api: FakeDataApi, client: ZTClient) -> None:
    api.throttled["c1"] = 10
    sleeps = Sleeps()
    report = run_fraud_batch(client, _model(), ["c1", "c2"], sleep=sleeps, max_retries=2)
    assert len(sleeps) == 2
    assert (report.errors, report.problems["rate_limited"]) == (1, 1)
    assert report.customers == 1  # c2 still processed


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("100000", MAX_WAIT_S),
        (None, 1.0),
        ("soon", 1.0),
        (format_datetime(datetime.fromtimestamp(1_000_030, UTC), usegmt=True), 30.0),
        (format_datetime(datetime.fromtimestamp(999_000, UTC), usegmt=True), 0.0),
    ],
)
def test_retry_after_reads_seconds_and_dates(header: str | None, expected: float) -> None:
    assert retry_after(header, now=1_000_000) == pytest.approx(expected)


def test_the_stop_event_ends_the_batch(api: FakeDataApi, client: ZTClient) -> None:
    stop = threading.Event()
    api.on_output = stop.set  # stop as soon as the first output is written
    report = run_fraud_batch(client, _model(), ["c1", "c2", "c3"], stop=stop, summaries=False)
    assert report.stopped
    assert [raw for _, raw, _ in api.seen if "transactions" in raw] == ["/api/transactions/c1"]
    assert (report.outputs, report.customers) == (1, 1)


def test_a_stop_ends_a_wait_for_a_retry(api: FakeDataApi, client: ZTClient) -> None:
    api.throttled["c1"] = 1
    api.retry_after = "30"
    stop = threading.Event()
    timer = threading.Timer(0.1, stop.set)
    timer.start()
    started = time.monotonic()
    try:
        report = run_fraud_batch(client, _model(), ["c1", "c2"], stop=stop)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 10  # not the 30 s the server asked for
    assert report.stopped
    assert (report.retries, report.customers) == (1, 0)


def test_customer_ids_are_escaped_as_one_segment(api: FakeDataApi, client: ZTClient) -> None:
    report = run_fraud_batch(client, _model(), ["../customers/c1"])
    assert api.seen[0][1] == "/api/transactions/..%2Fcustomers%2Fc1"
    assert not [raw for _, raw, _ in api.seen if raw.startswith("/api/customers")]
    assert report.problems["not_found"] == 1


def test_malformed_answers_are_errors(api: FakeDataApi, client: ZTClient) -> None:
    api.transactions["c9"] = [{"id": "t9", "amount": "x"}, _tx("t10", "FR") | {"id": 7}]
    report = run_fraud_batch(client, _model(), ["c9"], summaries=False)
    assert report.problems["model_input_invalid"] == 1
    assert report.problems["malformed_response"] == 1
    assert report.outputs == 0


def test_a_step_up_is_a_denial(api: FakeDataApi, client: ZTClient) -> None:
    api.unauthenticated["c1"] = "insufficient_user_authentication"
    renewals: list[int] = []
    report = run_fraud_batch(client, _model(), ["c1"], renew=lambda: renewals.append(1))
    assert renewals == []
    assert report.problems["insufficient_user_authentication"] == 1
    assert report.denied == 1


# --- identity ------------------------------------------------------------------------------


def test_an_identity_is_created_once_and_private(tmp_path: Path) -> None:
    identity = WorkloadIdentity.create(tmp_path, "fraud-model")
    client_path, host_path = WorkloadIdentity.paths(tmp_path, "fraud-model")
    for path in (client_path, host_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = WorkloadIdentity.load("fraud-model", client_key=client_path, host_key=host_path)
    assert loaded.public_jwk == identity.public_jwk
    assert loaded.host.jkt == identity.host.jkt != jwk_thumbprint(identity.public_jwk)
    assert (tmp_path / "fraud-model.client.jwk").read_text().count('"d"') == 0
    with pytest.raises(FileExistsError):
        WorkloadIdentity.create(tmp_path, "fraud-model")
    with pytest.raises(ValueError, match="not a service account name"):
        WorkloadIdentity.paths(tmp_path, "../elsewhere")


def test_a_workload_signs_in_with_its_keys(api: FakeDataApi, tmp_path: Path) -> None:
    identity = WorkloadIdentity.create(tmp_path, "fraud-model")
    with TestClient(api.app(), base_url=BASE) as http:
        zc = identity.connect(BASE, purposes=["fraud_detection"], http=http)
    form = api.logins[0]
    assert (form["grant_type"], form["client_assertion_type"]) == (
        "client_credentials",
        ASSERTION_TYPE,
    )
    assert form["scope"] == "fraud_detection"
    claims = decode_jwt(
        form["client_assertion"],
        keys={identity.client_key.kid: VerifyingKey.from_jwk(identity.public_jwk)},
        algorithms=["ES256"],
        issuer="fraud-model",
        audience=f"{BASE}/v1/oauth/token",
        now=time.time(),
        typ="JWT",
    )
    assert claims["sub"] == "fraud-model"
    proof = api.seen[-1][2]["dpop"]
    assert jwk_thumbprint(decode_unverified_header(proof)["jwk"]) == identity.host.jkt
    assert zc.tokens["access_token"] == "token-1"


def test_an_expired_token_is_renewed_once(api: FakeDataApi, tmp_path: Path) -> None:
    identity = WorkloadIdentity.create(tmp_path, "fraud-model")
    api.unauthenticated["c1"] = "invalid_token"
    with TestClient(api.app(), base_url=BASE) as http:
        zc = identity.connect(BASE, purposes=["fraud_detection"], http=http)
        renew = functools.partial(identity.sign_in, zc, purposes=["fraud_detection"])
        report = run_fraud_batch(zc, _model(), ["c1"], summaries=False, renew=renew)
    assert len(api.logins) == 2
    assert (report.denied, report.outputs, report.customers) == (0, 1, 1)
    assert api.seen[-1][2]["authorization"] == "DPoP token-2"


# --- the credit batch and overreach --------------------------------------------------------


def test_the_credit_batch_writes_a_band_per_profile(api: FakeDataApi, client: ZTClient) -> None:
    base = {"score": 780, "income": "34000.00", "debt": "6000.00", "employment": "Nurse"}
    api.profiles = {
        "c1": {"id": "cp1", "customer_id": "c1", **base},
        "c2": {"id": "cp2", "customer_id": "c2", **base, "debt": "70000.00", "score": 300},
    }
    api.denied.add("c3")
    report = run_credit_batch(client, SCORECARD, ["c1", "c2", "c3"])
    bands = [(out["subject"], out["label"]) for _, out in api.outputs]
    assert bands == [("cp1", "B"), ("cp2", "E")]
    assert all(re.fullmatch(r"0\.[0-9]{4}", out["score"]) for _, out in api.outputs)
    assert all(h["zt-purpose"] == "credit_scoring" for _, _, h in api.seen)
    assert (report.customers, report.flagged, report.denied) == (2, 1, 1)
    assert api.outputs[1][1]["explanation"].startswith("band E, refer: debt_to_income")


def test_overreach_reports_what_was_refused(api: FakeDataApi, client: ZTClient) -> None:
    attempts = overreach(client, "c1")
    assert attempts == [
        Attempt("POST", "/api/transactions/c1", 403, "access_denied"),
        Attempt("GET", "/api/customers/c1", 403, "purpose-not-declared"),
    ]
    assert api.outputs == []
