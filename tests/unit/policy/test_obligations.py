"""Obligations: the grammar on load, the union on allow, and the reference applier."""

from __future__ import annotations

import pytest

from zerotrust.core.errors import InvalidInput
from zerotrust.policy.obligations import apply_obligations, mask_value, merge, parse_obligations


def test_an_annotation_lists_several_obligations() -> None:
    assert parse_obligations("mask:pan, drop:ssn,tokenize:email") == (
        "mask:pan",
        "drop:ssn",
        "tokenize:email",
    )


@pytest.mark.parametrize(
    "bad", ["", "mask", "reveal:pan", "mask:PAN", "mask:pan;drop:ssn", "mask:"]
)
def test_bad_obligations_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        parse_obligations(bad)


def test_several_permits_only_add_restrictions() -> None:
    assert merge([("mask:pan",), ("drop:ssn", "mask:pan"), ()]) == ("drop:ssn", "mask:pan")


def test_masking_keeps_at_most_the_last_four() -> None:
    assert mask_value("4111111111111111") == "************1111"
    assert mask_value("12345678") == "********"
    assert mask_value(4111111111111111) == "************1111"


def test_obligations_apply_at_any_depth() -> None:
    customer = {"name": "Ada", "ssn": "078-05-1120", "email": "ada@example.com"}
    body = {
        "customer": customer,
        "transactions": [{"pan": "4111111111111111", "amount": 12}, {"pan": None}],
    }
    out = apply_obligations(
        body,
        ("mask:pan", "drop:ssn", "tokenize:email"),
        tokenize=lambda field, value: f"tok_{field}_{len(value)}",
    )
    assert out == {
        "customer": {"name": "Ada", "email": "tok_email_15"},
        "transactions": [{"pan": "************1111", "amount": 12}, {"pan": None}],
    }
    assert customer["ssn"] == "078-05-1120"  # the input is not modified
