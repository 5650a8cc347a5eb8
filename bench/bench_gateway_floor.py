"""The gateway's throughput ceiling: the least CPU any gateway must add per request, beside
the bare proxy's own CPU per request, measured in one run.

    python bench/bench_gateway_floor.py            # Markdown out
    python bench/bench_gateway_floor.py --write    # and replace its section in RESULTS.md

The floor is the work the chain must do on every request, done with the raw libraries and
nothing of the product's: no framework, no abstraction, every cache that could hold
assumed to hold. Per request:
  - the DPoP proof (RFC 9449 §4.3): split and base64url-decode it, parse its header and
    claims, check ``ath`` (SHA-256 of the token), turn JOSE r||s into DER and verify the
    ES256 signature; the proof key object is cached by its JWK, the token's own
    signature too (both as the gateway does);
  - its ``jti`` written once: one INSERT and COMMIT (SQLite, WAL, synchronous=NORMAL);
  - the rate limits per address and per principal, shared: two counter upserts, one
    COMMIT;
  - the live session: one SELECT by primary key;
  - the decision's audit entry: canonical JSON, its SHA-256 leaf hash, one INSERT and
    COMMIT (no Merkle tree above the leaf, no checkpoint);
  - the identity assertion: a JSON claims set, base64url, an Ed25519 signature;
  - the access event: its JSON, one INSERT and COMMIT (no detection behind it);
  - the bytes: a token and a proof parsed in, an assertion sent out (a second bare proxy
    that carries headers of their sizes, less the plain one).
Policy, context, the device, metrics and logs cost nothing here.

The bare proxy (bench_gateway.py's, aiohttp forwarder) runs under wrk at
``--connections``; its CPU per request comes from /proc. While it is CPU-bound (about one
core), a gateway that does the same forwarding plus the floor serves at most
``bare / (bare + floor)`` of its requests per second, whatever else it does or skips.
The chain's goal is 50 %.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import bench_gateway as bg  # the upstream, the bare proxy and wrk
from results_file import write_section

HEADING = "## Gateway throughput ceiling"
GOAL = 0.5
# Sizes of what the gateway's requests carry in (bench_gateway.py's analyst): the access
# token and a DPoP proof; what it sends out is bench_gateway.ASSERTION_BYTES.
TOKEN_BYTES = 698
PROOF_BYTES = 700


# A fixed-window rate-limit counter: one statement per key and request.
COUNT = (
    "INSERT INTO counters VALUES (?, ?, 1) "
    "ON CONFLICT (key, window) DO UPDATE SET n = n + 1 RETURNING n"
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def floor_steps(
    work: Path, count: int, batch: int
) -> tuple[dict[str, Callable[[int], None]], dict[str, Callable[[int], None]]]:
    """Each step of the floor as a function of the request's index, ready to time; and
    the writes again, group-committed ``batch`` requests to a transaction (as concurrent
    requests could share a commit)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )

    device = ec.generate_private_key(ec.SECP256R1())
    numbers = device.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": _b64(numbers.x.to_bytes(32, "big")),
        "y": _b64(numbers.y.to_bytes(32, "big")),
    }
    token = "eyJ" + "A" * 600  # its signature is cached: only its hash is needed
    ath = _b64(hashlib.sha256(token.encode()).digest())
    header = _b64(json.dumps({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).encode())
    proofs = []
    for i in range(count):
        claims = {
            "jti": f"{i:032x}",
            "htm": "GET",
            "htu": "http://127.0.0.1:8443/api/transactions/t1",
            "iat": int(time.time()),
            "ath": ath,
        }
        signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
        der = device.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        proofs.append(f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
    keys: dict[str, Any] = {}

    def proof(i: int) -> None:
        head, body, sig = proofs[i].split(".")
        parsed = json.loads(_unb64(head))
        claims = json.loads(_unb64(body))
        key = keys.get(parsed["jwk"]["x"])
        if key is None:
            x, y = (int.from_bytes(_unb64(parsed["jwk"][c]), "big") for c in ("x", "y"))
            key = keys[parsed["jwk"]["x"]] = ec.EllipticCurvePublicNumbers(
                x, y, ec.SECP256R1()
            ).public_key()
        if claims["ath"] != _b64(hashlib.sha256(token.encode()).digest()):
            raise SystemExit("ath")
        raw = _unb64(sig)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        try:
            key.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise SystemExit("signature") from None

    db = sqlite3.connect(work / "floor.db", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE jti (jti TEXT PRIMARY KEY, expires REAL)")
    db.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, principal TEXT, jkt TEXT, aal INT)")
    db.execute("CREATE TABLE audit (seq INTEGER PRIMARY KEY, leaf BLOB, body TEXT)")
    db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, body TEXT)")
    db.execute("CREATE TABLE counters (key TEXT, window INT, n INT, PRIMARY KEY (key, window))")
    db.execute("INSERT INTO sessions VALUES ('ses_1', 'usr_1', 'jkt', 2)")

    # The writes, each without its transaction: ``committed`` gives each request its own
    # commit, ``grouped`` shares one among ``batch`` requests.
    def jti(i: int) -> None:
        db.execute("INSERT INTO jti VALUES (?, ?)", (f"{i:032x}", time.time() + 120))

    def limits(i: int) -> None:
        for key in ("addr:127.0.0.1", "principal:usr_1"):
            db.execute(COUNT, (key, i // 60_000)).fetchone()

    record = {
        "action": "authz.decision",
        "actor": "usr_1",
        "outcome": "allowed",
        "resource": "Transaction::t1",
        "reasons": ["allow_analyst_read"],
        "src_ip": "127.0.0.1",
    }

    def audit(i: int) -> None:
        body = json.dumps({**record, "seq": i}, sort_keys=True, separators=(",", ":"))
        leaf = hashlib.sha256(b"\x00" + body.encode()).digest()
        db.execute("INSERT INTO audit VALUES (?, ?, ?)", (i, leaf, body))

    event_fields = {
        "kind": "access",
        "principal": "usr_1",
        "device": "dev_1",
        "action": "read",
        "resource_type": "Transaction",
        "resource": "t1",
        "outcome": "allowed",
        "src_ip": "127.0.0.1",
        "records": 1,
        "bytes": 180,
    }

    def event(i: int) -> None:
        body = json.dumps({**event_fields, "time": time.time(), "correlation_id": i})
        db.execute("INSERT INTO events (body) VALUES (?)", (body,))

    def committed(write: Callable[[int], None]) -> Callable[[int], None]:
        def step(i: int) -> None:
            db.execute("BEGIN")
            write(i)
            db.execute("COMMIT")

        return step

    def grouped(write: Callable[[int], None]) -> Callable[[int], None]:
        def step(i: int) -> None:
            if not db.in_transaction:
                db.execute("BEGIN")
            write(count + i)  # past the indexes ``committed`` wrote: no key twice
            if i % batch == batch - 1:
                db.execute("COMMIT")

        return step

    def session(i: int) -> None:
        db.execute("SELECT principal, jkt, aal FROM sessions WHERE id = ?", ("ses_1",)).fetchone()

    assertion_key = ed25519.Ed25519PrivateKey.generate()
    assertion_header = _b64(json.dumps({"typ": "zt-identity+jwt", "alg": "EdDSA"}).encode())

    def assertion(i: int) -> None:
        claims = {"sub": "usr_1", "roles": ["fraud_analyst"], "dev": "dev_1", "aal": 2}
        signing_input = f"{assertion_header}.{_b64(json.dumps({**claims, 'cid': i}).encode())}"
        _b64(assertion_key.sign(signing_input.encode()))

    writes = {
        "jti INSERT + COMMIT": jti,
        "rate limits: two counter upserts + COMMIT": limits,
        "audit leaf + INSERT + COMMIT": audit,
        "access event: JSON + INSERT + COMMIT": event,
    }
    steps = {
        "DPoP proof (parse, ath, ES256 verify)": proof,
        "jti INSERT + COMMIT": committed(jti),
        "rate limits: two counter upserts + COMMIT": committed(limits),
        "session SELECT": session,
        "audit leaf + INSERT + COMMIT": committed(audit),
        "identity assertion (Ed25519)": assertion,
        "access event: JSON + INSERT + COMMIT": committed(event),
    }
    return steps, {name: grouped(write) for name, write in writes.items()}


def time_floor(work: Path, count: int, batch: int) -> tuple[dict[str, float], dict[str, float]]:
    """CPU ms per request of each step, the best of three passes; and of the batched
    writes."""
    steps, batched = floor_steps(work, count * 3, batch)
    return _best_of_three(steps, count), _best_of_three(batched, count)


def _best_of_three(steps: dict[str, Callable[[int], None]], count: int) -> dict[str, float]:
    out = {}
    for name, step in steps.items():
        best = float("inf")
        for rep in range(3):
            started = time.process_time()
            for i in range(rep * count, (rep + 1) * count):
                step(i)
            best = min(best, (time.process_time() - started) * 1000 / count)
        out[name] = best
    return out


# The gateway's request as wrk sends it: a token and a proof of their real sizes.
CARRY_LUA = (
    r"""
local request_text
function init(args)
  local headers = {
    ["Authorization"] = "DPoP " .. string.rep("t", TOKEN_BYTES),
    ["DPoP"] = string.rep("p", PROOF_BYTES),
  }
  request_text = wrk.format("GET", wrk.path, headers)
end

function request()
  return request_text
end
""".replace("TOKEN_BYTES", str(TOKEN_BYTES)).replace("PROOF_BYTES", str(PROOF_BYTES))
    + bg.LUA_DONE
)


def bare_proxy(work: Path, connections: int, seconds: float) -> dict[str, dict[str, float]]:
    """The bare proxy under wrk, as the goal compares it and carrying the gateway's
    headers: requests/s, CPU ms per request and cores busy."""
    ports = {name: bg._port() for name in ("upstream", "proxy", "carry")}
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    out = {}
    with (
        bg._process("upstream", str(ports["upstream"])),
        bg._process("proxy", str(ports["proxy"]), upstream, "aiohttp") as plain,
        bg._process("proxy", str(ports["carry"]), upstream, "aiohttp", "gateway") as carry,
    ):
        for name, proc, script in (("plain", plain, bg.LUA), ("carry", carry, CARRY_LUA)):
            port = ports[name if name == "carry" else "proxy"]
            bg._wait(ports["upstream"])
            bg._wait(port)
            bg.wrk(port, connections=connections, seconds=1, work=work, script=script)
            cpu = bg.cpu_seconds(proc.pid)
            row = bg.wrk(port, connections=connections, seconds=seconds, work=work, script=script)
            cpu = bg.cpu_seconds(proc.pid) - cpu
            if row["non2xx"] or row["errors"]:
                raise SystemExit(f"the bare proxy failed requests: {row}")
            out[name] = {
                "rps": row["rps"],
                "cpu_ms": cpu * 1000 / max(1, row["requests"]),
                "cores": cpu / (row["duration_us"] / 1e6),
            }
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (apt-get install -y wrk)")
    work = Path(tempfile.mkdtemp(prefix="zt-bench-floor-"))
    floor, batched = time_floor(work, args.count, args.connections)
    bare = bare_proxy(work, args.connections, args.seconds)
    chain = None
    if not args.no_chain:
        data = work / "gateway"
        data.mkdir()
        db = f"sqlite:///{data / 'zerotrust.db'}"
        port = bg._port()
        token, key = bg.prepare(data, db, "", port)
        chain = bg.chain_cpu(data, db, "", port, key, token, count=args.count)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "floor": floor,
        "batched": {**floor, **batched},
        "bare": bare,
        "chain": chain,
        "cpus": os.cpu_count(),
    }


def markdown(results: dict[str, Any], args: argparse.Namespace) -> str:
    floor, batched, chain = results["floor"], results["batched"], results["chain"]
    plain, carry = results["bare"]["plain"], results["bare"]["carry"]
    bare_ms = plain["cpu_ms"]
    headers = max(0.0, carry["cpu_ms"] - bare_ms)
    total, grouped = sum(floor.values()) + headers, sum(batched.values()) + headers
    crypto = sum(v for k, v in floor.items() if "ES256" in k or "Ed25519" in k)
    # At half the bare proxy's rate, a request may cost twice its CPU: the chain gets
    # one bare request's worth, minus the floor, for everything else it does.
    left = bare_ms - grouped
    lines = [
        HEADING,
        "",
        f"`python bench/bench_gateway_floor.py --write` — the least CPU a gateway must add to "
        f"each request, done with the raw libraries (cryptography, sqlite3, json, hashlib) "
        f"and no product code, beside the bare proxy under wrk at {args.connections} "
        f"connections, in one run on {results['cpus']} cores. Python "
        f"{sys.version.split()[0]}, {time.strftime('%Y-%m-%d')}.",
        "",
        f"| work per request | CPU ms | writes group-committed, {args.connections} a transaction |",
        "|---|---:|---:|",
        f"| the gateway's headers: a {TOKEN_BYTES}-byte token and a {PROOF_BYTES}-byte proof "
        f"in, a {bg.ASSERTION_BYTES}-byte assertion out (the bare proxy carrying them, less "
        f"the plain one) | {headers:.3f} | {headers:.3f} |",
    ]
    lines += [f"| {name} | {ms:.3f} | {batched[name]:.3f} |" for name, ms in floor.items()]
    lines += [
        f"| **floor: the chain's least work** | **{total:.3f}** | **{grouped:.3f}** |",
        f"| bare proxy, whole request ({plain['rps']:,.0f} req/s, {plain['cores']:.2f} cores "
        f"busy) | {bare_ms:.3f} | |",
        f"| bare proxy carrying the gateway's headers ({carry['rps']:,.0f} req/s) | "
        f"{carry['cpu_ms']:.3f} | |",
    ]
    if chain is not None:
        lines.append(f"| the gateway's chain as built, in process | {chain['chain_ms']:.3f} | |")
    lines += [
        "",
        f"- The bare proxy is CPU-bound on one core. A gateway doing its forwarding plus only "
        f"the floor serves at most {_ceiling(bare_ms, total):.0%} of its requests per second; "
        f"with every write group-committed, {_ceiling(bare_ms, grouped):.0%}; with storage "
        f"free and only the two signatures, {_ceiling(bare_ms, crypto):.0%} (goal "
        f"≥ {GOAL:.0%}).",
        f"- At {GOAL:.0%}, a request may cost twice the bare proxy's CPU. After the floor, "
        f"{max(0.0, left) * 1000:.0f} µs would be left for everything else the chain must "
        "do: look up the token, the device and its posture, the context, the policy, the "
        "Merkle tree above the leaf, metrics and detection.",
    ]
    return "\n".join(lines) + "\n"


def _ceiling(bare_ms: float, added_ms: float) -> float:
    return bare_ms / (bare_ms + added_ms)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000, help="requests timed per step")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--no-chain", action="store_true", help="skip the chain as built")
    parser.add_argument("--write", action="store_true", help=f"replace {HEADING!r} in RESULTS.md")
    args = parser.parse_args()
    text = markdown(measure(args), args)
    print(text)
    if args.write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
