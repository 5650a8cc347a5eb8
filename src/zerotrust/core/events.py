"""Security events: one schema for every component (see docs/events.schema.json).

Authentication steps and access decisions emit these to an ``EventSink``; the audit log
and the detectors subscribe to it. Text fields are bounded so a 1 MiB user agent cannot
bloat the stream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

from zerotrust.core.clock import iso_utc
from zerotrust.core.ids import new_id

EventKind = Literal["auth.password", "auth.mfa", "auth.client", "access"]
MAX_TEXT = 512


def bounded(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """Truncate long text with a visible marker."""
    if value is None or len(value) <= limit:
        return value
    return value[:limit] + "…[truncated]"


@dataclass(frozen=True)
class SecurityEvent:
    """One observation of an authentication step or an access decision."""

    kind: EventKind
    principal: str
    outcome: str
    time: str
    principal_type: str = "user"
    principal_roles: tuple[str, ...] = ()
    src_ip: str | None = None
    user_agent: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    mfa_method: str | None = None
    reason: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource: str | None = None
    records: int | None = None
    bytes: int | None = None
    id: str = field(default_factory=lambda: new_id("evt"))

    @classmethod
    def at(cls, ts: float, **fields: Any) -> SecurityEvent:
        """Build an event stamped with ``ts`` (seconds), bounding free text."""
        for key in ("principal", "user_agent", "reason", "resource"):
            if key in fields:
                fields[key] = bounded(fields[key])
        return cls(time=iso_utc(ts), **fields)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["principal_roles"] = list(self.principal_roles)
        return {k: v for k, v in data.items() if v is not None or k in ("device_id", "session_id")}


class EventSink(Protocol):
    """Where security events go (audit log, detectors, a file)."""

    def emit(self, event: SecurityEvent) -> None: ...


class MemorySink:
    """Keeps events in a list (tests, the console's live view)."""

    def __init__(self) -> None:
        self.events: list[SecurityEvent] = []

    def emit(self, event: SecurityEvent) -> None:
        self.events.append(event)


class FanoutSink:
    """Sends each event to several sinks in order."""

    def __init__(self, sinks: Iterable[EventSink]) -> None:
        self.sinks = list(sinks)

    def emit(self, event: SecurityEvent) -> None:
        for sink in self.sinks:
            sink.emit(event)
