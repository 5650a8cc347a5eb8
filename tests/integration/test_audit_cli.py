"""``zt audit``: checkpoint, verify, proof and export, with one-line errors and no tracebacks."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.support.pg import audit_db_url, audit_pg_database  # noqa: F401 - fixtures
from zerotrust.audit import merkle
from zerotrust.audit.checkpoint import NoteVerifier
from zerotrust.audit.log import AuditLog
from zerotrust.cli.audit import audit
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock, SystemClock
from zerotrust.store.audit_log import SqlAuditStore
from zerotrust.store.database import Database


def _zt(*argv: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(audit, list(argv), env=env)


def _one_line_error(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    return result.output.strip().splitlines()[-1]


@pytest.fixture
def setup(audit_db_url: str, tmp_path: Path) -> tuple[list[str], Path]:  # noqa: F811
    db = Database(audit_db_url)
    AuditLog(SqlAuditStore(db), clock=SystemClock()).append_many(
        [
            AuditRecord(
                "auth.login",
                f"usr_{i}",
                "failure",
                reason="bad\r\npassword\x1b[2J",
                src_ip="203.0.113.5",
            )
            for i in range(40)
        ]
    )
    db.dispose()
    data_dir = tmp_path / "zt"
    return ["--database-url", audit_db_url, "--data-dir", str(data_dir)], data_dir


def test_checkpoint_creates_a_private_key_and_public_exports(
    setup: tuple[list[str], Path],
) -> None:
    args, data_dir = setup
    result = _zt("checkpoint", *args)
    assert result.exit_code == 0, result.output
    key = data_dir / "audit-signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    latest = (data_dir / "checkpoints" / "latest.txt").read_text()
    vkey = (data_dir / "checkpoints" / "audit.vkey").read_text().strip()
    checkpoint = NoteVerifier.from_vkey(vkey).open(latest)  # the public key alone suffices
    assert checkpoint.size == 40
    assert latest in result.output
    assert len(list((data_dir / "checkpoints" / "history").iterdir())) == 1
    again = _zt("checkpoint", *args)  # the same key signs the next one
    assert again.exit_code == 0
    assert len(list((data_dir / "checkpoints" / "history").iterdir())) == 2


def test_verify_with_a_witness_key_and_a_copied_checkpoint(
    setup: tuple[list[str], Path],
    tmp_path: Path,
) -> None:
    args, data_dir = setup
    assert _zt("checkpoint", *args).exit_code == 0
    copy = tmp_path / "witness-copy.txt"
    copy.write_text((data_dir / "checkpoints" / "latest.txt").read_text())
    vkey = data_dir / "checkpoints" / "audit.vkey"
    for key in (str(vkey), vkey.read_text().strip()):
        result = _zt("verify", *args, "--checkpoint", str(copy), "--public-key", key)
        assert result.exit_code == 0, result.output
        assert "verify OK: 40 entries" in result.output


def test_verify_needs_a_checkpoint_and_a_key(setup: tuple[list[str], Path]) -> None:
    args, data_dir = setup
    assert "no signing key" in _one_line_error(_zt("verify", *args))
    assert _zt("checkpoint", *args).exit_code == 0
    (data_dir / "checkpoints" / "latest.txt").unlink()
    for item in (data_dir / "checkpoints" / "history").iterdir():
        item.unlink()
    assert "no signed checkpoint" in _one_line_error(_zt("verify", *args))


def test_a_key_readable_by_others_is_refused(setup: tuple[list[str], Path]) -> None:
    args, data_dir = setup
    assert _zt("checkpoint", *args).exit_code == 0
    os.chmod(data_dir / "audit-signing.key", 0o644)
    assert "readable by other users" in _one_line_error(_zt("checkpoint", *args))


def test_inclusion_proof_output_verifies_independently(setup: tuple[list[str], Path]) -> None:
    args, data_dir = setup
    assert _zt("checkpoint", *args).exit_code == 0
    result = _zt("proof", *args, "--seq", "17")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    b = base64.b64decode
    leaf = merkle.leaf_hash(out["entry"].encode())
    assert leaf == b(out["leaf_hash"])
    checkpoint = NoteVerifier.from_vkey((data_dir / "checkpoints" / "audit.vkey").read_text()).open(
        (data_dir / "checkpoints" / "latest.txt").read_text()
    )
    assert (out["tree_size"], b(out["root"])) == (checkpoint.size, checkpoint.root)
    merkle.verify_inclusion(
        index=17,
        size=out["tree_size"],
        leaf=leaf,
        proof=[b(h) for h in out["proof"]],
        root=checkpoint.root,
    )


def test_consistency_proof_output_verifies(setup: tuple[list[str], Path]) -> None:
    args, _ = setup
    result = _zt("proof", *args, "--consistency", "10", "40")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    b = base64.b64decode
    merkle.verify_consistency(
        size1=10,
        size2=40,
        proof=[b(h) for h in out["proof"]],
        root1=b(out["root1"]),
        root2=b(out["root2"]),
    )


@pytest.mark.parametrize(
    ("argv", "needle", "code"),
    [
        (["proof"], "exactly one of", 2),
        (["proof", "--seq", "1", "--consistency", "1", "2"], "exactly one of", 2),
        (["proof", "--seq", "99"], "seq < tree_size", 1),
        (["proof", "--seq", "-1"], "Invalid value", 2),
        (["proof", "--consistency", "30", "20"], "size1 <= size2", 1),
        (["export", "--format", "xml"], "Invalid value", 2),
        (["export", "--since", "yesterday-ish"], "ISO 8601", 2),
        (["verify", "--checkpoint", "/nonexistent/cp.txt"], "cannot read", 1),
        (["verify", "--public-key", "not-a-key+zz+AA"], "verifier key", 1),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    setup: tuple[list[str], Path], argv: list[str], needle: str, code: int
) -> None:
    args, _ = setup
    assert _zt("checkpoint", *args).exit_code == 0
    assert needle in _one_line_error(_zt(*argv, *args), code)


def test_a_missing_sqlite_database_is_an_error_not_a_new_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = _zt("export", "--database-url", f"sqlite:///{missing}", "--data-dir", str(tmp_path))
    assert "no database" in _one_line_error(result)
    assert not missing.exists()


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    result = _zt(
        "export",
        "--database-url",
        "postgresql+psycopg://nobody@127.0.0.1:1/x",
        "--data-dir",
        str(tmp_path),
    )
    assert _one_line_error(result).startswith("error: ")


def test_environment_variables_name_the_database_and_data_dir(
    setup: tuple[list[str], Path],
) -> None:
    args, data_dir = setup
    env = {"ZT_DATABASE_URL": args[1], "ZT_DATA_DIR": str(data_dir)}
    assert _zt("checkpoint", env=env).exit_code == 0
    assert _zt("verify", env=env).exit_code == 0


def test_export_formats(setup: tuple[list[str], Path]) -> None:
    args, _ = setup
    lines = _zt("export", *args, "--format", "jsonl").output.splitlines()
    assert len(lines) == 41  # 40 entries, then the export audited itself first
    assert json.loads(lines[-1])["action"] == "audit.export"
    assert all(json.loads(line)["seq"] == i for i, line in enumerate(lines))
    assert all("\x1b" not in line and "\r" not in line for line in lines)
    ocsf = [json.loads(x) for x in _zt("export", *args, "--format", "ocsf").output.splitlines()]
    assert {e["class_uid"] for e in ocsf} == {3002, 6003}
    cef = _zt("export", *args, "--format", "cef", "--from-seq", "39").output.splitlines()
    assert [line.split("|")[4] for line in cef] == [
        "auth.login",
        "audit.export",
        "audit.export",
        "audit.export",
    ]


def test_export_since(setup: tuple[list[str], Path]) -> None:
    args, _ = setup
    db = Database(args[1])
    AuditLog(SqlAuditStore(db), clock=FixedClock(4_000_000_000.0)).append(
        AuditRecord("role.grant", "usr_admin", "success")
    )
    db.dispose()
    out = _zt("export", *args, "--since", "2096-01-01T00:00:00Z").output.splitlines()
    assert [json.loads(x)["action"] for x in out] == ["role.grant"]
    assert _zt("export", *args, "--since", "2d").exit_code == 0
