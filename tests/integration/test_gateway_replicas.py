"""Two gateway replicas behind one address share PostgreSQL and Redis: a DPoP proof
replayed on the other replica is refused, a session revoked anywhere is refused on both
at the next request, rate limits count across both, an alert raised anywhere weighs
on both replicas' decisions, and detection counts the traffic of both."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from tests.support.gateway import (
    ROOT,
    UpstreamProcess,
    access_token,
    enrolled_device,
    free_port,
    wait_port,
)
from zerotrust.client import DeviceKey
from zerotrust.crypto.dpop import make_dpop_proof
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.identity.models import Principal
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

ROOT_KEY = "A" * 42 + "Q"
LB = "https://gw.example.test"  # the one public address both replicas answer for
PROBES = (
    ("keys", "read", "KeyMaterial"),
    ("policies", "manage", "Policy"),
    ("roles", "manage", "Role"),
    ("audit", "export", "AuditLog"),
)
SERVE = "from zerotrust.cli.gateway import gateway_group; gateway_group(prog_name='zt gateway')"


@dataclass
class Cluster:
    services: Services
    replicas: tuple[str, str]
    principal: Principal
    key: DeviceKey
    token: str

    def headers(self, path: str, *, proof: str | None = None) -> dict[str, str]:
        proof = proof or make_dpop_proof(
            self.key.key, method="GET", url=LB + path, now=time.time(), access_token=self.token
        )
        return {"Authorization": f"DPoP {self.token}", "DPoP": proof}


@pytest.fixture
def cluster(tmp_path: Path, pg_server_url: str, redis_url: str) -> Iterator[Cluster]:
    from tests.conftest import _truncate_all

    _truncate_all(pg_server_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    upstream = UpstreamProcess(tmp_path)
    routes = {
        "listen": {"public_origins": [LB]},
        "rate_limits": {"per_principal": {"requests": 6, "window_s": 60}},
        "upstreams": {"svc": {"url": upstream.url}},
        "routes": [
            {
                "name": "tx",
                "prefix": "/api/transactions",
                "upstream": "svc",
                "methods": {"GET": "read"},
                "resource": {"type": "Transaction", "id": "{1}"},
            },
            *(
                {  # what a fraud analyst may not do: denied
                    "name": name,
                    "prefix": f"/api/{name}",
                    "upstream": "svc",
                    "methods": {"GET": action},
                    "resource": {"type": rtype, "id": "{1}"},
                }
                for name, action, rtype in PROBES
            ),
        ],
    }
    (tmp_path / "routes.yaml").write_text(yaml.safe_dump(routes))
    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_server_url,
        redis_url=redis_url,
        root_key=ROOT_KEY,
        issuer="http://cp.example.test",
        origins=("http://localhost:8000",),
    )
    services = build_services(settings)  # migrates, and mints the signing key
    principal = services.admin.create_user(
        "rhea", roles=("fraud_analyst",), password="cobalt-heron-ledger-91", actor="test"
    )
    key = enrolled_device(services, principal)
    token = access_token(services, principal, key)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ZT_DATA_DIR": str(tmp_path),
        "ZT_DATABASE_URL": pg_server_url,
        "ZT_REDIS_URL": redis_url,
        "ZT_ROOT_KEY": ROOT_KEY,
        "ZT_ISSUER": settings.issuer,
        "ZT_ORIGINS": "http://localhost:8000",
        "ZT_LOG_LEVEL": "warning",
    }
    ports = (free_port(), free_port())
    procs = [
        subprocess.Popen(  # our interpreter, our CLI
            [
                sys.executable,
                "-c",
                SERVE,
                "serve",
                "--config",
                str(tmp_path / "routes.yaml"),
                "--port",
                str(port),
            ],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_port(port, timeout_s=30)
        urls = (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}")
        yield Cluster(services, urls, principal, key, token)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        upstream.stop()
        services.close()


@pytest.mark.postgres
@pytest.mark.redis
def test_replicas_share_replay_revocation_and_limits(cluster: Cluster) -> None:
    a, b = cluster.replicas
    path = "/api/transactions/t1"
    headers = cluster.headers(path)
    assert httpx.get(a + path, headers=headers).status_code == 200
    replayed = httpx.get(b + path, headers=headers)  # the same proof at the other replica
    assert replayed.status_code == 401
    assert 'error="invalid_dpop_proof"' in replayed.headers["www-authenticate"]

    # The per-principal limit (6 a minute) is one count across both replicas. The replay
    # was refused before the principal was known, so one request has counted so far.
    for replica in (b, a, b, a, b):
        assert httpx.get(replica + path, headers=cluster.headers(path)).status_code == 200
    limited = httpx.get(a + path, headers=cluster.headers(path))
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    limited = httpx.get(b + path, headers=cluster.headers(path))
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["retry-after"]) > 0


@pytest.mark.postgres
@pytest.mark.redis
def test_a_revoked_session_is_refused_by_every_replica_at_once(cluster: Cluster) -> None:
    a, b = cluster.replicas
    path = "/api/transactions/t1"
    assert httpx.get(a + path, headers=cluster.headers(path)).status_code == 200
    assert httpx.get(b + path, headers=cluster.headers(path)).status_code == 200
    cluster.services.sessions.revoke_all(cluster.principal.id, actor="admin", reason="test")
    for replica in (b, a):
        refused = httpx.get(replica + path, headers=cluster.headers(path))
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_token"


def _after_upkeep(cluster: Cluster, replica: str, path: str) -> httpx.Response:
    """The answer once the replica's upkeep has run: a 200 is asked again 2 s later, in
    case the upkeep ran late on a loaded machine."""
    answer = httpx.get(replica + path, headers=cluster.headers(path))
    if answer.status_code == 200:
        time.sleep(2.0)
        answer = httpx.get(replica + path, headers=cluster.headers(path))
    return answer


@pytest.mark.postgres
@pytest.mark.redis
def test_an_alert_raised_elsewhere_weighs_on_both_replicas(cluster: Cluster) -> None:
    a, b = cluster.replicas
    path = "/api/transactions/t1"
    for replica in (a, b):
        assert httpx.get(replica + path, headers=cluster.headers(path)).status_code == 200
    # The control plane's engine (this process) finds MFA fatigue approved: critical.
    finding = Finding(
        detector="mfa_fatigue",
        severity="critical",
        key=cluster.principal.name,
        principal=cluster.principal.name,
        event_ids=("evt_push_1",),
        explanation="6 push prompts rejected, then one approved",
    )
    cluster.services.alerts.add(Alert.from_finding(finding, ts=time.time(), event_id="evt_2"))
    # Each replica reads other processes' alerts at its upkeep, every 2 s. The
    # per-principal limit (6 a minute) leaves four more requests.
    time.sleep(2.5)
    for replica in (a, b):
        refused = _after_upkeep(cluster, replica, path)
        assert refused.status_code == 403, refused.text
        assert "risk-high" in refused.json()["reasons"]


@pytest.mark.postgres
@pytest.mark.redis
def test_a_probe_spread_over_both_replicas_is_detected_once(cluster: Cluster) -> None:
    # Four denials on never-allowed actions make privilege probing fire (high); each
    # replica serves two, so neither would see the burst on its own.
    a, b = cluster.replicas
    for replica, (name, _, _) in zip((a, b, a, b), PROBES, strict=True):
        path = f"/api/{name}/x1"
        assert httpx.get(replica + path, headers=cluster.headers(path)).status_code == 403
    # At its next upkeep (every 2 s) each replica's engine reads the other's denials; the
    # first to complete the burst claims it and runs the playbook: step-up, revoke. The
    # per-principal limit (6 a minute) leaves two requests that may still be allowed.
    time.sleep(3.0)
    path = "/api/transactions/t1"
    for replica in (a, b):
        answer = _after_upkeep(cluster, replica, path)
        assert answer.status_code == 401, answer.text
        assert answer.json()["code"] == "invalid_token"  # the session was revoked
    time.sleep(2.5)  # both replicas have seen all four denials by now
    probes = [x for x in cluster.services.alerts.list() if x.detector == "privilege_probing"]
    assert [(x.principal, x.severity) for x in probes] == [("rhea", "high")]
