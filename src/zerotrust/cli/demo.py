"""``zt demo``: the sample fintech AI platform behind zerotrust (DEMO ONLY).

``zt demo up`` seeds the platform, provisions its people and AI workloads, starts the
control plane, the gateway and the platform's data API on 127.0.0.1 and prints how to
use them; ``Ctrl-C`` stops everything. ``zt demo as NAME METHOD PATH`` makes one request
through the gateway as a persona.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

from zerotrust.cli.common import fail, handle_errors, settings
from zerotrust.cli.demo_scenarios import scenario


@click.group("demo")
def demo_group() -> None:
    """The sample fintech AI platform and the attacks zerotrust stops (demo only)."""


@demo_group.command("up")
@click.option("--customers", default=10_000, show_default=True, type=click.IntRange(10, 100_000))
@click.option(
    "--transactions", default=1_000_000, show_default=True, type=click.IntRange(100, 10_000_000)
)
@click.option("--api-port", default=8000, show_default=True, type=int)
@click.option("--gateway-port", default=8080, show_default=True, type=int)
@click.option("--platform-port", default=8081, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare everything, then exit.")
@handle_errors
def up(
    customers: int,
    transactions: int,
    api_port: int,
    gateway_port: int,
    platform_port: int,
    no_serve: bool,
) -> None:
    """Initialise, seed, provision personas and run the platform until Ctrl-C."""
    from rich.console import Console

    from zerotrust.demo.personas import demo_dir, load_state
    from zerotrust.demo.stack import Ports, Stack, assign_case

    console = Console(width=None if sys.stdout.isatty() else 120)
    ports = Ports(api=api_port, gateway=gateway_port, platform=platform_port)
    s = settings()
    state, samples = prepare(console, s.data_dir, customers=customers, transactions=transactions)
    if no_serve:
        return
    stack = Stack(demo_dir(s.data_dir), ports)
    sam = state["people"]["sam"]["id"]
    if samples.get("typical"):
        assign_case(stack.cases, sam, samples["typical"])
    models = demo_dir(s.data_dir) / "models"
    for model, workload in (("fraud-v1", "fraud-model"), ("credit-v1", "credit-model")):
        if (models / f"{model}.json").exists():
            stack.add_worker(workload)
    with console.status("Starting the control plane, the platform API and the gateway…"):
        stack.start()
    _welcome(console, ports, load_state(s.data_dir) or state, samples)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    crashed = False
    reported = time.monotonic()
    try:
        while not stopping and not crashed:
            crashed = not stack.alive()
            time.sleep(0.5)
            if time.monotonic() - reported > POSTURE_EVERY_S:
                # The personas' devices report posture as their agents would: a report
                # older than 70 minutes is stale, and stale posture is untrusted.
                _report_posture(s.data_dir)
                reported = time.monotonic()
    except KeyboardInterrupt:  # Ctrl-C: the normal way out
        pass
    finally:
        console.print("Stopping…")
        stack.stop()
    if crashed:
        fail(f"a demo process stopped; see {demo_dir(s.data_dir) / 'logs'}", 1)


POSTURE_EVERY_S = 30 * 60


def _report_posture(data_dir: Path) -> None:
    from zerotrust.demo.personas import refresh_posture
    from zerotrust.service import build_services

    services = build_services(settings())
    try:
        refresh_posture(services, data_dir)
    finally:
        services.close()


def prepare(
    console: Any, data_dir: Path, *, customers: int, transactions: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Everything before serving: data directory, keys, database, data, people."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from zerotrust.demo.personas import demo_dir, mark_demo, provision, refresh_posture
    from zerotrust.demo.seed import SeedProgress, seed_platform
    from zerotrust.service import build_services

    _init_demo_dir(data_dir)
    mark_demo(data_dir)
    s = settings()
    services = build_services(s)
    try:
        with Progress(
            TextColumn("[bold]Seeding[/] {task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} transactions"),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("customers, cards, credit profiles, transactions", total=1)

            def report(p: SeedProgress) -> None:
                bar.update(task, total=p.transactions_total, completed=p.transactions)

            summary = seed_platform(
                services,
                customers=customers,
                transactions=transactions,
                progress=report,
                processes=os.cpu_count() or 1,
            )
            bar.update(task, total=summary.transactions, completed=summary.transactions)
        verb = "Seeded" if summary.seeded else "Already seeded:"
        console.print(
            f"{verb} {summary.customers:,} customers, {summary.transactions:,} transactions "
            f"({summary.fraud:,} fraudulent) in the vault"
            + (f" in {summary.elapsed_s:.0f} s." if summary.seeded else ".")
        )
        _train_models(console, demo_dir(data_dir), customers, transactions)
        state = provision(services, data_dir)
        refresh_posture(services, data_dir)  # a restarted demo's devices report again
        # The customers the AI workloads score each round (they reach data only through
        # the gateway, so they are told whom to score).
        queue = demo_dir(data_dir) / "queue.json"
        queue.write_text(json.dumps(sorted(set(summary.samples.values()))))
    finally:
        services.close()
    return state, dict(summary.samples)


def _init_demo_dir(data_dir: Path) -> None:
    """``zt init`` for the demo: a data directory with its root key and database, which
    must be new or already a demo (demo credentials never go into a real one)."""
    from zerotrust.cli.main import _create_root_key
    from zerotrust.demo.personas import MARKER, demo_dir
    from zerotrust.store.database import Database
    from zerotrust.store.migrations import migrate

    s = settings()
    existing = data_dir.exists() and any(data_dir.iterdir())
    if existing and not (demo_dir(data_dir) / MARKER).is_file():
        fail(
            f"{data_dir} holds a non-demo installation; run the demo with another "
            "ZT_DATA_DIR (demo credentials are never created in a real one)",
            1,
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    _create_root_key(s)
    db = Database(s.effective_database_url)
    try:
        migrate(db, now=time.time())
    finally:
        db.dispose()


def _train_models(console: Any, folder: Path, customers: int, transactions: int) -> None:
    from zerotrust.demo import models
    from zerotrust.demo.data import SyntheticData

    path = folder / "models" / "fraud-v1.json"
    if path.exists():
        return
    data = SyntheticData(customers=customers, transactions=transactions)
    try:
        with console.status("Training the fraud model on the synthetic transactions…"):
            model = models.train_fraud_model(data, samples=min(transactions, 200_000))
            credit = models.train_credit_model(data)
    except ImportError:  # pragma: no cover - the demo extra is not installed
        console.print("[yellow]scikit-learn is not installed: no models trained.[/]")
        return
    except ValueError as exc:  # too little data for both classes in a split
        console.print(f"[yellow]No models trained: {exc}[/]")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    credit.save(folder / "models" / "credit-v1.json")
    auc = model.metrics.get("roc_auc", 0.0)
    console.print(f"Trained fraud-v1 (ROC AUC {auc:.3f} on held-out data).")


def _welcome(console: Any, ports: Any, state: dict[str, Any], samples: dict[str, str]) -> None:
    from rich.panel import Panel
    from rich.table import Table

    table = Table(title="Personas — DEMO-ONLY credentials, public by design", expand=False)
    for column in ("name", "role", "password", "TOTP secret", "device"):
        table.add_column(column)
    for name, p in state["people"].items():
        table.add_row(name, p["role"], p["password"], p["totp_secret"], p["device_id"])
    console.print(table)
    customer = samples.get("typical", "<customer id>")
    console.print(
        Panel.fit(
            f"control plane  {ports.api_url}   (API docs /docs)\n"
            f"gateway        {ports.gateway_url}   (the only way to the platform's data)\n"
            f"console        http://localhost:{ports.gateway}/console/   (through the gateway)\n"
            f"platform API   {ports.platform_url}   (refuses anything not from the gateway)\n\n"
            f"Try:  zt demo as fiona GET /api/transactions/{customer}\n"
            f"      zt demo as dara GET /api/customers/{customer}    (denied: no raw PII)\n"
            "      zt demo scenario --all\n\n"
            "Ctrl-C stops everything.",
            title="zerotrust demo",
        )
    )


@demo_group.command("as")
@click.argument("name")
@click.argument("method", type=click.Choice(["GET", "POST"], case_sensitive=False))
@click.argument("path")
@click.option("--json", "body", default=None, help="A JSON body for POST.")
@click.option("--gateway", default="http://127.0.0.1:8080", show_default=True)
@click.option("--api", default="http://127.0.0.1:8000", show_default=True)
@click.option(
    "--control-plane",
    is_flag=True,
    help="Send it to the control plane instead (e.g. POST /console/link to link a browser).",
)
@handle_errors
def as_persona(
    name: str,
    method: str,
    path: str,
    body: str | None,
    gateway: str,
    api: str,
    control_plane: bool,
) -> None:
    """One request through the gateway as a demo persona (signs in with their MFA)."""
    from zerotrust.demo.session import persona_client

    s = settings()
    target = api if control_plane else gateway
    with persona_client(s.data_dir, name, api=api, gateway=target) as client:
        payload = json.loads(body) if body else None
        response = client.request(method.upper(), path, json=payload)
    click.echo(f"{response.status_code} {response.reason_phrase}")
    try:
        click.echo(json.dumps(response.json(), indent=2))
    except ValueError:
        click.echo(response.text)


@demo_group.command("worker")
@click.argument("name", type=click.Choice(["fraud-model", "credit-model"]))
@click.option("--every", default=30.0, show_default=True, type=float, help="Seconds per round.")
@click.option("--once", is_flag=True, help="One round, then exit.")
@click.option("--gateway", default="http://127.0.0.1:8080", show_default=True)
@click.option("--api", default="http://127.0.0.1:8000", show_default=True)
@handle_errors
def worker(name: str, every: float, once: bool, gateway: str, api: str) -> None:
    """Run an AI workload: sign in as its service identity, score the sample customers
    through the gateway, write model outputs; again every ``--every`` seconds."""
    import threading

    import httpx

    from zerotrust.client.http import ZTClientError
    from zerotrust.demo.personas import demo_dir

    s = settings()
    folder = demo_dir(s.data_dir)
    queue = json.loads((folder / "queue.json").read_text("utf-8"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.is_set():
            try:
                line = _worker_round(name, s.data_dir, folder, queue, api, gateway, stop)
            except (ZTClientError, httpx.HTTPError) as exc:  # keep going; say why
                if once:
                    raise
                line = {"workload": name, "error": str(exc)}
            click.echo(json.dumps(line), nl=True)
            if once:
                return
            stop.wait(every)
    except KeyboardInterrupt:
        return


def _worker_round(
    name: str,
    data_dir: Path,
    folder: Path,
    queue: list[str],
    api: str,
    gateway: str,
    stop: Any,
) -> dict[str, Any]:
    from zerotrust.demo import models, workloads
    from zerotrust.demo.session import workload_client

    with workload_client(data_dir, name, api=api, gateway=gateway) as client:
        if name == "fraud-model":
            fraud = models.FraudModel.load(folder / "models" / "fraud-v1.json")
            report = workloads.run_fraud_batch(client, fraud, queue, stop=stop)
        else:
            credit = models.CreditModel.load(folder / "models" / "credit-v1.json")
            report = workloads.run_credit_batch(client, credit, queue, stop=stop)
    return {"workload": name, **dataclasses.asdict(report)}


demo_group.add_command(scenario)
