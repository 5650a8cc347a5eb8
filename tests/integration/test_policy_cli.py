"""``zt policy``, ``zt authz`` and ``zt grant`` end to end through click's runner."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from zerotrust.cli.policy import authz_group, grant_group, parse_duration, policy_group
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "policies"
CASES = REPO / "tests" / "unit" / "policy" / "cases"
CONTEXT = {
    "aal": 2,
    "auth_age_s": 60,
    "device": {"enrolled": True, "trust": "high", "patch_age_days": 3},
    "risk": {"score": 10, "level": "low"},
    "country": "GB",
    "hour_local": 10,
}
PROD_DB = {"type": "Database", "id": "db-payments", "environment": "production"}


def run(group: Any, args: list[str], stdin: str | None = None, **kwargs: Any) -> Result:
    return CliRunner().invoke(group, args, input=stdin, catch_exceptions=False, **kwargs)


def one_line_error(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def request(
    principal: dict[str, Any], action: str, resource: dict[str, Any], **context: Any
) -> str:
    return json.dumps(
        {
            "principal": principal,
            "action": action,
            "resource": resource,
            "context": {**CONTEXT, **context},
        }
    )


# -- zt policy ------------------------------------------------------------------------


def test_validate_the_operator_pack() -> None:
    result = run(policy_group, ["validate", str(POLICIES)])
    assert result.exit_code == 0
    assert result.stdout.startswith("ok: 27 policies valid against the schema, version sha256:")
    assert run(policy_group, ["validate"]).stdout == result.stdout  # the packaged copy


def test_validate_reports_a_broken_pack_in_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "pack"
    shutil.copytree(POLICIES, broken)
    (broken / "30-people.cedar").write_text("permit (principal,\n action resource);")
    one_line_error(
        run(policy_group, ["validate", str(broken)]), "30-people.cedar", "policy_invalid"
    )
    one_line_error(run(policy_group, ["validate", str(tmp_path / "nope")]), "not a directory")
    for policy_file in broken.glob("*.cedar"):
        policy_file.unlink()
    one_line_error(run(policy_group, ["validate", str(broken)]), "no policies")


@pytest.mark.parametrize("table", ["roles.yaml", "context.yaml", "fail_closed.yaml"])
def test_the_example_case_tables_pass(table: str) -> None:
    result = run(policy_group, ["test", str(CASES / table), "--policies", str(POLICIES)])
    assert result.exit_code == 0, result.stdout
    assert result.stdout.splitlines()[-1].endswith("passed, 0 failed")
    assert all(line.startswith("PASS ") for line in result.stdout.splitlines()[:-1])


def test_a_failing_case_exits_1(tmp_path: Path) -> None:
    table = tmp_path / "cases.yaml"
    table.write_text(
        "cases:\n"
        "  - name: optimistic\n"
        f"    request: {request({'type': 'User', 'id': 'u', 'roles': []}, 'read', PROD_DB)}\n"
        "    expect: {effect: allow}\n"
    )
    result = run(policy_group, ["test", str(table)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "FAIL optimistic: effect deny, expected allow",
        "0 passed, 1 failed",
    ]
    one_line_error(run(policy_group, ["test", str(tmp_path / "missing.yaml")]), "missing.yaml")
    table.write_text("cases: [")
    one_line_error(run(policy_group, ["test", str(table)]), "not valid YAML")


def decision_log(tmp_path: Path) -> Path:
    lines = []
    for principal, action, resource in [
        (
            {"type": "User", "id": "ana", "roles": ["fraud_analyst"]},
            "read",
            {"type": "Transaction", "id": "t1"},
        ),
        (
            {"type": "User", "id": "cora", "roles": ["compliance_officer"]},
            "read",
            {"type": "Report", "id": "q3"},
        ),
    ]:
        result = run(authz_group, ["check"], stdin=request(principal, action, resource))
        lines.append(
            json.dumps(
                {
                    "request": json.loads(request(principal, action, resource)),
                    "decision": json.loads(result.stdout),
                }
            )
        )
    log = tmp_path / "decisions.jsonl"
    log.write_text("\n".join(lines) + "\n")
    return log


def test_whatif_lists_the_flips(tmp_path: Path) -> None:
    proposed = tmp_path / "proposed"
    shutil.copytree(POLICIES, proposed)
    (proposed / "30-people.cedar").write_text(
        (proposed / "30-people.cedar").read_text().replace('"fraud_analyst"', '"investigator"')
    )
    log = decision_log(tmp_path)
    args = ["whatif", "--policies", str(proposed), "--decisions", str(log)]
    result = run(policy_group, args)
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        'line 1: "ana" read Transaction:"t1": allow -> deny (no-applicable-policy)',
        "2 decisions replayed, 1 would flip, 0 keep their effect with other reasons",
    ]
    report = json.loads(run(policy_group, [*args, "--json"]).stdout)
    assert [f["line"] for f in report["flips"]] == [1]
    assert report["flips"][0]["after"]["effect"] == "deny"
    assert run(policy_group, [*args, "--fail-on-flip"]).exit_code == 1
    same = run(
        policy_group,
        ["whatif", "--policies", str(POLICIES), "--decisions", str(log), "--fail-on-flip"],
    )
    assert same.exit_code == 0
    assert "0 would flip" in same.stdout


def test_whatif_names_a_bad_log_line(tmp_path: Path) -> None:
    log = decision_log(tmp_path)
    log.write_text(log.read_text() + "{oops\n")
    args = ["whatif", "--policies", str(POLICIES), "--decisions", str(log)]
    one_line_error(run(policy_group, args), "line 3: not valid JSON")


# -- zt authz check -------------------------------------------------------------------


def test_check_prints_the_decision_as_json() -> None:
    stdin = request(
        {"type": "User", "id": "u1", "roles": ["data_scientist"]},
        "read",
        {"type": "CustomerPII", "id": "c1"},
    )
    result = run(authz_group, ["check"], stdin=stdin)
    assert result.exit_code == 0
    decision = json.loads(result.stdout)
    assert {
        k: decision[k] for k in ("effect", "reasons", "policies", "obligations", "required_aal")
    } == {
        "effect": "deny",
        "reasons": ["data-scientist-no-pii"],
        "policies": ["data-scientist-no-pii"],
        "obligations": [],
        "required_aal": None,
    }
    assert decision["version"].startswith("sha256:")


def test_check_reads_a_file_and_explains(tmp_path: Path) -> None:
    path = tmp_path / "req.json"
    path.write_text(
        request(
            {"type": "User", "id": "sam", "roles": ["support_agent"]},
            "read",
            {"type": "CustomerPII", "id": "p1", "customer": "c1"},
            case_customer="c1",
        )
    )
    result = run(authz_group, ["check", "--request", str(path), "--policies", str(POLICIES)])
    assert json.loads(result.stdout)["obligations"] == ["mask:pan"]
    explained = run(authz_group, ["check", "--request", str(path), "--explain"])
    assert explained.stdout.startswith("ALLOW")
    assert "mask:pan" in explained.stdout


def test_check_exits_0_on_a_schema_deny() -> None:
    # The issue's own example has an incomplete context: a decision, not an error.
    stdin = json.dumps(
        {
            "principal": {"type": "User", "id": "u1", "roles": ["data_scientist"]},
            "action": "read",
            "resource": {"type": "CustomerPII", "id": "c1"},
            "context": {},
        }
    )
    result = run(authz_group, ["check", "--request", "-"], stdin=stdin)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["reasons"] == ["invalid-request"]


@pytest.mark.parametrize(
    ("stdin", "fragment"),
    [
        ("", "not valid JSON"),
        ("{", "not valid JSON"),
        ("[1, 2]", "request: expected a JSON object"),
        (
            '{"principal": {"type": "User"}, "action": "read", '
            '"resource": {"type": "T", "id": "t"}}',
            "principal.id",
        ),
        (
            '{"principal": {"type": "User", "id": "u"}, "action": "read", '
            '"resource": {"type": "T", "id": "t"}, "context": {"jit_grant": {}}}',
            "jit_grant",
        ),
        ("x" * ((1 << 20) + 1), "larger than 1 MiB"),
    ],
)
def test_check_refuses_malformed_input_in_one_line(stdin: str, fragment: str) -> None:
    one_line_error(run(authz_group, ["check"], stdin=stdin), fragment, "invalid_input")


def test_check_with_a_missing_request_file_is_a_usage_error(tmp_path: Path) -> None:
    result = run(authz_group, ["check", "--request", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


# -- zt grant -------------------------------------------------------------------------


@pytest.fixture
def db_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("ZT_DATA_DIR", str(tmp_path / "data"))
    return ["--database-url", f"sqlite:///{tmp_path / 'nested' / 'zt.db'}"]


def grant_cmd(args: list[str], db_args: list[str], **kwargs: Any) -> Result:
    return run(grant_group, [*args, *db_args], **kwargs)


def test_the_grant_lifecycle(tmp_path: Path, db_args: list[str]) -> None:
    asked = grant_cmd(
        [
            "request",
            "--principal",
            "dev1",
            "--action",
            "read",
            "--resource-type",
            "Database",
            "--resource-id",
            "db-payments",
            "--duration",
            "2h",
            "--justification",
            "INC-4711",
        ],
        db_args,
    )
    assert asked.exit_code == 0, asked.output
    grant = json.loads(asked.stdout)
    assert (grant["state"], grant["duration_s"]) == ("pending", 7200)
    check = ["check", *db_args]
    stdin = request({"type": "User", "id": "dev1", "roles": ["developer"]}, "read", PROD_DB)
    assert json.loads(run(authz_group, check, stdin=stdin).stdout)["effect"] == "deny"

    one_line_error(
        grant_cmd(["approve", grant["id"], "--approver", "dev1"], db_args), "self_approval"
    )
    approved = json.loads(
        grant_cmd(["approve", grant["id"], "--approver", "lead1"], db_args).stdout
    )
    assert approved["state"] == "active"
    allowed = json.loads(run(authz_group, check, stdin=stdin).stdout)
    assert (allowed["effect"], allowed["reasons"], allowed["grant"]) == (
        "allow",
        ["jit-grant"],
        grant["id"],
    )
    listed = json.loads(
        grant_cmd(["list", "--principal", "dev1", "--status", "approved"], db_args).stdout
    )
    assert [g["id"] for g in listed] == [grant["id"]]
    revoked = json.loads(grant_cmd(["revoke", grant["id"], "--by", "secops"], db_args).stdout)
    assert revoked["state"] == "revoked"
    assert json.loads(run(authz_group, check, stdin=stdin).stdout)["effect"] == "deny"
    assert json.loads(grant_cmd(["expire-due"], db_args).stdout) == []

    # Every transition is in the product's tamper-evident log.
    from zerotrust.cli.audit import audit as audit_group

    exported = run(
        audit_group, ["export", "--format", "jsonl", *db_args, "--data-dir", str(tmp_path / "data")]
    )
    audit = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [(a["action"], a["outcome"]) for a in audit if a["action"].startswith("grant.")] == [
        ("grant.request", "success"),
        ("grant.approve", "denied"),
        ("grant.approve", "success"),
        ("grant.revoke", "success"),
    ]


def test_grant_deny_and_errors(db_args: list[str]) -> None:
    asked = grant_cmd(
        [
            "request",
            "--principal",
            "dev1",
            "--action",
            "read",
            "--resource-type",
            "Database",
            "--resource-id",
            "db1",
            "--duration",
            "30m",
            "--justification",
            "x",
        ],
        db_args,
    )
    grant_id = json.loads(asked.stdout)["id"]
    denied = grant_cmd(["deny", grant_id, "--approver", "lead1"], db_args)
    assert json.loads(denied.stdout)["state"] == "denied"
    one_line_error(
        grant_cmd(["approve", grant_id, "--approver", "lead2"], db_args), "grant_decided"
    )
    one_line_error(
        grant_cmd(["approve", "jit_nope", "--approver", "lead2"], db_args), "grant_not_found"
    )
    too_long = [
        "request",
        "--principal",
        "dev1",
        "--action",
        "read",
        "--resource-type",
        "Database",
        "--resource-id",
        "db1",
        "--duration",
        "9h",
        "--justification",
        "x",
    ]
    one_line_error(grant_cmd(too_long, db_args), "duration must be")
    bad_duration = [*too_long[:-4], "--duration", "soon", "--justification", "x"]
    one_line_error(grant_cmd(bad_duration, db_args), "duration: expected")


def test_the_composition_root_can_supply_the_audit_log(tmp_path: Path) -> None:
    audit = MemoryAudit()
    args = [
        "request",
        "--principal",
        "dev1",
        "--action",
        "read",
        "--resource-type",
        "Database",
        "--resource-id",
        "db1",
        "--duration",
        "1h",
        "--justification",
        "x",
        "--database-url",
        f"sqlite:///{tmp_path / 'zt.db'}",
    ]
    result = run(grant_group, args, obj={"audit_factory": lambda db: audit})
    assert result.exit_code == 0
    assert [r.action for r in audit.records] == ["grant.request"]


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    url = f"sqlite:///{tmp_path / 'file' / 'zt.db'}"
    one_line_error(run(grant_group, ["list", "--database-url", url]))


@pytest.mark.parametrize(
    ("text", "seconds"), [("2h", 7200), ("90m", 5400), ("1h30m", 5400), ("45s", 45), ("600", 600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "2d", "-5", "1.5h", "2h 30m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_duration(text)
