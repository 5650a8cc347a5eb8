"""The synthetic population: deterministic, valid for the vault, lazy, and learnable fraud."""

from __future__ import annotations

import re
import statistics
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import islice

import pytest

from zerotrust.demo.data import (
    CATEGORIES,
    CHANNELS,
    CURRENCY,
    FX,
    PERIOD_DAYS,
    PERIOD_START,
    TEST_BIN,
    SyntheticData,
    Transaction,
)
from zerotrust.vault.blind_index import normalize_email, normalize_phone
from zerotrust.vault.pan import luhn_sum, validate_pan

DECIMAL = re.compile(r"^[0-9]{1,15}\.[0-9]{2}$")
RISKY = {"electronics", "gift_cards", "crypto", "gambling", "cash"}
DOMAINS = {"example.com", "example.org", "example.net", "mail.example"}


@pytest.fixture(scope="module")
def sample() -> list[Transaction]:
    return list(SyntheticData(customers=300, transactions=40_000).iter_transactions())


def test_the_same_seed_gives_the_same_data() -> None:
    a, b = (
        SyntheticData(customers=30, transactions=900),
        SyntheticData(customers=30, transactions=900),
    )
    assert list(a.iter_customers()) == list(b.iter_customers())
    assert list(a.iter_credit_profiles()) == list(b.iter_credit_profiles())
    assert list(a.iter_transactions()) == list(b.iter_transactions())
    assert a.samples() == b.samples()


def test_another_seed_gives_other_data() -> None:
    a = SyntheticData(customers=30, transactions=900, seed=7)
    b = SyntheticData(customers=30, transactions=900, seed=8)
    assert a.customer(0) != b.customer(0)
    assert list(a.iter_transactions()) != list(b.iter_transactions())


def test_any_slice_comes_out_the_same_on_its_own() -> None:
    data = SyntheticData(customers=50, transactions=2_000)
    everyone = list(data.iter_customers())
    assert (
        list(SyntheticData(customers=50, transactions=2_000).iter_customers(20, 25))
        == (everyone[20:25])
    )
    fresh = SyntheticData(customers=50, transactions=2_000)
    assert list(fresh.transactions_of(33)) == [
        t for t in data.iter_transactions() if t.customer == 33
    ]


def test_card_numbers_are_distinct_luhn_valid_test_numbers() -> None:
    data = SyntheticData(customers=3_000, transactions=0)
    pans = [data.customer(i).pan for i in range(data.customers)]
    assert len(set(pans)) == len(pans)
    for pan in pans:
        assert validate_pan(pan) == pan
        assert luhn_sum(pan) == 0
        assert pan.startswith(TEST_BIN)
        assert len(pan) == 16


def test_customers_pass_the_vaults_checks() -> None:
    for customer in SyntheticData(customers=300, transactions=0).iter_customers():
        assert normalize_email(customer.email).rsplit("@", 1)[1] in DOMAINS
        normalize_phone(customer.phone)
        born = date.fromisoformat(customer.date_of_birth)
        assert 18 <= (PERIOD_START.date() - born).days // 365 <= 85
        assert "\n" not in customer.address
        assert 0 < len(customer.address) <= 500
        assert 0 < len(customer.name) <= 200
        assert "pan" in customer.values()
        assert customer.pan not in repr(customer)


def test_credit_profiles_are_plausible() -> None:
    data = SyntheticData(customers=500, transactions=0)
    profiles = list(data.iter_credit_profiles())
    assert [p.customer for p in profiles] == list(range(500))
    for p in profiles:
        assert 0 <= p.score <= 999
        assert DECIMAL.match(p.income)
        assert DECIMAL.match(p.debt)
        assert 0 < len(p.employment) <= 200
    assert len({p.score for p in profiles}) > 200
    assert profiles[0].values("cus_1")["customer_id"] == "cus_1"


def test_transactions_are_valid(sample: list[Transaction]) -> None:
    end = PERIOD_START.timestamp() + PERIOD_DAYS * 86_400
    for t in sample:
        assert DECIMAL.match(t.amount)
        assert float(t.amount) > 0
        assert t.currency == CURRENCY[t.country]
        assert t.currency in FX
        assert re.fullmatch(r"[A-Z]{2}", t.country)
        assert t.category in CATEGORIES
        assert t.channel in CHANNELS
        assert (t.channel == "atm") == (t.category == "cash")
        assert t.fraud_label in (0, 1)
        assert t.description.endswith(t.merchant)
        when = datetime.strptime(t.occurred_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert PERIOD_START.timestamp() <= when.timestamp() < end
    values = sample[0].values("cus_1", "4000001234567890")
    assert (values["customer_id"], values["card_token"]) == ("cus_1", "4000001234567890")


def test_each_customer_is_in_time_order(sample: list[Transaction]) -> None:
    previous: dict[int, str] = {}
    for t in sample:
        assert t.occurred_at >= previous.get(t.customer, "")
        previous[t.customer] = t.occurred_at


def test_counts_are_exact_and_skewed() -> None:
    data = SyntheticData(customers=2_000, transactions=200_000)
    counts = data.counts
    assert sum(counts) == 200_000
    assert max(counts) > 8 * statistics.median(counts)
    assert SyntheticData(customers=3, transactions=0).counts == [0, 0, 0]


def test_fraud_is_rare_and_follows_its_pattern(sample: list[Transaction]) -> None:
    fraud = [t for t in sample if t.fraud_label]
    legit = [t for t in sample if not t.fraud_label]
    assert 0.01 <= len(fraud) / len(sample) <= 0.02

    def share(rows: list[Transaction], test: Callable[[Transaction], bool]) -> float:
        return sum(1 for t in rows if test(t)) / len(rows)

    for feature in (
        lambda t: int(t.occurred_at[11:13]) < 6,  # night
        lambda t: t.country != "GB",  # abroad
        lambda t: t.category in RISKY,
        lambda t: t.channel == "online",
    ):
        assert share(fraud, feature) > 2 * share(legit, feature)

    def gbp(t: Transaction) -> float:
        return float(t.amount) / FX[t.currency]

    assert statistics.median(map(gbp, fraud)) > 2 * statistics.median(map(gbp, legit))
    # No single feature gives it away: plenty of legitimate spending looks risky too.
    assert sum(1 for t in legit if t.country != "GB") > len(fraud)
    assert sum(1 for t in legit if t.category in RISKY) > len(fraud)


def test_a_model_can_learn_the_fraud(sample: list[Transaction]) -> None:
    linear = pytest.importorskip("sklearn.linear_model")
    metrics = pytest.importorskip("sklearn.metrics")

    def features(t: Transaction) -> list[float]:
        hour = int(t.occurred_at[11:13])
        return [
            float(hour < 6),
            float(t.country != "GB"),
            float(t.channel == "online"),
            float(t.amount) / FX[t.currency] / 100,
            *(float(t.category == c) for c in CATEGORIES),
        ]

    half = len(sample) // 2
    x = [features(t) for t in sample]
    y = [t.fraud_label for t in sample]
    model = linear.LogisticRegression(max_iter=1000).fit(x[:half], y[:half])
    scores = model.predict_proba(x[half:])[:, 1]
    assert metrics.roc_auc_score(y[half:], scores) > 0.9


def test_generation_is_lazy() -> None:
    huge = SyntheticData(customers=10_000, transactions=10**8)
    first = list(islice(huge.iter_transactions(), 5))
    assert len(first) == 5
    assert len(list(islice(huge.iter_customers(), 3))) == 3
    data = SyntheticData(customers=200, transactions=20_000)
    tracemalloc.start()
    try:
        seen = sum(1 for _ in data.iter_transactions())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == 20_000
    assert peak < 4 * 1024 * 1024  # a list of them would take about 20 MB


def test_samples_name_customers_worth_a_scenario() -> None:
    data = SyntheticData(customers=300, transactions=30_000)
    picked = data.samples()
    assert set(picked) == {"typical", "heavy", "fraud_victim", "thin_file"}
    assert any(t.fraud_label for t in data.transactions_of(picked["fraud_victim"]))
    assert data.counts[picked["heavy"]] == max(data.counts[:200])
    assert data.counts[picked["typical"]] > 0


def test_bad_sizes_are_refused() -> None:
    for kwargs in ({"customers": 0}, {"transactions": -1}, {"fraud_rate": 1.0}):
        with pytest.raises(ValueError, match="customer"):
            SyntheticData(**kwargs)
    with pytest.raises(IndexError):
        SyntheticData(customers=3).customer(3)
