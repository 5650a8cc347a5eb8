"""Telling a scenario on the console: one line per step, then the checks and the verdict.

Everything the platform answered is printed as plain text, never as console markup, so
a value an attacker chose (a user name, a path) cannot restyle or hide a line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from zerotrust.demo.scenarios.framework import Result, Step

_ID = re.compile(r"\b([a-z]{2,4})_([0-9a-f]{4})[0-9a-f]{20,}([0-9a-f]{4})\b")


def shorten(text: str) -> str:
    """``cus_0b96b2c0…cb3c`` for ids, so a step stays one line; the report keeps them whole."""
    return _ID.sub(r"\1_\2…\3", text)


def _answer_style(answer: str) -> str:
    if answer[:1] == "2":
        return "green"
    if answer[:1] == "4":
        return "yellow"
    return "red" if answer[:1] == "5" else "white"


class ConsoleNarrator:
    """``Narrator`` on a Rich console."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def begin(self, name: str, title: str, story: str) -> None:
        self.console.rule(Text.assemble((name, "bold"), " · ", title), align="left")
        self.console.print(Text(story, style="dim"))

    def step(self, step: Step) -> None:
        self.console.print(
            Text.assemble(
                ("▸ ", "cyan"),
                (shorten(step.actor), "bold"),
                ": ",
                shorten(step.attempt),
                " → ",
                (shorten(step.answer), _answer_style(step.answer)),
                "  ",
                (f"[{step.control}]", "magenta"),
                " ",
                shorten(step.reason),
            )
        )

    def note(self, text: str) -> None:
        self.console.print(Text("  " + shorten(text), style="dim"))

    def end(self, result: Result) -> None:
        table = Table(show_header=False, box=None, padding=(0, 1))
        table.add_column(width=2)
        table.add_column(ratio=2)
        table.add_column(ratio=3, style="dim")
        for check in result.checks:
            mark = Text("✔", style="green") if check.passed else Text("✘", style="bold red")
            table.add_row(mark, Text(check.claim), Text(shorten(check.evidence)))
        self.console.print(table)
        if result.error:
            self.console.print(Text(f"  stopped: {result.error}", style="bold red"))
        for problem in result.undo_errors:
            self.console.print(Text(f"  could not undo {problem}", style="yellow"))
        style = "bold green" if result.passed else "bold red"
        passed = sum(c.passed for c in result.checks)
        self.console.print(
            Text.assemble(
                (result.verdict, style),
                f"  {result.name}: {passed}/{len(result.checks)} checks "
                f"in {result.elapsed_s:.1f} s",
            )
        )
        self.console.print()


def print_summary(console: Console, results: Sequence[Result]) -> None:
    """The table at the end of ``--all``."""
    table = Table(title="zerotrust demo scenarios")
    for column in ("scenario", "verdict", "checks", "seconds"):
        table.add_column(column)
    for r in results:
        verdict = Text(r.verdict, style="bold green" if r.passed else "bold red")
        checks = f"{sum(c.passed for c in r.checks)}/{len(r.checks)}"
        table.add_row(r.name, verdict, checks, f"{r.elapsed_s:.1f}")
    console.print(table)
