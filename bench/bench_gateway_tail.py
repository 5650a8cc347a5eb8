"""Light-load latency tail: one client, one request at a time, the bare proxy beside the
gateway, every latency kept (wrk's light-load run reports percentiles only).

    python bench/bench_gateway_tail.py                   # 6,000 requests each, SQLite
    python bench/bench_gateway_tail.py --interval-ms 0   # back to back instead

The servers are bench_gateway.py's own (same upstream, same proxy, the gateway over the
product as built), one process each on 127.0.0.1. The client is a raw keep-alive socket
with TCP_NODELAY, so its own cost is small and the same for both; the first second of
each run is left out (connection set-up, caches).

Both servers get the same pace: a request every ``--interval-ms`` (5 ms: 200 requests a
second), or at once if the last answer took longer. Back to back, each server would run
at its own pace, and on this machine a process that idles between requests answers more
slowly: the bare proxy's p50 rose from about 0.5 ms to 1.3 ms with 3 ms between
requests. A back-to-back comparison charges that wake-up to the slower server.

Prints p50/p90/p99/p99.9/max and what the gateway adds at each, each server's CPU per
request and the gateway's mean time per stage (its own histograms); with ``--slow MS``,
also when the slow requests happened (a periodic stall shows as a regular spacing).
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bench_gateway as bg  # the servers and helpers of the main benchmark

WARM_S = 1.0


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    buf = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("the server closed the connection")
        buf += chunk
        head, sep, body = buf.partition(b"\r\n\r\n")
        if not sep:
            continue
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        if len(body) >= length:
            return head


def run(port: int, requests: list[bytes], interval_s: float) -> list[tuple[float, float]]:
    """(seconds since start, latency ms) of each request after the warm-up."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        out = []
        start = time.perf_counter()
        for i, request in enumerate(requests):
            wait = start + i * interval_s - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sent = time.perf_counter()
            head = _exchange(sock, request)
            if b" 200 " not in head.split(b"\r\n", 1)[0]:
                raise SystemExit(f"unexpected answer: {head[:120]!r}")
            out.append((sent - start, (time.perf_counter() - sent) * 1000))
    return [(t, ms) for t, ms in out if t > WARM_S]


def percentiles(samples: list[tuple[float, float]]) -> dict[str, float]:
    ms = sorted(v for _, v in samples)
    pick = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p99.9": 0.999}
    found = {name: ms[min(len(ms) - 1, int(len(ms) * q))] for name, q in pick.items()}
    return {**found, "max": ms[-1]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--interval-ms", type=float, default=5.0, help="0: back to back")
    parser.add_argument("--slow", type=float, default=0.0, help="list requests over this (ms)")
    args = parser.parse_args()
    interval = args.interval_ms / 1000
    if args.requests * interval > 100:
        raise SystemExit("a run may last 100 s at most (the proofs' iat window): fewer requests")
    work = Path(tempfile.mkdtemp(prefix="zt-bench-tail-"))
    ports = {name: bg._port() for name in ("upstream", "proxy", "gateway")}
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    plain = f"GET {bg.PATH} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
    with (
        bg._process("upstream", str(ports["upstream"])),
        bg._process("proxy", str(ports["proxy"]), upstream, "aiohttp") as bare,
    ):
        bg._wait(ports["upstream"])
        bg._wait(ports["proxy"])
        proxy_cpu = bg.cpu_seconds(bare.pid)
        proxy = run(ports["proxy"], [plain] * args.requests, interval)
        proxy_cpu = bg.cpu_seconds(bare.pid) - proxy_cpu
        data = work / "gateway"
        data.mkdir()
        db = f"sqlite:///{data / 'zerotrust.db'}"
        token, key = bg.prepare(data, db, "", ports["gateway"])
        with bg._process("gateway", str(ports["gateway"]), upstream, str(data), db, "") as gw:
            bg._wait(ports["gateway"])
            from zerotrust.crypto.dpop import make_dpop_proof

            url = f"http://127.0.0.1:{ports['gateway']}{bg.PATH}"
            now = time.time() + 50  # iat may lead by up to 60 s and lag by up to 60 s
            head = f"GET {bg.PATH} HTTP/1.1\r\nHost: bench\r\nAuthorization: DPoP {token}\r\n"
            signed = [
                (head + "DPoP: " + proof + "\r\n\r\n").encode()
                for proof in (
                    make_dpop_proof(key.key, method="GET", url=url, now=now, access_token=token)
                    for _ in range(args.requests)
                )
            ]
            cpu = bg.cpu_seconds(gw.pid)
            gateway = run(ports["gateway"], signed, interval)
            cpu = bg.cpu_seconds(gw.pid) - cpu
            stages = bg.stage_sums(ports["gateway"])
    a, b = percentiles(proxy), percentiles(gateway)
    print(f"{'ms':>8} {'proxy':>8} {'gateway':>8} {'added':>8}")
    for name in a:
        print(f"{name:>8} {a[name]:8.2f} {b[name]:8.2f} {b[name] - a[name]:8.2f}")
    print(
        f"CPU per request: bare proxy {proxy_cpu / args.requests * 1000:.2f} ms, "
        f"gateway {cpu / args.requests * 1000:.2f} ms"
    )
    print(
        "mean per stage (ms): "
        + ", ".join(
            f"{name} {total / count * 1000:.3f}" for name, (count, total) in stages.items() if count
        )
    )
    if args.slow:
        slow = [(round(t, 2), round(ms, 1)) for t, ms in gateway if ms > args.slow]
        print(f"{len(slow)} gateway requests over {args.slow} ms (s, ms): {slow[:60]}")


if __name__ == "__main__":
    main()
