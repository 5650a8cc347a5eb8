"""``zt demo scenario NAME`` and ``zt demo scenario --all``: attacks on the running demo,
told step by step, each ending in a verdict (exit 1 if any fails)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from zerotrust.cli.common import fail, handle_errors, settings


@click.command("scenario")
@click.argument("name", required=False)
@click.option("--all", "run_all", is_flag=True, help="Every scenario, in order.")
@click.option("--list", "list_only", is_flag=True, help="Name the scenarios, then exit.")
@click.option("--gateway", default="http://127.0.0.1:8080", show_default=True)
@click.option("--api", default="http://127.0.0.1:8000", show_default=True)
@click.option(
    "--report",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also write the verdicts, checks and steps here as JSON.",
)
@handle_errors
def scenario(
    name: str | None,
    run_all: bool,
    list_only: bool,
    gateway: str,
    api: str,
    report: Path | None,
) -> None:
    """Run an attack scenario against the running demo (`zt demo up`) and judge it."""
    from rich.console import Console

    from zerotrust.demo.scenarios import SCENARIOS, by_name, names
    from zerotrust.demo.scenarios.framework import exit_code, run_scenarios
    from zerotrust.demo.scenarios.narration import ConsoleNarrator, print_summary
    from zerotrust.demo.scenarios.platform import Platform

    if list_only:
        for s in SCENARIOS:
            click.echo(f"{s.name:22} {s.title}")
        return
    if run_all == (name is not None):
        fail(f"name one scenario or give --all; one of: {', '.join(names())}", 2)
    try:
        chosen = list(SCENARIOS) if run_all else [by_name(str(name))]
    except KeyError:
        fail(f"no scenario {name!r}; one of: {', '.join(names())}", 2)
        return
    console = Console(width=None if sys.stdout.isatty() else 120)
    with Platform.open(settings(), api=api, gateway=gateway) as platform:
        results = run_scenarios(chosen, platform, ConsoleNarrator(console))
    if len(results) > 1:
        print_summary(console, results)
    if report is not None:
        report.write_text(json.dumps([r.to_json() for r in results], indent=2) + "\n")
    code = exit_code(results)
    if code:
        sys.exit(code)
