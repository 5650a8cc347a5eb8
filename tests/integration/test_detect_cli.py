"""``zt detect``: simulate, replay and eval from the command line; one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerotrust.cli.detect import detect_group


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    result = CliRunner().invoke(
        detect_group,
        [
            "simulate",
            "--seed",
            "5",
            "--out",
            str(out),
            "--days",
            "4",
            "--staff",
            "20",
            "--attacks-per-class",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["attacks"] == 10
    return out


def test_replay_writes_alert_lines_deterministically(corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    outputs = []
    for name in ("a.jsonl", "b.jsonl"):
        result = runner.invoke(
            detect_group,
            ["replay", "--input", str(corpus / "events.jsonl"), "--output", str(tmp_path / name)],
        )
        assert result.exit_code == 0, result.output
        assert "0 malformed" in result.output
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    first = json.loads(outputs[0].splitlines()[0])
    assert {"id", "time", "detector", "severity", "event_id", "event_ids"} <= set(first)


def test_eval_from_files_and_from_the_corpus_agree(corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    alerts = tmp_path / "alerts.jsonl"
    runner.invoke(
        detect_group, ["replay", "--input", str(corpus / "events.jsonl"), "--output", str(alerts)]
    )
    by_files = runner.invoke(
        detect_group,
        ["eval", "--alerts", str(alerts), "--labels", str(corpus / "labels.jsonl"), "--json"],
    )
    by_corpus = runner.invoke(detect_group, ["eval", "--corpus", str(corpus), "--json"])
    assert by_files.exit_code == by_corpus.exit_code == 0, by_files.output
    assert json.loads(by_files.output) == json.loads(by_corpus.output)
    table = runner.invoke(detect_group, ["eval", "--corpus", str(corpus)])
    assert "| **all** |" in table.output


def test_malformed_lines_are_counted_not_fatal(corpus: Path, tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.jsonl"
    lines = (corpus / "events.jsonl").read_text().splitlines()[:50]
    mixed.write_text("\n".join([*lines[:10], "garbage", '{"kind": 1}', *lines[10:]]) + "\n")
    result = CliRunner().invoke(
        detect_group, ["replay", "--input", str(mixed), "--output", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code == 0
    assert "50 events" in result.output
    assert "2 malformed; first at line 11" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--input", "/nonexistent/events.jsonl", "--output", "-"], "cannot read"),
        (["eval", "--alerts", "x.jsonl"], "give --alerts with --labels"),
        (["simulate", "--seed", "1", "--out", "{tmp}/c", "--days", "0"], "days must be"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(args: list[str], message: str, tmp_path: Path) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(detect_group, args)
    assert result.exit_code != 0
    assert result.output.startswith("error: ")
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_file_of_nothing_but_garbage_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("garbage\n[]\n")
    result = CliRunner().invoke(
        detect_group, ["replay", "--input", str(bad), "--output", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code != 0
    assert result.output.startswith("error: no valid events")


def test_a_bad_config_is_refused(corpus: Path, tmp_path: Path) -> None:
    config = tmp_path / "detect.yaml"
    config.write_text("detectors:\n  brute_force: {treshold: 3}\n")
    result = CliRunner().invoke(
        detect_group,
        [
            "replay",
            "--input",
            str(corpus / "events.jsonl"),
            "--output",
            "-",
            "--config",
            str(config),
        ],
    )
    assert result.exit_code != 0
    assert "treshold" in result.output


def test_eval_check_fails_when_goals_are_missed(corpus: Path, tmp_path: Path) -> None:
    empty = tmp_path / "none.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(
        detect_group,
        ["eval", "--alerts", str(empty), "--labels", str(corpus / "labels.jsonl"), "--check"],
    )
    assert result.exit_code == 1
    assert "FAIL" in result.output
