"""Compliance: PCI DSS, SOC 2 and GDPR reports from live evidence, and the data-flow map
(drawn by Graphviz ``dot`` exactly as ``zt dataflow render --format svg`` draws it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

from zerotrust.compliance.dataflow import DataFlowMap, Inventory, load_inventory, merge, observe
from zerotrust.compliance.render import dot_available, to_mermaid, to_svg
from zerotrust.compliance.report import build_report
from zerotrust.compliance_adapter import LiveEvidence, campaigns_for
from zerotrust.console.runtime import Console, console
from zerotrust.core.errors import InvalidInput, NotFound

INVENTORY_ENV: Final = "ZT_DATAFLOW_INVENTORY"  # the same setting as `zt dataflow`
FRAMEWORKS: Final = {"pci": "PCI DSS v4.0", "soc2": "SOC 2", "gdpr": "GDPR"}
PERIOD_S: Final = 90 * 86_400
# The map is an image: no script runs in it whatever its labels say, and it may not load
# anything (the labels come from the inventory and from audit entries).
SVG_CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def _inventory() -> Inventory | None:
    path = os.environ.get(INVENTORY_ENV)
    if not path:
        return None
    return load_inventory(Path(path))


def page(request: Request) -> Response:
    c = console(request)
    signed = c.guard.view(request, "compliance")
    framework = request.query_params.get("framework") or None
    if framework is not None and framework not in FRAMEWORKS:
        raise InvalidInput("framework: pci, soc2 or gdpr.")
    report = None
    if framework is not None:
        source = LiveEvidence(c.svc)
        report = build_report(
            framework,
            source,
            inventory=_inventory(),
            campaigns=campaigns_for(c.svc),
            recorder=source,
            actor=signed.ctx.principal.id,
        ).to_json()
    return c.render(
        request,
        "compliance.html",
        signed,
        frameworks=FRAMEWORKS,
        framework=framework,
        report=report,
        has_inventory=bool(os.environ.get(INVENTORY_ENV)),
        has_dot=dot_available(),
    )


def _flow_map(c: Console) -> DataFlowMap:
    declared = _inventory()
    if declared is None:
        raise NotFound(f"No inventory: set {INVENTORY_ENV}.", code="no_inventory")
    source = LiveEvidence(c.svc)
    since = source.now() - PERIOD_S
    entries = (s.entry for s in source.audit_entries(since=since) if s.entry is not None)
    return merge(declared, observe(declared, source.principals(), entries))


def dataflow(request: Request) -> Response:
    """The map as SVG (Graphviz), or as Mermaid text where ``dot`` is not installed."""
    c = console(request)
    c.guard.view(request, "compliance")
    flow_map = _flow_map(c)
    if dot_available():
        return Response(
            to_svg(flow_map),
            media_type="image/svg+xml",
            headers={"Content-Security-Policy": SVG_CSP, "Cache-Control": "no-store"},
        )
    return Response(to_mermaid(flow_map), media_type="text/plain; charset=utf-8")
