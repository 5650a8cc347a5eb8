"""Who lives in a simulated fintech: staff with roles, homes and habits; AI workloads.

Everything is drawn from one seeded ``random.Random``, so a seed is a corpus. Public
addresses are drawn at random and kept only if the offline geo database places them in
the wanted country, so the corpus and the detectors agree on where everyone is.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

from zerotrust.core.errors import ConfigError
from zerotrust.detect.geo import CountryGeo

FIRST = (
    "alex",
    "amira",
    "ben",
    "chloe",
    "dev",
    "elena",
    "farah",
    "george",
    "hana",
    "ivan",
    "jade",
    "kofi",
    "lena",
    "marco",
    "nadia",
    "omar",
    "priya",
    "quinn",
    "rosa",
    "sam",
    "tara",
    "uma",
    "victor",
    "wren",
    "xavier",
    "yara",
    "zane",
    "aisha",
    "bruno",
    "carmen",
    "dmitri",
    "esther",
    "felix",
    "grace",
    "hugo",
    "iris",
    "jonas",
    "keira",
    "liam",
    "maya",
    "noah",
    "olga",
    "pablo",
    "ruth",
    "sofia",
    "theo",
)
LAST = (
    "adams",
    "baker",
    "chen",
    "diaz",
    "evans",
    "fischer",
    "garcia",
    "hughes",
    "ito",
    "jones",
    "khan",
    "lopez",
    "morgan",
    "nowak",
    "okafor",
    "patel",
    "quinn",
    "rossi",
    "silva",
    "taylor",
    "usman",
    "varga",
    "walsh",
    "xu",
    "young",
    "zhou",
    "brennan",
    "cohen",
    "dubois",
    "eriksen",
    "fontaine",
    "gallagher",
    "hansen",
    "ivanova",
    "jensen",
    "kowalski",
    "larsen",
    "murphy",
    "novak",
)

# role → [(action, resource type, median records per call, weight)]
CATALOGUE: dict[str, list[tuple[str, str, float, float]]] = {
    "analyst": [
        ("read", "transaction", 25, 5),
        ("read", "customer", 4, 3),
        ("read", "report", 150, 2),
        ("query", "model_output", 80, 2),
        ("export", "report", 400, 0.3),
    ],
    "support": [
        ("read", "customer", 1, 6),
        ("update", "customer", 1, 2),
        ("read", "transaction", 8, 4),
        ("read", "card_token", 1, 1),
    ],
    "engineer": [
        ("read", "logs", 300, 4),
        ("read", "metrics", 60, 4),
        ("read", "model", 1, 2),
        ("deploy", "model", 0, 0.3),
        ("read", "feature_store", 500, 1),
    ],
    "compliance": [
        ("read", "audit_log", 400, 4),
        ("read", "report", 600, 3),
        ("read", "customer", 15, 2),
        ("export", "audit_log", 1500, 0.5),
    ],
    "finance": [
        ("read", "ledger", 150, 5),
        ("read", "report", 250, 3),
        ("export", "ledger", 900, 0.5),
        ("approve", "payout", 1, 1),
    ],
    "admin": [
        ("read", "principal", 5, 4),
        ("grant", "role", 1, 1),
        ("read", "policy", 2, 2),
        ("read", "audit_log", 100, 2),
    ],
    "executive": [("read", "report", 40, 5), ("read", "dashboard", 10, 5)],
}
STAFF_ROLES = (
    ("analyst", 0.30),
    ("support", 0.22),
    ("engineer", 0.16),
    ("compliance", 0.06),
    ("finance", 0.12),
    ("admin", 0.04),
    ("executive", 0.10),
)
HOMES = (("GB", 0.0, 0.6), ("US", -5.0, 0.2), ("IE", 0.0, 0.1), ("DE", 1.0, 0.1))
TRAVEL = (("US", -5.0), ("SG", 8.0), ("AE", 4.0), ("FR", 1.0), ("JP", 9.0), ("DE", 1.0))
ATTACKER_COUNTRIES = ("RU", "CN", "BR", "NG", "VN", "IN", "ID", "RO", "UA", "KR", "TR", "AR")
RESERVED = (ipaddress.ip_network("100.64.0.0/10"), ipaddress.ip_network("198.18.0.0/15"))


class IpPool:
    """Random public IPv4 addresses placed by the geo database in a wanted country."""

    def __init__(self, rng: random.Random, geo: CountryGeo | None = None) -> None:
        self.rng = rng
        self.geo = geo or CountryGeo(cache_size=1)

    def pick(self, country: str, *, tries: int = 400_000) -> str:
        for _ in range(tries):
            ip = ipaddress.IPv4Address(self.rng.getrandbits(32))
            if not ip.is_global or ip.is_multicast or any(ip in n for n in RESERVED):
                continue
            if self.geo.country(str(ip)) == country:
                return str(ip)
        raise ConfigError(f"no address found for country {country}")


@dataclass
class Staff:
    name: str
    role: str
    country: str
    tz: float  # local time minus UTC, hours
    home_ip: str
    mobile_ip: str
    office_ip: str
    devices: list[str]
    mfa: str  # totp | webauthn | push
    start_hour: float  # local
    rate: float  # accesses per hour at work
    office_days: float  # share of workdays in the office
    typo: float
    traveller: bool = False
    vpn_ip: str | None = None
    on_call: bool = False
    trip: tuple[int, int, str, float, str] | None = None  # (from day, to day, country, tz, ip)
    free_at: float = 0.0  # no activity before (in flight)

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.role,)


@dataclass
class Workload:
    name: str
    role: str
    subnet: str  # "10.20.1"
    calls: list[tuple[str, str, float, float]]  # (action, type, median records, weight)
    period_s: float  # mean seconds between calls while active
    hours: tuple[int, int] = (0, 24)  # active UTC hours [from, to)
    pod: int = 10
    seen: list[str] = field(default_factory=list)

    @property
    def ip(self) -> str:
        return f"{self.subnet}.{self.pod}"


@dataclass
class Population:
    staff: list[Staff]
    workloads: list[Workload]
    offices: dict[str, str]
    unknown_names: list[str]


def device_id(rng: random.Random) -> str:
    return f"dev_{rng.getrandbits(64):016x}"


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def build_population(rng: random.Random, pool: IpPool, *, staff: int) -> Population:
    offices = {c: pool.pick(c) for c, _, _ in HOMES}
    names = sorted({f"{f}.{last}" for f in FIRST for last in LAST})
    rng.shuffle(names)
    people = [_staff(rng, pool, names[i], offices) for i in range(staff)]
    engineers = [p for p in people if p.role == "engineer"]
    for p in engineers[: max(1, len(engineers) // 3)]:
        p.on_call = True
    unknown = [n.replace(".", "") + str(rng.randint(1, 99)) for n in names[staff : staff + 400]]
    return Population(people, _workloads(), offices, unknown)


def _staff(rng: random.Random, pool: IpPool, name: str, offices: dict[str, str]) -> Staff:
    role = _weighted(rng, STAFF_ROLES)
    country, tz, _ = rng.choices(HOMES, weights=[w for _, _, w in HOMES])[0]
    traveller = role == "executive" or rng.random() < 0.06
    vpn = pool.pick(rng.choice(("US", "NL"))) if rng.random() < 0.05 else None
    return Staff(
        name=name,
        role=role,
        country=country,
        tz=tz,
        home_ip=pool.pick(country),
        mobile_ip=pool.pick(country),
        office_ip=offices[country],
        devices=[device_id(rng)],
        mfa=rng.choices(("totp", "webauthn", "push"), weights=(5, 3, 2))[0],
        start_hour=rng.uniform(7.5, 10.0),
        rate=rng.uniform(3.0, 9.0),
        office_days=rng.uniform(0.1, 0.8),
        typo=rng.uniform(0.02, 0.10),
        traveller=traveller,
        vpn_ip=vpn,
    )


def _workloads() -> list[Workload]:
    fraud: list[tuple[str, str, float, float]] = [
        ("score", "transaction", 3, 10),
        ("read", "feature_store", 40, 1),
    ]
    return [
        *(
            Workload(f"svc-fraud-model-{i}", "fraud-model", "10.20.1", fraud, 45.0)
            for i in (1, 2, 3)
        ),
        Workload(
            "svc-credit-model",
            "credit-model",
            "10.20.2",
            [("read", "credit_profile", 1, 3), ("score", "application", 1, 2)],
            90.0,
        ),
        Workload(
            "svc-kyc",
            "kyc",
            "10.20.3",
            [("read", "customer", 1, 2), ("read", "document", 1, 2), ("verify", "identity", 1, 1)],
            150.0,
            hours=(7, 20),
        ),
        Workload(
            "svc-notifier",
            "notifier",
            "10.20.4",
            [("read", "customer", 1, 1), ("send", "notification", 1, 2)],
            180.0,
            hours=(6, 23),
        ),
        Workload(
            "svc-reporting",
            "reporting",
            "10.20.5",
            [("read", "transaction", 800, 2), ("write", "report", 1, 1)],
            900.0,
        ),
        Workload(
            "svc-etl",
            "etl",
            "10.20.6",
            [("read", "transaction", 30_000, 3), ("read", "customer", 8_000, 1)],
            120.0,
            hours=(1, 3),
        ),
    ]
