"""Two server processes share PostgreSQL and Redis: a DPoP proof replayed on the other
replica is refused, and a revocation on one holds on the other at the next request."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from zerotrust.client import DeviceKey, ZTClient


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    for _ in range(150):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


@pytest.fixture
def replicas(
    tmp_path: Path, pg_server_url: str, redis_url: str
) -> Iterator[tuple[str, str, dict[str, str]]]:
    from tests.conftest import _truncate_all

    _truncate_all(pg_server_url)
    a, b = _port(), _port()
    env = {
        **os.environ,
        "ZT_DATA_DIR": str(tmp_path),
        "ZT_DATABASE_URL": pg_server_url,
        "ZT_REDIS_URL": redis_url,
        "ZT_ROOT_KEY": "A" * 42 + "Q",
        "ZT_LOG_LEVEL": "warning",
        "ZT_ISSUER": f"http://127.0.0.1:{a}",
        "ZT_ORIGINS": f"http://127.0.0.1:{b}",
    }
    zt = [sys.executable, "-m", "zerotrust.cli"]
    subprocess.run([*zt, "init"], env=env, check=True, capture_output=True, cwd=tmp_path)
    procs = [
        subprocess.Popen(
            [*zt, "serve", "--port", str(p)],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for p in (a, b)
    ]
    try:
        for p in (a, b):
            _wait(f"http://127.0.0.1:{p}")
        yield f"http://127.0.0.1:{a}", f"http://127.0.0.1:{b}", env
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.mark.postgres
@pytest.mark.redis
def test_replay_and_revocation_across_replicas(
    replicas: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    import json

    url_a, url_b, env = replicas
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "zerotrust.cli",
            "user",
            "add",
            "hana",
            "--password-stdin",
            "--enroll-totp",
        ],
        input="cobalt-heron-ledger-91\n",
        text=True,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    secret = json.loads(added.stdout)["totp"]["secret"]
    key = DeviceKey.generate()
    on_a = ZTClient(url_a, key)
    on_a.login("hana", "cobalt-heron-ledger-91", totp=pyotp.TOTP(secret).now())
    token = on_a.tokens["access_token"]
    proof = on_a.proof("GET", "/v1/me", token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert httpx.get(f"{url_a}/v1/me", headers=headers).status_code == 200
    replayed = httpx.get(f"{url_b}/v1/me", headers=headers)  # same proof, other replica
    assert replayed.status_code == 401
    assert replayed.json()["code"] == "invalid_dpop_proof"

    on_b = ZTClient(url_b, key)
    on_b.tokens = dict(on_a.tokens)
    assert on_b.request("GET", "/v1/me").status_code == 200  # a fresh proof is fine on b
    on_a.logout()
    assert on_b.request("GET", "/v1/me").status_code == 401  # revoked on a, refused on b
    on_a.http.close()
    on_b.http.close()
