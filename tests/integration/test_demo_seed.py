"""Seeding the sample platform through the vault: readable back, idempotent, and nothing
in the clear on disk (PCI DSS 3.5.1, GDPR art. 32)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from zerotrust.core.clock import FixedClock
from zerotrust.demo.data import SyntheticData
from zerotrust.demo.seed import MARKER_EMAIL, SeedProgress, SeedSummary, seed_platform, seeded
from zerotrust.service import Services
from zerotrust.store.vault_repo import vault_records

CUSTOMERS, TRANSACTIONS = 50, 2_000


def _kinds(services: Services) -> Counter[str]:
    with services.db.engine.connect() as conn:
        rows = conn.execute(sa.select(vault_records.c.kind)).scalars().all()
    return Counter(rows)


def _seed(services: Services, **kwargs: object) -> SeedSummary:
    kwargs.setdefault("customers", CUSTOMERS)
    kwargs.setdefault("transactions", TRANSACTIONS)
    kwargs.setdefault("batch", 500)
    return seed_platform(services, **kwargs)  # type: ignore[arg-type]


def test_seeded_records_read_back_as_generated(services: Services) -> None:
    reports: list[SeedProgress] = []
    summary = _seed(services, progress=reports.append)
    data = SyntheticData(customers=CUSTOMERS, transactions=TRANSACTIONS)
    fraud = sum(t.fraud_label for t in data.iter_transactions())
    assert (summary.seeded, summary.customers, summary.credit_profiles) == (True, 50, 50)
    assert (summary.transactions, summary.fraud) == (TRANSACTIONS, fraud)
    assert summary.elapsed_s > 0
    assert summary.rate > 0
    assert _kinds(services) == {"customer": 51, "credit_profile": 50, "transaction": 2_000}
    assert reports[-1].transactions == TRANSACTIONS
    assert [r.transactions for r in reports] == sorted(r.transactions for r in reports)

    records = services.vault.records
    assert set(summary.samples) == set(data.samples())
    for role, index in data.samples().items():
        customer_id = summary.samples[role]
        person = records.get("customer", customer_id)
        expected = data.customer(index)
        assert person.fields["name"] == expected.name
        assert person.fields["email"] == expected.email
        assert person.fields["card_token"][-4:] == expected.pan[-4:]
        assert "pan" not in person.fields
        assert records.detokenize(customer_id, actor="test") == expected.pan
        [profile] = records.for_customer("credit_profile", customer_id)
        assert profile.fields["score"] == data.credit_profile(index).score
        stored = records.for_customer("transaction", customer_id, limit=1000)
        token = person.fields["card_token"]
        assert sorted(
            (t.fields["occurred_at"], t.fields["amount"], t.fields["fraud_label"]) for t in stored
        ) == sorted((t.occurred_at, t.amount, t.fraud_label) for t in data.transactions_of(index))
        assert {t.fields["card_token"] for t in stored} <= {token}
    victim = records.for_customer("transaction", summary.samples["fraud_victim"], limit=1000)
    assert any(t.fields["fraud_label"] == 1 for t in victim)


def test_seeding_twice_writes_nothing_the_second_time(services: Services) -> None:
    first = _seed(services)
    before = _kinds(services)
    again = _seed(services)
    assert again.seeded is False
    assert again.samples == first.samples
    assert (again.customers, again.transactions, again.fraud) == (
        first.customers,
        first.transactions,
        first.fraud,
    )
    assert _kinds(services) == before
    assert seeded(services.vault.records) == again
    # The marker is an ordinary customer record, found through its blind index.
    [marker] = services.vault.records.find("customer", field="email", value=MARKER_EMAIL)
    assert marker.status == "active"


def test_force_seeds_another_population(services: Services, clock: FixedClock) -> None:
    _seed(services, customers=5, transactions=40)
    clock.advance(60)  # the latest population is the one created last
    forced = _seed(services, customers=5, transactions=40, force=True)
    assert forced.seeded is True
    assert _kinds(services) == {"customer": 12, "credit_profile": 10, "transaction": 80}
    latest = seeded(services.vault.records)
    assert latest is not None
    assert latest.samples == forced.samples


def test_an_unseeded_platform_has_no_summary(services: Services) -> None:
    assert seeded(services.vault.records) is None
    with pytest.raises(ValueError, match="batch"):
        seed_platform(services, customers=1, transactions=1, batch=0)


def _needles(data: SyntheticData) -> list[bytes]:
    out: list[bytes] = []
    for person in data.iter_customers():
        out += [v.encode() for v in (person.name, person.email, person.pan, person.address)]
        out.append(person.phone.encode())
        out.append(person.email.split("@")[0].encode())
        # Long name parts alone; short ones occur in random base64 by chance.
        out += [part.encode() for part in person.name.split() if len(part) > 7]
    return out


def _scan(root: Path, needles: list[bytes]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        content = path.read_bytes()
        hits = [n.decode() for n in needles if n in content]
        if hits:
            found[path.name] = hits
    return found


def test_no_pii_or_card_number_on_disk_after_seeding(services: Services) -> None:
    if not services.db.is_sqlite:
        pytest.skip("scans the SQLite files of the data directory")
    _seed(services)
    data_dir = services.settings.data_dir
    names = {p.name for p in data_dir.iterdir()}
    assert {"zt.db", "zt.db-wal", "zt.db-shm"} <= names
    needles = _needles(SyntheticData(customers=CUSTOMERS, transactions=TRANSACTIONS))
    assert len(needles) > 5 * CUSTOMERS
    assert _scan(data_dir, needles) == {}  # while open: the WAL holds the latest pages
    services.db.dispose()
    assert _scan(data_dir, needles) == {}


def test_the_scan_finds_plaintext(tmp_path: Path) -> None:
    person = SyntheticData(customers=1, transactions=0).customer(0)
    (tmp_path / "zt.db-wal").write_bytes(b"\x00" + person.email.encode() + b"\x01")
    assert _scan(tmp_path, _needles(SyntheticData(customers=1, transactions=0))) == {
        "zt.db-wal": [person.email, person.email.split("@")[0]]
    }


def test_seeding_in_two_processes_stores_the_same_population(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranges are seeded by processes of their own, which build their services from
    the environment, as `zt demo up` does."""
    s = services.settings
    monkeypatch.setenv("ZT_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("ZT_DATABASE_URL", s.database_url)
    monkeypatch.setenv("ZT_ROOT_KEY", s.root_key)
    monkeypatch.setenv("ZT_DETECT_CONFIG", s.detect_config)
    customers = 600  # at least one slice per process
    summary = _seed(services, customers=customers, transactions=3_000, processes=2)
    data = SyntheticData(customers=customers, transactions=3_000)
    assert (summary.customers, summary.transactions) == (customers, 3_000)
    assert summary.fraud == sum(t.fraud_label for t in data.iter_transactions())
    assert _kinds(services) == {"customer": 601, "credit_profile": 600, "transaction": 3_000}
    assert set(summary.samples) == set(data.samples())
    last = data.customers - 1
    found = services.vault.records.find("customer", field="email", value=data.customer(last).email)
    assert [c.fields["name"] for c in found] == [data.customer(last).name]
