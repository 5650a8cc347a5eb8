"""``zt serve`` as a real process: ready on /healthz, login over real HTTP."""

from __future__ import annotations

import json
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = {**os.environ, "ZT_DATA_DIR": str(tmp_path / "data"), "ZT_LOG_LEVEL": "warning"}
    env.pop("ZT_DATABASE_URL", None)
    zt = [sys.executable, "-m", "zerotrust.cli"]
    subprocess.run([*zt, "init"], env=env, check=True, capture_output=True, cwd=tmp_path)
    port = _free_port()
    proc = subprocess.Popen(
        [*zt, "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("zt serve did not become ready")
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_answers_health_and_a_full_login(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, env = server
    health = httpx.get(f"{base}/healthz")
    assert health.json()["status"] == "ok"
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "zerotrust.cli",
            "user",
            "add",
            "erin",
            "--role",
            "developer",
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
    first = httpx.post(
        f"{base}/v1/auth/login", json={"username": "erin", "password": "cobalt-heron-ledger-91"}
    )
    assert first.status_code == 200
    tokens = httpx.post(
        f"{base}/v1/auth/mfa/totp",
        json={"mfa_token": first.json()["mfa_token"], "code": pyotp.TOTP(secret).now()},
    ).json()
    me = httpx.get(f"{base}/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "erin"
    assert "server" not in me.headers
