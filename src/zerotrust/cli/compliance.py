"""``zt dataflow``, ``zt report``, ``zt review`` and ``zt dsar``: compliance evidence from
live state. The lead registers the four groups on the ``zt`` root. Errors are one line,
``error: …``, with a non-zero exit; never a traceback.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from zerotrust.cli.common import emit_json, fail, handle_errors, open_services
from zerotrust.compliance.dataflow import Inventory, load_inventory, merge, observe
from zerotrust.compliance.gdpr import erase_subject, export_subject
from zerotrust.compliance.render import render
from zerotrust.compliance.report import FORMATS, build_report, render_report
from zerotrust.compliance.reviews import Reviews
from zerotrust.service import Services

INVENTORY_ENV = "ZT_DATAFLOW_INVENTORY"


def _inventory(path: Path | None) -> Inventory | None:
    """``--inventory``, else ``$ZT_DATAFLOW_INVENTORY``, else none (Art. 30 then fails)."""
    chosen = path or (Path(os.environ[INVENTORY_ENV]) if os.environ.get(INVENTORY_ENV) else None)
    return load_inventory(chosen) if chosen is not None else None


def _since(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail("--since: an ISO 8601 date, e.g. 2026-01-01")
        raise  # unreachable: fail exits
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def _write(text: str, out: Path | None) -> None:
    if out is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        out.write_text(text, encoding="utf-8")


_inventory_option = click.option(
    "--inventory",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"Declared inventory YAML (default: ${INVENTORY_ENV}).",
)


@click.group()
def dataflow() -> None:
    """The data-flow map: declared inventory merged with flows observed in the audit log."""


@dataflow.command("render")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["svg", "mermaid", "json", "dot"]),
    default="svg",
    show_default=True,
)
@_inventory_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", help="Observed flows from this date (default: 90 days).")
@handle_errors
def render_cmd(fmt: str, inventory: Path | None, out: Path | None, since: str | None) -> None:
    """Draw the map (SVG needs Graphviz `dot`; otherwise use --format mermaid)."""
    declared = _inventory(inventory)
    if declared is None:
        fail(f"no inventory: pass --inventory FILE or set {INVENTORY_ENV}")
        return
    from zerotrust.compliance_adapter import LiveEvidence

    with open_services() as svc:
        source = LiveEvidence(svc)
        start = _since(since) or source.now() - 90 * 86_400
        entries = (s.entry for s in source.audit_entries(since=start) if s.entry is not None)
        flow_map = merge(declared, observe(declared, source.principals(), entries))
        _write(render(flow_map, fmt), out)


@click.command()
@click.argument("framework", type=click.Choice(["pci", "soc2", "gdpr"]))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option("--since", help="Period start, ISO 8601 (default: 90 days ago).")
@_inventory_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--actor", default="cli", show_default=True, help="Who asks (audited).")
@handle_errors
def report(
    framework: str,
    fmt: str,
    since: str | None,
    inventory: Path | None,
    out: Path | None,
    actor: str,
) -> None:
    """A compliance report: each control pass/fail with evidence; exit 1 if any fails."""
    from zerotrust.compliance_adapter import LiveEvidence, campaigns_for

    declared = _inventory(inventory)
    start = _since(since)
    with open_services() as svc:
        source = LiveEvidence(svc)
        result = build_report(
            framework,
            source,
            since=start,
            inventory=declared,
            campaigns=campaigns_for(svc),
            recorder=source,
            actor=actor,
        )
        _write(render_report(result, fmt), out)
    if result.failed():
        raise SystemExit(1)


@click.group()
def review() -> None:
    """Access reviews: granted versus used permissions, and review campaigns."""


def _reviews(svc: Services, window_days: int = 90) -> Reviews:
    from zerotrust.compliance_adapter import LiveEvidence, campaigns_for

    source = LiveEvidence(svc)
    return Reviews(source, source, campaigns_for(svc), window_days=window_days)


@review.command("start")
@click.argument("name")
@click.option("--actor", required=True, help="Who starts the campaign.")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=90, show_default=True, help="Usage window."
)
@handle_errors
def review_start(name: str, actor: str, days: int) -> None:
    """Open a campaign over every role assignment and grant in force."""
    with open_services() as svc:
        campaign = _reviews(svc, days).start(name, actor=actor)
        emit_json({"campaign": campaign.id, **campaign.counts()})


@review.command("list")
@click.argument("campaign", required=False)
@click.option("--days", type=click.IntRange(1, 3650), default=90, show_default=True)
@handle_errors
def review_list(campaign: str | None, days: int) -> None:
    """Without CAMPAIGN: granted versus used per principal. With it: its items."""
    with open_services() as svc:
        reviews = _reviews(svc, days)
        if campaign is None:
            emit_json([r.to_json() for r in reviews.principals()])
        else:
            emit_json(reviews.get(campaign).to_json())


def _decide(decision: str, campaign: str, item: str, reviewer: str, note: str | None) -> None:
    with open_services() as svc:
        reviews = _reviews(svc)
        done = (reviews.certify if decision == "certify" else reviews.revoke)(
            campaign, item, reviewer=reviewer, note=note
        )
        emit_json({"campaign": done.id, "closed": done.closed_at is not None, **done.counts()})


@review.command("certify")
@click.argument("campaign")
@click.argument("item")
@click.option("--reviewer", required=True)
@click.option("--note")
@handle_errors
def review_certify(campaign: str, item: str, reviewer: str, note: str | None) -> None:
    """Certify one entitlement: it stays."""
    _decide("certify", campaign, item, reviewer, note)


@review.command("revoke")
@click.argument("campaign")
@click.argument("item")
@click.option("--reviewer", required=True)
@click.option("--note")
@handle_errors
def review_revoke(campaign: str, item: str, reviewer: str, note: str | None) -> None:
    """Revoke one entitlement, effective immediately."""
    _decide("revoke", campaign, item, reviewer, note)


@click.group()
def dsar() -> None:
    """GDPR data-subject requests: access export and erasure (crypto-shredding)."""


@dsar.command("export")
@click.argument("customer")
@click.option("--actor", required=True, help="Who handles the request (audited).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path))
@handle_errors
def dsar_export(customer: str, actor: str, out: Path | None) -> None:
    """Everything held on CUSTOMER, decrypted (audited)."""
    from zerotrust.compliance_adapter import LiveEvidence

    with open_services() as svc:
        source = LiveEvidence(svc)
        result = export_subject(
            svc.vault.records, customer, actor=actor, recorder=source, now=source.now()
        )
        _write(json.dumps(result.to_json(), indent=2, sort_keys=True, default=str) + "\n", out)


@dsar.command("erase")
@click.argument("customer")
@click.option("--actor", required=True, help="Who handles the request (audited).")
@handle_errors
def dsar_erase(customer: str, actor: str) -> None:
    """Crypto-shred CUSTOMER: every record then reads as erased."""
    from zerotrust.compliance_adapter import LiveEvidence

    with open_services() as svc:
        done = erase_subject(svc.vault.records, customer, actor=actor, recorder=LiveEvidence(svc))
        emit_json(
            {
                "subject": done.subject_id,
                "keys_destroyed": done.keys_destroyed,
                "already_erased": done.already_erased,
            }
        )
