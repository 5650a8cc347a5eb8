"""Synthetic data for the sample platform: customers, credit profiles and card transactions.

Everything is deterministic for a given seed and lazy: customers, profiles and
transactions are produced one at a time, so a million transactions take no more memory
than ten. Each customer and each customer's transactions come from their own random
stream (``random.Random`` seeded with the seed and the customer's index), so any slice
can be produced on its own and always comes out the same. Faker (``en_GB``, seeded the
same way) gives customers their names, addresses and phone numbers; transactions never
call it: merchants are drawn from pools built once.

About 1.5 % of transactions are fraud (``fraud_label`` 1), drawn from the pattern card
fraud shows: more often at night (UTC), abroad, online, in resaleable or hard-to-trace
categories (electronics, gift cards, crypto, gambling, cash) and for higher amounts. Some
legitimate customers travel, gamble or buy crypto, so no single feature gives fraud away:
a model has to learn the combination.

Card numbers are in the ``400000`` test range and pass the Luhn check; no real account
is behind them. Emails use the reserved ``example`` domains (RFC 2606).
"""

from __future__ import annotations

import math
import random
import re
from bisect import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import accumulate
from typing import Any, Final, NamedTuple

from faker import Faker

from zerotrust.vault.pan import luhn_sum

LOCALE: Final = "en_GB"
HOME_COUNTRY: Final = "GB"
PERIOD_START: Final = datetime(2025, 1, 1, tzinfo=UTC)  # transactions fall in 2025
PERIOD_DAYS: Final = 365
TEST_BIN: Final = "400000"  # Visa test range: Luhn-valid numbers with no account behind
CATEGORIES: Final = (
    "grocery",
    "restaurants",
    "transport",
    "fuel",
    "utilities",
    "shopping",
    "entertainment",
    "travel",
    "electronics",
    "cash",
    "gambling",
    "crypto",
    "gift_cards",
)
CHANNELS: Final = ("card_present", "online", "atm")
EMPLOYMENT: Final = ("employed", "self-employed", "retired", "student", "unemployed")

# Units of each currency per pound sterling (fixed, for realistic local amounts).
FX: Final[Mapping[str, float]] = {
    "GBP": 1.0, "EUR": 1.17, "USD": 1.27, "CHF": 1.12, "AED": 4.66, "TRY": 41.0,
    "PLN": 5.0, "CAD": 1.73, "AUD": 1.93, "BRL": 6.9, "MXN": 23.0, "NGN": 1950.0,
    "ZAR": 23.5, "INR": 106.0, "CNY": 9.2, "UAH": 52.0, "RON": 5.8, "THB": 44.0,
    "VND": 32000.0, "IDR": 20500.0, "PHP": 72.0, "JPY": 190.0, "SGD": 1.7,
}  # fmt: skip
CURRENCY: Final[Mapping[str, str]] = {
    "GB": "GBP", "FR": "EUR", "ES": "EUR", "IT": "EUR", "DE": "EUR", "IE": "EUR",
    "NL": "EUR", "PT": "EUR", "GR": "EUR", "US": "USD", "CH": "CHF", "AE": "AED",
    "TR": "TRY", "PL": "PLN", "CA": "CAD", "AU": "AUD", "BR": "BRL", "MX": "MXN",
    "NG": "NGN", "ZA": "ZAR", "IN": "INR", "CN": "CNY", "UA": "UAH", "RO": "RON",
    "TH": "THB", "VN": "VND", "ID": "IDR", "PH": "PHP", "JP": "JPY", "SG": "SGD",
}  # fmt: skip
# Where customers go on holiday, and where stolen card details get used: overlapping.
_TRAVEL: Final = (
    ("ES", 16), ("FR", 14), ("IT", 10), ("IE", 10), ("US", 10), ("DE", 8), ("NL", 6),
    ("PT", 6), ("GR", 5), ("TR", 4), ("CH", 3), ("AE", 3), ("PL", 3), ("JP", 1),
)  # fmt: skip
_FRAUD_COUNTRIES: Final = tuple(
    (c, 1)
    for c in (
        "US", "CA", "AU", "BR", "MX", "NG", "ZA", "IN", "CN", "UA", "RO", "TR", "TH",
        "VN", "ID", "PH", "AE", "NL", "DE", "SG",
    )
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Category:
    """Spending in one merchant category: how often, how much (log-normal), how paid."""

    weight: float  # share of an ordinary customer's transactions
    fraud_weight: float  # share of fraudulent transactions
    mean_gbp: float
    sigma: float
    online: float  # share paid online (the rest in person; cash is always at an ATM)
    mu: float = field(init=False)  # of the log: the mean of the amounts is ``mean_gbp``

    def __post_init__(self) -> None:
        object.__setattr__(self, "mu", math.log(self.mean_gbp) - self.sigma**2 / 2)


_SPEND: Final[Mapping[str, _Category]] = {
    "grocery": _Category(26, 2, 35, 0.6, 0.12),
    "restaurants": _Category(14, 2, 28, 0.6, 0.15),
    "transport": _Category(12, 0, 9, 0.7, 0.35),
    "fuel": _Category(7, 0, 55, 0.4, 0.0),
    "utilities": _Category(5, 0, 75, 0.5, 0.95),
    "shopping": _Category(12, 14, 48, 0.8, 0.5),
    "entertainment": _Category(7, 4, 30, 0.7, 0.6),
    "travel": _Category(4, 10, 280, 0.9, 0.85),
    "electronics": _Category(3, 22, 220, 0.9, 0.6),
    "cash": _Category(6, 10, 70, 0.6, 0.0),
    "gambling": _Category(1, 10, 25, 0.9, 0.95),
    "crypto": _Category(0.5, 12, 180, 1.0, 1.0),
    "gift_cards": _Category(1.5, 14, 40, 0.5, 0.7),
}
# Legitimate activity by UTC hour (daytime and evening) and fraud (the small hours).
_HOURS: Final = (
    1, .6, .4, .3, .3, .5, 1.5, 3, 5, 6, 6.5, 7, 8, 7, 6.5, 6.5, 7, 8, 8.5, 8, 7, 5, 3.5, 2,
)  # fmt: skip
_FRAUD_HOURS: Final = (7, 8, 8, 8, 7, 6, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 4, 5)
_SUFFIXES: Final[Mapping[str, tuple[str, ...]]] = {
    "grocery": ("Grocers", "Foods", "Market", "Fresh"),
    "restaurants": ("Kitchen", "Bistro", "Café", "Grill"),
    "transport": ("Travel", "Rail", "Cabs", "Buses"),
    "fuel": ("Fuel", "Petroleum", "Service Station"),
    "utilities": ("Energy", "Water", "Telecom", "Broadband"),
    "shopping": ("Stores", "Outfitters", "Home", "Boutique"),
    "entertainment": ("Cinemas", "Streaming", "Tickets", "Games"),
    "travel": ("Airways", "Hotels", "Holidays", "Car Hire"),
    "electronics": ("Electronics", "Digital", "Computers", "Phones"),
    "cash": ("Bank ATM", "Cash Machine"),
    "gambling": ("Bet", "Casino", "Bingo", "Poker"),
    "crypto": ("Crypto Exchange", "Coin", "Digital Assets"),
    "gift_cards": ("Gift Cards", "Vouchers"),
}
_DESCRIBE: Final[Mapping[str, str]] = {
    "card_present": "Card payment to",
    "online": "Online payment to",
    "atm": "Cash withdrawal at",
}
_EMAIL_DOMAINS: Final = ("example.com", "example.org", "example.net", "mail.example")
_MERCHANTS_PER_CATEGORY: Final = 40
_JOBS: Final = 400
_SAMPLE_WINDOW: Final = 200  # samples are picked among the first customers
_MAX_GBP: Final = 50_000.0  # one card payment, at most
_NOT_LETTERS = re.compile(r"[^a-z]")


@dataclass(frozen=True, slots=True)
class Customer:
    """A customer as given to the vault; the card number becomes a token there."""

    index: int
    name: str
    email: str
    phone: str
    date_of_birth: str
    address: str
    pan: str = field(repr=False)

    def values(self) -> dict[str, Any]:
        """The customer record's fields."""
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "date_of_birth": self.date_of_birth,
            "address": self.address,
            "pan": self.pan,
        }


@dataclass(frozen=True, slots=True)
class CreditProfile:
    """One customer's credit profile (an Experian-style score, 0-999)."""

    customer: int  # the customer's index
    score: int
    income: str  # yearly, GBP
    debt: str  # outstanding, GBP
    employment: str

    def values(self, customer_id: str) -> dict[str, Any]:
        return {
            "customer_id": customer_id,
            "score": self.score,
            "income": self.income,
            "debt": self.debt,
            "employment": self.employment,
        }


class Transaction(NamedTuple):
    """One card transaction; ``fraud_label`` 1 marks confirmed fraud (a tuple: there
    are a million of them)."""

    customer: int  # the customer's index
    amount: str
    currency: str
    merchant: str
    description: str
    category: str
    country: str
    occurred_at: str
    channel: str
    fraud_label: int

    def values(self, customer_id: str, card_token: str) -> dict[str, Any]:
        return {
            "customer_id": customer_id,
            "amount": self.amount,
            "currency": self.currency,
            "merchant": self.merchant,
            "description": self.description,
            "card_token": card_token,
            "category": self.category,
            "country": self.country,
            "occurred_at": self.occurred_at,
            "channel": self.channel,
            "fraud_label": self.fraud_label,
        }


@dataclass(frozen=True, slots=True)
class _Habits:
    """How one customer spends: cumulative category weights, travel and spending levels."""

    categories: Sequence[float]
    travel: float
    scale: float


class SyntheticData:
    """The platform's synthetic population: the same seed gives the same data.

    One instance serves one thread (it reseeds its Faker for each customer).
    """

    def __init__(
        self,
        *,
        customers: int = 10_000,
        transactions: int = 1_000_000,
        seed: int = 7,
        fraud_rate: float = 0.015,
    ) -> None:
        if customers < 1 or transactions < 0 or not 0.0 <= fraud_rate < 1.0:
            raise ValueError("At least one customer, no negative counts, a rate in [0, 1).")
        self.customers = customers
        self.transactions = transactions
        self.seed = seed
        self.fraud_rate = fraud_rate
        self._faker = Faker(LOCALE)

    def __repr__(self) -> str:
        return (
            f"SyntheticData(customers={self.customers}, transactions={self.transactions}, "
            f"seed={self.seed})"
        )

    def _rng(self, stream: str, index: int = 0) -> random.Random:
        # Reproducible on purpose: synthetic data, never keys or tokens.
        return random.Random(f"{self.seed}:{stream}:{index}")  # noqa: S311

    # --- customers -------------------------------------------------------------------

    def customer(self, index: int) -> Customer:
        """Customer ``index`` (0-based): Faker seeded for this customer alone."""
        if not 0 <= index < self.customers:
            raise IndexError(index)
        fake, rng = self._faker, self._rng("customer", index)
        fake.seed_instance(f"{self.seed}:customer:{index}")
        first, last = fake.first_name(), fake.last_name()
        local = f"{_NOT_LETTERS.sub('', first.lower())}.{_NOT_LETTERS.sub('', last.lower())}"
        phone = fake.cellphone_number() if rng.random() < 0.6 else fake.phone_number()
        born = PERIOD_START.date() - timedelta(days=rng.randrange(18 * 365, 85 * 365))
        return Customer(
            index=index,
            name=f"{first} {last}",
            email=f"{local}{index}@{rng.choice(_EMAIL_DOMAINS)}",
            phone=phone,
            date_of_birth=born.isoformat(),
            address=fake.address().replace("\n", ", "),
            pan=self._pan(index),
        )

    def iter_customers(self, start: int = 0, stop: int | None = None) -> Iterator[Customer]:
        """Customers ``start`` to ``stop`` (default: all), one at a time."""
        for index in range(start, self.customers if stop is None else stop):
            yield self.customer(index)

    def _pan(self, index: int) -> str:
        # An affine map of the index onto nine digits: distinct for every customer and
        # scattered across the range, so the numbers do not look sequential.
        offset = self._rng("pan").randrange(10**9)
        body = f"{TEST_BIN}{(index * 738_560_713 + offset) % 10**9:09d}"
        return body + str((10 - luhn_sum(body + "0")) % 10)

    # --- credit profiles -------------------------------------------------------------

    def credit_profile(self, index: int) -> CreditProfile:
        """The credit profile of customer ``index``."""
        rng = self._rng("credit", index)
        status = EMPLOYMENT[bisect(_EMPLOYMENT_CUM, rng.random() * _EMPLOYMENT_CUM[-1])]
        income = {"employed": 34_000, "self-employed": 38_000, "retired": 21_000}.get(
            status, 9_000
        ) * rng.lognormvariate(0, 0.45)
        debt = income * rng.betavariate(1.2, 4.0) * (1.5 if status == "unemployed" else 1.0)
        ratio = debt / income
        score = 960 - 700 * ratio + rng.gauss(0, 90) - (120 if status == "unemployed" else 0)
        job = self._jobs[rng.randrange(len(self._jobs))]
        employment = job if status in ("employed", "self-employed") else status.capitalize()
        if status == "self-employed":
            employment = f"Self-employed {job.lower()}"
        return CreditProfile(
            customer=index,
            score=min(999, max(0, round(score))),
            income=f"{income:.2f}",
            debt=f"{debt:.2f}",
            employment=employment,
        )

    def iter_credit_profiles(
        self, start: int = 0, stop: int | None = None
    ) -> Iterator[CreditProfile]:
        for index in range(start, self.customers if stop is None else stop):
            yield self.credit_profile(index)

    @cached_property
    def _jobs(self) -> list[str]:
        fake = Faker(LOCALE)
        fake.seed_instance(f"{self.seed}:jobs")
        return [fake.job() for _ in range(_JOBS)]

    # --- transactions ----------------------------------------------------------------

    @cached_property
    def counts(self) -> list[int]:
        """Transactions per customer: log-normal (a few very active cards, many quiet
        ones, some with none), summing exactly to ``transactions``."""
        rng = self._rng("activity")
        weights = list(accumulate(rng.lognormvariate(0, 1.2) for _ in range(self.customers)))
        total = weights[-1]
        bounds = [round(self.transactions * w / total) for w in weights]
        return [b - a for a, b in zip([0, *bounds], bounds, strict=False)]

    def transactions_of(self, index: int) -> Iterator[Transaction]:
        """Customer ``index``'s transactions in time order, drawn from its own stream."""
        count = self.counts[index]
        if not count:
            return
        rng = self._rng("transactions", index)
        habits = self._habits(rng)
        r, rate = rng.random, self.fraud_rate
        moments: list[tuple[int, int, int, bool]] = []
        for _ in range(count):
            fraud = r() < rate
            hours = _FRAUD_HOURS_CUM if fraud else _HOURS_CUM
            hour = bisect(hours, r() * hours[-1])
            moments.append((int(r() * PERIOD_DAYS), hour, int(r() * 3600), fraud))
        moments.sort()
        for day, hour, second, fraud in moments:
            stamp = f"{_DAYS[day]}T{hour:02d}:{second // 60:02d}:{second % 60:02d}Z"
            yield self._transaction(rng, index, habits, stamp, fraud)

    def iter_transactions(self, start: int = 0, stop: int | None = None) -> Iterator[Transaction]:
        """Every transaction of customers ``start`` to ``stop``, customer by customer."""
        for index in range(start, self.customers if stop is None else stop):
            yield from self.transactions_of(index)

    def _habits(self, rng: random.Random) -> _Habits:
        weights = {name: c.weight for name, c in _SPEND.items()}
        if rng.random() < 0.06:  # a regular, legitimate gambler
            weights["gambling"] *= 15
        if rng.random() < 0.05:  # buys crypto now and then
            weights["crypto"] *= 20
        if rng.random() < 0.08:  # a heavy online shopper of gadgets
            weights["electronics"] *= 4
        return _Habits(
            categories=list(accumulate(weights[c] for c in CATEGORIES)),
            travel=min(0.3, rng.lognormvariate(math.log(0.03), 0.8)),
            scale=rng.lognormvariate(0, 0.35),
        )

    def _transaction(
        self, rng: random.Random, index: int, habits: _Habits, stamp: str, fraud: bool
    ) -> Transaction:
        r = rng.random
        if fraud:
            category = CATEGORIES[bisect(_FRAUD_CATEGORIES, r() * _FRAUD_CATEGORIES[-1])]
            abroad = r() < 0.7
            pool = _FRAUD_POOL if r() < 0.8 else _TRAVEL_POOL
            online = r() < 0.85
            boost = 2.5
        else:
            category = CATEGORIES[bisect(habits.categories, r() * habits.categories[-1])]
            abroad = r() < habits.travel
            pool = _TRAVEL_POOL
            online = r() < _SPEND[category].online
            boost = habits.scale
        country = pool[0][bisect(pool[1], r() * pool[1][-1])] if abroad else HOME_COUNTRY
        spend = _SPEND[category]
        gbp = math.exp(spend.mu + spend.sigma * rng.gauss(0.0, 1.0)) * boost
        if category == "cash":
            channel, gbp = "atm", max(10.0, min(500.0, round(gbp, -1)))
        else:
            channel = "online" if online else "card_present"
        currency = CURRENCY[country]
        amount = min(_MAX_GBP, max(0.5, gbp)) * FX[currency]
        merchants = self._merchants[category]
        merchant = merchants[int(r() * len(merchants))]
        return Transaction(
            customer=index,
            amount=f"{amount:.2f}",
            currency=currency,
            merchant=merchant,
            description=f"{_DESCRIBE[channel]} {merchant}",
            category=category,
            country=country,
            occurred_at=stamp,
            channel=channel,
            fraud_label=int(fraud),
        )

    @cached_property
    def _merchants(self) -> dict[str, list[str]]:
        fake = Faker(LOCALE)
        fake.seed_instance(f"{self.seed}:merchants")
        rng = self._rng("merchants")
        out: dict[str, list[str]] = {}
        for category in CATEGORIES:
            names = {
                f"{fake.last_name()} {rng.choice(_SUFFIXES[category])}"
                for _ in range(_MERCHANTS_PER_CATEGORY)
            }
            out[category] = sorted(names)
        return out

    # --- samples for scenarios -------------------------------------------------------

    def samples(self) -> dict[str, int]:
        """Customer indexes worth a scenario, among the first customers: ``typical`` (a
        median spender without fraud), ``heavy`` (the most active), ``fraud_victim``
        (the first with a fraudulent transaction, if any) and ``thin_file`` (the lowest
        credit score)."""
        window = range(min(self.customers, _SAMPLE_WINDOW))
        counts = self.counts
        frauded = {i for i in window if any(t.fraud_label for t in self.transactions_of(i))}
        clean = [i for i in window if i not in frauded and counts[i]] or list(window)
        median = sorted(counts[i] for i in clean)[len(clean) // 2]
        picked = {
            "typical": min(clean, key=lambda i: (abs(counts[i] - median), i)),
            "heavy": max(window, key=lambda i: (counts[i], -i)),
            "thin_file": min(window, key=lambda i: (self.credit_profile(i).score, i)),
        }
        if frauded:
            picked["fraud_victim"] = min(frauded)
        return picked


def _cumulative(pairs: Sequence[tuple[str, float]]) -> tuple[tuple[str, ...], list[float]]:
    return tuple(p[0] for p in pairs), list(accumulate(p[1] for p in pairs))


_TRAVEL_POOL: Final = _cumulative(_TRAVEL)
_FRAUD_POOL: Final = _cumulative(_FRAUD_COUNTRIES)
_HOURS_CUM: Final = list(accumulate(_HOURS))
_FRAUD_HOURS_CUM: Final = list(accumulate(_FRAUD_HOURS))
_FRAUD_CATEGORIES: Final = list(accumulate(_SPEND[c].fraud_weight for c in CATEGORIES))
_EMPLOYMENT_CUM: Final = list(accumulate((70, 12, 8, 5, 5)))
_DAYS: Final = tuple(
    (PERIOD_START.date() + timedelta(days=d)).isoformat() for d in range(PERIOD_DAYS)
)
