"""A security event read back from the store is the event that was stored; anything else
is refused, whole."""

from __future__ import annotations

from typing import Any

import pytest

from zerotrust.core.events import SecurityEvent


def _event() -> SecurityEvent:
    return SecurityEvent.at(
        1_800_000_000.25,
        kind="access",
        principal="usr_1",
        outcome="denied",
        principal_roles=("fraud_analyst", "auditor"),
        src_ip="203.0.113.9",
        device_id="dev_1",
        reason="device-untrusted",
        action="export",
        resource_type="Customer",
        resource="cus_1",
        records=0,
        bytes=0,
    )


def test_an_event_survives_the_round_trip() -> None:
    event = _event()
    assert SecurityEvent.from_dict(event.to_dict()) == event
    bare = SecurityEvent.at(1.0, kind="auth.password", principal="bob", outcome="failure")
    assert SecurityEvent.from_dict(bare.to_dict()) == bare


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "login"},
        {"kind": None},
        {"principal": None},
        {"time": None},
        {"id": None},
        {"outcome": 1},
        {"records": "12"},
        {"records": True},
        {"bytes": 1.5},
        {"principal_roles": "admin"},
        {"principal_roles": ["admin", 7]},
    ],
)
def test_anything_else_is_refused(change: dict[str, Any]) -> None:
    data = {**_event().to_dict(), **change}
    with pytest.raises(ValueError, match="security event"):
        SecurityEvent.from_dict(data)
