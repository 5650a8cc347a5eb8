"""Exports: canonical JSON lines, OCSF 1.3 classes 3001/3002/6003, CEF lines for syslog."""

from __future__ import annotations

import json

import pytest

from tests.unit.audit.memory_store import MemoryAuditStore
from zerotrust.audit import merkle
from zerotrust.audit.entry import AuditEntry
from zerotrust.audit.export import (
    export_lines,
    iter_entries,
    ocsf_class,
    syslog_line,
    to_cef,
    to_ocsf,
)
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.log import AuditLog
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import IntegrityError


def _entry(**kw: object) -> AuditEntry:
    fields: dict[str, object] = {
        "seq": 5,
        "time": "2023-11-14T22:13:20.123Z",
        "action": "auth.login",
        "actor": "usr_1",
        "outcome": "failure",
    }
    fields.update(kw)
    return AuditEntry(**fields)  # type: ignore[arg-type]


@pytest.fixture
def store() -> MemoryAuditStore:
    s = MemoryAuditStore()
    AuditLog(s, clock=FixedClock()).append_many(
        [AuditRecord("auth.login", f"usr_{i}", "success", src_ip="203.0.113.1") for i in range(25)]
    )
    return s


def test_jsonl_lines_are_the_canonical_entries(store: MemoryAuditStore) -> None:
    lines = list(export_lines(store, "jsonl"))
    assert len(lines) == 25
    for line, row in zip(lines, store.entries, strict=True):
        assert merkle.leaf_hash(line.encode()) == row.leaf_hash  # recipients can check proofs
        assert json.loads(line)["seq"] == row.seq


def test_exports_page_through_the_store(store: MemoryAuditStore) -> None:
    seqs = [e.seq for _, e in iter_entries(store, EntryFilter(after_seq=3), page=4)]
    assert seqs == list(range(4, 25))


def test_exports_refuse_an_edited_entry(store: MemoryAuditStore) -> None:
    store.entries[7] = store.entries[7]._replace(
        entry=store.entries[7].entry.replace(b"success", b"failure")
    )
    with pytest.raises(IntegrityError):
        list(export_lines(store, "ocsf"))


@pytest.mark.parametrize(
    ("action", "class_uid", "activity_id"),
    [
        ("auth.login", 3002, 1),
        ("auth.password", 3002, 1),
        ("auth.mfa.totp", 3002, 1),
        ("auth.logout", 3002, 2),
        ("session.revoke", 3002, 2),
        ("token.refresh", 3002, 3),
        ("auth.lockout", 3001, 9),
        ("account.unlock", 3001, 12),
        ("principal.create", 3001, 1),
        ("password.change", 3001, 3),
        ("password.reset", 3001, 4),
        ("role.grant", 3001, 7),
        ("role.revoke", 3001, 8),
        ("mfa.totp.enroll", 3001, 10),
        ("principal.disable", 3001, 5),
        ("authz.decision", 6003, 99),
        ("policy.update", 6003, 3),
        ("audit.read", 6003, 2),
        ("key.rotate", 6003, 3),
        ("vault.delete", 6003, 4),
        ("detect.alert", 6003, 99),
    ],
)
def test_ocsf_classes(action: str, class_uid: int, activity_id: int) -> None:
    uid, _, category, _, (activity, _) = ocsf_class(action)
    assert (uid, activity) == (class_uid, activity_id)
    assert category == uid // 1000


def test_ocsf_event_fields() -> None:
    e = to_ocsf(
        _entry(
            src_ip="203.0.113.9",
            device_id="dev_1",
            session_id="ses_1",
            reason="bad_password",
            details={"n": 1},
        )
    )
    assert e["class_uid"] == 3002
    assert e["type_uid"] == 300201
    assert e["time"] == 1_700_000_000_123
    assert (e["status_id"], e["status"], e["status_detail"]) == (2, "Failure", "bad_password")
    assert e["actor"] == {"user": {"uid": "usr_1"}, "session": {"uid": "ses_1"}}
    assert e["src_endpoint"] == {"ip": "203.0.113.9", "uid": "dev_1"}
    assert e["metadata"]["sequence"] == 5
    assert e["metadata"]["product"]["name"] == "zerotrust"
    assert e["unmapped"] == {"n": 1}
    api = to_ocsf(_entry(action="authz.decision", outcome="denied", resource="acct_1"))
    assert api["api"] == {"operation": "authz.decision"}
    assert api["resources"] == [{"uid": "acct_1"}]
    assert api["status_id"] == 2


def test_cef_line_escapes_separators_and_control_characters() -> None:
    line = to_cef(
        _entry(
            action="auth|login",
            actor="a=b\\c",
            reason="x\r\ny\x1b[31m",
            src_ip="203.0.113.9",
            details={"k": "v=w"},
        )
    )
    assert line.startswith("CEF:0|zerotrust|zerotrust|1|auth\\|login|auth\\|login|6|")
    assert "suser=a\\=b\\\\c" in line
    assert "reason=x\\r\\ny\\\\u001b[31m" in line
    assert "\n" not in line
    assert "\r" not in line
    assert "\x1b" not in line
    assert 'msg={"k":"v\\=w"}' in line


def test_syslog_framing() -> None:
    assert syslog_line("CEF:0|x", time="2023-11-14T22:13:20.123Z", hostname="gw1") == (
        "<86>1 2023-11-14T22:13:20.123Z gw1 zerotrust - audit - CEF:0|x"
    )
