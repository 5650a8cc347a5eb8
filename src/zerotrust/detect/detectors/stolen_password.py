"""Stolen password: the right password from a new device or country, then the second
factor fails.

Whoever phished or bought the password gets past the first step and stops at the second.
A person on a new laptop or abroad also passes the first step from somewhere new, but
then completes the second (perhaps after one typo). So the detector waits for the MFA
failures: two after a novel password success, or one when device and country are both
new. Devices and countries are learned only from completed logins, so an attacker's
password success never teaches the baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.geo import GeoLocator
from zerotrust.detect.windows import Keyed, KnownSet


@dataclass(frozen=True)
class StolenPasswordConfig:
    window_s: float = 900.0  # from the password success to the MFA failures
    mfa_failures: int = 2  # after a success that is new in device or in country
    mfa_failures_both_new: int = 1  # after a success new in device and in country
    history_days: float = 90.0  # forget a principal not seen for this long


@dataclass(slots=True)
class _Pending:
    ts: float
    new_device: bool
    new_country: bool
    event_ids: list[str]
    failures: int = 0


@dataclass(slots=True)
class _Principal:
    devices: KnownSet[str] = field(default_factory=lambda: KnownSet(16))
    countries: KnownSet[str] = field(default_factory=lambda: KnownSet(16))
    pending: _Pending | None = None


class StolenPassword:
    name: ClassVar[str] = "stolen_password"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.password", "auth.mfa"})

    def __init__(self, geo: GeoLocator, config: StolenPasswordConfig | None = None) -> None:
        self.config = config or StolenPasswordConfig()
        self.geo = geo
        self.principals: Keyed[str, _Principal] = Keyed()

    def observe(self, event: Event) -> Finding | None:
        key = event.principal.casefold()
        state = self.principals.state.get(key)
        if state is None:
            if event.kind != "auth.mfa" or event.outcome != "success":
                return None
            state = self.principals.state[key] = _Principal()
        self.principals.touch(key, event.ts)
        if event.kind == "auth.password":
            if event.outcome == "success":
                self._password_ok(state, event)
            return None
        if event.outcome == "success":
            self._learn(state, event)
            return None
        return self._mfa_failed(state, event)

    def _country(self, event: Event) -> str | None:
        where = self.geo.locate(event.src_ip) if event.src_ip else None
        return where.country if where else None

    def _password_ok(self, state: _Principal, event: Event) -> None:
        country = self._country(event)
        new_device = event.device_id is None or event.device_id not in state.devices
        new_country = country is not None and country not in state.countries
        if new_device or new_country:
            state.pending = _Pending(event.ts, new_device, new_country, [event.id])
        else:
            state.pending = None

    def _learn(self, state: _Principal, event: Event) -> None:
        state.pending = None
        if event.device_id is not None:
            state.devices.add(event.device_id)
        country = self._country(event)
        if country is not None:
            state.countries.add(country)

    def _mfa_failed(self, state: _Principal, event: Event) -> Finding | None:
        pending, cfg = state.pending, self.config
        if pending is None or event.ts - pending.ts > cfg.window_s:
            return None
        pending.failures += 1
        pending.event_ids.append(event.id)
        both = pending.new_device and pending.new_country
        needed = cfg.mfa_failures_both_new if both else cfg.mfa_failures
        if pending.failures < needed:
            return None
        novelty = " and ".join(
            what
            for what, new in (("device", pending.new_device), ("country", pending.new_country))
            if new
        )
        return Finding(
            detector=self.name,
            severity="high",
            key=event.principal.casefold(),
            principal=event.principal,
            event_ids=tuple(pending.event_ids),
            explanation=(
                f"password for {event.principal} accepted from a new {novelty}, then "
                f"{pending.failures} second-factor failure(s) and no success"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def prune(self, now: float) -> None:
        self.principals.prune(now - self.config.history_days * 86400)
