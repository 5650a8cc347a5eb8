"""Online baselines per principal and per role: robust statistics over hourly volumes.

Each principal's access volume (records, bytes) is summed per clock hour. Completed hours
in which the principal was active enter a bounded history, for the principal and for
each of its roles, and the history's 95th percentile is the baseline "busy hour". A
rolling one-hour sum is compared against a multiple of it. Percentiles ignore the odd
extreme hour (no single outlier poisons the baseline), need no distribution assumption,
and cost one sort of at most a few hundred numbers per principal per hour.

Hour-of-day profiles say when a principal usually works, so the same volume can be judged
more strictly at an hour the principal has (almost) never been active.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

HOUR = 3600.0


def quantile(values: deque[float] | list[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


class History:
    """Recent completed hourly totals of one entity and their high quantile.

    The quantile is computed when asked for and cached until the next ``add``: a role
    closes an hour for every member, but its baseline is read only when some member's
    volume is already above the floor.
    """

    __slots__ = ("_hi", "q", "values")

    def __init__(self, maxlen: int, q: float = 0.95) -> None:
        self.values: deque[float] = deque(maxlen=maxlen)
        self.q = q
        self._hi: float | None = 0.0

    def add(self, value: float) -> None:
        self.values.append(value)
        self._hi = None

    @property
    def hi(self) -> float:
        if self._hi is None:
            self._hi = quantile(self.values, self.q)
        return self._hi

    def __len__(self) -> int:
        return len(self.values)


@dataclass(slots=True)
class Volume:
    """A principal's rolling hour, its current clock-hour bucket and its histories."""

    hour: int
    bucket_records: int = 0
    bucket_bytes: int = 0
    recent: deque[tuple[float, int, int, str]] = field(default_factory=deque)
    sum_records: int = 0
    sum_bytes: int = 0
    records: History = field(default_factory=lambda: History(336))
    bytes: History = field(default_factory=lambda: History(336))
    hours_of_day: list[int] = field(default_factory=lambda: [0] * 24)
    active_hours: int = 0

    def hour_share(self, hour_of_day: int) -> float:
        """The fraction of this principal's active hours that fell at ``hour_of_day``."""
        return self.hours_of_day[hour_of_day] / max(1, self.active_hours)


@dataclass(frozen=True, slots=True)
class Reference:
    """What a volume is compared against: the busy-hour baseline of principal and roles."""

    records: float | None
    bytes: float | None


class VolumeBaselines:
    """Rolling one-hour volumes per principal; hourly histories per principal and role."""

    def __init__(
        self, *, min_own_hours: int = 12, min_role_hours: int = 24, few_hours: int = 2
    ) -> None:
        self.min_own_hours = min_own_hours
        self.min_role_hours = min_role_hours
        self.few_hours = few_hours
        self.principals: dict[str, Volume] = {}
        self.roles: dict[str, tuple[History, History]] = {}

    def add(
        self, principal: str, roles: tuple[str, ...], ts: float, records: int, nbytes: int, eid: str
    ) -> Volume:
        """Account one access; returns the principal's volume state after it."""
        hour = int(ts // HOUR)
        vol = self.principals.get(principal)
        if vol is None:
            vol = self.principals[principal] = Volume(hour)
        elif hour != vol.hour:
            self._close_hour(vol, roles, hour)
        vol.bucket_records += records
        vol.bucket_bytes += nbytes
        vol.recent.append((ts, records, nbytes, eid))
        vol.sum_records += records
        vol.sum_bytes += nbytes
        horizon = ts - HOUR
        recent = vol.recent
        while recent[0][0] < horizon:
            _, r, b, _ = recent.popleft()
            vol.sum_records -= r
            vol.sum_bytes -= b
        return vol

    def _close_hour(self, vol: Volume, roles: tuple[str, ...], hour: int) -> None:
        if vol.bucket_records or vol.bucket_bytes:
            vol.records.add(vol.bucket_records)
            vol.bytes.add(vol.bucket_bytes)
            vol.hours_of_day[vol.hour % 24] += 1
            vol.active_hours += 1
            for role in roles:
                pair = self.roles.get(role)
                if pair is None:
                    pair = self.roles[role] = (History(2000), History(2000))
                pair[0].add(vol.bucket_records)
                pair[1].add(vol.bucket_bytes)
        vol.hour, vol.bucket_records, vol.bucket_bytes = hour, 0, 0

    def reference(self, vol: Volume, roles: tuple[str, ...]) -> Reference:
        """The larger of the principal's and its roles' busy hour (``None``: no baseline yet).

        Exceeding a multiple of the larger one exceeds both: the principal's own history
        and what its role normally does.
        """
        records: list[float] = []
        nbytes: list[float] = []
        if len(vol.records) >= self.min_own_hours:
            records.append(vol.records.hi)
            nbytes.append(vol.bytes.hi)
        elif len(vol.records) >= self.few_hours:
            # Too few hours for a percentile (a workload that runs two hours a night): the
            # largest hour seen stands in, so its second night is judged by its first.
            records.append(max(vol.records.values))
            nbytes.append(max(vol.bytes.values))
        for role in roles:
            pair = self.roles.get(role)
            if pair is not None and len(pair[0]) >= self.min_role_hours:
                records.append(pair[0].hi)
                nbytes.append(pair[1].hi)
        return Reference(max(records) if records else None, max(nbytes) if nbytes else None)

    def forget(self, older_than: float) -> None:
        """Drop principals idle since ``older_than`` (their histories go with them)."""
        stale = [p for p, v in self.principals.items() if (v.hour + 1) * HOUR < older_than]
        for principal in stale:
            del self.principals[principal]
