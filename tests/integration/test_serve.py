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

from zerotrust.client import DeviceKey, ZTClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = _free_port()
    env = {
        **os.environ,
        "ZT_DATA_DIR": str(tmp_path / "data"),
        "ZT_LOG_LEVEL": "warning",
        "ZT_ISSUER": f"http://127.0.0.1:{port}",
    }
    env.pop("ZT_DATABASE_URL", None)
    zt = [sys.executable, "-m", "zerotrust.cli"]
    subprocess.run([*zt, "init"], env=env, check=True, capture_output=True, cwd=tmp_path)
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
    zc = ZTClient(base, DeviceKey.generate())
    zc.login("erin", "cobalt-heron-ledger-91", totp=pyotp.TOTP(secret).now())
    me = zc.request("GET", "/v1/me")
    assert me.status_code == 200
    assert me.json()["username"] == "erin"
    assert "server" not in me.headers
    zc.http.close()


def test_agent_signs_in_enrols_and_requests(
    server: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from zerotrust.cli.main import cli

    base, env = server
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "zerotrust.cli",
            "user",
            "add",
            "gina",
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
    agent_dir = str(tmp_path / "agent")
    run = CliRunner()

    def agent(*args: str, stdin: str | None = None) -> str:
        result = run.invoke(cli, ["agent", "--dir", agent_dir, *args], input=stdin)
        assert result.exit_code == 0, result.output
        return result.output

    jkt = json.loads(agent("init"))["jkt"]
    assert (tmp_path / "agent" / "device.key").stat().st_mode & 0o777 == 0o600
    agent(
        "login",
        "--server",
        base,
        "--username",
        "gina",
        "--password-stdin",
        "--totp",
        pyotp.TOTP(secret).now(),
        stdin="cobalt-heron-ledger-91\n",
    )
    device = json.loads(agent("enroll", "--name", "ci-runner"))
    assert device["jkt"] == jkt
    assert device["status"] == "pending"
    me = json.loads(agent("request", "GET", "/v1/me"))
    assert me["username"] == "gina"
    posture = json.loads(agent("posture", "--dry-run"))
    assert {"os", "patch_age_days", "disk_encrypted"} <= set(posture)
    again = run.invoke(cli, ["agent", "--dir", agent_dir, "init"])
    assert again.exit_code != 0
    assert "already has a key" in again.output
