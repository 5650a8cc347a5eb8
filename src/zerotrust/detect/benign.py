"""A normal day at a fintech, with the honest confounders detectors must live with.

Staff log in (with typos, forgotten passwords, the odd mistyped username, ignored push
prompts), work in one or two sessions a day from home, the office or a VPN, switch from
Wi-Fi to mobile data, get new laptops, travel abroad, stay late, are paged at night when
on call, hit a few denials after a role change, and pull big reports at quarter close.
An old device retries a stale password for hours. Workloads call their APIs around the
clock from pods whose addresses change, run nightly batches and gain a new call at a
deployment.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from zerotrust.detect.corpus import Attack, Emitter, Who
from zerotrust.detect.geo import centroids, haversine_km
from zerotrust.detect.population import (
    CATALOGUE,
    TRAVEL,
    IpPool,
    Population,
    Staff,
    Workload,
    device_id,
)

DAY = 86400.0
HOUR = 3600.0
EXTRA_CALLS = [("read", "merchant", 2.0, 1.0), ("read", "device_signal", 5.0, 1.0)]


def who(person: Staff) -> Who:
    return Who(person.name, "user", person.roles)


def records(rng: random.Random, median: float, sigma: float = 0.9) -> int:
    return 0 if median <= 0 else max(1, round(rng.lognormvariate(math.log(median), sigma)))


def login(
    em: Emitter, p: Staff, ts: float, ip: str, device: str, *, typo: float | None = None
) -> tuple[float, str]:
    """Password (maybe mistyped), then the second factor; returns (time, session id)."""
    rng, me = em.rng, who(p)
    if rng.random() < 0.005:  # a mistyped username
        em.emit(
            ts,
            "auth.password",
            Who(p.name + "x"),
            "failure",
            ip=ip,
            device=device,
            reason="unknown_user",
        )
        ts += rng.uniform(4, 15)
    typo = p.typo if typo is None else typo
    if rng.random() < 0.002:  # forgotten: several tries, then a reset
        for _ in range(rng.randint(4, 7)):
            em.emit(ts, "auth.password", me, "failure", ip=ip, device=device, reason="bad_password")
            ts += rng.uniform(8, 40)
        ts += rng.uniform(300, 1200)
    elif rng.random() < typo:
        for _ in range(rng.choices((1, 2, 3), weights=(80, 16, 4))[0]):
            em.emit(ts, "auth.password", me, "failure", ip=ip, device=device, reason="bad_password")
            ts += rng.uniform(4, 20)
    em.emit(ts, "auth.password", me, "success", ip=ip, device=device)
    return second_factor(em, p, ts + rng.uniform(5, 25), ip, device)


def second_factor(em: Emitter, p: Staff, ts: float, ip: str, device: str) -> tuple[float, str]:
    rng, me = em.rng, who(p)
    slips = 0
    if p.mfa == "push" and rng.random() < 0.05:
        slips = rng.choices((1, 2, 3), weights=(75, 20, 5))[0]
    elif p.mfa == "totp" and rng.random() < 0.04:
        slips = rng.choices((1, 2), weights=(90, 10))[0]
    for _ in range(slips):
        reason = "push_timeout" if p.mfa == "push" else "bad_otp"
        em.emit(
            ts, "auth.mfa", me, "failure", ip=ip, device=device, mfa_method=p.mfa, reason=reason
        )
        ts += rng.uniform(40, 70) if p.mfa == "push" else rng.uniform(6, 25)
    session = em.new_id("ses")
    em.emit(ts, "auth.mfa", me, "success", ip=ip, device=device, session=session, mfa_method=p.mfa)
    return ts, session


def work(
    em: Emitter,
    p: Staff,
    ts: float,
    hours: float,
    ip: str,
    device: str,
    session: str,
    *,
    rate: float | None = None,
) -> None:
    """A session's accesses; sometimes the network changes (once, or flapping twice)."""
    rng, me = em.rng, who(p)
    n = max(1, round(rng.gauss((rate or p.rate) * hours, 2)))
    times = sorted(ts + rng.uniform(1, hours * HOUR) for _ in range(n))
    switch_at, flap = _network_change(rng, times)
    denied_pair = rng.random() < 0.004
    for i, t in enumerate(times):
        here = p.mobile_ip if (switch_at is not None and i >= switch_at and i not in flap) else ip
        action, rtype, median, _ = rng.choices(
            CATALOGUE[p.role], [c[3] for c in CATALOGUE[p.role]]
        )[0]
        access(
            em,
            me,
            t,
            here,
            device,
            session,
            action,
            rtype,
            records(rng, median),
            outcome="denied" if denied_pair and i == n // 2 else "allowed",
        )


def _network_change(rng: random.Random, times: list[float]) -> tuple[int | None, set[int]]:
    if len(times) < 6 or rng.random() > 0.05:
        return None, set()
    at = rng.randrange(2, len(times) - 2)
    flap = {at + 1} if rng.random() < 0.2 else set()  # A → B → A → B: a flaky connection
    return at, flap


def access(
    em: Emitter,
    me: Who,
    ts: float,
    ip: str | None,
    device: str | None,
    session: str | None,
    action: str,
    rtype: str,
    n: int,
    *,
    outcome: str = "allowed",
    attack: Attack | None = None,
) -> str:
    rng = em.rng
    size = n * rng.randint(400, 1500) + rng.randint(300, 3000)
    return em.emit(
        ts,
        "access",
        me,
        outcome,
        ip=ip,
        device=device,
        session=session,
        action=action,
        resource_type=rtype,
        resource=f"{rtype}/{rng.getrandbits(32):08x}",
        records=n,
        bytes=size,
        attack=attack,
    )


class BenignDay:
    """Generates one day of everyone's ordinary activity."""

    def __init__(self, em: Emitter, pop: Population, pool: IpPool, start: float) -> None:
        self.em, self.rng, self.pop, self.pool, self.start = em, em.rng, pop, pool, start
        self.on_call = [p for p in pop.staff if p.on_call]

    def run(self, day: int) -> None:
        midnight = self.start + day * DAY
        date = datetime.fromtimestamp(midnight, tz=UTC)
        for person in self.pop.staff:
            self._person(person, day, midnight, date)
        if self.on_call:
            self._on_call(self.on_call[(day // 7) % len(self.on_call)], midnight)
        for workload in self.pop.workloads:
            self._workload(workload, midnight)

    def _person(self, p: Staff, day: int, midnight: float, date: datetime) -> None:
        rng = self.rng
        self._plan_trip(p, day)
        if p.trip is not None and day in (p.trip[1] + 1,):
            p.trip = None
            return  # flying home
        weekday = date.weekday() < 5
        if rng.random() < 0.04 or (not weekday and rng.random() > 0.08):
            return
        if rng.random() < 0.012:
            p.devices.append(device_id(rng))  # a new laptop or phone
        if rng.random() < 0.004:
            self._stale_device(p, midnight)
        ip, tz = self._where(p, day)
        begin = midnight + (p.start_hour - tz + rng.uniform(-0.5, 0.5)) * HOUR
        begin = max(begin, p.free_at)
        device = p.devices[-1]
        hours = rng.uniform(3.0, 4.5) if weekday else rng.uniform(0.3, 1.0)
        self._session(p, begin, hours, ip, device, date)
        if p.trip is not None and p.trip[0] < day and rng.random() < 0.3:
            self._phone(p, begin + rng.uniform(0.5, 3.0) * HOUR, date)
        if p.trip is not None and p.trip[0] == day:
            return  # leaves for the airport at lunch
        if weekday:
            self._session(
                p,
                begin + (hours + rng.uniform(0.5, 1.2)) * HOUR,
                rng.uniform(2.5, 4.0),
                ip,
                device,
                date,
            )
        if weekday and rng.random() < 0.05:  # working late
            self._session(
                p,
                midnight + (rng.uniform(20, 22.5) - tz) * HOUR,
                rng.uniform(0.3, 1.2),
                ip,
                device,
                date,
            )

    def _session(
        self, p: Staff, ts: float, hours: float, ip: str, device: str, date: datetime
    ) -> None:
        ts, session = login(self.em, p, ts, ip, device)
        work(self.em, p, ts, hours, ip, device, session)
        if self.rng.random() < 0.01:  # a role was narrowed: a few denials on familiar ground
            action, rtype, _, _ = self.rng.choice(CATALOGUE[p.role])
            for _ in range(self.rng.randint(2, 4)):
                ts += self.rng.uniform(10, 60)
                access(self.em, who(p), ts, ip, device, session, action, rtype, 0, outcome="denied")
        self._period_end(p, ts, ip, device, session, date)

    def _phone(self, p: Staff, ts: float, date: datetime) -> None:
        """Abroad, a quick look on the phone: its roaming data leaves from the home country
        while the laptop sits on hotel Wi-Fi (a confounder the detectors were not built
        around: two devices, two countries, minutes apart)."""
        phone = f"dev_phone_{p.name}"
        self._session(p, ts, self.rng.uniform(0.05, 0.2), p.mobile_ip, phone, date)

    def _period_end(
        self, p: Staff, ts: float, ip: str, device: str, session: str, date: datetime
    ) -> None:
        """Quarter close for compliance, month end for finance: big but legitimate pulls."""
        rng, nxt = self.rng, date.toordinal() + 1
        month_end = datetime.fromordinal(nxt).day == 1
        quarter_end = month_end and date.month in (3, 6, 9, 12)
        if p.role == "compliance" and quarter_end:
            calls, median, kinds = rng.randint(6, 15), 6000, ("audit_log", "report")
        elif p.role == "finance" and month_end:
            calls, median, kinds = rng.randint(5, 10), 2500, ("ledger", "report")
        else:
            return
        for _ in range(calls):
            ts += rng.uniform(300, 900)
            access(
                self.em,
                who(p),
                ts,
                ip,
                device,
                session,
                "export",
                rng.choice(kinds),
                records(rng, median, 0.5),
            )

    def _where(self, p: Staff, day: int) -> tuple[str, float]:
        if p.trip is not None and p.trip[0] < day <= p.trip[1]:
            return p.trip[4], p.trip[3]
        if p.vpn_ip is not None and self.rng.random() < 0.5:
            return p.vpn_ip, p.tz
        return (p.office_ip if self.rng.random() < p.office_days else p.home_ip), p.tz

    def _plan_trip(self, p: Staff, day: int) -> None:
        if not p.traveller or p.trip is not None or self.rng.random() > 0.06:
            return
        country, tz = self.rng.choice([t for t in TRAVEL if t[0] != p.country])
        p.trip = (day, day + self.rng.randint(2, 4), country, tz, self.pool.pick(country))
        # Leaves after the morning's work; lands after the flight and the airport.
        table = centroids()
        flight_h = haversine_km(table[p.country], table[country]) / 800 + 2
        p.free_at = self.start + day * DAY + (p.start_hour - p.tz + 6 + flight_h) * HOUR

    def _stale_device(self, p: Staff, midnight: float) -> None:
        """An old laptop still holding last quarter's password retries it for hours."""
        rng = self.rng
        ts = midnight + rng.uniform(8, 16) * HOUR
        old = f"dev_stale_{p.name}"
        for _ in range(rng.randint(6, 30)):
            self.em.emit(
                ts,
                "auth.password",
                who(p),
                "failure",
                ip=p.home_ip,
                device=old,
                reason="bad_password",
            )
            ts += rng.uniform(240, 720)

    def _on_call(self, p: Staff, midnight: float) -> None:
        """A page at night: a sleepy login and some digging through logs and metrics."""
        rng = self.rng
        if rng.random() > 0.3:
            return
        ts = midnight + (rng.uniform(0.5, 5.0) - p.tz) * HOUR
        ts, session = login(self.em, p, ts, p.home_ip, p.devices[-1], typo=0.15)
        work(self.em, p, ts, rng.uniform(0.4, 1.5), p.home_ip, p.devices[-1], session)

    def _workload(self, w: Workload, midnight: float) -> None:
        rng, me = self.rng, Who(w.name, "service", (w.role,))
        begin, end = midnight + w.hours[0] * HOUR, midnight + w.hours[1] * HOUR
        restart = rng.uniform(begin, end)
        if rng.random() < 0.02:  # a deployment adds one call to the workload's repertoire
            w.calls.append(EXTRA_CALLS[len(w.calls) % len(EXTRA_CALLS)])
        if rng.random() < 0.01:  # moved to another cluster network: not designed for either
            w.subnet = f"10.{rng.randint(30, 99)}.{rng.randint(0, 255)}"
        ts, next_token = begin, begin
        while True:
            ts += rng.expovariate(1.0 / w.period_s)
            if ts >= end:
                return
            if ts >= restart:
                w.pod, restart = rng.randint(10, 250), end  # autoscaled: a new pod address
            if ts >= next_token:
                self._token(w, me, ts)
                next_token = ts + HOUR
            action, rtype, median, _ = rng.choices(w.calls, [c[3] for c in w.calls])[0]
            access(self.em, me, ts, w.ip, None, None, action, rtype, records(rng, median, 0.5))

    def _token(self, w: Workload, me: Who, ts: float) -> None:
        if self.rng.random() < 0.003:  # a rotated secret not yet rolled out everywhere
            self.em.emit(ts - 2, "auth.client", me, "failure", ip=w.ip, reason="invalid_client")
        self.em.emit(ts - 1, "auth.client", me, "success", ip=w.ip)
