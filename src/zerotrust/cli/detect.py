"""``zt detect``: replay stored events through the detectors, simulate a labelled corpus,
and score alerts against labels."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, NoReturn

import click

from zerotrust.cli.common import emit_json, fail, handle_errors

if TYPE_CHECKING:
    from zerotrust.detect.config import DetectConfig
    from zerotrust.detect.engine import DetectionEngine
    from zerotrust.detect.evaluate import Labels, Report

INPUT = click.Path(dir_okay=False, path_type=Path)
FOLDER = click.Path(file_okay=False, path_type=Path)


def _fail(message: str) -> NoReturn:
    fail(message)
    raise SystemExit(2)  # not reached: fail exits; this tells the type checker so


@click.group("detect")
def detect_group() -> None:
    """Threat detection: replay events, simulate a labelled corpus, evaluate alerts."""


@contextmanager
def _reading(path: Path, what: str) -> Iterator[IO[bytes]]:
    if str(path) == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = path.open("rb")
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    with handle:
        yield handle


@contextmanager
def _writing(path: Path) -> Iterator[IO[str]]:
    if str(path) == "-":
        yield sys.stdout
        return
    try:
        handle = path.open("w", encoding="utf-8", newline="\n")
    except OSError as exc:
        _fail(f"cannot write {path}: {exc.strerror or exc}")
    with handle:
        yield handle


def _config(path: Path | None) -> DetectConfig:
    from zerotrust.detect.config import load_config

    if path is None:
        return load_config(None)
    import yaml

    with _reading(path, "config") as handle:
        try:
            data = yaml.safe_load(handle)
        except yaml.YAMLError:
            _fail(f"config {path} is not valid YAML")
    return load_config(data)


def _engine(config_path: Path | None) -> DetectionEngine:
    from zerotrust.detect.engine import DetectionEngine

    return DetectionEngine(_config(config_path))


@detect_group.command()
@click.option("--input", "input_path", required=True, type=INPUT, help="Events, JSON lines.")
@click.option("--output", "output_path", required=True, type=INPUT, help="Alerts, JSON lines.")
@click.option("--config", "config_path", type=INPUT, default=None, help="Detection YAML.")
@click.option("--max-lateness", default=60.0, show_default=True, help="Reorder window (s).")
@handle_errors
def replay(
    input_path: Path, output_path: Path, config_path: Path | None, max_lateness: float
) -> None:
    """Run the live detectors over stored events, in event-time order."""
    from zerotrust.detect.replay import ReplayStats
    from zerotrust.detect.replay import replay as run

    engine = _engine(config_path)
    stats = ReplayStats()
    with _reading(input_path, "events") as events, _writing(output_path) as out:
        for alert in run(events, engine, stats=stats, max_lateness_s=max_lateness):
            out.write(json.dumps(alert.to_dict(), separators=(",", ":")) + "\n")
    if stats.events == 0 and stats.malformed:
        _fail(f"no valid events in {input_path} ({stats.summary()})")
    click.echo(f"replayed {stats.summary()}", err=True)


@detect_group.command()
@click.option("--seed", required=True, type=int, help="Same seed, same corpus.")
@click.option("--out", "out_dir", required=True, type=FOLDER, help="Folder to write into.")
@click.option("--days", default=14, show_default=True, type=int)
@click.option("--staff", default=150, show_default=True, type=int)
@click.option("--attacks-per-class", default=5, show_default=True, type=int)
@handle_errors
def simulate(seed: int, out_dir: Path, days: int, staff: int, attacks_per_class: int) -> None:
    """Generate a labelled corpus: benign activity with injected attacks of every class."""
    from zerotrust.detect.simulate import SimConfig
    from zerotrust.detect.simulate import simulate as run

    cfg = SimConfig(seed=seed, days=days, staff=staff, attacks_per_class=attacks_per_class)
    try:
        info = run(cfg, out_dir)
    except OSError as exc:
        _fail(f"cannot write the corpus to {out_dir}: {exc.strerror or exc}")
    emit_json({"out": str(out_dir), "seed": seed, "days": days, **info.__dict__})


@detect_group.command("eval")
@click.option("--alerts", "alerts_path", type=INPUT, default=None, help="Alerts, JSON lines.")
@click.option("--labels", "labels_path", type=INPUT, default=None, help="labels.jsonl")
@click.option("--corpus", "corpus_dir", type=FOLDER, default=None, help="Replay and score.")
@click.option("--config", "config_path", type=INPUT, default=None, help="Detection YAML.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--check", is_flag=True, help="Exit 1 unless every goal is met.")
@handle_errors
def evaluate(
    alerts_path: Path | None,
    labels_path: Path | None,
    corpus_dir: Path | None,
    config_path: Path | None,
    as_json: bool,
    check: bool,
) -> None:
    """Score alerts against labels: recall per class, false alerts, time to detect."""
    from zerotrust.detect.evaluate import load_labels

    if corpus_dir is not None:
        if alerts_path is not None or labels_path is not None:
            _fail("give either --corpus, or --alerts with --labels")
        labels_path = corpus_dir / "labels.jsonl"
    elif alerts_path is None or labels_path is None:
        _fail("give --alerts with --labels, or --corpus")
    with _reading(labels_path, "labels") as handle:
        labels = load_labels(handle)
    if corpus_dir is not None:
        report = _score_corpus(corpus_dir, config_path, labels)
    elif alerts_path is not None:
        report = _score_file(alerts_path, labels)
    if as_json:
        emit_json(report.to_dict())
    else:
        click.echo("\n".join(report.lines()))
    if check and not report.passed():
        sys.exit(1)


def _score_file(alerts_path: Path, labels: Labels) -> Report:
    from zerotrust.detect.evaluate import evaluate, load_alerts

    with _reading(alerts_path, "alerts") as handle:
        return evaluate(load_alerts(handle), labels)


def _score_corpus(corpus_dir: Path, config_path: Path | None, labels: Labels) -> Report:
    from zerotrust.detect.evaluate import AlertRecord, evaluate
    from zerotrust.detect.replay import replay as run

    engine = _engine(config_path)
    with _reading(corpus_dir / "events.jsonl", "events") as events:
        records = (AlertRecord(a.ts, a.detector, a.event_ids) for a in run(events, engine))
        return evaluate(records, labels)
