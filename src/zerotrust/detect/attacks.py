"""Injected attacks, one generator per class, each labelling exactly the attacker's events.

Variants keep the classes honest: spraying from one address or many, brute force from a
botnet, a stolen password tried from abroad or from a local address, a hijacked workload
calling from outside or from inside its own network, a replayed session with no device,
another device or a cloned one. Where an attack needs its victim to be active (impossible
travel, session replay, exfiltration), the victim's own activity is generated too and
labelled benign.
"""

from __future__ import annotations

from collections.abc import Callable

from zerotrust.detect.benign import access, login, records, who
from zerotrust.detect.corpus import Attack, Emitter, Who
from zerotrust.detect.geo import centroids, haversine_km
from zerotrust.detect.population import (
    ATTACKER_COUNTRIES,
    CATALOGUE,
    IpPool,
    Population,
    Staff,
    device_id,
)

HOUR = 3600.0
PROBES = [
    ("grant", "role"),
    ("read", "signing_key"),
    ("update", "policy"),
    ("export", "customer"),
    ("approve", "payout"),
    ("read", "principal"),
    ("delete", "audit_log"),
    ("read", "card_pan"),
    ("update", "limits"),
    ("read", "vault_key"),
    ("create", "service_account"),
]
MISUSE = [
    ("export", "customer"),
    ("read", "credit_profile"),
    ("read", "card_token"),
    ("list", "principal"),
    ("read", "ledger"),
    ("export", "transaction"),
    ("read", "document"),
]


class Attacker:
    """Generates attacks of every class into an ``Emitter``."""

    def __init__(self, em: Emitter, pop: Population, pool: IpPool) -> None:
        self.em, self.rng, self.pop, self.pool = em, em.rng, pop, pool
        self._ips: dict[str, list[str]] = {}
        self.generators: dict[str, Callable[[Attack, float], None]] = {
            "brute_force": self.brute_force,
            "password_spraying": self.password_spraying,
            "credential_stuffing": self.credential_stuffing,
            "stolen_password": self.stolen_password,
            "impossible_travel": self.impossible_travel,
            "mfa_fatigue": self.mfa_fatigue,
            "bulk_exfiltration": self.bulk_exfiltration,
            "privilege_probing": self.privilege_probing,
            "workload_misuse": self.workload_misuse,
            "session_replay": self.session_replay,
        }

    # -- helpers ---------------------------------------------------------------------

    def foreign_ip(self, far_from: str | None = None) -> str:
        """An address in an attacker country (at least 3,000 km from ``far_from``)."""
        table = centroids()
        countries = [
            c
            for c in ATTACKER_COUNTRIES
            if far_from is None or haversine_km(table[c], table[far_from]) > 3000
        ]
        country = self.rng.choice(countries)
        pool = self._ips.get(country)
        if pool is None:
            pool = self._ips[country] = [self.pool.pick(country) for _ in range(12)]
        return self.rng.choice(pool)

    def victim(self, roles: tuple[str, ...] | None = None) -> Staff:
        people = [p for p in self.pop.staff if roles is None or p.role in roles]
        return self.rng.choice(people)

    def _start(self, p: Staff, midnight: float) -> float:
        """During the victim's working day."""
        return midnight + (p.start_hour - p.tz + self.rng.uniform(0.5, 6.0)) * HOUR

    # -- credential attacks ----------------------------------------------------------

    def brute_force(self, atk: Attack, midnight: float) -> None:
        rng, p = self.rng, self.victim()
        atk.principal = p.name
        n_ips = 1 if rng.random() < 0.8 else rng.randint(3, 5)
        ips = [self.foreign_ip() for _ in range(n_ips)]
        ts = midnight + rng.uniform(0, 23) * HOUR
        for i in range(rng.randint(12, 40)):
            reason = "bad_password" if i < 10 else "account_locked"
            self.em.emit(
                ts,
                "auth.password",
                who(p),
                "failure",
                ip=rng.choice(ips),
                reason=reason,
                attack=atk,
            )
            ts += rng.uniform(1, 6)

    def password_spraying(self, atk: Attack, midnight: float) -> None:
        rng = self.rng
        distributed = rng.random() < 0.3
        ips = [self.foreign_ip() for _ in range(rng.randint(5, 10) if distributed else 1)]
        k = rng.randint(20, 45) if distributed else rng.randint(10, 40)
        names = [p.name for p in rng.sample(self.pop.staff, min(k, len(self.pop.staff)))]
        ts = midnight + rng.uniform(0, 23) * HOUR
        gap = (60.0, 240.0) if rng.random() < 0.1 else (1.0, 10.0)  # low and slow, or not
        for name in names:
            unknown = rng.random() < 0.1
            for _ in range(1 if rng.random() < 0.8 else 2):
                self.em.emit(
                    ts,
                    "auth.password",
                    Who(name + "1" if unknown else name),
                    "failure",
                    ip=rng.choice(ips),
                    reason="unknown_user" if unknown else "bad_password",
                    attack=atk,
                )
                ts += rng.uniform(*gap)

    def credential_stuffing(self, atk: Attack, midnight: float) -> None:
        rng = self.rng
        ips = [self.foreign_ip() for _ in range(rng.randint(10, 40))]
        share = rng.uniform(0.5, 0.8)
        ts = midnight + rng.uniform(0, 23) * HOUR
        for _ in range(rng.randint(40, 150)):
            ip = rng.choice(ips)
            if rng.random() < share:
                self.em.emit(
                    ts,
                    "auth.password",
                    Who(rng.choice(self.pop.unknown_names)),
                    "failure",
                    ip=ip,
                    reason="unknown_user",
                    attack=atk,
                )
            elif rng.random() < 0.03:  # a reused password works; the second factor stops it
                p = self.victim()
                self.em.emit(ts, "auth.password", who(p), "success", ip=ip, attack=atk)
                self.em.emit(
                    ts + rng.uniform(5, 20),
                    "auth.mfa",
                    who(p),
                    "failure",
                    ip=ip,
                    mfa_method="totp",
                    reason="bad_otp",
                    attack=atk,
                )
            else:
                self.em.emit(
                    ts,
                    "auth.password",
                    who(self.victim()),
                    "failure",
                    ip=ip,
                    reason="bad_password",
                    attack=atk,
                )
            ts += rng.uniform(0.3, 3.0)

    def stolen_password(self, atk: Attack, midnight: float) -> None:
        rng, p = self.rng, self.victim()
        atk.principal = p.name
        r = rng.random()
        ip = self.foreign_ip(p.country) if r < 0.5 or r >= 0.8 else self.pool.pick(p.country)
        device = None if r < 0.5 else device_id(rng)
        ts = midnight + rng.uniform(0, 23) * HOUR
        self.em.emit(ts, "auth.password", who(p), "success", ip=ip, device=device, attack=atk)
        method = "totp" if p.mfa == "webauthn" else p.mfa
        reason = "push_denied" if method == "push" else "bad_otp"
        # Some give up after one wrong code; from a local address that looks like a typo
        # on a new laptop, and is missed (by design: see docs/detection.md).
        for _ in range(1 if rng.random() < 0.15 else rng.randint(2, 4)):
            ts += rng.uniform(10, 35)
            self.em.emit(
                ts,
                "auth.mfa",
                who(p),
                "failure",
                ip=ip,
                device=device,
                mfa_method=method,
                reason=reason,
                attack=atk,
            )

    def mfa_fatigue(self, atk: Attack, midnight: float) -> None:
        rng, p = self.rng, self.victim()
        atk.principal = p.name
        ip = self.foreign_ip(p.country)
        ts = midnight + rng.uniform(0, 23) * HOUR
        self.em.emit(ts, "auth.password", who(p), "success", ip=ip, attack=atk)
        last = ts
        for _ in range(rng.randint(6, 20)):
            ts += rng.uniform(5, 25)
            denied = rng.random() < 0.6
            answered = ts + (rng.uniform(2, 12) if denied else 60.0)
            last = max(last, answered)
            self.em.emit(
                answered,
                "auth.mfa",
                who(p),
                "failure",
                ip=ip,
                mfa_method="push",
                reason="push_denied" if denied else "push_timeout",
                attack=atk,
            )
        if rng.random() < 0.3:  # the owner gives in
            session = self.em.new_id("ses")
            ts = last + rng.uniform(3, 20)
            self.em.emit(
                ts,
                "auth.mfa",
                who(p),
                "success",
                ip=ip,
                session=session,
                mfa_method="push",
                attack=atk,
            )
            for _ in range(rng.randint(3, 8)):
                ts += rng.uniform(5, 60)
                access(self.em, who(p), ts, ip, None, session, "read", "customer", 20, attack=atk)

    # -- attacks on a live victim ----------------------------------------------------

    def impossible_travel(self, atk: Attack, midnight: float) -> None:
        rng, p = self.rng, self.victim()
        atk.principal = p.name
        ts = self._start(p, midnight)
        ts, session = login(self.em, p, ts, p.home_ip, p.devices[-1])
        access(self.em, who(p), ts + 30, p.home_ip, p.devices[-1], session, "read", "report", 40)
        ts += rng.uniform(10, 90) * 60  # a relayed (adversary-in-the-middle) login
        ip = self.foreign_ip(p.country)
        self.em.emit(ts, "auth.password", who(p), "success", ip=ip, attack=atk)
        ts += rng.uniform(5, 20)
        stolen = self.em.new_id("ses")
        self.em.emit(
            ts, "auth.mfa", who(p), "success", ip=ip, session=stolen, mfa_method=p.mfa, attack=atk
        )
        for _ in range(rng.randint(3, 10)):
            ts += rng.uniform(5, 60)
            access(self.em, who(p), ts, ip, None, stolen, "read", "customer", 15, attack=atk)

    def session_replay(self, atk: Attack, midnight: float) -> None:
        rng, p = self.rng, self.victim()
        atk.principal = p.name
        ts, session = login(self.em, p, self._start(p, midnight), p.home_ip, p.devices[-1])
        catalogue = CATALOGUE[p.role]
        for _ in range(rng.randint(20, 40)):  # the owner keeps working, briskly
            t = ts + rng.uniform(0, 3600)
            action, rtype, median, _ = rng.choice(catalogue)
            access(
                self.em,
                who(p),
                t,
                p.home_ip,
                p.devices[-1],
                session,
                action,
                rtype,
                records(rng, median),
            )
        r = rng.random()
        device = None if r < 0.7 else device_id(rng) if r < 0.9 else p.devices[-1]
        ip = self.foreign_ip(p.country) if rng.random() < 0.7 else self.pool.pick(p.country)
        ts += rng.uniform(5, 30) * 60
        for _ in range(rng.randint(5, 20)):
            action, rtype, median, _ = rng.choice(catalogue)
            access(
                self.em,
                who(p),
                ts,
                ip,
                device,
                session,
                action,
                rtype,
                records(rng, median),
                attack=atk,
            )
            ts += rng.uniform(5, 90)

    def bulk_exfiltration(self, atk: Attack, midnight: float) -> None:
        rng = self.rng
        p = self.victim(("analyst", "support", "finance", "compliance", "engineer"))
        atk.principal = p.name
        night = rng.random() < 0.3
        ts = midnight + (rng.uniform(1, 4) - p.tz) * HOUR if night else self._start(p, midnight)
        ts, session = login(self.em, p, ts, p.home_ip, p.devices[-1])
        rtype = rng.choice([c[1] for c in CATALOGUE[p.role]])
        for _ in range(rng.randint(8, 30)):
            ts += rng.uniform(5, 40)
            access(
                self.em,
                who(p),
                ts,
                p.home_ip,
                p.devices[-1],
                session,
                "export",
                rtype,
                rng.randint(5_000, 40_000),
                attack=atk,
            )

    def privilege_probing(self, atk: Attack, midnight: float) -> None:
        rng, p = self.rng, self.victim()
        atk.principal = p.name
        ts, session = login(self.em, p, self._start(p, midnight), p.home_ip, p.devices[-1])
        known = {(c[0], c[1]) for c in CATALOGUE[p.role]}
        if rng.random() < 0.3:  # enumerating other customers' records (IDOR/BOLA)
            probes, gap = [CATALOGUE[p.role][0][:2]] * rng.randint(12, 30), (1.0, 8.0)
        else:
            novel = [pr for pr in PROBES if pr not in known]
            probes, gap = [rng.choice(novel) for _ in range(rng.randint(8, 25))], (2.0, 15.0)
        for action, rtype in probes:
            ts += rng.uniform(*gap)
            access(
                self.em,
                who(p),
                ts,
                p.home_ip,
                p.devices[-1],
                session,
                action,
                rtype,
                0,
                outcome="denied",
                attack=atk,
            )

    def workload_misuse(self, atk: Attack, midnight: float) -> None:
        rng = self.rng
        w = rng.choice([w for w in self.pop.workloads if w.hours == (0, 24)])
        atk.principal = w.name
        me = Who(w.name, "service", (w.role,))
        ts = midnight + rng.uniform(0, 23) * HOUR
        outside = rng.random() < 0.6
        ip = self.foreign_ip() if outside else f"{w.subnet}.{rng.randint(10, 250)}"
        if outside:
            self.em.emit(ts, "auth.client", me, "success", ip=ip, attack=atk)
        own = [(c[0], c[1]) for c in w.calls]
        calls = rng.sample([m for m in MISUSE if m not in own], rng.randint(3, 5))
        for _ in range(rng.randint(5, 20)):
            ts += rng.uniform(5, 40)
            action, rtype = rng.choice(calls if rng.random() < 0.7 else own)
            access(
                self.em,
                me,
                ts,
                ip,
                None,
                None,
                action,
                rtype,
                rng.randint(1, 500),
                outcome="allowed" if rng.random() < 0.5 else "denied",
                attack=atk,
            )
