"""Compliance reports: each control of a framework with pass/fail, its evidence (counts,
samples, audit entry seqs with their Merkle inclusion proofs) and the remediation of
failures, as Markdown, HTML or JSON.

Generating a report is itself audited (``compliance.report``), with the outcome per
control, so the evidence trail shows who looked at what, and when.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from zerotrust.compliance.checks import Evidence, Requirements, run_check
from zerotrust.compliance.controls import FRAMEWORKS, Control, controls
from zerotrust.compliance.dataflow import Inventory
from zerotrust.compliance.models import AccessControl, CheckResult, EvidenceSource, Status
from zerotrust.compliance.reviews import CampaignStore
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import InvalidInput

FORMATS: Final = ("md", "html", "json")
MAX_PROOFS: Final = 40


@dataclass(frozen=True)
class ControlResult:
    control: Control
    status: Status
    checks: tuple[CheckResult, ...]


@dataclass(frozen=True)
class Report:
    framework: str
    generated_at: float
    since: float
    controls: tuple[ControlResult, ...]
    proofs: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)

    def failed(self) -> list[str]:
        return [c.control.id for c in self.controls if c.status == "fail"]

    def status_of(self, control_id: str) -> Status:
        return next(c.status for c in self.controls if c.control.id == control_id)

    def check(self, name: str) -> CheckResult:
        return next(r for c in self.controls for r in c.checks if r.check == name)

    def to_json(self) -> dict[str, Any]:
        counts = {s: sum(c.status == s for c in self.controls) for s in ("pass", "fail", "manual")}
        return {
            "framework": FRAMEWORKS[self.framework],
            "generated_at": iso_utc(self.generated_at),
            "period": {"since": iso_utc(self.since), "until": iso_utc(self.generated_at)},
            "summary": counts,
            "controls": [
                {
                    "id": c.control.id,
                    "title": c.control.title,
                    "status": c.status,
                    "checks": [
                        {
                            "check": r.check,
                            "status": r.status,
                            "summary": r.summary,
                            "evidence": dict(r.evidence),
                            "audit_seqs": list(r.samples),
                            "remediation": r.remediation,
                        }
                        for r in c.checks
                    ],
                }
                for c in self.controls
            ],
            "inclusion_proofs": {str(k): dict(v) for k, v in sorted(self.proofs.items())},
        }


def _status(results: Sequence[CheckResult]) -> Status:
    if not results:
        return "manual"
    return "fail" if any(r.status == "fail" for r in results) else "pass"


def build_report(
    framework: str,
    source: EvidenceSource,
    *,
    since: float | None = None,
    inventory: Inventory | None = None,
    campaigns: CampaignStore | None = None,
    requirements: Requirements | None = None,
    recorder: AccessControl | None = None,
    actor: str = "system",
) -> Report:
    """Run every check the framework's controls need (each once) and assemble the report."""
    try:
        catalogue = controls(framework)
    except KeyError:
        raise InvalidInput(f"framework: one of {', '.join(FRAMEWORKS)}") from None
    ev = Evidence(
        source, since=since, inventory=inventory, campaigns=campaigns, requirements=requirements
    )
    names = dict.fromkeys(n for c in catalogue for n in c.checks)
    results = {n: run_check(n, ev) for n in names}
    out = tuple(
        ControlResult(
            c, _status([results[n] for n in c.checks]), tuple(results[n] for n in c.checks)
        )
        for c in catalogue
    )
    report = Report(framework, ev.now, ev.since, out, _proofs(source, results.values()))
    if recorder is not None:
        recorder.record(
            AuditRecord(
                action="compliance.report",
                actor=actor,
                outcome="success",
                resource=f"report:{framework}",
                details={"since": iso_utc(ev.since), "failed": report.failed()},
            )
        )
    return report


def _proofs(source: EvidenceSource, results: Any) -> dict[int, Mapping[str, Any]]:
    seqs = sorted({s for r in results for s in r.samples})[:MAX_PROOFS]
    proofs = {}
    for seq in seqs:
        proof = source.inclusion_proof(seq)
        proofs[seq] = proof if proof is not None else {"seq": seq, "error": "not provable"}
    return proofs


# -- rendering -------------------------------------------------------------------------


def render_report(report: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_json(), indent=2, sort_keys=True, default=str)
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    raise InvalidInput(f"format: one of {', '.join(FORMATS)}")


_MARK: Final = {"pass": "PASS", "fail": "FAIL", "manual": "MANUAL"}


def _evidence_text(evidence: Mapping[str, Any]) -> str:
    return json.dumps(evidence, indent=2, sort_keys=True, default=str)


def to_markdown(report: Report) -> str:
    data = report.to_json()
    lines = [
        f"# {data['framework']} — compliance report",
        "",
        f"Generated {data['generated_at']}; period {data['period']['since']} to "
        f"{data['period']['until']}.",
        "",
        f"**{data['summary']['pass']} pass, {data['summary']['fail']} fail, "
        f"{data['summary']['manual']} manual.**",
        "",
        "| control | status | title |",
        "|---|---|---|",
    ]
    lines += [
        f"| {c.control.id} | {_MARK[c.status]} | {c.control.title} |" for c in report.controls
    ]
    for c in report.controls:
        lines += ["", f"## {c.control.id} {c.control.title} — {_MARK[c.status]}"]
        if not c.checks:
            lines += ["", "No automated check: evidence must be collected outside zerotrust."]
        for r in c.checks:
            lines += ["", f"### `{r.check}`: {_MARK[r.status]}", "", r.summary, ""]
            if r.remediation and r.status == "fail":
                lines += [f"**Remediation:** {r.remediation}", ""]
            if r.samples:
                lines += ["Audit entries: " + ", ".join(f"#{s}" for s in r.samples), ""]
            lines += ["```json", _evidence_text(r.evidence), "```"]
    if report.proofs:
        lines += ["", "## Inclusion proofs", ""]
        lines += ["```json", json.dumps(data["inclusion_proofs"], indent=2), "```"]
    return "\n".join(lines) + "\n"


def to_html(report: Report) -> str:
    e = html.escape
    data = report.to_json()
    colour = {"pass": "#1a7f37", "fail": "#cf222e", "manual": "#9a6700"}
    rows = "".join(
        f"<tr><td>{e(c.control.id)}</td><td style='color:{colour[c.status]}'>"
        f"<b>{_MARK[c.status]}</b></td><td>{e(c.control.title)}</td></tr>"
        for c in report.controls
    )
    sections = []
    for c in report.controls:
        body = (
            "".join(
                f"<h3><code>{e(r.check)}</code>: {_MARK[r.status]}</h3><p>{e(r.summary)}</p>"
                + (
                    f"<p><b>Remediation:</b> {e(r.remediation)}</p>"
                    if r.remediation and r.status == "fail"
                    else ""
                )
                + (
                    f"<p>Audit entries: {e(', '.join(f'#{s}' for s in r.samples))}</p>"
                    if r.samples
                    else ""
                )
                + f"<pre>{e(_evidence_text(r.evidence))}</pre>"
                for r in c.checks
            )
            or "<p>No automated check: evidence must be collected outside zerotrust.</p>"
        )
        sections.append(
            f"<section><h2>{e(c.control.id)} {e(c.control.title)} — {_MARK[c.status]}</h2>"
            f"{body}</section>"
        )
    proofs = e(json.dumps(data["inclusion_proofs"], indent=2))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{e(data['framework'])} report</title></head><body>"
        f"<h1>{e(data['framework'])} — compliance report</h1>"
        f"<p>Generated {e(data['generated_at'])}; period {e(data['period']['since'])} to "
        f"{e(data['period']['until'])}.</p>"
        f"<table border='1' cellpadding='4'><tr><th>control</th><th>status</th><th>title</th>"
        f"</tr>{rows}</table>{''.join(sections)}"
        f"<h2>Inclusion proofs</h2><pre>{proofs}</pre></body></html>\n"
    )
