"""``zt init``, ``zt user …`` and ``zt service-account …`` as an operator uses them."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pyotp
import pytest
from click.testing import CliRunner

from zerotrust.cli.main import cli


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ZT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("ZT_DATABASE_URL", raising=False)
    monkeypatch.delenv("ZT_ROOT_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def test_init_is_idempotent_and_keeps_the_root_key_private(run: CliRunner, tmp_path: Path) -> None:
    first = run.invoke(cli, ["init"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["root_key_created"] is True
    key = tmp_path / "data" / "root.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    second = run.invoke(cli, ["init"])
    assert second.exit_code == 0
    assert json.loads(second.output) == {
        "data_dir": str(tmp_path / "data"),
        "root_key_created": False,
        "migrations_applied": [],
    }


def test_user_add_with_totp_provisioning(run: CliRunner) -> None:
    run.invoke(cli, ["init"])
    result = run.invoke(
        cli,
        [
            "user",
            "add",
            "Alice",
            "--role",
            "fraud_analyst",
            "--password-stdin",
            "--enroll-totp",
            "--recovery-codes",
        ],
        input="cobalt-heron-ledger-91\n",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "Alice"
    assert data["roles"] == ["fraud_analyst"]
    assert data["mfa_methods"] == ["totp", "recovery"]
    assert len(data["recovery_codes"]) == 10
    totp = pyotp.parse_uri(data["totp"]["otpauth_uri"])
    assert totp.secret == data["totp"]["secret"]

    listed = json.loads(run.invoke(cli, ["user", "list"]).output)
    assert [u["name"] for u in listed] == ["Alice"]
    shown = json.loads(run.invoke(cli, ["user", "show", "alice"]).output)
    assert shown["id"] == data["id"]


def test_disable_enable_and_mfa_reset(run: CliRunner) -> None:
    run.invoke(cli, ["init"])
    run.invoke(cli, ["user", "add", "bob", "--enroll-totp"])
    assert json.loads(run.invoke(cli, ["user", "disable", "bob"]).output)["status"] == "disabled"
    assert json.loads(run.invoke(cli, ["user", "enable", "bob"]).output)["status"] == "active"
    reset = run.invoke(cli, ["user", "mfa", "reset", "bob"])
    assert reset.exit_code == 0
    assert json.loads(run.invoke(cli, ["user", "show", "bob"]).output)["mfa_methods"] == []


def test_service_account_for_an_ai_workload(run: CliRunner) -> None:
    run.invoke(cli, ["init"])
    result = run.invoke(
        cli,
        [
            "service-account",
            "add",
            "fraud-scorer",
            "--kind",
            "fraud_model",
            "--purpose",
            "fraud_detection",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == "service"
    assert data["roles"] == ["fraud_model"]
    assert data["purposes"] == ["fraud_detection"]


@pytest.mark.parametrize(
    ("args", "stdin", "needle"),
    [
        (["user", "add", "x y"], None, "invalid_name"),
        (["user", "add", "carol", "--role", "god"], None, "unknown_role"),
        (["user", "add", "carol", "--password-stdin"], "short\n", "password_too_short"),
        (["user", "add", "carol", "--password-stdin"], "password123456\n", "password_blocklisted"),
        (["user", "show", "nobody"], None, "principal_not_found"),
        (["user", "disable", "nobody"], None, "principal_not_found"),
        (["service-account", "add", "m", "--kind", "robot"], None, "unknown_kind"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(
    run: CliRunner, args: list[str], stdin: str | None, needle: str
) -> None:
    run.invoke(cli, ["init"])
    result = run.invoke(cli, args, input=stdin)
    assert result.exit_code != 0
    assert needle in result.output
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_duplicate_user_is_refused(run: CliRunner) -> None:
    run.invoke(cli, ["init"])
    run.invoke(cli, ["user", "add", "dave"])
    result = run.invoke(cli, ["user", "add", "DAVE"])
    assert result.exit_code == 1
    assert "principal_exists" in result.output


def test_sealed_without_root_key(run: CliRunner, tmp_path: Path) -> None:
    run.invoke(cli, ["init"])
    os.remove(tmp_path / "data" / "root.key")
    result = run.invoke(cli, ["user", "list"])
    assert result.exit_code == 1
    assert "vault_sealed" in result.output


def test_bad_settings_are_reported_clearly(run: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZT_PORT", "not-a-port")
    result = run.invoke(cli, ["init"])
    assert result.exit_code == 1
    assert "ZT_PORT" in result.output


def test_role_grants_are_never_self_granted(run: CliRunner) -> None:
    run.invoke(cli, ["init"])
    run.invoke(cli, ["user", "add", "root", "--role", "admin"])
    run.invoke(cli, ["user", "add", "frank", "--role", "developer"])
    granted = run.invoke(cli, ["user", "grant", "frank", "fraud_analyst", "--by", "root"])
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.output)["roles"] == ["developer", "fraud_analyst"]
    selfish = run.invoke(cli, ["user", "grant", "frank", "admin", "--by", "frank"])
    assert selfish.exit_code == 1
    assert "self_grant" in selfish.output
    revoked = run.invoke(cli, ["user", "revoke", "frank", "fraud_analyst", "--by", "root"])
    assert json.loads(revoked.output)["roles"] == ["developer"]


def test_signing_key_rotation_from_the_cli(run: CliRunner) -> None:
    run.invoke(cli, ["init"])
    first = json.loads(run.invoke(cli, ["tokens", "rotate-key"]).output)
    second = json.loads(run.invoke(cli, ["tokens", "rotate-key"]).output)
    assert first["kid"] != second["kid"]
    assert second["kid"] in {k["kid"] for k in second["jwks"]["keys"]}


def test_an_admin_unlocks_a_locked_account(run: CliRunner) -> None:
    from zerotrust.identity.models import ClientInfo
    from zerotrust.service import build_services
    from zerotrust.settings import load_settings

    run.invoke(cli, ["init"])
    run.invoke(cli, ["user", "add", "ivy", "--password-stdin"], input="cobalt-heron-ledger-91\n")
    svc = build_services(load_settings())
    try:
        svc.guard.lock("ivy", seconds=1800)
        assert svc.guard.is_locked("password", "ivy")
        result = run.invoke(cli, ["user", "unlock", "ivy"])
        assert result.exit_code == 0, result.output
        assert not svc.guard.is_locked("password", "ivy")
        assert svc.authenticator.login("ivy", "cobalt-heron-ledger-91", ClientInfo()).mfa_token
    finally:
        svc.close()
