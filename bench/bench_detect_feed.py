"""Detection across processes: how fast a process's engine takes in the events other
processes stored (``detect.shared.EventFeed``), against the same engine reading the same
events from a JSON-lines file, and its memory at two sizes.

    python bench/bench_detect_feed.py [--days 7 28] [--write]

The events are the detection corpus (``detect.simulate``, seed 4242), stored in SQLite
as another process's (origin ``other``). Each measurement runs in its own process, so its
peak RSS is its own:

- reference: read the file line by line, decode, ``engine.ingest`` (no database);
- feed: ``EventFeed.pull`` from the first stored event until it is caught up — the SQL
  pages (1,000 rows), the JSON column decoded, the gaps bookkeeping, ``engine.ingest``.

Memory should stay flat as the stored events grow: a page at a time.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from results_file import write_section

from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.simulate import SimConfig, simulate

BATCH = 5000
INSERT = "INSERT INTO security_events (id, time, kind, body, origin) VALUES (?, ?, ?, ?, ?)"


def seed(events: Path, url: str) -> int:
    """Store the corpus as another process's events; how many."""
    from zerotrust.store.database import Database
    from zerotrust.store.migrations import migrate

    db = Database(url)
    migrate(db, now=time.time())
    count, rows = 0, []
    with events.open("rb") as src:
        for line in src:
            data = json.loads(line)
            rows.append((data["id"], data["time"], data["kind"], line.decode().strip(), "other"))
            if len(rows) == BATCH:
                count += _store(db, rows)
                rows = []
    count += _store(db, rows)
    db.dispose()
    return count


def _store(db: Any, rows: list[tuple[str, ...]]) -> int:
    with db.driver(write=True) as conn:
        conn.executemany(INSERT, rows)
    return len(rows)


def _engine() -> DetectionEngine:
    engine = DetectionEngine()
    engine.geo.locate("8.8.8.8")  # load the geo database outside the timed part
    return engine


def child_reference(events: Path) -> dict[str, float]:
    engine = _engine()
    start = time.perf_counter()
    with events.open("rb") as src:
        for line in src:
            engine.ingest(json.loads(line))
    return {"events": engine.stats.events, "seconds": time.perf_counter() - start}


def child_feed(url: str) -> dict[str, float]:
    from zerotrust.detect.shared import EventFeed
    from zerotrust.store.database import Database
    from zerotrust.store.events_repo import SqlEventSink

    db = Database(url)
    engine = _engine()
    feed = EventFeed(SqlEventSink(db, origin="me"), engine.ingest)
    feed.cursor = 0  # from the first stored event (a new process starts at the newest)
    start = time.perf_counter()
    while feed.pull():
        pass
    seconds = time.perf_counter() - start
    db.dispose()
    return {"events": engine.stats.events, "seconds": seconds, "gaps": len(feed.gaps)}


def _run(*args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, nargs="+", default=(7, 28))
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        mode, target = args.child
        result = child_reference(Path(target)) if mode == "reference" else child_feed(target)
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for days in args.days:
            corpus = Path(tmp) / f"d{days}"
            simulate(SimConfig(seed=4242, days=days, attacks_per_class=10), corpus)
            events = corpus / "events.jsonl"
            url = f"sqlite:///{corpus / 'zt.db'}"
            stored = seed(events, url)
            reference = _run("reference", str(events))
            feed = _run("feed", url)
            assert feed["events"] == reference["events"] == stored, (feed, reference, stored)
            rows.append((days, stored, reference, feed))
    lines = [
        "## Detection across processes",
        "",
        "`python bench/bench_detect_feed.py --write` — the detection corpus (seed 4242) stored "
        "in SQLite as another process's events; one process per measurement. Reference: "
        "the same engine reading the same events from a JSON-lines file. "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| corpus | events | reference (events/s) | feed (events/s) | feed / reference "
        "| reference peak RSS (MB) | feed peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for days, stored, reference, feed in rows:
        ref_rate = reference["events"] / reference["seconds"]
        feed_rate = feed["events"] / feed["seconds"]
        lines.append(
            f"| {days} days | {stored:,} | {ref_rate:,.0f} | {feed_rate:,.0f} "
            f"| {feed_rate / ref_rate:.2f} | {reference['rss_mb']:.0f} | {feed['rss_mb']:.0f} |"
        )
    extra = max(feed["rss_mb"] - reference["rss_mb"] for _, _, reference, feed in rows)
    slowest = min(feed["events"] / feed["seconds"] for _, _, _, feed in rows)
    lines += [
        "",
        "Peak RSS grows with the corpus for both: it is the engine's own state (more "
        "principals, sources and hourly baselines over 28 days). What the feed adds on top "
        f"of the reference is at most {max(extra, 0.0):.0f} MB at either size: it holds one "
        "page of rows at a time. Each process runs every other process's events through "
        "this path at each upkeep (every 2 s): taking in 1,000 events a second from the "
        f"others costs it about {100_000 / slowest:.1f} % of a core at the slower rate above.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        write_section("## Detection across processes", text)


if __name__ == "__main__":
    main()
