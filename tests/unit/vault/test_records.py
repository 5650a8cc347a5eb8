"""The records API: validation, encryption at rest, search, detokenisation, erasure."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.vault.helpers import AMEX, VISA, VaultFactory, customer
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import NotFound, Sealed
from zerotrust.store.database import Database
from zerotrust.store.vault_repo import vault_blind_index, vault_records
from zerotrust.vault.errors import Erased, InvalidField, InvalidPan, ObligationUnfulfilled
from zerotrust.vault.pan import luhn_sum
from zerotrust.vault.services import Vault

ALICE: dict[str, Any] = {
    "name": "Alice Liddell",
    "email": "Alice@Wonderland.example",
    "phone": "+44 20 7946 0958",
    "date_of_birth": "1990-05-01",
    "address": "1 Rabbit Hole, Oxford",
    "pan": VISA,
}


def test_create_and_read_a_customer(vault: Vault) -> None:
    created = vault.records.create("customer", ALICE)
    read = vault.records.get("customer", created.record_id)
    assert read == created
    body = read.to_json()
    assert body["status"] == "active"
    assert body["customer_id"] == body["id"] == created.record_id
    assert body["email"] == ALICE["email"]
    assert "pan" not in body  # a read never returns the card number
    token = body["card_token"]
    assert token[-4:] == VISA[-4:]
    assert len(token) == len(VISA)
    assert luhn_sum(token) != 0


def test_nothing_is_stored_in_the_clear(vault: Vault, db: Database) -> None:
    created = vault.records.create("customer", ALICE)
    with db.engine.connect() as conn:
        stored = json.dumps([list(r) for r in conn.execute(vault_records.select()).all()])
        index = json.dumps([list(r) for r in conn.execute(vault_blind_index.select()).all()])
    for secret in ("Alice", "Liddell", "Wonderland", "7946", "Rabbit", "1990", VISA):
        assert secret not in stored
        assert secret not in index
    assert created.record_id in stored


def test_find_by_blind_index(vault: Vault) -> None:
    alice = vault.records.create("customer", ALICE)
    customer(vault, 1, pan=AMEX)
    assert [
        r.record_id
        for r in vault.records.find("customer", field="email", value="alice@WONDERLAND.example")
    ] == [alice.record_id]
    by_phone = vault.records.find("customer", field="phone", value="+442079460958")
    assert [r.record_id for r in by_phone] == [alice.record_id]
    token = alice.fields["card_token"]
    assert [
        r.record_id for r in vault.records.find("customer", field="card_token", value=token)
    ] == [alice.record_id]
    assert vault.records.find("customer", field="email", value="nobody@example.org") == []
    with pytest.raises(InvalidField):
        vault.records.find("customer", field="name", value="Alice Liddell")


def test_transactions_carry_the_card_token_never_the_card(vault: Vault, db: Database) -> None:
    alice = vault.records.create("customer", ALICE)
    txn = vault.records.create(
        "transaction",
        {
            "customer_id": alice.record_id,
            "amount": "12.50",
            "currency": "EUR",
            "merchant": "Mad Hatter Teas",
            "description": f"refund to card {VISA[:4]} {VISA[4:8]} {VISA[8:12]} {VISA[12:]}",
            "pan": VISA,
        },
    )
    token = alice.fields["card_token"]
    assert txn.fields["card_token"] == token
    assert txn.fields["description"] == f"refund to card {token}"
    assert "pan" not in txn.fields
    found = vault.records.find("transaction", field="card_token", value=token)
    assert [r.record_id for r in found] == [txn.record_id]
    assert [r.record_id for r in vault.records.for_customer("transaction", alice.record_id)] == [
        txn.record_id
    ]


def test_card_numbers_in_any_text_field_are_tokenised(vault: Vault) -> None:
    alice = vault.records.create("customer", {**ALICE, "address": f"card {VISA} on file"})
    assert alice.fields["address"] == f"card {alice.fields['card_token']} on file"


def test_credit_profiles(vault: Vault) -> None:
    alice = customer(vault)
    profile = vault.records.create_credit_profile(
        customer_id=alice, score=712, income="54000.00", debt=1200, employment="Engineer"
    )
    assert vault.records.get("credit_profile", profile.record_id).fields == {
        "score": 712,
        "income": "54000.00",
        "debt": "1200",
        "employment": "Engineer",
    }


@pytest.mark.parametrize(
    "pan",
    [
        "411111111111",
        "41111111111111111113",
        "4111111111111112",
        "4111 1111 1111 1111",
        "4111abcd11111111",
    ],
)
def test_bad_card_numbers_are_refused_and_nothing_is_written(
    vault: Vault, db: Database, pan: str
) -> None:
    with pytest.raises(InvalidPan) as caught:
        vault.records.create("customer", {**ALICE, "pan": pan})
    assert caught.value.code == "invalid_pan"
    assert pan not in str(caught.value)
    with db.engine.connect() as conn:
        assert conn.execute(vault_records.select()).first() is None


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        ("customer", {"name": "A"}),  # email missing
        ("customer", {**ALICE, "email": "not-an-email"}),
        ("customer", {**ALICE, "is_admin": True}),  # mass assignment
        ("customer", {**ALICE, "name": "x" * 201}),
        ("customer", {**ALICE, "name": "bell\x07"}),
        ("customer", {**ALICE, "date_of_birth": "1990-13-01"}),
        ("customer", {**ALICE, "card_token": "4111111111111112"}),
        ("transaction", {"amount": "1", "currency": "EUR", "merchant": "m"}),  # no owner
        ("nonsense", {}),
    ],
)
def test_invalid_fields(vault: Vault, kind: str, values: dict[str, Any]) -> None:
    with pytest.raises((InvalidField, NotFound)):
        vault.records.create(kind, values)


@pytest.mark.parametrize(
    "values",
    [
        {"amount": "1.23456"},
        {"amount": 1.5},
        {"currency": "eur"},
        {"amount": True},
        {"card_token": VISA},  # a real card number is not a token
    ],
)
def test_invalid_transaction_fields(vault: Vault, values: dict[str, Any]) -> None:
    base = {"customer_id": customer(vault), "amount": "1", "currency": "EUR", "merchant": "m"}
    with pytest.raises((InvalidField, InvalidPan)):
        vault.records.create("transaction", {**base, **values})


def test_records_of_another_tenant_are_not_found(vault: Vault) -> None:
    alice = vault.records.create("customer", ALICE, tenant="acme")
    with pytest.raises(NotFound):
        vault.records.get("customer", alice.record_id, tenant="globex")
    assert (
        vault.records.find("customer", field="email", value=ALICE["email"], tenant="globex") == []
    )
    with pytest.raises(NotFound):
        vault.records.detokenize(alice.record_id, actor="bob", tenant="globex")
    with pytest.raises(NotFound):
        vault.records.create_transaction(
            tenant="globex", customer_id=alice.record_id, amount="1", currency="EUR", merchant="m"
        )


def test_detokenize_is_audited_without_the_card(vault: Vault, audit: MemoryAudit) -> None:
    alice = vault.records.create("customer", ALICE)
    assert vault.records.detokenize(alice.record_id, actor="usr_1") == VISA
    [record] = [r for r in audit.records if r.action == "vault.detokenize"]
    assert (record.actor, record.outcome) == ("usr_1", "success")
    assert VISA not in repr(record)
    assert record.details["card"] == "411111******1111"
    with pytest.raises(NotFound):
        vault.records.detokenize(customer(vault, 2), actor="usr_1")  # no card on file


def test_erasure_makes_every_record_of_the_subject_read_as_erased(
    vault: Vault, vaults: VaultFactory, db: Database, audit: MemoryAudit
) -> None:
    alice = vault.records.create("customer", ALICE)
    bob = customer(vault, 2)
    txn = vault.records.create_transaction(
        customer_id=alice.record_id, amount="1", currency="EUR", merchant="m"
    )
    erasure = vault.records.erase(alice.record_id, actor="dpo")
    assert (erasure.keys_destroyed, erasure.already_erased) == (1, False)
    assert erasure.index_entries_removed == 3
    for kind, rid in (("customer", alice.record_id), ("transaction", txn.record_id)):
        record = vault.records.get(kind, rid)
        assert record.status == "erased"
        assert record.fields == {}
    assert vaults().records.get("customer", alice.record_id).status == "erased"  # cold cache
    assert vault.records.find("customer", field="email", value=ALICE["email"]) == []
    assert vault.records.get("customer", bob).status == "active"
    with pytest.raises(Erased):
        vault.records.detokenize(alice.record_id, actor="dpo")
    with pytest.raises(Erased):
        vault.records.create_transaction(
            customer_id=alice.record_id, amount="1", currency="EUR", merchant="m"
        )
    again = vault.records.erase(alice.record_id, actor="dpo")
    assert (again.keys_destroyed, again.already_erased) == (0, True)
    erasures = [r for r in audit.records if r.action == "vault.erase"]
    assert [r.reason for r in erasures] == [None, "already_erased"]
    assert all("Alice" not in repr(r) for r in audit.records)


def test_erasure_leaves_no_wrapped_key_in_the_database_file(vault: Vault, db: Database) -> None:
    alice = vault.records.create("customer", ALICE)
    with db.engine.connect() as conn:
        wrapped = conn.exec_driver_sql("SELECT wrapped FROM vault_data_keys").scalar_one()
    vault.records.erase(alice.record_id, actor="dpo")
    path = db.url.database
    assert path is not None
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as fh:
                assert bytes(wrapped) not in fh.read()
        except FileNotFoundError:
            pass


def test_a_sealed_vault_refuses_every_record_operation(vault: Vault, db: Database) -> None:
    alice = vault.records.create("customer", ALICE)
    vault.seal()
    ops = [
        lambda: vault.records.create("customer", ALICE),
        lambda: vault.records.create("customer", {**ALICE, "pan": "bad"}),
        lambda: vault.records.get("customer", alice.record_id),
        lambda: vault.records.find("customer", field="email", value=ALICE["email"]),
        lambda: vault.records.for_customer("transaction", alice.record_id),
        lambda: vault.records.detokenize(alice.record_id, actor="x"),
        lambda: vault.records.erase(alice.record_id, actor="x"),
        lambda: vault.records.tokenize_pan(VISA),
        lambda: vault.workloads.scope(workload="w", purpose="p", kind="customer", fields=["name"]),
    ]
    for op in ops:
        with pytest.raises(Sealed) as caught:
            op()
        assert caught.value.code == "vault_sealed"
    with db.engine.connect() as conn:
        assert len(conn.execute(vault_records.select()).all()) == 1


def test_the_gateway_tokenizer_is_stable_per_field_and_unlinkable_across_fields(
    vault: Vault,
) -> None:
    tokenize = vault.tokenizer()
    a = tokenize("customer_id", "cus_123")
    assert a == tokenize("customer_id", "cus_123")  # joinable across responses
    assert a.startswith("psn_")
    assert "cus_123" not in a
    assert tokenize("customer_id", "cus_124") != a
    assert tokenize("email", "cus_123") != a  # another field, another key


def test_the_gateway_tokenizer_withholds_when_the_vault_is_sealed(vault: Vault) -> None:
    tokenize = vault.tokenizer()
    vault.seal()
    with pytest.raises(ObligationUnfulfilled):
        tokenize("customer_id", "cus_123")
