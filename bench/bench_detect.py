"""Detection: replay throughput and peak memory at two corpus sizes, and the eval figures.

    python bench/bench_detect.py [--seed 4242] [--days 7 28] [--repeat 3]

Each replay runs in its own process (parse every JSON line, run all ten detectors, write
the alerts), so its peak RSS is its own; memory should stay flat as the corpus grows.
Throughput is the median of ``--repeat`` runs (the machine is shared). The eval figures
come from the largest corpus, generated from a seed the detectors were not tuned on.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.evaluate import evaluate, load_alerts, load_labels
from zerotrust.detect.replay import ReplayStats, replay
from zerotrust.detect.simulate import SimConfig, simulate


def child(events: Path, alerts: Path) -> None:
    """Replay one file; print events, seconds and peak RSS as JSON."""
    engine = DetectionEngine()
    engine.geo.locate("8.8.8.8")  # load the geo database outside the timed part
    stats = ReplayStats()
    start = time.perf_counter()
    with events.open("rb") as src, alerts.open("w") as out:
        for alert in replay(src, engine, stats=stats):
            out.write(json.dumps(alert.to_dict(), separators=(",", ":")) + "\n")
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": stats.events, "seconds": seconds, "rss_mb": rss_mb}))


def measure(events: Path, alerts: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(events), str(alerts)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--days", type=int, nargs=2, default=(7, 28))
    parser.add_argument("--attacks-per-class", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, type=Path)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for days in args.days:
            corpus = Path(tmp) / f"d{days}"
            cfg = SimConfig(seed=args.seed, days=days, attacks_per_class=args.attacks_per_class)
            info = simulate(cfg, corpus)
            runs = [
                measure(corpus / "events.jsonl", corpus / "alerts.jsonl")
                for _ in range(args.repeat)
            ]
            run = {
                "rate": statistics.median(r["events"] / r["seconds"] for r in runs),
                "rss_mb": max(r["rss_mb"] for r in runs),
            }
            size = (corpus / "events.jsonl").stat().st_size / 1e6
            rows.append((days, info.events, size, run))
        with (corpus / "alerts.jsonl").open() as a, (corpus / "labels.jsonl").open() as lab:
            report = evaluate(load_alerts(a), load_labels(lab))
    print("| corpus | events | file | replay (events/s) | peak RSS |")
    print("|---|---|---|---|---|")
    for days, events, size, run in rows:
        print(
            f"| {days} days | {events:,} | {size:,.0f} MB | {run['rate']:,.0f} | "
            f"{run['rss_mb']:.0f} MB |"
        )
    print(
        f"\nEval on the {args.days[1]}-day corpus, seed {args.seed}, "
        f"{args.attacks_per_class} attacks per class:\n"
    )
    print("\n".join(report.lines()))


if __name__ == "__main__":
    main()
