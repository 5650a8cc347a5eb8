"""Security events: one schema for every component (see docs/events.schema.json).

Authentication steps and access decisions emit these to an ``EventSink``; the audit log
and the detectors subscribe to it. Text fields are bounded so a 1 MiB user agent cannot
bloat the stream.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, Final, Literal, Protocol, get_args

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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SecurityEvent:
        """The event ``to_dict`` gave (another process's, read back from the store);
        ``ValueError`` if ``data`` is not one."""
        if data.get("kind") not in _KINDS:
            raise ValueError("not a security event kind")
        values: dict[str, Any] = {n: data[n] for n in _TYPES if data.get(n) is not None}
        missing = _REQUIRED - values.keys()
        wrong = [
            name
            for name, value in values.items()
            if isinstance(value, bool) or not isinstance(value, _TYPES[name])
        ]
        roles = data.get("principal_roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            wrong.append("principal_roles")
        if missing or wrong:
            raise ValueError(f"not a security event: {sorted(missing) + wrong}")
        return cls(principal_roles=tuple(roles), **values)

    def to_dict(self) -> dict[str, Any]:
        # Every field is a scalar but the roles: no ``asdict`` deep copy (it is on the
        # gateway's per-request path, twice).
        data = {f: getattr(self, f) for f in _FIELDS}
        data["principal_roles"] = list(self.principal_roles)
        return {k: v for k, v in data.items() if v is not None or k in _ALWAYS}


_FIELDS: Final = tuple(f.name for f in fields(SecurityEvent))
_KINDS: Final = frozenset(get_args(EventKind))
_REQUIRED: Final = frozenset({"kind", "principal", "outcome", "time", "id"})
# Every field but the roles is text or a count.
_TYPES: Final[dict[str, type]] = {
    name: int if name in ("records", "bytes") else str
    for name in _FIELDS
    if name != "principal_roles"
}
_ALWAYS: Final = frozenset({"device_id", "session_id"})


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

    def emit_many(self, events: Sequence[SecurityEvent]) -> None:
        for sink in self.sinks:
            emit_all(sink, events)


def emit_all(sink: EventSink, events: Sequence[SecurityEvent]) -> None:
    """``sink.emit_many`` where the sink has it (one transaction), else one at a time."""
    many = getattr(sink, "emit_many", None)
    if many is not None:
        many(events)
    else:
        for event in events:
            sink.emit(event)


class QueuedSink:
    """Publishes to ``sink`` from one thread of its own, in order and in batches.

    For a producer that must not wait, such as the gateway after it has answered: its
    event is handed over in microseconds, and the SQL sink stores a batch per
    transaction. The queue is bounded; when it is full ``emit`` waits (back-pressure),
    never drops. ``close`` publishes what is queued before returning. A batch that
    fails is reported to ``on_error`` with its size, and the thread carries on.

    ``linger_s`` lets a batch gather after the first event arrives: at light load a
    transaction and a thread switch per event cost more than the event itself.
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        max_batch: int = 500,
        max_queued: int = 50_000,
        linger_s: float = 0.0,
        on_error: Callable[[BaseException, int], None] | None = None,
    ) -> None:
        self.sink = sink
        self._linger_s = linger_s
        self._max_batch = max_batch
        self._max_queued = max_queued
        self._on_error = on_error
        self._queue: deque[SecurityEvent] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self._busy = False  # a batch is being published
        self._thread = threading.Thread(target=self._drain, name="zt-events", daemon=True)
        self._thread.start()

    def offer(self, event: SecurityEvent) -> bool:
        """Queue ``event`` unless the queue is full or closed; never waits."""
        with self._ready:
            if self._closed or len(self._queue) >= self._max_queued:
                return False
            self._queue.append(event)
            self._wake()
            return True

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued so far has been published (or ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        with self._ready:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._ready.wait(left)
            return True

    def emit(self, event: SecurityEvent) -> None:
        with self._ready:
            while len(self._queue) >= self._max_queued and not self._closed:
                self._ready.wait()
            if self._closed:
                raise RuntimeError("the event queue is closed")
            self._queue.append(event)
            self._wake()

    def close(self, timeout_s: float = 10.0) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        self._thread.join(timeout_s)

    def _wake(self) -> None:
        # The publisher needs waking for the first event of a batch and for a full one;
        # in between, a wake-up per event would only cost it a thread switch.
        if len(self._queue) in (1, self._max_batch) or not self._linger_s:
            self._ready.notify_all()

    def _drain(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                deadline = time.monotonic() + self._linger_s
                while 0 < len(self._queue) < self._max_batch and not self._closed:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
                if not self._queue:
                    return  # closed and empty
                count = min(len(self._queue), self._max_batch)
                batch = [self._queue.popleft() for _ in range(count)]
                self._busy = True
                self._ready.notify_all()  # room again for a waiting producer
            try:
                emit_all(self.sink, batch)
            except Exception as exc:  # keep publishing; the owner counts and logs it
                if self._on_error is not None:
                    self._on_error(exc, len(batch))
            finally:
                with self._ready:
                    self._busy = False
                    self._ready.notify_all()
