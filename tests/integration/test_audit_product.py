"""The product writes to the tamper-evident log: entries, checkpoints, proofs, reading
under policy, and ``zt audit verify`` over what a real login flow wrote."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import replace

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from tests.support.gateway import healthy_posture
from tests.support.identity import login, make_user, sign_in
from zerotrust.api.app import create_app
from zerotrust.audit.merkle import leaf_hash, verify_inclusion
from zerotrust.cli.main import cli
from zerotrust.client import ZTClient
from zerotrust.core.clock import FixedClock
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings


@pytest.fixture
def product(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing
) -> Iterator[Services]:
    svc = build_services(
        replace(settings, device_auto_approve=True), clock=clock, hashing=fast_hashing
    )
    yield svc
    svc.close()


@pytest.fixture
def api(product: Services) -> Iterator[TestClient]:
    with TestClient(create_app(product), raise_server_exceptions=False) as c:
        yield c


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _officer(api: TestClient, product: Services, clock: FixedClock, role: str) -> ZTClient:
    zc = sign_in(api, make_user(product, role.replace("_", ""), roles=(role,)), clock)
    zc.enroll("laptop", healthy_posture(clock.now()))
    return zc


def test_security_actions_reach_the_merkle_log(
    api: TestClient, product: Services, clock: FixedClock
) -> None:
    assert product.audit_log is not None
    make_user(product, "alice")
    for _ in range(10):
        login(api, "alice", "not-the-password-1")
    product.audit_log.checkpoint()
    officer = _officer(api, product, clock, "compliance_officer")
    found = officer.request("GET", "/v1/audit/entries?action=auth.lockout")
    assert found.status_code == 200, found.text
    entries = found.json()
    assert len(entries) == 1
    lockout = entries[0]
    assert lockout["outcome"] == "success"
    proof = api.get(f"/v1/audit/proof/inclusion?seq={lockout['seq']}").json()
    assert proof["seq"] == lockout["seq"]
    # Anyone can check it: the entry hashes to the leaf, the path leads to the root.
    leaf = leaf_hash(proof["entry"].encode("ascii"))
    assert leaf == _unb64(proof["leaf_hash"])
    verify_inclusion(
        index=proof["seq"],
        size=proof["tree_size"],
        leaf=leaf,
        proof=[_unb64(h) for h in proof["proof"]],
        root=_unb64(proof["root"]),
    )
    note = api.get("/v1/audit/checkpoint")
    assert note.status_code == 200
    assert note.headers["content-type"].startswith("text/plain")
    assert api.get("/v1/audit/key").text


def test_reading_is_policy_checked_and_audited(
    api: TestClient, product: Services, clock: FixedClock
) -> None:
    analyst = _officer(api, product, clock, "fraud_analyst")
    denied = analyst.request("GET", "/v1/audit/entries")
    assert denied.status_code == 403
    assert denied.json()["code"] == "policy_denied"
    assert denied.json()["reason"]
    officer = _officer(api, product, clock, "compliance_officer")
    assert officer.request("GET", "/v1/audit/entries?limit=5").status_code == 200
    reads = officer.request("GET", "/v1/audit/entries?action=audit.read").json()
    assert reads  # the earlier read is itself in the log


def test_zt_audit_verify_passes_over_a_real_log(
    api: TestClient, product: Services, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(product, "bob")
    for _ in range(3):
        login(api, "bob", "not-the-password-1")
    assert product.audit_log is not None
    product.audit_log.checkpoint()
    monkeypatch.setenv("ZT_DATA_DIR", str(product.settings.data_dir))
    monkeypatch.setenv("ZT_DATABASE_URL", product.settings.effective_database_url)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0, result.output
