"""Session or token replay: one session used from two devices, or two places at once.

Sessions are bound to the device that opened them (DPoP, RFC 9449), so a session seen
with another device, or with none, is a copied token. Without a device change, a session
that keeps switching between addresses (A, B, A, B…) is being used concurrently from two
places; a person who walks from Wi-Fi to mobile data switches once, and a flaky
connection flaps a couple of times within one country.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.geo import GeoLocator
from zerotrust.detect.windows import Keyed, Window


@dataclass(frozen=True)
class SessionReplayConfig:
    window_s: float = 600.0
    switches: int = 4  # address switches within the window (concurrent use)
    switches_abroad: int = 3  # fewer suffice when the addresses are in different countries
    idle_s: float = 3600.0  # forget a session idle this long (sessions expire after 15 min)


@dataclass(slots=True)
class _Session:
    device_id: str | None
    ip: str | None
    principal: str
    event_ids: list[str] = field(default_factory=list)
    switches: Window[str] | None = None
    device_since: float = 0.0  # when the session was first seen with ``device_id``…
    device_kind: str = ""  # …and on what kind of event


class SessionReplay:
    name: ClassVar[str] = "session_replay"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.mfa", "access"})

    def __init__(self, geo: GeoLocator, config: SessionReplayConfig | None = None) -> None:
        self.config = config or SessionReplayConfig()
        self.geo = geo
        self.sessions: Keyed[str, _Session] = Keyed()

    def observe(self, event: Event) -> Finding | None:
        sid = event.session_id
        if sid is None:
            return None
        self.sessions.touch(sid, event.ts)
        state = self.sessions.state.get(sid)
        if state is None:
            self.sessions.state[sid] = _Session(
                event.device_id,
                event.src_ip,
                event.principal,
                [event.id],
                device_since=event.ts,
                device_kind=event.kind,
            )
            return None
        if event.device_id != state.device_id:
            if not _enrolled_after_sign_in(event, state):
                return self._device_changed(event, state)
            if state.device_id is None:  # the device, from now on
                state.device_id, state.device_since = event.device_id, event.ts
                state.device_kind = event.kind
        if event.src_ip == state.ip:
            return None
        return self._address_switched(event, state)

    def _device_changed(self, event: Event, state: _Session) -> Finding:
        return self._finding(
            event,
            state,
            f"session of {state.principal} opened on device {state.device_id or 'none'} "
            f"used from device {event.device_id or 'none'} at {event.src_ip}",
        )

    def _address_switched(self, event: Event, state: _Session) -> Finding | None:
        previous, state.ip = state.ip, event.src_ip
        if state.switches is None:
            state.switches = Window(self.config.window_s)
        state.switches.add(event.ts, event.id)
        count, cfg = len(state.switches), self.config
        # One move abroad is travel's business, and a roaming phone (its data leaves from
        # the home country) flaps once or twice; back-and-forth beyond that is two users.
        if count < cfg.switches_abroad or (
            count < cfg.switches and not self._countries_differ(previous, event.src_ip)
        ):
            return None
        return self._finding(
            event,
            state,
            f"session of {state.principal} switched addresses {count} times in "
            f"{self.config.window_s / 60:.0f} min ({previous} ↔ {event.src_ip})",
        )

    def _countries_differ(self, a: str | None, b: str | None) -> bool:
        where_a = self.geo.locate(a) if a else None
        where_b = self.geo.locate(b) if b else None
        return where_a is not None and where_b is not None and where_a.country != where_b.country

    def _finding(self, event: Event, state: _Session, explanation: str) -> Finding:
        switches = list(state.switches) if state.switches is not None else []
        return Finding(
            detector=self.name,
            severity="high",
            key=event.session_id or event.principal,
            principal=state.principal,
            event_ids=(*state.event_ids, *switches[-20:], event.id),
            explanation=explanation,
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def prune(self, now: float) -> None:
        self.sessions.prune(now - self.config.idle_s)


def _enrolled_after_sign_in(event: Event, state: _Session) -> bool:
    """No device, then a device named by an access: the same client. Enrolling needs a
    session, so a client signs in, then enrols its key, and the gateway names the device
    whose key matched the session's DPoP binding. Judged in event time, since another
    process's events arrive late (``detect.shared``): the sign-in may come after the
    accesses it preceded. Replay goes the other way: a device, later another or none."""
    if state.device_id is None:
        return event.kind == "access" and event.ts >= state.device_since
    return (
        event.device_id is None and state.device_kind == "access" and event.ts <= state.device_since
    )
