"""Playbooks: checked config, the right targets, every action audited, failures contained."""

from __future__ import annotations

import pytest

from tests.unit.detect.helpers import T0, FailingAudit, RecordingActions
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import ConfigError
from zerotrust.detect.alerts import Alert, Finding
from zerotrust.detect.playbooks import DEFAULT_PLAYBOOKS, PlaybookRunner, parse_playbooks


def _alert(detector: str = "stolen_password", severity: str = "high", **kw: object) -> Alert:
    finding = Finding(
        detector=detector,
        severity=severity,
        key="k",
        principal=kw.pop("principal", "alice"),  # type: ignore[arg-type]
        event_ids=("evt_1",),
        explanation="x",
        src_ip="203.0.113.5",
        device_id="dev_x",
        **kw,  # type: ignore[arg-type]
    )
    return Alert.from_finding(finding, ts=T0, event_id="evt_1")


def test_the_defaults_cover_every_detector() -> None:
    books = parse_playbooks(None)
    assert set(books) == set(DEFAULT_PLAYBOOKS)
    assert all(any(s.action == "alert" for s in steps) for steps in books.values())


@pytest.mark.parametrize(
    "bad",
    [
        {"nope": []},
        {"brute_force": {"action": "alert"}},
        {"brute_force": [{"action": "delete_user"}]},
        {"brute_force": [{"action": "lock_account", "minutes": 0}]},
        {"brute_force": [{"action": "lock_account", "minutes": True}]},
        {"brute_force": [{"action": "alert", "min_severity": "urgent"}]},
        {"brute_force": [{"action": "alert", "extra": 1}]},
        [],
    ],
)
def test_bad_playbooks_are_refused(bad: object) -> None:
    with pytest.raises(ConfigError):
        parse_playbooks(bad)  # type: ignore[arg-type]


def test_a_stolen_password_locks_the_account_and_blocks_the_source_with_audit() -> None:
    actions, audit = RecordingActions(), MemoryAudit()
    outcomes = PlaybookRunner(actions, audit).run(_alert())
    assert actions.calls[0] == ("lock_account", ("alice", T0 + 1800))
    assert actions.calls[1] == ("block_source", ("203.0.113.5", T0 + 3600))
    assert actions.calls[2][0] == "alert"
    assert all(o.ok for o in outcomes)
    assert [r.action for r in audit.records] == [
        "detect.lock_account",
        "detect.block_source",
        "detect.alert",
    ]
    assert audit.records[0].resource == "principal:alice"
    assert audit.records[0].details["until"] == T0 + 1800
    assert audit.records[0].actor == "system:detect"


def test_stuffing_throttles_every_source_and_locks_no_victim() -> None:
    actions = RecordingActions()
    alert = _alert("credential_stuffing", principal=None, sources=("203.0.113.6", "203.0.113.7"))
    PlaybookRunner(actions, MemoryAudit()).run(alert)
    blocked = [arg for name, arg in actions.calls if name == "block_source"]
    assert [ip for ip, _ in blocked] == ["203.0.113.5", "203.0.113.6", "203.0.113.7"]  # type: ignore[misc]
    assert not [c for c in actions.calls if c[0] == "lock_account"]


def test_min_severity_gates_a_step() -> None:
    actions = RecordingActions()
    PlaybookRunner(actions, MemoryAudit()).run(_alert("impossible_travel", severity="medium"))
    assert "revoke_sessions" not in [c[0] for c in actions.calls]


def test_a_failing_action_is_audited_as_failure_and_the_rest_still_run() -> None:
    actions, audit = RecordingActions(fail="lock_account"), MemoryAudit()
    outcomes = PlaybookRunner(actions, audit).run(_alert())
    assert [o.ok for o in outcomes] == [False, True, True]
    assert audit.records[0].outcome == "failure"
    assert audit.records[0].details["error"] == "RuntimeError"


def test_an_unwritable_audit_log_does_not_stop_the_response_but_is_counted() -> None:
    actions = RecordingActions()
    runner = PlaybookRunner(actions, FailingAudit())
    runner.run(_alert())
    assert len(actions.calls) == 3
    assert runner.audit_failures == 3


def test_a_response_already_in_force_is_not_repeated() -> None:
    actions = RecordingActions()
    runner = PlaybookRunner(actions, MemoryAudit())
    runner.run(_alert())
    runner.run(_alert())
    assert [c[0] for c in actions.calls].count("lock_account") == 1
    assert [c[0] for c in actions.calls].count("alert") == 2
    runner.forget(T0 + 7200)
    runner.run(_alert())
    assert [c[0] for c in actions.calls].count("lock_account") == 2
