"""`zt demo`'s bad inputs: a one-line error and a non-zero exit, nothing created."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from zerotrust.cli.main import cli
from zerotrust.demo.personas import demo_dir, mark_demo


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"ZT_DATA_DIR": str(data_dir)})
    return result.exit_code, result.output


def test_the_demo_refuses_a_real_installation(tmp_path: Path) -> None:
    (tmp_path / "zt.db").write_bytes(b"a real installation's database")
    code, output = run(tmp_path, "demo", "up", "--no-serve", "--customers", "10")
    assert code == 1
    assert "non-demo installation" in output
    assert len(output.strip().splitlines()) == 1
    assert not demo_dir(tmp_path).exists()  # no demo marker, no credentials written


def test_personas_are_refused_outside_a_demo(tmp_path: Path) -> None:
    code, output = run(tmp_path, "demo", "as", "fiona", "GET", "/api/reports/x")
    assert code == 1
    assert "is not a demo data directory" in output
    assert output.rstrip().endswith("(not_a_demo)")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("demo", "as", "mallory", "GET", "/x"), "No demo personas yet"),
        (("demo", "as", "fiona", "DELETE", "/x"), "Invalid value"),
    ],
)
def test_unknown_personas_and_methods_are_one_line_errors(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    mark_demo(tmp_path)
    code, output = run(tmp_path, *args)
    assert code != 0
    assert expected in output
