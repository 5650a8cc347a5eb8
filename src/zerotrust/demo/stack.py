"""The running demo: the control-plane API, the gateway and the platform's data API, each
its own process on 127.0.0.1, started in order and stopped together.

    control plane  http://127.0.0.1:8000   sign-in, devices, audit; the console behind the gateway
    gateway        http://127.0.0.1:8080   the only way to the platform's data and the console
                                           (http://localhost:8080/console/)
    platform API   http://127.0.0.1:8081   answers the gateway's identity assertion only
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import httpx
import yaml

from zerotrust.core.errors import ZTError

PLATFORM_UPSTREAM: Final = "platform"
CONSOLE_UPSTREAM: Final = "console"  # the console verifies assertions for this audience


@dataclass(frozen=True)
class Ports:
    api: int = 8000
    gateway: int = 8080
    platform: int = 8081

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway}"

    @property
    def platform_url(self) -> str:
        return f"http://127.0.0.1:{self.platform}"

    @property
    def console_origins(self) -> tuple[str, ...]:
        """Where a browser reaches the console: ``localhost``, the passkeys' RP ID."""
        return (f"http://localhost:{self.gateway}", self.gateway_url)


def console_routes(upstream: str = CONSOLE_UPSTREAM) -> list[dict[str, Any]]:
    """The security console's routes (docs/console.md): the ways in to a session are
    public, everything else needs the browser session and a proof by its key, and the
    PDP's ``read Report::"console"`` (the console decides each page and action again)."""
    entry = {"upstream": upstream, "auth": "public", "methods": {"GET": "read", "POST": "read"}}
    resource = {"type": "Report", "id": "console"}
    return [
        *(
            {"name": f"console-{name}", "prefix": f"/console/{name}", **entry, "resource": resource}
            for name in ("signin", "enrol", "stepup", "static")
        ),
        {
            "name": "console-worker",
            "prefix": "/console/sw.js",
            **entry,
            "methods": {"GET": "read"},
            "resource": resource,
        },
        {
            "name": "console",
            "prefix": "/console",
            "upstream": upstream,
            "auth": "session",
            "signin": "/console/signin",
            "methods": {"GET": "read", "POST": "read"},
            "resource": resource,
        },
    ]


def gateway_routes(ports: Ports) -> dict[str, Any]:
    """The routes file for the platform (docs/gateway.md), as a mapping."""
    tx_fields = {
        "$.customer_id": "customer_id",
        "$.items[*].customer_id": "customer_id",
        "$.items[*].description": "pii",
        "$.items[*].card_token": "pan",
    }
    return {
        "listen": {"public_origins": list(ports.console_origins)},
        "rate_limits": {
            "per_principal": {"requests": 1200, "window_s": 60},
            "per_address": {"requests": 6000, "window_s": 60},
        },
        "identity": {"timezone": "Europe/London"},
        "upstreams": {
            PLATFORM_UPSTREAM: {"url": ports.platform_url},
            CONSOLE_UPSTREAM: {"url": ports.api_url},
        },
        "routes": [
            {
                "name": "customers",
                "prefix": "/api/customers",
                "upstream": PLATFORM_UPSTREAM,
                "methods": {"GET": "read"},
                "resource": {"type": "CustomerPII", "id": "{1}", "attrs": {"customer": "{1}"}},
                "fields": {
                    "$.customer_id": "customer_id",
                    "$.email": "email",
                    "$.phone": "pii",
                    "$.address": "pii",
                    "$.date_of_birth": "pii",
                    "$.card_token": "pan",
                },
            },
            {
                "name": "transactions",
                "prefix": "/api/transactions",
                "upstream": PLATFORM_UPSTREAM,
                "methods": {"GET": "read", "POST": "write"},
                "resource": {"type": "Transaction", "id": "{1}", "attrs": {"customer": "{1}"}},
                "fields": tx_fields,
            },
            {
                "name": "credit-profiles",
                "prefix": "/api/credit-profiles",
                "upstream": PLATFORM_UPSTREAM,
                "methods": {"GET": "read"},
                "resource": {"type": "CreditProfile", "id": "{1}", "attrs": {"customer": "{1}"}},
                "fields": {"$.customer_id": "customer_id"},
            },
            {
                "name": "features",
                "prefix": "/api/features",
                "upstream": PLATFORM_UPSTREAM,
                "methods": {"GET": "read"},
                "resource": {"type": "FeatureSet", "id": "{1}"},
                "fields": {"$.customer_id": "customer_id", "$.items[*].customer_id": "customer_id"},
            },
            {
                "name": "model-outputs",
                "prefix": "/api/model-outputs",
                "upstream": PLATFORM_UPSTREAM,
                "methods": {"GET": "read", "POST": "write"},
                "resource": {"type": "ModelOutput", "id": "{1}"},
                "fields": {"$.customer_id": "customer_id", "$.items[*].customer_id": "customer_id"},
            },
            {
                "name": "reports",
                "prefix": "/api/reports",
                "upstream": PLATFORM_UPSTREAM,
                "methods": {"GET": "read"},
                "resource": {"type": "Report", "id": "{1}"},
            },
            *console_routes(),
        ],
    }


def write_configs(folder: Path, ports: Ports) -> tuple[Path, Path]:
    """The gateway's routes file and the support-cases file, in the demo folder."""
    folder.mkdir(parents=True, exist_ok=True)
    routes = folder / "gateway.yaml"
    routes.write_text(
        "# Written by `zt demo up`: the sample platform's routes (docs/gateway.md).\n"
        + yaml.safe_dump(gateway_routes(ports), sort_keys=False)
    )
    cases = folder / "cases.json"
    if not cases.exists():
        cases.write_text("{}\n")
    return routes, cases


DETECT_CONFIG: Final = """\
# Written by `zt demo up` (DEMO ONLY; docs/detection.md). The demo's workloads are
# minutes old, not a day: the workload detector learns each lane from its first calls.
detectors:
  workload_misuse: {learn_s: 0, learn_events: 20}
"""


def write_detect_config(folder: Path) -> Path:
    """The demo's detection settings (``ZT_DETECT_CONFIG``), in the demo folder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "detect.yaml"
    path.write_text(DETECT_CONFIG)
    return path


def assign_case(cases: Path, principal_id: str, customer_id: str) -> None:
    """Bind a support agent to one customer's case (the gateway re-reads the file)."""
    data = json.loads(cases.read_text("utf-8")) if cases.exists() else {}
    data[principal_id] = customer_id
    tmp = cases.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, cases)


class StackFailed(ZTError):
    code = "demo_stack_failed"
    message = "A demo process did not start."


@dataclass
class Process:
    name: str
    args: list[str]
    ready_url: str
    proc: subprocess.Popen[bytes] | None = None


class Stack:
    """Start the processes in order, each ready before the next; stop them together."""

    def __init__(self, folder: Path, ports: Ports, *, env: dict[str, str] | None = None) -> None:
        self.folder = folder
        self.ports = ports
        # The control plane's public origin is where it listens: DPoP proofs name it.
        self.env = {**os.environ, **(env or {}), "ZT_ISSUER": ports.api_url}
        # The scenarios play clients in other countries through a front proxy on this
        # machine: in the demo, the control plane takes X-Forwarded-For from loopback.
        self.env.setdefault("ZT_TRUSTED_PROXIES", "127.0.0.1")
        self.env.setdefault("ZT_DETECT_CONFIG", str(write_detect_config(folder)))
        # The console is served through the gateway: passkeys and proofs name its origin.
        self.env.setdefault(
            "ZT_ORIGINS", ",".join((f"http://localhost:{ports.api}", *ports.console_origins))
        )
        self.env.setdefault("ZT_CONSOLE_VIA_GATEWAY", "true")
        routes, cases = write_configs(folder, ports)
        self.cases = cases
        py = sys.executable
        self.processes = [
            Process(
                "control plane",
                [py, "-m", "zerotrust.cli", "serve", "--port", str(ports.api)],
                f"{ports.api_url}/healthz",
            ),
            Process(
                "platform API",
                [
                    py,
                    "-m",
                    "zerotrust.demo.platform_api",
                    "--port",
                    str(ports.platform),
                    "--jwks",
                    f"{ports.api_url}/.well-known/jwks.json",
                ],
                f"{ports.platform_url}/api/reports/none",
            ),
            Process(
                "gateway",
                [
                    py,
                    "-m",
                    "zerotrust.cli",
                    "gateway",
                    "serve",
                    "--config",
                    str(routes),
                    "--port",
                    str(ports.gateway),
                    "--cases",
                    str(cases),
                ],
                f"{ports.gateway_url}/healthz",
            ),
        ]

    def add_worker(self, name: str, *, every_s: float = 30.0) -> None:
        """An AI workload's batch loop (``zt demo worker``), started after the others."""
        args = [sys.executable, "-m", "zerotrust.cli", "demo", "worker", name]
        args += ["--every", str(every_s), "--gateway", self.ports.gateway_url]
        args += ["--api", self.ports.api_url]
        self.processes.append(Process(name, args, ready_url=""))

    def start(self, *, timeout_s: float = 60.0) -> None:
        logs = self.folder / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        try:
            for p in self.processes:
                # The child keeps its own copy of the log's descriptor; ours is closed.
                with (logs / f"{p.name.replace(' ', '-')}.log").open("ab") as out:
                    p.proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                        p.args, env=self.env, stdout=out, stderr=subprocess.STDOUT
                    )
                self._wait_ready(p, timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, p: Process, timeout_s: float) -> None:
        if not p.ready_url:
            return  # a worker: nothing to wait for
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if p.proc is not None and p.proc.poll() is not None:
                raise StackFailed(f"The {p.name} exited (see {self.folder / 'logs'}).")
            try:
                httpx.get(p.ready_url, timeout=1)
            except httpx.HTTPError:
                time.sleep(0.2)
            else:
                return  # any answer: it listens
        raise StackFailed(f"The {p.name} did not answer within {timeout_s:.0f} s.")

    def alive(self) -> bool:
        return all(p.proc is not None and p.proc.poll() is None for p in self.processes)

    def stop(self, *, timeout_s: float = 15.0) -> None:
        """Interrupt every process (last started first), then wait; kill stragglers."""
        running = [p.proc for p in reversed(self.processes) if p.proc and p.proc.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + timeout_s
        for proc in running:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
