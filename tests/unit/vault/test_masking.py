"""Obligations applied to response bodies: mask, drop, tokenize, and failing closed."""

from __future__ import annotations

import pytest

from zerotrust.vault.errors import ObligationUnfulfilled
from zerotrust.vault.masking import apply_obligations, mask_email, mask_pan, mask_phone

BODY = {
    "id": "cus_1",
    "pan": "4111111111111111",
    "email": "alice@example.org",
    "phone": "+442079460958",
    "ssn": "078-05-1120",
    "transactions": [{"pan": "5555555555554444", "amount": "1.00"}],
}


def test_mask_pan() -> None:
    assert mask_pan("4111111111111234") == "************1234"
    assert mask_pan("1234") == "****"


def test_mask_email_hides_length() -> None:
    assert mask_email("alice@example.org") == "a***@example.org"
    assert mask_email("al@example.org") == "a***@example.org"
    assert mask_email("not-an-email") == "********mail"


def test_mask_phone() -> None:
    assert mask_phone("+442079460958") == "*********0958"
    assert mask_phone("12345") == "*****"


def test_obligations_apply_at_any_depth() -> None:
    out = apply_obligations(BODY, ["mask:pan", "mask:email", "drop:ssn"])
    assert out["pan"] == "************1111"
    assert out["transactions"][0]["pan"] == "************4444"
    assert out["email"] == "a***@example.org"
    assert "ssn" not in out
    assert out["phone"] == BODY["phone"]
    assert BODY["pan"] == "4111111111111111"  # the input is not modified


def test_tokenize_uses_the_injected_tokenizer() -> None:
    out = apply_obligations(BODY, ["tokenize:id"], tokenize=lambda f, v: f"psn({f}:{v})")
    assert out["id"] == "psn(id:cus_1)"


def test_the_strongest_obligation_wins() -> None:
    out = apply_obligations(BODY, ["mask:pan", "drop:pan"])
    assert "pan" not in out
    assert "pan" not in out["transactions"][0]


@pytest.mark.parametrize(
    "obligations", [["encrypt:pan"], ["mask:"], ["mask:PAN"], ["mask pan"], [""], ["tokenize:id"]]
)
def test_unfulfillable_obligations_withhold_the_response(obligations: list[str]) -> None:
    with pytest.raises(ObligationUnfulfilled) as caught:
        apply_obligations(BODY, obligations)
    assert caught.value.code == "obligation_unfulfilled"


def test_no_obligations_is_the_body_itself() -> None:
    assert apply_obligations(BODY, []) is BODY
