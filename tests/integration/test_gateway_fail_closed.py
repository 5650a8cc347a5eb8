"""Fail closed over the wire: a broken PDP, session store, Redis, audit log or upstream
gives 503/502/504 and an audit entry, never a pass-through (DESIGN.md; catalogue E.36,
H.56, I.58)."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.gateway import (
    UpstreamProcess,
    access_token,
    enrolled_device,
    free_port,
    product,
    routes,
    serve_in_thread,
)
from zerotrust.client import DeviceKey
from zerotrust.core.auditing import AuditRecord, MemoryAudit
from zerotrust.core.errors import StoreUnavailable
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.gateway.app import Gateway, create_gateway
from zerotrust.gateway.ratelimit import RateLimiter
from zerotrust.identity.dpop import DpopGuard
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.policy.model import AuthzRequest, Decision
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import load_default
from zerotrust.service import Services
from zerotrust.store.counters import RedisCounters
from zerotrust.store.devices_repo import RedisReplayCache

DEAD_REDIS = "redis://127.0.0.1:1/0"


@dataclass
class Env:
    services: Services
    gateway: Gateway
    upstream: UpstreamProcess
    port: int
    keys: dict[str, tuple[DeviceKey, str]]

    def get(self, path: str, *, who: str = "analyst") -> httpx.Response:
        key, token = self.keys[who]
        url = f"http://127.0.0.1:{self.port}{path}"
        htu = url.split("?", maxsplit=1)[0]
        proof = make_dpop_proof(key.key, method="GET", url=htu, now=time.time(), access_token=token)
        headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
        return httpx.get(url, headers=headers, timeout=10)

    def audited(self, cid: str, action: str) -> list[AuditRecord]:
        """The request's entries, once one with ``action`` is there (some are written
        after the answer)."""
        audit = self.services.audit
        assert isinstance(audit, MemoryAudit)
        deadline = time.monotonic() + 5
        while True:
            found = [r for r in audit.records if r.details.get("correlation_id") == cid]
            if any(r.action == action for r in found) or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, fast_hashing: PasswordHashing) -> Iterator[Env]:
    tmp = tmp_path_factory.mktemp("gw-fail-closed")
    services = product(tmp, fast_hashing)
    upstream = UpstreamProcess(tmp)
    port = free_port()
    config = routes(
        upstream,
        origin=f"http://127.0.0.1:{port}",
        extra_upstreams={"dead": {"url": f"http://127.0.0.1:{free_port()}"}},
        extra_routes=[
            {
                "name": "dead",
                "prefix": "/api/dead",
                "upstream": "dead",
                "methods": {"GET": "read"},
                "resource": {"type": "Transaction", "id": "{1}"},
            },
            {
                "name": "slow",
                "prefix": "/api/slow",
                "upstream": "svc",
                "methods": {"GET": "read"},
                "resource": {"type": "Transaction", "id": "{1}"},
            },
        ],
    )

    class Cases:
        def case_for(self, principal_id: str, session_id: str) -> str | None:
            return "c1"

    gateway = create_gateway(services, PolicyDecisionPoint(load_default()), config, cases=Cases())
    keys = {}
    for who, role in (("analyst", "fraud_analyst"), ("support", "support_agent")):
        principal = services.admin.create_user(
            who, roles=(role,), password="cobalt-heron-ledger-91", actor="test"
        )
        key = enrolled_device(services, principal)
        keys[who] = (key, access_token(services, principal, key))
    try:
        with serve_in_thread(gateway, port=port):
            yield Env(services, gateway, upstream, port, keys)
    finally:
        upstream.stop()
        services.close()


class RaisingPdp:
    def decide(self, request: AuthzRequest) -> Decision:
        raise RuntimeError("the engine is gone")


class SlowPdp:
    def decide(self, request: AuthzRequest) -> Decision:
        time.sleep(1.0)
        return Decision("allow", ("role-permit",))


def _down(*args: Any, **kwargs: Any) -> Any:
    raise StoreUnavailable


def _dead_redis(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    chain = env.gateway.chain
    limiter = RateLimiter(
        RedisCounters(DEAD_REDIS),
        env.services.clock,
        per_address=env.gateway.config.per_address,
        per_principal=env.gateway.config.per_principal,
    )
    monkeypatch.setattr(chain, "limiter", limiter)
    monkeypatch.setattr(chain, "dpop", DpopGuard(RedisReplayCache(DEAD_REDIS), env.services.clock))


def _pdp(pdp: Any) -> Callable[[Env, pytest.MonkeyPatch], None]:
    return lambda env, mp: mp.setattr(env.gateway.chain, "pdp", pdp)


def _short_budget(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(env.gateway.chain, "pdp", SlowPdp())
    config = dataclasses.replace(env.gateway.config, chain_timeout_s=0.3)
    monkeypatch.setattr(env.gateway, "config", config)


@pytest.mark.parametrize(
    ("break_it", "reason"),
    [
        (_pdp(RaisingPdp()), "error:RuntimeError"),
        (_short_budget, "chain_timeout"),
        (
            lambda env, mp: mp.setattr(env.services.sessions.sessions, "get", _down),
            "store_unavailable",
        ),
        (_dead_redis, "store_unavailable"),
        (lambda env, mp: mp.setattr(env.gateway.chain, "audit", _FailingAudit()), None),
    ],
    ids=["pdp-raises", "pdp-too-slow", "session-store-down", "redis-down", "audit-down"],
)
def test_a_broken_dependency_is_503_and_nothing_is_forwarded(
    env: Env, monkeypatch: pytest.MonkeyPatch, break_it: Any, reason: str | None
) -> None:
    break_it(env, monkeypatch)
    marker = uuid.uuid4().hex
    started = time.monotonic()
    response = env.get(f"/api/transactions/t1?m={marker}")
    assert response.status_code == 503
    assert response.json()["correlation_id"] == response.headers["x-correlation-id"]
    assert time.monotonic() - started < 5
    assert not any(marker in p for p in env.upstream.paths())
    if reason is not None:  # with the audit log down, the refusal is logged instead
        records = env.audited(response.headers["x-correlation-id"], "gateway.unavailable")
        assert [r.reason for r in records if r.action == "gateway.unavailable"] == [reason]
    monkeypatch.undo()
    time.sleep(1.1 if reason == "chain_timeout" else 0)  # let the stuck worker finish
    assert env.get("/api/transactions/t1").status_code == 200  # and it recovers


class _FailingAudit:
    """An audit log that is down."""

    def append(self, record: AuditRecord) -> int:
        raise StoreUnavailable


def test_an_unreachable_upstream_is_502_after_an_audited_allow(env: Env) -> None:
    response = env.get("/api/dead/t1")
    assert response.status_code == 502
    assert response.json()["code"] == "bad_gateway"
    [decision] = env.audited(response.headers["x-correlation-id"], "authz.decision")
    assert decision.outcome == "allowed"


def test_a_slow_upstream_is_504(env: Env) -> None:
    response = env.get("/api/slow/t1")
    assert response.status_code == 504


def test_an_obligation_that_cannot_be_met_withholds_the_response(env: Env) -> None:
    response = env.get("/api/text/c1", who="support")  # text/plain under mask:pan
    assert response.status_code == 403
    assert response.json()["code"] == "obligation_unfulfilled"
    assert "4111111111111111" not in response.text
    records = env.audited(response.headers["x-correlation-id"], "gateway.withheld")
    assert "gateway.withheld" in [r.action for r in records]
