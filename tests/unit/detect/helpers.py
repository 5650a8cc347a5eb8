"""Building events and collaborators for detector tests."""

from __future__ import annotations

import itertools
from typing import Any

from zerotrust.core.auditing import AuditRecord
from zerotrust.detect.alerts import Alert
from zerotrust.detect.events import Event
from zerotrust.detect.geo import StaticGeo

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HOUR = 3600.0
DAY = 86400.0

# Documentation ranges (RFC 5737), placed in countries for the tests.
GB_IP, GB_IP2 = "192.0.2.10", "192.0.2.77"
US_IP = "198.51.100.20"
RU_IP = "203.0.113.30"
GEO = StaticGeo({"192.0.2.": "GB", "198.51.100.": "US", "203.0.113.": "RU"})

_ids = itertools.count(1)


def ev(
    kind: str = "auth.password",
    principal: str = "alice",
    outcome: str = "failure",
    *,
    ts: float = T0,
    ip: str | None = GB_IP,
    device: str | None = "dev_alice",
    session: str | None = None,
    roles: tuple[str, ...] = ("analyst",),
    ptype: str = "user",
    **extra: Any,
) -> Event:
    """An event with sensible defaults; every call gets a fresh id."""
    return Event(
        id=f"evt_{next(_ids):032x}",
        ts=ts,
        kind=kind,
        principal=principal,
        principal_type=ptype,
        roles=roles,
        outcome=outcome,
        src_ip=ip,
        user_agent=None,
        device_id=device,
        session_id=session,
        **extra,
    )


def access(
    principal: str = "alice",
    action: str = "read",
    rtype: str = "customer",
    *,
    outcome: str = "allowed",
    records: int = 1,
    **kw: Any,
) -> Event:
    kw.setdefault("session", "ses_1")
    return ev(
        "access", principal, outcome, action=action, resource_type=rtype, records=records, **kw
    )


def login_ok(principal: str = "alice", **kw: Any) -> list[Event]:
    """A completed login: password, then the second factor."""
    ts = kw.pop("ts", T0)
    return [
        ev("auth.password", principal, "success", ts=ts, **kw),
        ev("auth.mfa", principal, "success", ts=ts + 10, mfa_method="totp", **kw),
    ]


class RecordingActions:
    """``ResponseActions`` that records every call (and can be told to fail one)."""

    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[tuple[str, object]] = []
        self.fail = fail

    def _record(self, name: str, arg: object) -> None:
        if name == self.fail:
            raise RuntimeError(name)
        self.calls.append((name, arg))

    def lock_account(self, principal: str, until: float) -> None:
        self._record("lock_account", (principal, until))

    def revoke_sessions(self, principal: str) -> None:
        self._record("revoke_sessions", principal)

    def require_step_up(self, principal: str) -> None:
        self._record("require_step_up", principal)

    def quarantine_device(self, device_id: str) -> None:
        self._record("quarantine_device", device_id)

    def block_source(self, ip: str, until: float) -> None:
        self._record("block_source", (ip, until))

    def alert(self, alert: Alert) -> None:
        self._record("alert", alert.id)


class FailingAudit:
    def append(self, record: AuditRecord) -> int:
        raise OSError("disk full")
