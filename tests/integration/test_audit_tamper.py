"""Tampering with the audit tables through SQL is caught by ``zt audit verify``.

An insider with database access edits a field, swaps two entries, deletes one in the
middle, deletes the last ones, or rewrites the whole table with every hash recomputed.
Each is detected against the signed checkpoint exported outside the database: with the
first bad sequence number where there is one, and as a checkpoint mismatch otherwise
(SECURITY-TESTS 13 and 55; PCI DSS 10.3.2/10.3.4).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from tests.support.pg import audit_db_url, audit_pg_database  # noqa: F401 - fixtures
from zerotrust.audit import merkle
from zerotrust.audit.entry import decode_entry
from zerotrust.audit.log import AuditLog
from zerotrust.cli.audit import audit
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.store.audit_log import SqlAuditStore, audit_entries, audit_head, audit_nodes
from zerotrust.store.database import Database

N = 300  # more than 256, so a stored tree node covers the tampered entries


@pytest.fixture
def env(audit_db_url: str, tmp_path: Path) -> Iterator[tuple[Database, list[str]]]:  # noqa: F811
    db = Database(audit_db_url)
    records = [
        AuditRecord("auth.login", f"usr_{i}", "failure", src_ip="198.51.100.7") for i in range(N)
    ]
    AuditLog(SqlAuditStore(db), clock=FixedClock()).append_many(records)
    args = ["--database-url", audit_db_url, "--data-dir", str(tmp_path / "zt")]
    assert _zt("checkpoint", *args).exit_code == 0
    assert _zt("verify", *args).exit_code == 0
    yield db, args
    db.dispose()


def _zt(*argv: str) -> Result:
    return CliRunner().invoke(audit, list(argv))


def _fails(args: list[str], *needles: str) -> str:
    result = _zt("verify", *args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    line = result.output.strip()
    assert "\n" not in line  # one line, never a traceback
    for needle in needles:
        assert needle in line, line
    return line


def _blob(db: Database, seq: int) -> bytes:
    with db.engine.connect() as conn:
        return bytes(
            conn.execute(
                sa.select(audit_entries.c.entry).where(audit_entries.c.seq == seq)
            ).scalar_one()
        )


def test_editing_one_field_is_located(env: tuple[Database, list[str]]) -> None:
    db, args = env
    forged = _blob(db, 123).replace(b'"failure"', b'"success"')
    with db.begin() as conn:
        conn.execute(
            audit_entries.update()
            .where(audit_entries.c.seq == 123)
            .values(entry=forged, outcome="success")
        )
    _fails(args, "entry 123", "edited")


def test_editing_only_the_indexed_column_is_located(env: tuple[Database, list[str]]) -> None:
    db, args = env
    with db.begin() as conn:
        conn.execute(
            audit_entries.update().where(audit_entries.c.seq == 42).values(actor="usr_innocent")
        )
    _fails(args, "entry 42", "index columns")


def test_editing_with_a_recomputed_leaf_hash_is_caught(env: tuple[Database, list[str]]) -> None:
    db, args = env
    forged = _blob(db, 100).replace(b'"failure"', b'"success"')
    with db.begin() as conn:
        conn.execute(
            audit_entries.update()
            .where(audit_entries.c.seq == 100)
            .values(entry=forged, outcome="success", leaf_hash=merkle.leaf_hash(forged))
        )
    _fails(args, "entry 0", "entries 0-255", "stored tree node")


def test_swapping_two_entries_is_located(env: tuple[Database, list[str]]) -> None:
    db, args = env
    seq = audit_entries.c.seq
    with db.begin() as conn:
        conn.execute(audit_entries.update().where(seq == 17).values(seq=-1))
        conn.execute(audit_entries.update().where(seq == 29).values(seq=17))
        conn.execute(audit_entries.update().where(seq == -1).values(seq=29))
    _fails(args, "entry 17", "content of entry 29", "reordered")


def test_deleting_a_middle_entry_is_located(env: tuple[Database, list[str]]) -> None:
    db, args = env
    with db.begin() as conn:
        conn.execute(audit_entries.delete().where(audit_entries.c.seq == 150))
    _fails(args, "entry 150", "missing (deleted)")


@pytest.mark.parametrize("fix_head", [False, True])
def test_deleting_the_last_entries_is_caught_by_the_checkpoint(
    env: tuple[Database, list[str]], fix_head: bool
) -> None:
    db, args = env
    with db.begin() as conn:
        conn.execute(audit_entries.delete().where(audit_entries.c.seq >= N - 20))
        if fix_head:  # a careful insider also rewinds the head and the tree nodes
            conn.execute(audit_nodes.delete().where(audit_nodes.c.idx >= 1))
            _rewrite_head(conn, N - 20)
    _fails(args, f"entry {N - 20}", f"{N - 20} entries", f"checkpoint signed {N}", "truncated")
    refused = _zt("checkpoint", *args)  # and the log will not sign over the truncation
    assert refused.exit_code == 1
    reason = "checkpoint signed" if fix_head else "missing"
    assert reason in refused.output
    assert refused.output.count("\n") == 1


def _rewrite_head(conn: sa.Connection, size: int) -> None:
    hashes = [
        bytes(h)
        for h in conn.execute(
            sa.select(audit_entries.c.leaf_hash).order_by(audit_entries.c.seq)
        ).scalars()
    ]
    rng = merkle.CompactRange()
    rng.extend(hashes[:size])
    conn.execute(audit_head.update().values(size=rng.size, frontier=b"".join(rng.hashes)))


def test_rewriting_the_whole_table_with_recomputed_hashes_is_caught(
    env: tuple[Database, list[str]],
) -> None:
    db, args = env
    # Re-encode every entry with a changed outcome and recompute leaf hashes, tree nodes
    # and head exactly as the log would: every row is self-consistent.
    with db.engine.connect() as conn:
        rows = conn.execute(sa.select(audit_entries).order_by(audit_entries.c.seq)).all()
    forged_rows, hashes = [], []
    for row in rows:
        blob = bytes(row.entry).replace(b'"failure"', b'"success"')
        hashes.append(merkle.leaf_hash(blob))
        forged_rows.append(
            {**row._asdict(), "entry": blob, "outcome": "success", "leaf_hash": hashes[-1]}
        )
    nodes: list[dict[str, object]] = []
    rng = merkle.CompactRange()
    rng.extend(hashes, lambda lv, ix, h: nodes.append({"level": lv, "idx": ix, "hash": h}), every=8)
    with db.begin() as conn:
        conn.execute(audit_entries.delete())
        conn.execute(audit_nodes.delete())
        conn.execute(audit_entries.insert(), forged_rows)
        conn.execute(audit_nodes.insert(), nodes)
        conn.execute(audit_head.update().values(size=rng.size, frontier=b"".join(rng.hashes)))
    assert decode_entry(_blob(db, 7)).outcome == "success"
    _fails(args, "checkpoint mismatch", f"first {N} entries", "rewritten")


def test_a_forged_checkpoint_file_is_rejected(
    env: tuple[Database, list[str]], tmp_path: Path
) -> None:
    _, args = env
    latest = tmp_path / "zt" / "checkpoints" / "latest.txt"
    latest.write_text(latest.read_text().replace(f"\n{N}\n", f"\n{N - 1}\n"))
    _fails(args, "latest.txt", "not signed")


def test_an_untouched_log_still_verifies_after_growth(env: tuple[Database, list[str]]) -> None:
    db, args = env
    AuditLog(SqlAuditStore(db), clock=FixedClock()).append_many(
        [AuditRecord("role.grant", "usr_admin", "success")] * 10
    )
    result = _zt("verify", *args)
    assert result.exit_code == 0, result.output
    assert f"verify OK: {N + 10} entries" in result.output
