"""``zt ca`` and ``zt gateway serve``: files written safely, bad input is one line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

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
