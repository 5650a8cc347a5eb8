"""``zt keys`` and ``zt vault`` as an operator uses them: JSON out, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.unit.vault.helpers import customer, make_vault, new_root_key, open_db
from zerotrust.cli.vault import keys_group, vault_group
from zerotrust.core.clock import FixedClock
from zerotrust.store.database import Database
from zerotrust.vault.services import Vault


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("ZT_DATA_DIR", str(data))
    monkeypatch.setenv("ZT_ROOT_KEY", new_root_key())
    for name in ("ZT_DATABASE_URL", "ZT_ROOT_PASSPHRASE", "ZT_PKCS11_MODULE"):
        monkeypatch.delenv(name, raising=False)
    return data


@pytest.fixture
def db(data_dir: Path) -> Iterator[Database]:
    database = open_db(f"sqlite:///{data_dir / 'zerotrust.db'}")
    yield database
    database.dispose()


@pytest.fixture
def vault(db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> Vault:
    import os

    return make_vault(db, clock, root_key=os.environ["ZT_ROOT_KEY"])


def _run(*args: str) -> Result:
    group = keys_group if args[0] == "keys" else vault_group
    result = CliRunner().invoke(group, list(args[1:]))
    assert "Traceback" not in result.output
    return result


def _error_line(result: Result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ")
    return lines[0]


def test_rotate_rewrap_and_delete_an_old_version(vault: Vault) -> None:
    ids = [customer(vault, i) for i in range(12)]
    rotated = _run("keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.output) == {"primary": 2, "pending_rewrap": 12}
    refused = _run("keys", "delete-version", "1")
    assert refused.exit_code == 1
    assert "(key_in_use)" in _error_line(refused)
    rewrapped = _run("keys", "rewrap", "--batch", "5")
    assert rewrapped.exit_code == 0, rewrapped.output
    assert json.loads(rewrapped.output[rewrapped.output.index("{") :]) == {
        "rewrapped": 12,
        "remaining": 0,
        "passes": 1,
    }
    deleted = _run("keys", "delete-version", "1")
    assert deleted.exit_code == 0, deleted.output
    vault.keys.seal()
    vault.keys.unseal()
    assert all(vault.records.get("customer", i).status == "active" for i in ids)


def test_status_table_and_json(vault: Vault) -> None:
    customer(vault)
    table = _run("keys", "status")
    assert table.exit_code == 0
    assert "version" in table.output
    assert "yes" in table.output
    rows = json.loads(_run("keys", "status", "--json").output)
    assert [(r["version"], r["primary"], r["data_keys"]) for r in rows] == [(1, True, 1)]


def test_erase_twice(vault: Vault) -> None:
    subject = customer(vault)
    first = json.loads(_run("vault", "erase", subject).output)
    assert first["keys_destroyed"] == 1
    assert first["already_erased"] is False
    second = json.loads(_run("vault", "erase", subject).output)
    assert second["already_erased"] is True
    vault.keys._subjects.clear()
    assert vault.records.get("customer", subject).status == "erased"


def test_seal_check(vault: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    ok = _run("vault", "seal-check")
    assert ok.exit_code == 0
    assert json.loads(ok.output)["sealed"] is False
    monkeypatch.setenv("ZT_ROOT_KEY", new_root_key())
    wrong = _run("vault", "seal-check")
    assert wrong.exit_code == 1
    assert "(invalid_key)" in _error_line(wrong)
    monkeypatch.delenv("ZT_ROOT_KEY")
    sealed = _run("vault", "seal-check")  # no key at all: the passphrase file is missing
    assert sealed.exit_code == 1
    assert "(vault_sealed)" in _error_line(sealed)


@pytest.mark.parametrize(
    "args",
    [
        ("keys", "delete-version", "one"),
        ("keys", "rewrap", "--batch", "0"),
        ("keys", "rewrap", "--batch", "x"),
        ("keys", "rewrap", "--pause", "-1"),
        ("keys", "frobnicate"),
        ("vault", "erase"),
        ("vault", "erase", "x" * 200),
        ("keys", "status", "--database-url", "mysql://nope"),
    ],
)
def test_bad_input_is_one_error_line(vault: Vault, args: tuple[str, ...]) -> None:
    result = _run(*args)
    assert result.exit_code != 0
    _error_line(result)


def test_a_missing_data_directory_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZT_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.delenv("ZT_DATABASE_URL", raising=False)
    result = _run("keys", "status")
    assert result.exit_code == 2
    assert "zt init" in _error_line(result)
