"""Impossible travel: two successful uses of one identity too far apart for the time between.

Locations are countries from the offline database (``geo.py``), so journeys shorter than
``min_km`` are never judged. A real traveller lands hours after leaving; an attacker who
phished a live session, or a relayed login (adversary in the middle), appears abroad
minutes after the owner was seen at home. Two kinds of hop are not travel: one made by
the same enrolled device (a device-bound key cannot move faster than its device, so the
jump is a network path: a VPN exit, a roaming phone whose data leaves from its home
country), and one between two countries the principal has each used on several days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.geo import GeoLocator, Location, haversine_km
from zerotrust.detect.windows import Keyed

DAY = 86400.0


@dataclass(frozen=True)
class ImpossibleTravelConfig:
    max_kmh: float = 1000.0  # faster than an airliner, door to door
    min_km: float = 600.0  # closer than this, country centres say nothing
    familiar_days: int = 2  # a country used on this many days is familiar
    history_days: float = 90.0


@dataclass(slots=True)
class _Seen:
    ts: float
    ip: str
    where: Location
    event_id: str
    device_id: str | None
    days: dict[str, tuple[int, int]] = field(default_factory=dict)  # country → (last day, n)


class ImpossibleTravel:
    name: ClassVar[str] = "impossible_travel"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.password", "auth.mfa", "access"})

    def __init__(self, geo: GeoLocator, config: ImpossibleTravelConfig | None = None) -> None:
        self.config = config or ImpossibleTravelConfig()
        self.geo = geo
        self.last: Keyed[str, _Seen] = Keyed()

    def observe(self, event: Event) -> Finding | None:
        if not event.is_success or not event.src_ip:
            return None
        key = event.principal.casefold()
        seen = self.last.state.get(key)
        if seen is not None and seen.ip == event.src_ip:
            seen.ts = event.ts
            self.last.touch(key, event.ts)
            self._count_day(seen, seen.where.country, event.ts)
            return None
        where = self.geo.locate(event.src_ip)
        if where is None:
            return None
        self.last.touch(key, event.ts)
        if seen is None:
            seen = self.last.state[key] = _Seen(
                event.ts, event.src_ip, where, event.id, event.device_id
            )
            self._count_day(seen, where.country, event.ts)
            return None
        found = self._judge(seen, where, event)
        seen.ts, seen.ip, seen.where, seen.event_id = event.ts, event.src_ip, where, event.id
        seen.device_id = event.device_id
        self._count_day(seen, where.country, event.ts)
        return found

    def _judge(self, seen: _Seen, where: Location, event: Event) -> Finding | None:
        cfg = self.config
        if event.device_id is not None and event.device_id == seen.device_id:
            return None
        km = haversine_km(seen.where, where)
        if km < cfg.min_km:
            return None
        # Either order: another process's event may arrive after a later one of ours.
        hours = max(abs(event.ts - seen.ts), 1.0) / 3600
        kmh = km / hours
        if kmh <= cfg.max_kmh or (
            self._familiar(seen, seen.where.country) and self._familiar(seen, where.country)
        ):
            return None
        return Finding(
            detector=self.name,
            severity="high" if kmh > 2 * cfg.max_kmh else "medium",
            key=event.principal.casefold(),
            principal=event.principal,
            event_ids=(seen.event_id, event.id),
            explanation=(
                f"{event.principal} seen in {seen.where.country} then {where.country} "
                f"{hours * 60:.0f} min later: {km:,.0f} km at {kmh:,.0f} km/h"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def _familiar(self, seen: _Seen, country: str) -> bool:
        return seen.days.get(country, (0, 0))[1] >= self.config.familiar_days

    @staticmethod
    def _count_day(seen: _Seen, country: str, ts: float) -> None:
        day = int(ts // DAY)
        last_day, n = seen.days.get(country, (-1, 0))
        if day != last_day:
            seen.days[country] = (day, n + 1)
            if len(seen.days) > 32:
                del seen.days[next(iter(seen.days))]

    def prune(self, now: float) -> None:
        self.last.prune(now - self.config.history_days * DAY)
