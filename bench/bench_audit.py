"""Audit log benchmark: append throughput against plain inserts, and verification cost.

    python bench/bench_audit.py                 # print the results as Markdown
    python bench/bench_audit.py --write         # and replace "## Audit log" in RESULTS.md

Appends: the same records, in the same database, in the same run, batches of ``--batch``,
best of three rounds, each round on empty tables:
  * plain   - the records as ordinary rows (one column per field, details as JSON) in a
              table with the same indexes, through the driver's executemany: what an
              audit table without tamper evidence costs;
  * audit   - ``AuditLog.append_many``: canonical encoding, leaf hashes, tree nodes and
              head, one group commit per batch;
  * raw     - the rows the audit log wrote (already encoded and hashed) inserted again
              into a copy of its table: the database's share of the audit cost;
  * threads - ``--threads`` threads appending one record at a time; group commit batches.
The input records are built first and frozen out of the garbage collector (``gc.freeze``)
so no variant pays for rescanning the benchmark's own input.

Verification: the log is grown to each of ``--sizes``, a checkpoint is signed, and
``verify_log`` runs in a fresh process started by this small orchestrator (which imports
only the standard library), so that process's ``resource.getrusage`` peak RSS is its own
(Linux carries ``ru_maxrss`` over fork and exec). Flat memory means equal peaks.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from results_file import write_section

HEADING = "## Audit log"
KEY_NAME = "bench-signing.key"


def records(n: int, offset: int = 0) -> list[Any]:
    """Typical decision and login entries (about 230 bytes encoded)."""
    from zerotrust.core.auditing import AuditRecord

    return [
        AuditRecord(
            action="authz.decision" if i % 3 else "auth.login",
            actor=f"usr_{i % 5000:08x}",
            outcome="denied" if i % 7 == 0 else "allowed",
            resource=f"acct_{i % 90_000}",
            src_ip=f"10.{i % 250}.{i % 200}.{i % 100}",
            session_id=f"ses_{i % 20_000:08x}",
            details={"policy": "p_fraud_analyst_read", "aal": 2},
        )
        for i in range(offset, offset + n)
    ]


# --- phases, each run in its own process ---------------------------------------------


class Setup:
    """A database with empty audit, plain and raw tables, and a log over it."""

    def __init__(self, url: str, key_file: Path | None = None, *, fresh: bool = True) -> None:
        import sqlalchemy as sa

        from zerotrust.audit.checkpoint import NoteSigner
        from zerotrust.audit.log import AuditLog
        from zerotrust.core.clock import SystemClock
        from zerotrust.store.audit_log import TABLES, SqlAuditStore, audit_entries
        from zerotrust.store.database import Database

        self.url, self.db = url, Database(url)
        meta = sa.MetaData()
        self.plain = sa.Table(
            "bench_plain_audit", meta,
            sa.Column("seq", sa.Integer, primary_key=True),
            sa.Column("ts", sa.Float, nullable=False),
            *(sa.Column(n, sa.String(256), nullable=False) for n in ("action", "actor", "outcome")),
            *(sa.Column(n, sa.String(1024)) for n in ("resource", "reason", "src_ip", "device_id",
                                                      "session_id", "details")),
        )  # fmt: skip
        sa.Index("ix_bench_plain_actor", self.plain.c.actor, self.plain.c.seq)
        sa.Index("ix_bench_plain_ts", self.plain.c.ts)
        self.raw = audit_entries.to_metadata(meta, name="bench_raw_audit")
        self.raw.indexes.clear()
        sa.Index("ix_bench_raw_actor", self.raw.c.actor, self.raw.c.seq)
        sa.Index("ix_bench_raw_ts", self.raw.c.ts)
        if fresh:
            meta.drop_all(self.db.engine)
            sa.MetaData().drop_all(self.db.engine, tables=list(reversed(TABLES)))
            meta.create_all(self.db.engine)
        self.store = SqlAuditStore(self.db)
        self.commits = 0
        append = self.store.append

        def counting(plan: Any) -> Any:  # one group commit per call
            self.commits += 1
            return append(plan)

        self.store.append = counting  # type: ignore[method-assign]
        signer = NoteSigner(_load_key(key_file)) if key_file else None
        self.log = AuditLog(self.store, clock=SystemClock(), signer=signer)


def _load_key(path: Path) -> Any:
    from zerotrust.crypto.signing import SigningKey

    if not path.exists():
        path.write_bytes(SigningKey.generate("EdDSA").private_pkcs8())
    return SigningKey.from_pkcs8(path.read_bytes(), alg="EdDSA", kid="bench")


def _insert_sql(db: Any, table: Any) -> str:
    mark = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table.name} VALUES ({', '.join([mark] * len(table.c))})"


def plain_insert(s: Setup, recs: list[Any], batch: int) -> float:
    sql, seq = _insert_sql(s.db, s.plain), 0
    start = time.perf_counter()
    for i in range(0, len(recs), batch):
        now, rows = time.time(), []
        for r in recs[i : i + batch]:
            rows.append((seq, now, r.action, r.actor, r.outcome, r.resource, r.reason,
                         r.src_ip, r.device_id, r.session_id, json.dumps(r.details)))  # fmt: skip
            seq += 1
        with s.db.begin() as conn:
            conn.exec_driver_sql(sql, rows)
    return len(recs) / (time.perf_counter() - start)


def audit_append(s: Setup, recs: list[Any], batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(recs), batch):
        s.log.append_many(recs[i : i + batch])
    return len(recs) / (time.perf_counter() - start)


def raw_insert(s: Setup, n: int, batch: int) -> float:
    import sqlalchemy as sa

    from zerotrust.store.audit_log import audit_entries

    with s.db.engine.connect() as conn:
        stmt = sa.select(audit_entries).order_by(audit_entries.c.seq).limit(n)
        rows = [tuple(r) for r in conn.execute(stmt)]
    sql = _insert_sql(s.db, s.raw)
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        with s.db.begin() as conn:
            conn.exec_driver_sql(sql, rows[i : i + batch])
    return len(rows) / (time.perf_counter() - start)


def threaded_append(s: Setup, recs: list[Any], threads: int) -> tuple[float, float]:
    import threading

    per = len(recs) // threads

    def work(k: int) -> None:
        for r in recs[k * per : (k + 1) * per]:
            s.log.append(r)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - start
    return per * threads / elapsed, per * threads / max(s.commits, 1)


def phase_appends(a: argparse.Namespace) -> dict[str, Any]:
    import gc

    from zerotrust.audit.entry import encode_entry

    recs, threaded_recs = records(a.appends), records(64_000)
    gc.collect()
    gc.freeze()  # the input is not what is measured
    best: dict[str, float] = {}
    for k in range(3):
        s = Setup(a.url.format(name=f"append{k}"))
        best["plain"] = max(best.get("plain", 0), plain_insert(s, recs, a.batch))
        best["audit"] = max(best.get("audit", 0), audit_append(s, recs, a.batch))
        best["raw"] = max(best.get("raw", 0), raw_insert(s, a.appends, a.batch))
        s.db.dispose()
    s = Setup(a.url.format(name="threads"))
    best["threads"], best["per_commit"] = threaded_append(s, threaded_recs, a.threads)
    s.db.dispose()
    best["entry_bytes"] = len(encode_entry(0, time.time(), recs[1]))
    return best


def phase_grow(a: argparse.Namespace) -> dict[str, Any]:
    s = Setup(a.url, Path(a.key), fresh=a.fresh)
    while (size := s.log.size()) < a.size:
        s.log.append_many(records(min(50_000, a.size - size), offset=size))
    signed = s.log.checkpoint()
    out = {"note": signed.note, "vkey": s.log.verifier_key()}
    s.db.dispose()
    return out


def phase_verify(a: argparse.Namespace) -> dict[str, Any]:
    from zerotrust.audit.checkpoint import NoteVerifier
    from zerotrust.audit.verify import verify_log
    from zerotrust.store.audit_log import SqlAuditStore
    from zerotrust.store.database import Database

    checkpoint = NoteVerifier.from_vkey(a.vkey).open(Path(a.note).read_text())
    store = SqlAuditStore(Database(a.url), create=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    result = verify_log(store, [checkpoint])
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"size": result.size, "seconds": seconds, "before_mib": before / 1024,
            "peak_mib": peak / 1024}  # fmt: skip


def phase_proofs(a: argparse.Namespace) -> dict[str, Any]:
    s = Setup(a.url, fresh=False)
    size = s.log.size()
    start = time.perf_counter()
    for seq in range(0, size, max(size // 100, 1)):
        s.log.inclusion_proof(seq).verify()
    incl = (time.perf_counter() - start) * 1000 / len(range(0, size, max(size // 100, 1)))
    start = time.perf_counter()
    s.log.consistency_proof(min(12_345, max(size // 2, 1))).verify()
    return {"inclusion_ms": incl, "consistency_ms": (time.perf_counter() - start) * 1000}


PHASES = {"appends": phase_appends, "grow": phase_grow, "verify": phase_verify,
          "proofs": phase_proofs}  # fmt: skip


# --- orchestrator (standard library only) --------------------------------------------


def _run(phase: str, **options: Any) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--phase", phase]
    for key, value in options.items():
        if value is True:
            argv.append(f"--{key}")
        elif value is not None and value is not False:
            argv += [f"--{key}", str(value)]
    out = subprocess.run(argv, check=False, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"bench phase {phase} failed:\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def orchestrate(a: argparse.Namespace) -> str:
    tmp = Path(tempfile.mkdtemp(prefix="zt-bench-"))
    try:
        return _orchestrate(a, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _orchestrate(a: argparse.Namespace, tmp: Path) -> str:
    pattern = a.database_url or f"sqlite:///{tmp}/{{name}}.db"
    appends = _run("appends", url=pattern, appends=a.appends, batch=a.batch, threads=a.threads)
    url, key = pattern.format(name="verify"), tmp / KEY_NAME
    rows = []
    for i, size in enumerate(sorted(int(x) for x in a.sizes.split(","))):
        grown = _run("grow", url=url, key=key, size=size, fresh=i == 0)
        note = tmp / f"checkpoint-{size}.txt"
        note.write_text(grown["note"])
        rows.append(_run("verify", url=url, note=note, vkey=grown["vkey"]))
    proofs = _run("proofs", url=url)
    return report(a, appends, rows, proofs)


def report(a: argparse.Namespace, ap: dict[str, Any], rows: list[dict[str, Any]],
           proofs: dict[str, Any]) -> str:  # fmt: skip
    backend = f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL), a file on local disk"
    if a.database_url:
        backend = a.database_url.split(":", maxsplit=1)[0]
    plain = ap["plain"]
    lines = [
        HEADING,
        "",
        f"Reproduce: `python bench/bench_audit.py --write` (defaults: `--appends {a.appends} "
        f"--batch {a.batch} --threads {a.threads} --sizes {a.sizes}`).",
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, {backend}. "
        f"Records: decisions and logins, {ap['entry_bytes']} bytes encoded. Best of three "
        "rounds, each on empty tables; other work on the machine makes single runs vary "
        "by about 20%.",
        "",
        "| appends: the same records, same database, same run | entries/s | vs plain |",
        "|---|---:|---:|",
        f"| plain inserts: one column per field, details as JSON, same indexes | "
        f"{plain:,.0f} | 100% |",
        f"| **audit log** `append_many`, batches of {a.batch:,} (group commit) | "
        f"**{ap['audit']:,.0f}** | **{ap['audit'] / plain:.0%}** |",
        f"| raw re-insert of the audit log's own encoded, hashed rows (database share) | "
        f"{ap['raw']:,.0f} | {ap['raw'] / plain:.0%} |",
        f"| audit log, {a.threads} threads each appending single records (group commit, "
        f"{ap['per_commit']:.1f} entries per commit) | {ap['threads']:,.0f} | "
        f"{ap['threads'] / plain:.0%} |",
        "",
        "| verify the whole log (`verify_log`, fresh process) | seconds | entries/s | "
        "RSS before | peak RSS (`ru_maxrss`) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {int(row['size']):,} entries | {row['seconds']:.1f} | "
            f"{row['size'] / row['seconds']:,.0f} | {row['before_mib']:.0f} MiB | "
            f"{row['peak_mib']:.0f} MiB |"
        )
    lines += [
        "",
        "Reading: the audit log's extra cost over plain rows is Python work per entry "
        "(canonical JSON with bounds and redaction, two SHA-256, the compact range); the "
        "database's share, the raw line, is close to the plain table's. Single-record "
        "appends from many threads are bounded by GIL hand-offs between threads, not by "
        "the database; group commit still folds them into few transactions. Verification "
        "memory is flat: the same peak at both sizes (one batch of rows plus at most 64 "
        "hashes).",
        "",
        f"Proofs from storage at {int(rows[-1]['size']):,} entries (stored nodes every 8 "
        f"levels): inclusion {proofs['inclusion_ms']:.1f} ms (mean of 100), consistency "
        f"{proofs['consistency_ms']:.1f} ms, each including its own verification.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="default: fresh SQLite files in a temp dir")
    p.add_argument("--appends", type=int, default=200_000)
    p.add_argument("--batch", type=int, default=10_000)
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--sizes", default="250000,1000000")
    p.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    # Internal: run one phase in this process and print its result as JSON.
    p.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    for name in ("url", "key", "note", "vkey"):
        p.add_argument(f"--{name}", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--fresh", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.phase:
        print(json.dumps(PHASES[a.phase](a)))
        return
    text = orchestrate(a)
    print(text)
    if a.write:
        write_section(HEADING, text)


if __name__ == "__main__":
    main()
