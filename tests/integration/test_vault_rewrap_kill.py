"""``zt keys rewrap`` killed with SIGKILL half way: every record still decrypts, and a
rerun finishes the job (security catalogue 15 and 50; ASVS 11.2.2, PCI DSS 3.7.4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.unit.vault.helpers import customer, make_vault, new_root_key, open_db
from zerotrust.core.clock import FixedClock
from zerotrust.store.database import Database
from zerotrust.vault.services import Vault

KEYS = 400
BATCH = 10
CLI = "from zerotrust.cli.vault import keys_group; keys_group(prog_name='zt keys')"


def _on_primary(db: Database, primary: int) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                f"SELECT count(*) FROM vault_data_keys WHERE kek_version = {primary}"
            ).scalar_one()
        )


def _readable(vault: Vault, ids: list[str]) -> int:
    vault.keys.seal()  # cold caches: unwrap every data key from the database again
    vault.keys.unseal()
    return sum(vault.records.get("customer", i).status == "active" for i in ids)


def _env(data_dir: Path, database_url: str, root_key: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZT_")}
    return env | {
        "ZT_DATA_DIR": str(data_dir),
        "ZT_DATABASE_URL": database_url,
        "ZT_ROOT_KEY": root_key,
    }


def test_kill_9_half_way_then_rerun(database_url: str, tmp_path: Path, clock: FixedClock) -> None:
    root_key = new_root_key()
    db = open_db(database_url)
    vault = make_vault(db, clock, root_key=root_key)
    ids = [customer(vault, i) for i in range(KEYS)]
    assert vault.keys.rotate(actor="test") == 2
    env = _env(tmp_path, database_url, root_key)

    job = subprocess.Popen(
        [sys.executable, "-c", CLI, "rewrap", "--batch", str(BATCH), "--pause", "0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while _on_primary(db, 2) < KEYS // 2:
            assert job.poll() is None, "the rewrap finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        job.send_signal(signal.SIGKILL)
    finally:
        job.kill()
        job.wait()
    assert job.returncode == -signal.SIGKILL

    done = _on_primary(db, 2)
    assert KEYS // 2 <= done < KEYS  # about half way, really interrupted
    assert _readable(vault, ids) == KEYS

    rerun = subprocess.run(
        [sys.executable, "-c", CLI, "rewrap", "--batch", "50"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report == {"rewrapped": KEYS - done, "remaining": 0, "passes": 1}
    assert _on_primary(db, 2) == KEYS
    assert _readable(vault, ids) == KEYS

    delete = subprocess.run(
        [sys.executable, "-c", CLI, "delete-version", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert delete.returncode == 0, delete.stderr
    assert [s.version for s in vault.keys.status()] == [2]
    assert _readable(vault, ids) == KEYS
    db.dispose()


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupted_rewrap_leaves_no_traceback(
    tmp_path: Path, clock: FixedClock, signal_name: str
) -> None:
    # A polite stop (SIGTERM, Ctrl-C) leaves no traceback; the state is as after kill -9.
    database_url = f"sqlite:///{tmp_path / 'zerotrust.db'}"
    root_key = new_root_key()
    db = open_db(database_url)
    vault = make_vault(db, clock, root_key=root_key)
    ids = [customer(vault, i) for i in range(60)]
    vault.keys.rotate(actor="test")
    job = subprocess.Popen(
        [sys.executable, "-c", CLI, "rewrap", "--batch", "5", "--pause", "0.5"],
        env=_env(tmp_path, database_url, root_key),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while _on_primary(db, 2) == 0:
        time.sleep(0.01)
    job.send_signal(getattr(signal, signal_name))
    _, err = job.communicate(timeout=30)
    assert job.returncode != 0
    assert "Traceback" not in err
    assert _readable(vault, ids) == 60
    db.dispose()
