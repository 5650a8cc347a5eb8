"""Audit exports for SIEMs: JSON lines, OCSF 1.3 events and CEF lines for syslog.

Exports stream from storage a page at a time (flat memory) and check each entry against
its leaf hash on the way out. The JSON-lines form is the canonical entry itself, so a
recipient can recompute ``SHA-256(0x00 || line)`` and check inclusion proofs against a
signed checkpoint. OCSF maps each action to one of three classes: Authentication (3002),
Account Change (3001) or API Activity (6003).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Literal

from zerotrust.audit.entry import AuditEntry
from zerotrust.audit.interfaces import AuditStore, EntryFilter, EntryRow
from zerotrust.audit.log import checked_entry

Format = Literal["jsonl", "ocsf", "cef"]
FORMATS: tuple[Format, ...] = ("jsonl", "ocsf", "cef")
PRODUCT = "zerotrust"
OCSF_VERSION = "1.3.0"

_SUCCESS = frozenset({"success", "allowed", "allow", "ok", "granted"})
_FAILURE = frozenset({"failure", "denied", "deny", "error", "blocked", "locked", "rejected"})
_AUTH_PREFIXES = ("auth.", "session.", "login.", "logout", "token.", "step_up")
_ACCOUNT_PREFIXES = (
    "principal.",
    "account.",
    "user.",
    "role.",
    "password.",
    "mfa.",
    "totp.",
    "webauthn.",
    "recovery_codes.",
    "service_account.",
    "grant.",
    "jit.",
)
# (word in the action, activity id, activity name), first match wins (OCSF 1.3 enums).
_ACCOUNT_ACTIVITIES = (
    ("unlock", 12, "Unlock"),
    ("lock", 9, "Lock"),
    ("lockout", 9, "Lock"),
    ("reset", 4, "Password Reset"),
    ("password", 3, "Password Change"),
    ("enroll", 10, "MFA Factor Enable"),
    ("register", 10, "MFA Factor Enable"),
    ("activate", 10, "MFA Factor Enable"),
    ("unenroll", 11, "MFA Factor Disable"),
    ("create", 1, "Create"),
    ("enable", 2, "Enable"),
    ("disable", 5, "Disable"),
    ("delete", 6, "Delete"),
    ("grant", 7, "Attach Policy"),
    ("assign", 7, "Attach Policy"),
    ("revoke", 8, "Detach Policy"),
    ("remove", 8, "Detach Policy"),
)
_AUTH_ACTIVITIES = (
    ("logout", 2, "Logoff"),
    ("logoff", 2, "Logoff"),
    ("revoke", 2, "Logoff"),
    ("token", 3, "Authentication Ticket"),
    ("refresh", 3, "Authentication Ticket"),
    ("login", 1, "Logon"),
    ("password", 1, "Logon"),
    ("mfa", 1, "Logon"),
    ("step", 1, "Logon"),
    ("webauthn", 1, "Logon"),
    ("totp", 1, "Logon"),
)
_API_ACTIVITIES = (
    ("create", 1, "Create"),
    ("add", 1, "Create"),
    ("read", 2, "Read"),
    ("get", 2, "Read"),
    ("list", 2, "Read"),
    ("export", 2, "Read"),
    ("view", 2, "Read"),
    ("update", 3, "Update"),
    ("set", 3, "Update"),
    ("rotate", 3, "Update"),
    ("change", 3, "Update"),
    ("delete", 4, "Delete"),
    ("remove", 4, "Delete"),
)
_WORDS = re.compile(r"[^a-z]+")


def iter_entries(
    store: AuditStore, where: EntryFilter | None = None, *, page: int = 1000
) -> Iterator[tuple[EntryRow, AuditEntry]]:
    """Matching entries in seq order, each checked against its leaf hash and columns."""
    where = where or EntryFilter()
    while True:
        rows = store.query(where, limit=page)
        for row in rows:
            yield row, checked_entry(row)
        if len(rows) < page:
            return
        where = EntryFilter(
            where.actor, where.action, where.outcome, where.since, where.until, rows[-1].seq
        )


def export_lines(store: AuditStore, fmt: Format, where: EntryFilter | None = None) -> Iterator[str]:
    """One line per entry (no newline) in ``fmt``."""
    render: Callable[[EntryRow, AuditEntry], str] = {
        "jsonl": lambda row, _: row.entry.decode("ascii"),
        "ocsf": lambda _, e: json.dumps(to_ocsf(e), separators=(",", ":"), ensure_ascii=True),
        "cef": lambda _, e: to_cef(e),
    }[fmt]
    for row, entry in iter_entries(store, where):
        yield render(row, entry)


def _epoch_ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


def _status(outcome: str) -> tuple[int, str]:
    if outcome in _SUCCESS:
        return 1, "Success"
    if outcome in _FAILURE:
        return 2, "Failure"
    return 99, "Other"


def _words(action: str) -> frozenset[str]:
    return frozenset(_WORDS.split(action.lower())) - {""}


def _activity(words: frozenset[str], table: tuple[tuple[str, int, str], ...]) -> tuple[int, str]:
    for word, uid, name in table:
        if word in words:
            return uid, name
    return 99, "Other"


def ocsf_class(action: str) -> tuple[int, str, int, str, tuple[int, str]]:
    """``(class_uid, class_name, category_uid, category_name, (activity_id, name))``."""
    lowered, words = action.lower(), _words(action)
    if lowered.startswith(_ACCOUNT_PREFIXES) or words & {"lock", "lockout", "unlock"}:
        return (
            3001,
            "Account Change",
            3,
            "Identity & Access Management",
            _activity(words, _ACCOUNT_ACTIVITIES),
        )
    if lowered.startswith(_AUTH_PREFIXES):
        return (
            3002,
            "Authentication",
            3,
            "Identity & Access Management",
            _activity(words, _AUTH_ACTIVITIES),
        )
    return 6003, "API Activity", 6, "Application Activity", _activity(words, _API_ACTIVITIES)


def to_ocsf(e: AuditEntry) -> dict[str, Any]:
    """The entry as an OCSF 1.3 event of class 3001, 3002 or 6003."""
    class_uid, class_name, category_uid, category_name, (activity_id, activity) = ocsf_class(
        e.action
    )
    status_id, status = _status(e.outcome)
    event: dict[str, Any] = {
        "class_uid": class_uid,
        "class_name": class_name,
        "category_uid": category_uid,
        "category_name": category_name,
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {activity}",
        "time": _epoch_ms(e.time),
        "severity_id": 1 if status_id == 1 else 3,
        "severity": "Informational" if status_id == 1 else "Medium",
        "status_id": status_id,
        "status": status,
        "status_code": e.outcome,
        "message": e.action,
        "metadata": {
            "version": OCSF_VERSION,
            "uid": str(e.seq),
            "sequence": e.seq,
            "log_name": "audit",
            "original_time": e.time,
            "product": {"name": PRODUCT, "vendor_name": PRODUCT, "feature": {"name": "audit"}},
        },
        "actor": {"user": {"uid": e.actor}},
        "src_endpoint": {k: v for k, v in (("ip", e.src_ip), ("uid", e.device_id)) if v},
    }
    if e.reason is not None:
        event["status_detail"] = e.reason
    if e.session_id is not None:
        event["actor"]["session"] = {"uid": e.session_id}
    if class_uid in (3001, 3002):
        event["user"] = {"uid": e.resource or e.actor}
    else:
        event["api"] = {"operation": e.action}
        if e.resource is not None:
            event["resources"] = [{"uid": e.resource}]
    if e.details:
        event["unmapped"] = e.details
    return event


def _cef_text(value: str) -> str:
    # Control characters other than CR/LF become visible \uXXXX text, never raw bytes
    # that a terminal or syslog parser would act on.
    return "".join(
        f"\\u{ord(c):04x}"
        if (ord(c) < 32 and c not in "\r\n") or 127 <= ord(c) < 160 or c in "\u2028\u2029"
        else c
        for c in value
    )


def _cef_header(value: str) -> str:
    text = _cef_text(value).replace("\\", "\\\\").replace("|", "\\|")
    return text.replace("\r", " ").replace("\n", " ")


def _cef_value(value: str) -> str:
    text = _cef_text(value).replace("\\", "\\\\").replace("=", "\\=")
    return text.replace("\r", "\\r").replace("\n", "\\n")


def to_cef(e: AuditEntry) -> str:
    """The entry as one ArcSight CEF line (for syslog forwarding)."""
    status_id, _ = _status(e.outcome)
    severity = 3 if status_id == 1 else 6
    ext = [
        ("rt", str(_epoch_ms(e.time))),
        ("externalId", str(e.seq)),
        ("act", e.action),
        ("suser", e.actor),
        ("outcome", e.outcome),
    ]
    optional = (
        ("src", e.src_ip),
        ("cs1Label", "resource" if e.resource else None),
        ("cs1", e.resource),
        ("reason", e.reason),
        ("cs2Label", "deviceId" if e.device_id else None),
        ("cs2", e.device_id),
        ("cs3Label", "sessionId" if e.session_id else None),
        ("cs3", e.session_id),
    )
    ext += [(k, v) for k, v in optional if v is not None]
    if e.details:
        ext.append(("msg", json.dumps(e.details, separators=(",", ":"), ensure_ascii=True)))
    header = "|".join(_cef_header(x) for x in (PRODUCT, PRODUCT, "1", e.action, e.action))
    body = " ".join(f"{k}={_cef_value(v)}" for k, v in ext)
    return f"CEF:0|{header}|{severity}|{body}"


def syslog_line(
    message: str,
    *,
    time: str,
    hostname: str = "-",
    app: str = PRODUCT,
    facility: int = 10,
    severity: int = 6,
) -> str:
    """An RFC 5424 syslog message carrying ``message`` (default facility authpriv)."""
    pri = facility * 8 + severity
    return f"<{pri}>1 {time} {hostname} {app} - audit - {message}"
