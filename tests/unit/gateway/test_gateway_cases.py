"""Support cases from a file: re-read on change, and nobody bound when it is broken."""

from __future__ import annotations

import json
import os
from pathlib import Path

from zerotrust.gateway.cases import FileCases


def write(path: Path, data: object, mtime: float) -> None:
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))


def test_cases_follow_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    cases = FileCases(path, check_every_s=0)
    assert cases.case_for("usr_1", "ses_1") is None  # no file: nobody bound
    write(path, {"usr_1": "cus_a"}, 1000)
    assert cases.case_for("usr_1", "ses_1") == "cus_a"
    assert cases.case_for("usr_2", "ses_2") is None
    write(path, {"usr_1": "cus_b"}, 2000)
    assert cases.case_for("usr_1", "ses_9") == "cus_b"


def test_a_broken_file_binds_nobody(tmp_path: Path) -> None:
    path = tmp_path / "cases.json"
    cases = FileCases(path, check_every_s=0)
    write(path, {"usr_1": "cus_a"}, 1000)
    assert cases.case_for("usr_1", "s") == "cus_a"
    write(path, "{not json", 2000)
    assert cases.case_for("usr_1", "s") is None
    write(path, ["usr_1", "cus_a"], 3000)
    assert cases.case_for("usr_1", "s") is None
