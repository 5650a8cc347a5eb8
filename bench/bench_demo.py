"""The demo platform end to end: the personas' typical calls through the gateway, and a soak.

    python bench/bench_demo.py                       # rates per call; Markdown out
    python bench/bench_demo.py --soak-minutes 10 --write

A small demo (``--customers``/``--transactions``) is prepared in a temporary data
directory and run as ``zt demo up`` runs it: control plane, platform API and gateway,
one process each on 127.0.0.1. Each persona signs in once from their own device; then
client threads repeat the persona's typical call, each request with a fresh DPoP proof,
for ``--seconds``. The clients run in this process (Python, sharing the 2 cores with the
servers), so the rates are those of the whole loop, not the gateway's ceiling — that is
``bench_gateway.py``'s job. The soak mixes every call for ``--soak-minutes`` and samples
each server's RSS every 10 s: an unexpected answer (anything but the one the policy
gives that call) fails it, and memory must stay flat.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from results_file import write_section

HEADING = "## Demo platform"

# Requests per persona per run: under the demo gateway's per-principal limit (1,200 a
# minute, zerotrust.demo.stack), with room for the persona's own sign-in and renewals.
ALLOWANCE = 1_000
# persona → (method, path template, expected status); {c} is the persona's customer.
CALLS: dict[str, tuple[str, str, int]] = {
    "fiona": ("GET", "/api/transactions/{c}?limit=20", 200),
    "sam": ("GET", "/api/customers/{c}", 200),
    "dara": ("GET", "/api/features/{c}?limit=20", 200),
    "chloe": ("GET", "/api/reports/fraud-summary", 200),
}
# Refusals are not part of it: a few denied requests on never-allowed actions within ten
# minutes are a probing pattern, answered by detection with a revoked session (see the
# scenarios); a steady stream of them is no soak.


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prepare(data: Path, customers: int, transactions: int) -> dict[str, str]:
    os.environ["ZT_DATA_DIR"] = str(data)
    from rich.console import Console

    from zerotrust.cli.demo import prepare as prepare_demo

    _state, samples = prepare_demo(
        Console(quiet=True), data, customers=customers, transactions=transactions
    )
    return samples


def drive(
    call: Callable[[], int], expected: int, *, seconds: float, threads: int
) -> dict[str, Any]:
    """Repeat ``call`` from ``threads`` threads for ``seconds``, or until the persona's
    per-minute allowance is nearly spent (on a fast machine a run would otherwise end in
    the 429s the gateway rightly answers past it)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + seconds
    left = [ALLOWANCE]

    def take() -> bool:
        with lock:
            left[0] -= 1
            return left[0] >= 0

    def loop() -> None:
        mine: list[float] = []
        seen: Counter[int] = Counter()
        while time.monotonic() < deadline and take():
            t = time.perf_counter()
            seen[call()] += 1
            mine.append(time.perf_counter() - t)
        with lock:
            latencies.extend(mine)
            statuses.update(seen)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    n = len(latencies)
    return {
        "rps": n / elapsed,
        "requests": n,
        "p50_ms": latencies[n // 2] * 1000 if n else 0.0,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "unexpected": sum(c for s, c in statuses.items() if s != expected),
        "statuses": dict(statuses),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--soak-minutes", type=float, default=0.0)
    parser.add_argument("--soak-rps", type=float, default=10.0, help="soak requests/s, in all")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="zt-bench-demo-"))
    samples = prepare(work, args.customers, args.transactions)
    customer = samples["typical"]

    from zerotrust.demo.personas import demo_dir
    from zerotrust.demo.session import renewing_persona
    from zerotrust.demo.stack import Ports, Stack, assign_case

    ports = Ports(api=18300, gateway=18380, platform=18381)
    stack = Stack(demo_dir(work), ports)
    from zerotrust.demo.personas import load_state

    state = load_state(work) or {}
    assign_case(stack.cases, state["people"]["sam"]["id"], customer)
    stack.start()
    rows: list[tuple[str, str, dict[str, Any]]] = []
    soak: dict[str, Any] = {}
    try:
        clients = {}
        for name in CALLS:
            ctx = renewing_persona(work, name, api=ports.api_url, gateway=ports.gateway_url)
            clients[name] = (ctx, ctx.__enter__())
        for name, (method, template, expected) in CALLS.items():
            client = clients[name][1]
            path = template.format(c=customer)

            def call(client: Any = client, method: str = method, path: str = path) -> int:
                return int(client.request(method, path).status_code)

            rows.append(
                (
                    name,
                    f"{method} {template}",
                    drive(call, expected, seconds=args.seconds, threads=args.threads),
                )
            )
        if args.soak_minutes > 0:
            # The rate runs above spent the personas' per-minute allowance (1,200 requests):
            # let that window pass, so the soak measures the soak.
            time.sleep(61)
            soak = run_soak(stack, clients, customer, minutes=args.soak_minutes, rps=args.soak_rps)
        for ctx, _client in clients.values():
            ctx.__exit__(None, None, None)
    finally:
        stack.stop()
    text = markdown(rows, soak, args)
    print(text)
    if args.write:
        write_section(HEADING, text)


def run_soak(
    stack: Any, clients: dict[str, Any], customer: str, *, minutes: float, rps: float
) -> dict[str, Any]:
    """Every persona's call in turn, paced at ``rps`` in all from 4 threads, for
    ``minutes``; each server's RSS sampled every 10 s."""
    pids = {p.name: p.proc.pid for p in stack.processes if p.proc is not None}
    samples: dict[str, list[float]] = {name: [] for name in pids}
    deadline = time.monotonic() + minutes * 60
    counts: Counter[str] = Counter()
    unexpected: Counter[str] = Counter()
    lock = threading.Lock()

    calls = CALLS
    gap = 4 / rps  # each of the 4 threads sends one request per gap

    def loop() -> None:
        names = list(calls)
        i = 0
        while time.monotonic() < deadline:
            started = time.monotonic()
            name = names[i % len(names)]
            i += 1
            method, template, expected = calls[name]
            try:
                answer = clients[name][1].request(method, template.format(c=customer))
                status = answer.status_code
            except Exception:  # a refused refresh, a dropped connection: all unexpected
                status = -1
            time.sleep(max(0.0, gap - (time.monotonic() - started)))
            with lock:
                counts[name] += 1
                if status != expected:
                    unexpected[f"{name} {status}"] += 1

    workers = [threading.Thread(target=loop) for _ in range(4)]
    for w in workers:
        w.start()
    while time.monotonic() < deadline:
        for name, pid in pids.items():
            samples[name].append(rss_mb(pid))
        time.sleep(10)
    for w in workers:
        w.join()
    return {
        "minutes": minutes,
        "requests": sum(counts.values()),
        "unexpected": dict(unexpected),
        "rss": {
            name: (values[0], statistics.median(values), max(values), values[-1])
            for name, values in samples.items()
            if values
        },
    }


def markdown(rows: list[tuple[str, str, dict[str, Any]]], soak: dict[str, Any], args: Any) -> str:
    out = [
        HEADING,
        "",
        f"`python bench/bench_demo.py --customers {args.customers} --transactions "
        f"{args.transactions} --seconds {args.seconds:g} --threads {args.threads}"
        + (f" --soak-minutes {args.soak_minutes:g}" if soak else "")
        + " --write` — the demo's three servers (one process each) and the Python clients "
        f"share 2 cores; every request carries a fresh DPoP proof. Python "
        f"{sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| persona | typical call | requests | req/s | p50 ms | p99 ms | unexpected answers |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, call, r in rows:
        out.append(
            f"| {name} | `{call}` | {r['requests']:,} | {r['rps']:,.0f} | {r['p50_ms']:.1f} "
            f"| {r['p99_ms']:.1f} | {r['unexpected']} |"
        )
    out += [
        "",
        f"Each run stops at {ALLOWANCE:,} requests or `--seconds`, whichever comes first: "
        "the demo gateway allows each person 1,200 requests a minute and answers 429 past "
        "that, which is no fault of the call.",
    ]
    if soak:
        out += [
            "",
            f"Soak: {soak['minutes']:g} minutes of the calls above, in turn from 4 threads "
            f"at {args.soak_rps:g} req/s, "
            f"{soak['requests']:,} requests, unexpected answers: "
            f"{sum(soak['unexpected'].values())} {soak['unexpected'] or ''}.",
            "",
            "| process | RSS first MB | median MB | peak MB | last MB |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, (first, median, peak, last) in soak["rss"].items():
            out.append(f"| {name} | {first:.0f} | {median:.0f} | {peak:.0f} | {last:.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
