"""``Records.create_many``: a batch is sealed as single records are, and stored all or nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.vault.helpers import MASTERCARD, VISA, make_vault, new_root_key
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import Conflict, NotFound, Sealed
from zerotrust.store.database import Database
from zerotrust.store.vault_repo import (
    SqlVaultRecords,
    vault_blind_index,
    vault_data_keys,
    vault_records,
)
from zerotrust.vault import records as records_module
from zerotrust.vault.errors import Erased, InvalidField, InvalidPan
from zerotrust.vault.fields import key_version
from zerotrust.vault.models import IndexEntry, StoredRecord
from zerotrust.vault.records import MAX_BATCH
from zerotrust.vault.services import Vault

PEOPLE: list[dict[str, Any]] = [
    {
        "name": "Alice Liddell",
        "email": "alice@wonderland.example",
        "phone": "+44 20 7946 0958",
        "pan": VISA,
    },
    {"name": "Bob Cratchit", "email": "bob@counting.example", "pan": MASTERCARD},
]


def _txn(customer_id: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "amount": f"{n}.50",
        "currency": "GBP",
        "merchant": "Hatter Teas",
        "category": "restaurants",
        "country": "GB",
        "occurred_at": f"2025-03-0{n % 9 + 1}T10:00:00Z",
        "channel": "card_present",
        "fraud_label": n % 2,
        **extra,
    }


def _count(db: Database, kind: str | None = None) -> tuple[int, int]:
    with db.engine.connect() as conn:
        query = vault_records.select()
        if kind is not None:
            query = query.where(vault_records.c.kind == kind)
        records = len(conn.execute(query).all())
        index = len(conn.execute(vault_blind_index.select()).all())
    return records, index


def test_a_batch_reads_back_as_single_records_do(vault: Vault) -> None:
    alice, bob = vault.records.create_many("customer", PEOPLE)
    assert alice.fields["card_token"][-4:] == VISA[-4:]
    assert "pan" not in alice.to_json()
    rows = [_txn(alice.record_id, n) for n in range(3)] + [_txn(bob.record_id, 9)]
    created = vault.records.create_many("transaction", rows)
    assert [r.customer_id for r in created] == [alice.record_id] * 3 + [bob.record_id]
    for record in created:
        assert vault.records.get("transaction", record.record_id) == record
    assert created[1].fields["fraud_label"] == 1
    assert created[1].fields["country"] == "GB"
    mine = vault.records.for_customer("transaction", alice.record_id)
    assert sorted(r.record_id for r in mine) == sorted(r.record_id for r in created[:3])
    found = vault.records.find("customer", field="email", value="ALICE@wonderland.example")
    assert [r.record_id for r in found] == [alice.record_id]
    assert vault.records.detokenize(bob.record_id, actor="usr_1") == MASTERCARD


def test_a_card_token_given_to_a_batch_is_searchable(vault: Vault) -> None:
    [alice] = vault.records.create_many("customer", PEOPLE[:1])
    token = alice.fields["card_token"]
    created = vault.records.create_many(
        "transaction", [_txn(alice.record_id, n, card_token=token) for n in range(4)]
    )
    found = vault.records.find("transaction", field="card_token", value=token)
    assert sorted(r.record_id for r in found) == sorted(r.record_id for r in created)


def test_batch_and_single_records_are_interchangeable(vault: Vault) -> None:
    single = vault.records.create("customer", PEOPLE[0])
    [batch] = vault.records.create_many("customer", [PEOPLE[0]])
    assert batch.fields == single.fields  # same validation, same token
    for_single = vault.records.create("transaction", _txn(single.record_id, 1))
    [for_batch] = vault.records.create_many("transaction", [_txn(single.record_id, 1)])
    assert for_batch.fields == for_single.fields


def test_each_owner_is_looked_up_and_each_key_fetched_once_per_batch(
    vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = vault.records.create_many("customer", PEOPLE)
    gets: list[str] = []
    keys: list[tuple[str, int]] = []
    repo = vault.records._repo
    real_get, real_key = repo.get, vault.keys.encryption_key

    def counting_get(tenant: str, kind: str, record_id: str) -> StoredRecord | None:
        gets.append(record_id)
        return real_get(tenant, kind, record_id)

    def counting_key(tenant: str, subject_id: str, *, uses: int = 1) -> Any:
        keys.append((subject_id, uses))
        return real_key(tenant, subject_id, uses=uses)

    monkeypatch.setattr(repo, "get", counting_get)
    monkeypatch.setattr(vault.keys, "encryption_key", counting_key)
    rows = [_txn(c.record_id, n) for n in range(50) for c in (alice, bob)]
    vault.records.create_many("transaction", rows)
    assert sorted(gets) == sorted([alice.record_id, bob.record_id])
    fields = len(rows[0]) - 1  # the owner is not a field
    assert sorted(keys) == sorted([(alice.record_id, 50 * fields), (bob.record_id, 50 * fields)])


def test_a_subject_rotates_keys_within_a_batch_at_the_usage_limit(
    db: Database, clock: FixedClock
) -> None:
    vault = make_vault(db, clock, root_key=new_root_key(), usage_limit=40, lease=8)
    [alice] = vault.records.create_many("customer", PEOPLE[:1])
    created = vault.records.create_many(
        "transaction", [_txn(alice.record_id, n) for n in range(12)]
    )
    repo = SqlVaultRecords(db)
    versions = set()
    for record in created:
        stored = repo.get("default", "transaction", record.record_id)
        assert stored is not None
        versions |= {key_version(envelope) for envelope in stored.fields.values()}
        assert vault.records.get("transaction", record.record_id) == record
    assert len(versions) >= 3  # 12 records x 9 fields = 108 uses, at most 40 per version


@pytest.mark.parametrize(
    ("bad", "error", "code", "message"),
    [
        ({"amount": "1.23456"}, InvalidField, "invalid_field", "row 2: amount: "),
        ({"country": "GBR"}, InvalidField, "invalid_field", "row 2: country: 1 to 2 "),
        ({"fraud_label": True}, InvalidField, "invalid_field", "row 2: fraud_label: "),
        ({"colour": "red"}, InvalidField, "invalid_field", "row 2: colour: no such field"),
        ({"merchant": None}, InvalidField, "invalid_field", "row 2: merchant: required"),
        ({"card_token": VISA}, InvalidPan, "invalid_card_token", "row 2: card_token: "),
        ({"pan": "4111111111111112"}, InvalidPan, "invalid_pan", "row 2: pan: "),
        ({"customer_id": "cus_nobody"}, NotFound, "not_found", "row 2: customer_id: "),
    ],
)
def test_one_bad_row_stores_nothing_and_is_named(
    vault: Vault,
    db: Database,
    bad: dict[str, Any],
    error: type[Exception],
    code: str,
    message: str,
) -> None:
    [alice] = vault.records.create_many("customer", PEOPLE[:1])
    before = _count(db)
    rows = [_txn(alice.record_id, n) for n in range(4)]
    rows[2] = {**rows[2], **bad}
    with pytest.raises(error) as caught:
        vault.records.create_many("transaction", rows)
    assert str(caught.value).startswith(message)
    assert getattr(caught.value, "code", None) == code
    assert "4111111111111112" not in str(caught.value)
    assert _count(db) == before


def test_a_bad_card_in_a_customer_batch_stores_no_customer_and_no_key(
    vault: Vault, db: Database
) -> None:
    people = [PEOPLE[0], {**PEOPLE[1], "pan": MASTERCARD[:-1] + "5"}]
    with pytest.raises(InvalidPan, match=r"^row 1: pan: "):
        vault.records.create_many("customer", people)
    assert _count(db) == (0, 0)
    with db.engine.connect() as conn:
        assert conn.execute(vault_data_keys.select()).first() is None


def test_an_erased_customer_fails_the_whole_batch(vault: Vault, db: Database) -> None:
    alice, bob = vault.records.create_many("customer", PEOPLE)
    vault.records.erase(bob.record_id, actor="dpo")
    before = _count(db)
    rows = [_txn(alice.record_id, 1), _txn(bob.record_id, 2)]
    with pytest.raises(Erased, match=r"^row 1: customer_id: "):
        vault.records.create_many("transaction", rows)
    assert _count(db) == before


def test_the_store_writes_a_batch_in_one_transaction(vault: Vault, db: Database) -> None:
    [alice] = vault.records.create_many("customer", PEOPLE[:1])
    before = _count(db)
    record = StoredRecord("default", "transaction", "txn_1", alice.record_id, 0.0, {"a": b"x"})
    entry = IndexEntry("card_token", "00" * 16)
    with pytest.raises(Conflict):  # the second row repeats the first row's id
        SqlVaultRecords(db).add_many([(record, [entry]), (record, [])])
    assert _count(db) == before


def test_batch_bounds(vault: Vault) -> None:
    assert vault.records.create_many("customer", []) == []
    rows = ({"name": "x"} for _ in range(MAX_BATCH + 1))
    with pytest.raises(InvalidField, match="batch"):
        vault.records.create_many("customer", rows)
    with pytest.raises(InvalidField):
        vault.records.create_many("nonsense", [{}])


def test_a_sealed_vault_refuses_a_batch(vault: Vault) -> None:
    vault.seal()
    with pytest.raises(Sealed):
        vault.records.create_many("customer", PEOPLE)


@given(
    st.one_of(
        st.text(),
        st.integers(min_value=-(10**20), max_value=10**20),
        st.booleans(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=3),
    )
)
def test_the_field_plaintext_is_compact_json(value: Any) -> None:
    expected = json.dumps(value, separators=(",", ":")).encode()
    assert records_module._encode({"f": value}) == {"f": expected}
