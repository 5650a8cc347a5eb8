"""``zt ca`` and ``zt gateway serve``: files written safely, bad input is one line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from zerotrust.cli.ca import ca_group
from zerotrust.cli.gateway import gateway_group


def test_ca_init_and_issue(tmp_path: Path) -> None:
    runner = CliRunner()
    ca_dir = tmp_path / "ca"
    done = runner.invoke(ca_group, ["init", "--dir", str(ca_dir)])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["subject"] == "CN=zerotrust internal CA"
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    issued = runner.invoke(
        ca_group,
        ["issue", "gateway", "--dir", str(ca_dir), "--dns", "gw.internal", "--ip", "10.0.0.5"],
    )
    assert issued.exit_code == 0, issued.output
    assert json.loads(issued.output)["names"] == ["gw.internal", "10.0.0.5"]
    assert stat.S_IMODE((ca_dir / "gateway.key").stat().st_mode) == 0o600
    again = runner.invoke(ca_group, ["issue", "gateway", "--dir", str(ca_dir)])
    assert again.exit_code == 1
    assert again.output.strip().startswith("error:")
    assert "refusing to overwrite" in again.output
    twice = runner.invoke(ca_group, ["init", "--dir", str(ca_dir)])
    assert twice.exit_code == 1
    assert "already initialised" in twice.output


def test_ca_files_are_created_whole_and_a_refusal_leaves_nothing(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(ca_group, ["init", "--dir", str(tmp_path)]).exit_code == 0
    assert stat.S_IMODE((tmp_path / "ca.pem").stat().st_mode) == 0o644
    # A certificate already there under the name: refused before or after the key is
    # written, the key of this run must not stay behind (it would block the next run).
    (tmp_path / "gw.pem").write_bytes(b"someone else's certificate")
    refused = runner.invoke(ca_group, ["issue", "gw", "--dir", str(tmp_path)])
    assert refused.exit_code == 1
    assert "gw.pem exists; refusing to overwrite it" in refused.output
    assert not (tmp_path / "gw.key").exists()
    assert (tmp_path / "gw.pem").read_bytes() == b"someone else's certificate"
    (tmp_path / "gw.pem").unlink()
    issued = runner.invoke(ca_group, ["issue", "gw", "--dir", str(tmp_path)])
    assert issued.exit_code == 0, issued.output
    assert stat.S_IMODE((tmp_path / "gw.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "gw.pem").stat().st_mode) == 0o644
    assert (tmp_path / "gw.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries


def test_ca_key_is_removed_when_the_certificate_name_is_taken_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zerotrust.cli.ca as ca

    runner = CliRunner()
    assert runner.invoke(ca_group, ["init", "--dir", str(tmp_path)]).exit_code == 0
    real = ca.create_whole

    def racing(path: Path, data: bytes, *, mode: int) -> bool:
        if path.name == "gw.pem":  # another writer got there between check and link
            path.write_bytes(b"theirs")
        return real(path, data, mode=mode)

    monkeypatch.setattr(ca, "create_whole", racing)
    refused = runner.invoke(ca_group, ["issue", "gw", "--dir", str(tmp_path)])
    assert refused.exit_code == 1
    assert "gw.pem exists" in refused.output
    assert not (tmp_path / "gw.key").exists()
    assert (tmp_path / "gw.pem").read_bytes() == b"theirs"


def test_ca_bad_input_is_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(ca_group, ["issue", "gw", "--dir", str(tmp_path / "none")])
    assert missing.exit_code == 1
    assert "run zt ca init first" in missing.output
    runner.invoke(ca_group, ["init", "--dir", str(tmp_path)])
    bad = runner.invoke(ca_group, ["issue", "gw", "--dir", str(tmp_path), "--ip", "nope"])
    assert bad.exit_code == 1
    assert bad.output.count("\n") == 1
    assert "(invalid_name)" in bad.output
    name = runner.invoke(ca_group, ["issue", "../x", "--dir", str(tmp_path)])
    assert name.exit_code == 2


def test_gateway_serve_refuses_a_bad_routes_file(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text("routes:\n  - name: x\n")
    result = CliRunner().invoke(gateway_group, ["serve", "--config", str(routes)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ")
    assert "(config_error)" in result.output
    assert result.output.count("\n") == 1
    tls = CliRunner().invoke(
        gateway_group,
        ["serve", "--config", str(Path(__file__).parents[3] / "examples" / "gateway.yaml")],
    )
    assert tls.exit_code == 1
    assert "no such file" in tls.output
