"""Workload scopes: only allowed fields, once, under purpose-bound pseudonyms."""

from __future__ import annotations

import pytest

from tests.unit.vault.helpers import VISA, customer
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.errors import Forbidden, NotFound
from zerotrust.vault.errors import InvalidField, ScopeClosed
from zerotrust.vault.services import Vault


def _transactions(vault: Vault) -> tuple[str, list[str]]:
    owner = customer(vault, pan=VISA)
    ids = [
        vault.records.create_transaction(
            customer_id=owner, amount=str(10 * i), currency="EUR", merchant=f"shop {i}"
        ).record_id
        for i in range(3)
    ]
    return owner, ids


def test_only_allowed_fields_under_pseudonyms(vault: Vault, audit: MemoryAudit) -> None:
    owner, ids = _transactions(vault)
    with vault.workloads.scope(
        workload="fraud_model", purpose="fraud_detection", kind="transaction", fields=["amount"]
    ) as scope:
        rows = scope.fetch(ids)
        assert [set(r) for r in rows] == [{"id", "customer_id", "amount"}] * 3
        assert [r["amount"] for r in rows] == ["0", "10", "20"]
        assert all(r["id"].startswith("psn_") and r["id"] not in ids for r in rows)
        assert len({r["customer_id"] for r in rows}) == 1
        assert scope.resolve(rows[0]["customer_id"]) == owner
        assert scope.resolve(rows[1]["id"]) == ids[1]
    with pytest.raises(ScopeClosed):
        scope.resolve(rows[1]["id"])
    [record] = [r for r in audit.records if r.action == "vault.workload_access"]
    assert record.actor == "fraud_model"
    assert record.details == {"purpose": "fraud_detection", "fields": ["amount"], "count": 3}


def test_a_scope_serves_one_call(vault: Vault) -> None:
    _, ids = _transactions(vault)
    scope = vault.workloads.scope(workload="w", purpose="p", kind="transaction", fields=["amount"])
    scope.fetch(ids)
    with pytest.raises(ScopeClosed):
        scope.fetch(ids)


def test_pseudonyms_are_stable_per_purpose_and_unlinkable_across(vault: Vault) -> None:
    owner, _ = _transactions(vault)

    def customer_pseudonym(purpose: str) -> str:
        with vault.workloads.scope(
            workload="w", purpose=purpose, kind="transaction", fields=["amount"]
        ) as scope:
            return str(scope.fetch(customer_id=owner)[0]["customer_id"])

    assert customer_pseudonym("fraud") == customer_pseudonym("fraud")
    assert customer_pseudonym("fraud") != customer_pseudonym("marketing")


def test_the_card_number_is_never_released(vault: Vault) -> None:
    with pytest.raises(Forbidden):
        vault.workloads.scope(workload="w", purpose="p", kind="customer", fields=["pan"])
    with pytest.raises(InvalidField):
        vault.workloads.scope(workload="w", purpose="p", kind="customer", fields=["password"])
    with pytest.raises(InvalidField):
        vault.workloads.scope(workload="w", purpose="", kind="customer", fields=["name"])


def test_obligations_apply_to_what_is_released(vault: Vault) -> None:
    owner = customer(vault, 7)
    with vault.workloads.scope(
        workload="credit_model",
        purpose="credit",
        kind="customer",
        fields=["name", "email", "phone"],
        obligations=["drop:name", "mask:email", "tokenize:phone"],
    ) as scope:
        [row] = scope.fetch([owner])
    assert set(row) == {"id", "customer_id", "email", "phone"}
    assert row["email"] == "c***@example.org"
    assert row["phone"].startswith("psn_")


def test_erased_and_unknown_records_are_left_out(vault: Vault) -> None:
    owner, _ = _transactions(vault)
    other = customer(vault, 9)
    vault.records.erase(owner, actor="dpo")
    with vault.workloads.scope(
        workload="w", purpose="p", kind="customer", fields=["name"]
    ) as scope:
        rows = scope.fetch([owner, other, "cus_missing"])
        assert [scope.resolve(r["id"]) for r in rows] == [other]
        with pytest.raises(NotFound):
            scope.resolve("psn_unknown")
