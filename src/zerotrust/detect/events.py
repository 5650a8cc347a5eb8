"""Security events as the detectors see them: parsed, validated and typed.

The wire form is the JSON object of ``docs/events.schema.json`` (one per line when stored
or replayed); ``zerotrust.core.events.SecurityEvent`` is the producers' form. Both become
an ``Event`` here, through the same checks, so replay runs exactly what the live path runs.
Unknown fields are ignored. A malformed event raises ``MalformedEvent`` naming the field;
callers count it and carry on, so one bad line never stops the pipeline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from zerotrust.core.errors import InvalidInput
from zerotrust.core.events import SecurityEvent

KINDS = frozenset({"auth.password", "auth.mfa", "auth.client", "access"})
AUTH_OUTCOMES = frozenset({"success", "failure"})
ACCESS_OUTCOMES = frozenset({"allowed", "denied"})
PRINCIPAL_TYPES = frozenset({"user", "service"})
MFA_METHODS = frozenset({"totp", "webauthn", "push", "recovery"})
MAX_LINE = 64 * 1024  # an event line is a few hundred bytes; anything huge is hostile
MAX_TEXT = 600
TIME_LEN = len("2025-01-01T00:00:00.000Z")


class MalformedEvent(InvalidInput):
    """An event that does not follow the security event schema."""

    code = "malformed_event"
    message = "The event is malformed."


@dataclass(frozen=True, slots=True)
class Event:
    """One validated security event; ``ts`` is its time in seconds since the epoch."""

    id: str
    ts: float
    kind: str
    principal: str
    principal_type: str
    roles: tuple[str, ...]
    outcome: str
    src_ip: str | None
    user_agent: str | None
    device_id: str | None
    session_id: str | None
    mfa_method: str | None = None
    reason: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource: str | None = None
    records: int = 0
    bytes: int = 0

    @property
    def is_success(self) -> bool:
        """A successful authentication step or an allowed access."""
        return self.outcome in ("success", "allowed")


def parse_time(value: object) -> float:
    """Seconds since the epoch from the schema's ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if not isinstance(value, str) or len(value) != TIME_LEN or value[-1] != "Z":
        raise MalformedEvent("field 'time' is not ISO 8601 UTC with milliseconds")
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError as exc:
        raise MalformedEvent("field 'time' is not a valid date and time") from exc


def parse_line(line: str | bytes) -> Event:
    """One JSON line → ``Event``; raises ``MalformedEvent``."""
    if len(line) > MAX_LINE:
        raise MalformedEvent(f"line longer than {MAX_LINE} bytes")
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEvent("not valid JSON") from exc
    return parse_event(data)


def from_security_event(event: SecurityEvent) -> Event:
    """The producers' dataclass → ``Event``, through the same checks as a JSON line."""
    return parse_event(event.to_dict())


def parse_event(data: object) -> Event:
    """A decoded JSON object → ``Event``; raises ``MalformedEvent`` naming the bad field."""
    if not isinstance(data, dict):
        raise MalformedEvent("not a JSON object")
    kind = data.get("kind")
    if kind not in KINDS:
        raise MalformedEvent("field 'kind' is missing or not a known kind")
    outcome = data.get("outcome")
    if outcome not in (ACCESS_OUTCOMES if kind == "access" else AUTH_OUTCOMES):
        raise MalformedEvent(f"field 'outcome' is missing or not valid for {kind}")
    principal_type = data.get("principal_type")
    if principal_type not in PRINCIPAL_TYPES:
        raise MalformedEvent("field 'principal_type' is missing or not user/service")
    mfa_method = _optional_text(data, "mfa_method")
    if mfa_method is not None and mfa_method not in MFA_METHODS:
        raise MalformedEvent("field 'mfa_method' is not a known method")
    event = Event(
        id=_required_text(data, "id"),
        ts=parse_time(data.get("time")),
        kind=kind,
        principal=_required_text(data, "principal"),
        principal_type=principal_type,
        roles=_roles(data.get("principal_roles")),
        outcome=outcome,
        src_ip=_optional_text(data, "src_ip"),
        user_agent=_optional_text(data, "user_agent"),
        device_id=_nullable_present(data, "device_id"),
        session_id=_nullable_present(data, "session_id"),
        mfa_method=mfa_method,
        reason=_optional_text(data, "reason"),
        action=_optional_text(data, "action"),
        resource_type=_optional_text(data, "resource_type"),
        resource=_optional_text(data, "resource"),
        records=_count(data, "records"),
        bytes=_count(data, "bytes"),
    )
    if kind == "access" and (event.action is None or event.resource_type is None):
        raise MalformedEvent("an access event needs 'action' and 'resource_type'")
    return event


def _required_text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise MalformedEvent(f"field {key!r} is missing, empty or not a short string")
    return value


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise MalformedEvent(f"field {key!r} is not a string")
    # Free text is bounded here too, so a 1 MiB user agent cannot bloat detector state.
    return value[:MAX_TEXT]


def _nullable_present(data: dict[str, Any], key: str) -> str | None:
    if key not in data:
        raise MalformedEvent(f"field {key!r} is missing (it may be null)")
    return _optional_text(data, key)


def _roles(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise MalformedEvent("field 'principal_roles' is missing or not a list of strings")
    return tuple(value)


def _count(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedEvent(f"field {key!r} is not a non-negative integer")
    return value
