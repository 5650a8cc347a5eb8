from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.support.gateway import free_port
from zerotrust.api.app import create_app
from zerotrust.demo.personas import demo_dir
from zerotrust.demo.stack import Ports, Stack
from zerotrust.service import Services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def running_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Ports]]:
    """A small demo (``zt demo up --no-serve``), then its control plane, platform API and
    gateway as processes on free ports; shared by the tests that drive it."""
    data_dir = tmp_path_factory.mktemp("demo") / "zt"
    env = {"ZT_DATA_DIR": str(data_dir)}
    prepare = ["demo", "up", "--no-serve", "--customers", "100", "--transactions", "3000"]
    subprocess.run(
        [sys.executable, "-m", "zerotrust.cli", *prepare],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=180,
    )
    ports = Ports(api=free_port(), gateway=free_port(), platform=free_port())
    stack = Stack(demo_dir(data_dir), ports, env=env)
    stack.start()
    try:
        yield data_dir, ports
    finally:
        stack.stop()
