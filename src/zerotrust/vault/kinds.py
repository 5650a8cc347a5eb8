"""The record kinds the vault keeps, their fields, and what each field accepts.

A kind names its table (bound into every field's associated data), the Cedar entity type
the policy decides on, its id prefix, and whether its records belong to a customer (and
so are encrypted under that customer's key). ``clean_text`` and ``clean_scalar`` check a
value against its field before anything is encrypted; ``search_form`` is the normalised
value a blind index is computed over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final, Literal

from zerotrust.vault import pan as pans
from zerotrust.vault.blind_index import normalize_email, normalize_phone
from zerotrust.vault.errors import InvalidField

FieldKind = Literal[
    "text", "email", "phone", "pan", "card_token", "int", "decimal", "currency", "date", "free"
]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record kind."""

    name: str
    kind: FieldKind
    required: bool = False
    indexed: bool = False  # searchable through a blind index
    max_len: int = 200
    revealed: bool = True  # False: never in a read (the PAN: detokenise only)
    stored: bool = True  # False: accepted as input, turned into another field, discarded


@dataclass(frozen=True)
class KindSpec:
    """A record kind: its table (in the associated data), policy type and fields."""

    name: str
    table: str
    resource_type: str  # the Cedar entity type the policy decides on
    id_prefix: str
    fields: tuple[FieldSpec, ...]
    owned: bool  # True: belongs to the customer named by ``customer_id``
    _by_name: Mapping[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {f.name: f for f in self.fields})

    def spec(self, name: str) -> FieldSpec:
        f = self._by_name.get(name)
        if f is None:
            raise InvalidField(f"{name}: no such field")
        return f


CUSTOMER: Final = KindSpec(
    "customer",
    "customers",
    "CustomerPII",
    "cus",
    (
        FieldSpec("name", "text", required=True),
        FieldSpec("email", "email", required=True, indexed=True),
        FieldSpec("phone", "phone", indexed=True),
        FieldSpec("date_of_birth", "date"),
        FieldSpec("address", "text", max_len=500),
        FieldSpec("pan", "pan", revealed=False),
        FieldSpec("card_token", "card_token", indexed=True),
    ),
    owned=False,
)
TRANSACTION: Final = KindSpec(
    "transaction",
    "transactions",
    "Transaction",
    "txn",
    (
        FieldSpec("amount", "decimal", required=True),
        FieldSpec("currency", "currency", required=True),
        FieldSpec("merchant", "text", required=True),
        FieldSpec("description", "free", max_len=2000),
        FieldSpec("pan", "pan", stored=False),
        FieldSpec("card_token", "card_token", indexed=True),
        FieldSpec("category", "text", max_len=64),  # merchant category: grocery, travel, …
        FieldSpec("country", "text", max_len=2),  # ISO 3166-1 alpha-2 of the merchant
        FieldSpec("occurred_at", "text", max_len=40),  # ISO 8601, UTC
        FieldSpec("channel", "text", max_len=32),  # card_present, online, atm
        FieldSpec("fraud_label", "int"),  # 1: confirmed fraud (training label)
    ),
    owned=True,
)
CREDIT_PROFILE: Final = KindSpec(
    "credit_profile",
    "credit_profiles",
    "CreditProfile",
    "crp",
    (
        FieldSpec("score", "int", required=True),
        FieldSpec("income", "decimal"),
        FieldSpec("debt", "decimal"),
        FieldSpec("employment", "text"),
    ),
    owned=True,
)
# What an AI model concluded about a customer: personal data too (GDPR art. 4(4)), so it is
# encrypted under the customer's key and shredded with the rest of their records.
MODEL_OUTPUT: Final = KindSpec(
    "model_output",
    "model_outputs",
    "ModelOutput",
    "mo",
    (
        FieldSpec("model", "text", required=True, max_len=64),
        FieldSpec("subject", "text", max_len=64),  # the transaction or profile scored
        FieldSpec("score", "decimal", required=True),
        FieldSpec("label", "text", max_len=32),
        FieldSpec("explanation", "free", max_len=500),
        FieldSpec("producer", "text", max_len=64),
    ),
    owned=True,
)
KINDS: Final[Mapping[str, KindSpec]] = {
    k.name: k for k in (CUSTOMER, TRANSACTION, CREDIT_PROFILE, MODEL_OUTPUT)
}


def kind_spec(kind: str) -> KindSpec:
    """The kind by name; ``InvalidField`` for any other."""
    try:
        return KINDS[kind]
    except KeyError:
        raise InvalidField("kind: no such record kind") from None


@dataclass(frozen=True)
class Record:
    """A record as a reader sees it; ``status`` is ``erased`` once its subject is erased."""

    kind: str
    record_id: str
    tenant: str
    customer_id: str
    created_at: float
    status: Literal["active", "erased"]
    fields: Mapping[str, Any] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.record_id,
            "kind": self.kind,
            "customer_id": self.customer_id,
            "status": self.status,
            "created_at": self.created_at,
            **self.fields,
        }


_TEXT_BAD = re.compile(r"[\x00-\x1f\x7f]")
_DECIMAL = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def clean_text(f: FieldSpec, value: Any, *, multiline: bool = False) -> str:
    """Trimmed text within the field's length, without control characters (``multiline``:
    newlines and tabs allowed)."""
    if not isinstance(value, str):
        raise InvalidField(f"{f.name}: text expected")
    text = value.strip()
    probe = text.replace("\n", " ").replace("\t", " ") if multiline else text
    if not 1 <= len(text) <= f.max_len or _TEXT_BAD.search(probe):
        raise InvalidField(f"{f.name}: 1 to {f.max_len} printable characters expected")
    return text


def clean_scalar(f: FieldSpec, value: Any) -> Any:
    """A whole number, a decimal (as its canonical text), a currency code or a date."""
    if f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**6:
            raise InvalidField(f"{f.name}: a whole number expected")
        return value
    if f.kind == "decimal":
        text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not _DECIMAL.match(text):
            raise InvalidField(f"{f.name}: a decimal with at most 4 places expected")
        try:
            return str(Decimal(text))
        except InvalidOperation:
            raise InvalidField(f"{f.name}: a decimal expected") from None
    if f.kind == "currency":
        if not isinstance(value, str) or not _CURRENCY.match(value):
            raise InvalidField(f"{f.name}: an ISO 4217 code expected")
        return value
    if not isinstance(value, str) or len(value) > 10:
        raise InvalidField(f"{f.name}: a date YYYY-MM-DD expected")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidField(f"{f.name}: a date YYYY-MM-DD expected") from None


def search_form(f: FieldSpec, value: Any) -> str:
    """The normalised value a blind index is computed over."""
    if not isinstance(value, str):
        raise InvalidField(f"{f.name}: text expected")
    if f.kind == "email":
        return normalize_email(value)
    if f.kind == "phone":
        return normalize_phone(value)
    return pans.is_token(value)
