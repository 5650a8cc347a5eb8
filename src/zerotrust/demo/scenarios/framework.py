"""Scenario runs: each step narrated as it happens, each claim checked against what the
platform really answered and recorded, one verdict per scenario.

A scenario is a function of the running demo (``Platform``) and a ``Run``. It makes real
requests, reports every step (who tried what, what zerotrust answered, which control
answered and why) and states its claims as checks over the answers, the audit log and
the alerts. The verdict passes only when the scenario finished and every check held: a
scenario that raised, or checked nothing, fails. Whatever a scenario changed for the
attack (a lock, a block, an account made for the run) is undone afterwards, in reverse
order, even when it failed, so the next scenario and the next run start clean.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from zerotrust.demo.scenarios.platform import Platform


@dataclass(frozen=True, slots=True)
class Step:
    """One thing that happened: who attempted what, the answer, the control and why."""

    actor: str
    attempt: str
    answer: str
    control: str
    reason: str


@dataclass(frozen=True, slots=True)
class Check:
    """One claim of the scenario and the evidence it was judged on."""

    claim: str
    passed: bool
    evidence: str


@dataclass(frozen=True, slots=True)
class Result:
    """A scenario's verdict: PASS only if it ran to the end and every check held."""

    name: str
    title: str
    steps: tuple[Step, ...]
    checks: tuple[Check, ...]
    error: str | None
    undo_errors: tuple[str, ...]
    elapsed_s: float

    @property
    def passed(self) -> bool:
        return self.error is None and bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "elapsed_s": round(self.elapsed_s, 2),
            "error": self.error,
            "undo_errors": list(self.undo_errors),
            "checks": [
                {"claim": c.claim, "passed": c.passed, "evidence": c.evidence} for c in self.checks
            ],
            "steps": [
                {
                    "actor": s.actor,
                    "attempt": s.attempt,
                    "answer": s.answer,
                    "control": s.control,
                    "reason": s.reason,
                }
                for s in self.steps
            ],
        }


class Narrator(Protocol):
    """Where a run is told as it happens (a console, a test's list)."""

    def begin(self, name: str, title: str, story: str) -> None: ...
    def step(self, step: Step) -> None: ...
    def note(self, text: str) -> None: ...
    def end(self, result: Result) -> None: ...


class Run:
    """What one scenario did and found. Steps are narrated at once; checks are kept for
    the verdict; ``undo`` registers what to reverse when the scenario is over."""

    def __init__(self, name: str, narrator: Narrator) -> None:
        self.name = name
        self.narrator = narrator
        self.steps: list[Step] = []
        self.checks: list[Check] = []
        self._undo: list[tuple[str, Callable[[], object]]] = []

    def step(self, actor: str, attempt: str, answer: str, control: str, reason: str) -> None:
        step = Step(actor, attempt, answer, control, reason)
        self.steps.append(step)
        self.narrator.step(step)

    def note(self, text: str) -> None:
        self.narrator.note(text)

    def check(self, claim: str, passed: bool, evidence: str) -> bool:
        """Record a claim; returns whether it held, so a scenario can stop early."""
        self.checks.append(Check(claim, bool(passed), evidence))
        return bool(passed)

    def undo(self, what: str, action: Callable[[], object]) -> None:
        """Run ``action`` once the scenario is over, to reverse ``what`` it changed (last
        registered, first run), whether the scenario passed, failed or raised."""
        self._undo.append((what, action))

    def undo_all(self) -> list[str]:
        errors = []
        while self._undo:
            what, action = self._undo.pop()
            try:
                action()
            except Exception as exc:  # one failed undo must not skip the others
                errors.append(f"{what}: {type(exc).__name__}: {exc}")
        return errors


Play = Callable[["Platform", Run], None]


def story_of(doc: str | None) -> str:
    """A scenario module's story: its docstring after the first line, as one paragraph."""
    parts = (doc or "").split("\n\n", 1)
    return " ".join(parts[1].split()) if len(parts) > 1 else ""


@dataclass(frozen=True)
class Scenario:
    """An attack (or a day's work) on the demo and what zerotrust must do about it."""

    name: str
    title: str
    story: str
    play: Play = field(repr=False)


def run_scenario(scenario: Scenario, platform: Platform, narrator: Narrator) -> Result:
    """Play one scenario, undo what it changed, and judge it; never raises."""
    narrator.begin(scenario.name, scenario.title, scenario.story)
    run = Run(scenario.name, narrator)
    started = time.perf_counter()
    error = None
    try:
        scenario.play(platform, run)
    except Exception as exc:  # the verdict says what broke; the other scenarios still run
        error = f"{type(exc).__name__}: {exc}"
    except BaseException:  # interrupted (Ctrl-C): still leave the demo as it was
        run.undo_all()
        raise
    undo_errors = run.undo_all()
    result = Result(
        name=scenario.name,
        title=scenario.title,
        steps=tuple(run.steps),
        checks=tuple(run.checks),
        error=error,
        undo_errors=tuple(undo_errors),
        elapsed_s=time.perf_counter() - started,
    )
    narrator.end(result)
    return result


def run_scenarios(
    scenarios: Iterable[Scenario], platform: Platform, narrator: Narrator
) -> list[Result]:
    return [run_scenario(s, platform, narrator) for s in scenarios]


def exit_code(results: Sequence[Result]) -> int:
    """0 when every verdict passed (and there was at least one), else 1."""
    return 0 if results and all(r.passed for r in results) else 1
