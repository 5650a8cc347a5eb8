"""What-if replay: recorded decisions against a proposed policy set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.unit.policy.helpers import make_request, user
from zerotrust.core.errors import InvalidInput
from zerotrust.policy.model import Decision
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle, default_pack_dir, load_dir
from zerotrust.policy.whatif import log_line, read_log, replay


def recorded(pdp: PolicyDecisionPoint) -> list[str]:
    requests = [
        make_request(user("fraud_analyst"), "read", "Transaction"),
        make_request(user("fraud_analyst"), "write", "FraudCase"),
        make_request(user("compliance_officer"), "read", "Report"),
        make_request(user("developer"), "read", {"type": "Database", "id": "prod"}),
    ]
    return [log_line(r, pdp.decide(r)) for r in requests]


def test_an_unchanged_set_flips_nothing(pdp: PolicyDecisionPoint, bundle: PolicyBundle) -> None:
    report = replay(bundle, read_log(recorded(pdp)))
    assert (report.total, report.flips, report.reason_changes) == (4, (), ())
    assert report.version == bundle.version


def test_removing_a_permit_lists_the_decisions_that_flip(
    pdp: PolicyDecisionPoint, tmp_path: Path
) -> None:
    proposed = tmp_path / "proposed"
    shutil.copytree(default_pack_dir(), proposed)
    people = proposed / "30-people.cedar"
    people.write_text(people.read_text().replace('"fraud_analyst"', '"fraud_investigator"'))
    report = replay(load_dir(proposed), read_log(recorded(pdp)))
    assert [(f.line, f.before.effect, f.after.effect) for f in report.flips] == [
        (1, "allow", "deny"),
        (2, "allow", "deny"),
    ]
    assert report.flips[0].after.reasons == ("no-applicable-policy",)


def test_a_recorded_grant_is_replayed_as_in_force(bundle: PolicyBundle) -> None:
    request = make_request(user("developer"), "read", {"type": "Database", "id": "prod"})
    allowed = Decision("allow", ("jit-grant",), ("jit-grant",), grant_id="jit_1")
    expired = Decision("deny", ("no-applicable-policy", "grant-expired"), grant_id="jit_1")
    report = replay(bundle, read_log([log_line(request, allowed), log_line(request, expired)]))
    assert (report.flips, report.reason_changes) == ((), ())


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "line 2: not valid JSON"),
        ("[]", "line 2: expected"),
        ('{"request": {}, "decision": {"effect": "allow"}, "x": 1}', "line 2: expected"),
        ('{"request": {"action": "read"}, "decision": {"effect": "allow"}}', "line 2: principal"),
        (
            json.dumps(
                {
                    "request": {
                        "principal": {"type": "User", "id": "u"},
                        "action": "read",
                        "resource": {"type": "T", "id": "t"},
                    },
                    "decision": {"effect": "perhaps"},
                }
            ),
            "line 2: decision.effect",
        ),
    ],
)
def test_a_bad_log_line_is_named(pdp: PolicyDecisionPoint, line: str, message: str) -> None:
    lines = [recorded(pdp)[0], line]
    with pytest.raises(InvalidInput, match=message):
        list(read_log(lines))


def test_blank_lines_are_skipped(pdp: PolicyDecisionPoint, bundle: PolicyBundle) -> None:
    lines = ["", recorded(pdp)[0], "   "]
    assert replay(bundle, read_log(lines)).total == 1
