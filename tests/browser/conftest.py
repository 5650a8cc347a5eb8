"""Fixtures for driving the console in a real Chromium: a live deployment and a browser.

The deployment is the real control plane (``create_app``) and the real gateway in front
of it, as ``zt demo up`` runs them, each under uvicorn on 127.0.0.1 at an ephemeral port.
The browser reaches the console only through the gateway, as ``http://localhost:<port>``
— a secure context, so WebAuthn and service workers work, with the RP ID ``localhost``;
the control plane answers console requests that did not come through the gateway with
403. Both run in this process, so a test can set up state through the services and check
what the browser did. The browser is Debian's Chromium driven by Playwright (no browser
download), with a virtual WebAuthn authenticator.

Without ``/usr/bin/chromium`` these tests are skipped, except in CI (``CI=true``), where
a missing browser fails them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.gateway import console_behind_gateway, free_port
from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Detection answers with alerts only, so the session an alert names is still live for
# the analyst to revoke; brute force also throttles its source, as by default.
DETECT_CONFIG = """
playbooks:
  privilege_probing: [{action: alert}]
  brute_force: [{action: block_source, minutes: 30}, {action: alert}]
"""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the console in a real Chromium")


@dataclass
class LiveServer:
    base: str  # the gateway, as the browser reaches it
    services: Services
    control_plane: str  # the console's upstream, which refuses the browser
    gateway: str  # the gateway as a device agent reaches it (127.0.0.1)


# Routes to data nobody in the test may read: what a prober tries. The requests are denied
# by the PDP, so they never reach an upstream; the control plane stands in for one.
DATA_ROUTES = [
    ("customers", "/api/customers", {"GET": "read"}, {"type": "CustomerPII", "id": "{1}"}),
    ("exports", "/api/exports", {"POST": "export"}, {"type": "Transaction", "id": "{1}"}),
    ("roles", "/admin/roles", {"GET": "manage"}, {"type": "Role", "id": "{1}"}),
    ("audit", "/api/audit", {"GET": "read"}, {"type": "AuditLog", "id": "main"}),
    ("detokenize", "/api/detokenize", {"POST": "detokenize"}, {"type": "CustomerPII", "id": "{1}"}),
]


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is required in CI (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is not installed")
    return CHROMIUM


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: Path
) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("console-live")
    cp_port, gw_port = free_port(), free_port()
    base, control_plane = f"http://localhost:{gw_port}", f"http://127.0.0.1:{cp_port}"
    (data / "detect.yaml").write_text(DETECT_CONFIG)
    settings = Settings(
        data_dir=data,
        root_key=b64url_encode(secrets.token_bytes(32)),
        issuer=control_plane,
        origins=(base,),
        rp_id="localhost",
        device_auto_approve=True,
        detect_config=str(data / "detect.yaml"),
        log_level="warning",
    )
    svc = build_services(settings, hashing=PasswordHashing(memory_kib=1024, time_cost=1))
    agents = f"http://127.0.0.1:{gw_port}"
    data_routes = [
        {"name": n, "prefix": pre, "upstream": "data", "methods": m, "resource": r}
        for n, pre, m, r in DATA_ROUTES
    ]
    try:
        with console_behind_gateway(
            svc,
            cp_port=cp_port,
            gw_port=gw_port,
            listen={"public_origins": [base, agents]},
            upstreams={"data": {"url": control_plane}},
            routes=data_routes,
        ):
            yield LiveServer(base, svc, control_plane, agents)
    finally:
        svc.close()


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: ``docs/screenshots`` when ``ZT_UPDATE_SCREENSHOTS=1`` (to
    refresh the documentation), else a temporary directory (the pages are still drawn)."""
    if os.environ.get("ZT_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS
    return tmp_path
