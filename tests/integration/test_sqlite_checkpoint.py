"""SQLite's write-ahead log is copied back off the request path: commits leave it to
``Database.checkpoint`` (which ``Services.maintain`` runs every two seconds)."""

from __future__ import annotations

import secrets
from pathlib import Path

from zerotrust.crypto.encoding import b64url_encode
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import build_services
from zerotrust.settings import Settings
from zerotrust.store.database import WAL_AUTOCHECKPOINT_PAGES, Database


def test_commits_leave_the_log_to_the_background_checkpoint(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'zt.db'}")
    try:
        with db.driver(write=True) as conn:
            conn.execute("CREATE TABLE t (v BLOB)")
        for _ in range(2500):  # more than twice the pages of SQLite's default limit (1000)
            with db.driver(write=True) as conn:
                conn.execute("INSERT INTO t VALUES (randomblob(3000))")
        wal = tmp_path / "zt.db-wal"
        assert wal.stat().st_size > 2000 * 4096  # no commit checkpointed on its own
        with db.driver() as conn:
            limit = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert limit == WAL_AUTOCHECKPOINT_PAGES
        db.checkpoint()
        with db.driver() as conn:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0
        assert frames == copied  # everything is back in the database file
    finally:
        db.dispose()


def test_checkpoint_is_a_no_op_elsewhere() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    db.checkpoint()  # PostgreSQL checkpoints by itself: nothing is even connected
    db.dispose()


def test_the_upkeep_checkpoints(tmp_path: Path, fast_hashing: PasswordHashing) -> None:
    settings = Settings(data_dir=tmp_path, root_key=b64url_encode(secrets.token_bytes(32)))
    svc = build_services(settings, hashing=fast_hashing)
    try:
        with svc.db.driver(write=True) as conn:
            conn.execute("CREATE TABLE filler (v BLOB)")
            for _ in range(300):
                conn.execute("INSERT INTO filler VALUES (randomblob(3000))")
        main_file = tmp_path / "zerotrust.db"
        before = main_file.stat().st_size
        assert before < 300 * 3000  # the rows are still in the log only
        svc.maintain()
        assert main_file.stat().st_size > before + 300 * 3000  # copied into the database
    finally:
        svc.close()
