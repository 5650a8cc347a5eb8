"""The demo's attack scenarios: the verdict framework on its own, then every scenario
end to end against a small running demo (``zt demo up --no-serve``, then the control
plane, the platform API and the gateway as processes on free ports), run the way a
person runs them: ``zt demo scenario --all``."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.gateway import free_port
from zerotrust.cli.demo_scenarios import scenario
from zerotrust.demo.personas import mark_demo
from zerotrust.demo.scenarios import SCENARIOS, by_name, names
from zerotrust.demo.scenarios.actors import TOTP_STEP_S, totp_step
from zerotrust.demo.scenarios.framework import (
    Result,
    Run,
    Scenario,
    Step,
    exit_code,
    run_scenario,
    story_of,
)
from zerotrust.demo.scenarios.narration import shorten
from zerotrust.demo.stack import Ports

# --- the verdict framework -------------------------------------------------------------


class Recorder:
    """A narrator that keeps what it was told."""

    def __init__(self) -> None:
        self.told: list[object] = []

    def begin(self, name: str, title: str, story: str) -> None:
        self.told.append(("begin", name))

    def step(self, step: Step) -> None:
        self.told.append(step)

    def note(self, text: str) -> None:
        self.told.append(text)

    def end(self, result: Result) -> None:
        self.told.append(result)


def _judge(play: object) -> tuple[Result, Recorder]:
    recorder = Recorder()
    result = run_scenario(Scenario("s", "t", "story", play), None, recorder)  # type: ignore[arg-type]
    return result, recorder


def test_a_scenario_passes_only_when_every_check_holds() -> None:
    def play(_platform: object, run: Run) -> None:
        run.step("eve", "GET /x", "403 access_denied", "policy", "no permit")
        run.check("refused", True, "403")
        run.check("alerted", True, "alt_1")

    result, recorder = _judge(play)
    assert result.passed
    assert result.verdict == "PASS"
    assert exit_code([result]) == 0
    assert recorder.told[0] == ("begin", "s")
    assert recorder.told[1] == Step("eve", "GET /x", "403 access_denied", "policy", "no permit")
    assert recorder.told[-1] is result


def test_one_failed_check_fails_the_verdict_and_the_exit_code() -> None:
    def play(_platform: object, run: Run) -> None:
        assert run.check("refused", True, "403")
        assert not run.check("alerted", False, "no alert")

    result, _ = _judge(play)
    assert not result.passed
    assert exit_code([result]) == 1
    assert [c.passed for c in result.checks] == [True, False]
    assert result.to_json()["verdict"] == "FAIL"


def test_a_scenario_that_checks_nothing_or_raises_fails_and_still_undoes() -> None:
    undone: list[str] = []

    def empty(_platform: object, run: Run) -> None:
        run.step("eve", "nothing", "-", "-", "-")

    def broken(_platform: object, run: Run) -> None:
        run.undo("first", lambda: undone.append("first"))
        run.undo("second", lambda: undone.append("second"))
        run.undo("failing", lambda: 1 / 0)
        run.check("refused", True, "403")
        raise RuntimeError("the gateway did not answer")

    nothing, _ = _judge(empty)
    assert not nothing.passed
    crashed, _ = _judge(broken)
    assert not crashed.passed
    assert crashed.error == "RuntimeError: the gateway did not answer"
    assert undone == ["second", "first"]  # last registered, first undone; all of them
    assert crashed.undo_errors == ("failing: ZeroDivisionError: division by zero",)
    assert exit_code([]) == 1


def test_the_scenarios_are_named_and_ordered_revocations_last() -> None:
    assert names() == [
        "phishing",
        "credential-stuffing",
        "password-spray",
        "stolen-token",
        "data-scientist",
        "key-rotation",
        "model-overreach",
        "insider-exfiltration",
    ]
    assert by_name("phishing") is SCENARIOS[0]
    assert all(s.story and s.title for s in SCENARIOS)


def test_a_story_is_the_docstring_body_in_one_paragraph() -> None:
    assert story_of("name: title.\n\nFirst line\nsecond line.\n") == "First line second line."
    assert story_of("only a title") == ""
    assert story_of(None) == ""


def test_ids_are_shortened_for_the_console_only_when_long() -> None:
    line = "GET /api/customers/cus_0b96b2c020e9dce1829b8555d300cb3c?limit=5 by usr_1"
    assert shorten(line) == "GET /api/customers/cus_0b96…cb3c?limit=5 by usr_1"


def test_a_totp_code_is_never_one_already_spent() -> None:
    now = 1000 * TOTP_STEP_S + 5.0
    assert totp_step(-1, now) == 1000  # nothing spent: the current step
    assert totp_step(999, now) == 1000
    assert totp_step(1000, now) == 1001  # spent: the next step, within one step of drift
    assert totp_step(1001, now) is None  # both spent: wait for the clock


def test_the_command_needs_one_name_or_all() -> None:
    runner = CliRunner()
    assert runner.invoke(scenario, []).exit_code == 2
    assert runner.invoke(scenario, ["phishing", "--all"]).exit_code == 2
    unknown = runner.invoke(scenario, ["nonesuch"])
    assert unknown.exit_code == 2
    assert "one of: phishing" in unknown.output
    listed = runner.invoke(scenario, ["--list"])
    assert listed.exit_code == 0
    assert "insider-exfiltration" in listed.output


def test_the_command_refuses_a_data_directory_that_is_not_a_demo(tmp_path: Path) -> None:
    result = CliRunner().invoke(scenario, ["--all"], env={"ZT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "not_a_demo" in result.output


def test_the_command_stops_when_the_demo_is_not_running(tmp_path: Path) -> None:
    mark_demo(tmp_path)
    closed = f"http://127.0.0.1:{free_port()}"
    args = ["--all", "--api", closed, "--gateway", closed]
    result = CliRunner().invoke(scenario, args, env={"ZT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 1
    assert "demo_not_running" in result.output


# --- every scenario against a running demo ------------------------------------------------


def _run_all(data_dir: Path, ports: Ports, report: Path) -> tuple[list[dict[str, Any]], Any]:
    urls = ["--api", ports.api_url, "--gateway", ports.gateway_url]
    result = CliRunner().invoke(
        scenario, ["--all", *urls, "--report", str(report)], env={"ZT_DATA_DIR": str(data_dir)}
    )
    assert report.exists(), f"{result.exception!r}\n{result.output[-6000:]}"
    verdicts: list[dict[str, Any]] = json.loads(report.read_text())
    failed = {
        v["name"]: v["error"] or [c for c in v["checks"] if not c["passed"]]
        for v in verdicts
        if v["verdict"] != "PASS"
    }
    assert not failed, result.output[-6000:]
    assert result.exit_code == 0
    return verdicts, result


@pytest.mark.slow
def test_every_scenario_passes_against_the_running_demo(
    running_demo: tuple[Path, Ports], tmp_path: Path
) -> None:
    started = time.monotonic()
    verdicts, result = _run_all(*running_demo, tmp_path / "verdicts.json")
    assert time.monotonic() - started < 60
    assert [v["name"] for v in verdicts] == names()
    assert all(v["checks"] and not v["undo_errors"] for v in verdicts)
    for name in names():  # narrated: one verdict line per scenario, then the summary
        assert f"PASS  {name}:" in result.output
    assert "zerotrust demo scenarios" in result.output


@pytest.mark.slow
def test_the_scenarios_pass_again_on_the_same_demo(
    running_demo: tuple[Path, Ports], tmp_path: Path
) -> None:
    # Fresh attacker addresses and accounts each run; locks, blocks and cases undone.
    verdicts, _ = _run_all(*running_demo, tmp_path / "again.json")
    assert [v["verdict"] for v in verdicts] == ["PASS"] * len(names())


# --- the console, as the demo serves it --------------------------------------------------


@pytest.mark.slow
def test_the_demo_serves_the_console_only_through_the_gateway(
    running_demo: tuple[Path, Ports],
) -> None:
    import httpx

    _, ports = running_demo
    with httpx.Client(timeout=10, follow_redirects=False) as http:
        gateway = f"http://127.0.0.1:{ports.gateway}"
        assert http.get(f"{gateway}/console/signin").status_code == 200
        assert http.get(f"{gateway}/console/sw.js").status_code == 200
        page = http.get(f"{gateway}/console/", headers={"Accept": "text/html"})
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/signin?next=/console/")
        direct = http.get(f"{ports.api_url}/console/signin")
        assert direct.status_code == 403
        assert direct.json()["code"] == "gateway_required"
