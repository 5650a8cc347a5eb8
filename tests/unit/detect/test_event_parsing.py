"""Parsing events: the schema's checks, one clear error per malformation, never a crash."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zerotrust.core.events import SecurityEvent
from zerotrust.detect.events import MAX_LINE, MalformedEvent, parse_event, parse_line

GOOD: dict[str, Any] = {
    "id": "evt_0123456789abcdef0123456789abcdef",
    "time": "2026-01-01T00:00:01.250Z",
    "kind": "access",
    "principal": "alice",
    "principal_type": "user",
    "principal_roles": ["analyst"],
    "outcome": "allowed",
    "src_ip": "192.0.2.1",
    "user_agent": "Mozilla/5.0",
    "device_id": None,
    "session_id": "ses_1",
    "action": "read",
    "resource_type": "customer",
    "records": 3,
    "bytes": 900,
    "future_field": {"ignored": True},
}


def test_a_valid_line_parses_and_ignores_unknown_fields() -> None:
    event = parse_line(json.dumps(GOOD))
    assert event.ts == 1_767_225_601.25
    assert event.roles == ("analyst",)
    assert event.device_id is None
    assert (event.records, event.bytes) == (3, 900)
    assert event.is_success


def test_the_producers_dataclass_parses_through_the_same_checks() -> None:
    sent = SecurityEvent.at(
        1_767_225_600.0,
        kind="auth.password",
        principal="bob",
        outcome="failure",
        principal_roles=("support",),
        src_ip="192.0.2.9",
        reason="bad_password",
    )
    event = parse_event(sent.to_dict())
    assert (event.id, event.kind, event.reason, event.ts) == (
        sent.id,
        "auth.password",
        "bad_password",
        1_767_225_600.0,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"kind": "login"}, "kind"),
        ({"outcome": "success"}, "outcome"),  # access events are allowed/denied
        ({"time": "2026-01-01 00:00:01"}, "time"),
        ({"time": "2026-13-01T00:00:01.000Z"}, "time"),
        ({"principal": ""}, "principal"),
        ({"principal": "x" * 601}, "principal"),
        ({"principal_type": "robot"}, "principal_type"),
        ({"principal_roles": "analyst"}, "principal_roles"),
        ({"records": -1}, "records"),
        ({"records": True}, "records"),
        ({"bytes": 1.5}, "bytes"),
        ({"mfa_method": "sms"}, "mfa_method"),
        ({"src_ip": 17}, "src_ip"),
        ({"action": None}, "action"),
    ],
)
def test_each_malformation_is_named(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedEvent, match=message) as caught:
        parse_event({**GOOD, **change})
    assert caught.value.code == "malformed_event"


def test_nullable_fields_must_be_present() -> None:
    data = dict(GOOD)
    del data["session_id"]
    with pytest.raises(MalformedEvent, match="session_id"):
        parse_event(data)


@pytest.mark.parametrize("line", ["", "not json", "[1, 2]", '"text"', "{", b"\xff\xfe"])
def test_garbage_is_malformed_not_a_crash(line: str | bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_line(line)


def test_a_huge_line_is_refused_before_parsing() -> None:
    with pytest.raises(MalformedEvent, match="longer"):
        parse_line("{" + " " * MAX_LINE + "}")


def test_long_free_text_is_bounded() -> None:
    event = parse_event({**GOOD, "user_agent": "A" * 10_000})
    assert event.user_agent is not None
    assert len(event.user_agent) == 600


# Generating the first examples can be slow on a cold, loaded machine; that is not what
# this test is about.
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(sorted(GOOD)), st.none() | st.integers() | st.text(max_size=30))
)
def test_arbitrary_objects_parse_or_raise_malformed(data: dict[str, Any]) -> None:
    with contextlib.suppress(MalformedEvent):
        parse_event({**GOOD, **data})
