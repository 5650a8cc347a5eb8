"""Card numbers: validation, format-preserving tokens, redaction, free-text scrubbing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.vault.helpers import AMEX, MASTERCARD, VISA, VISA_19
from zerotrust.vault.errors import InvalidPan
from zerotrust.vault.pan import is_token, luhn_sum, redact, scrub, tokenize, validate_pan

KEY = bytes(range(32))


@pytest.mark.parametrize("pan", [VISA, MASTERCARD, AMEX, VISA_19, "4222222222222"])
def test_valid_pans(pan: str) -> None:
    assert validate_pan(pan) == pan


@pytest.mark.parametrize(
    "bad",
    [
        "411111111111",  # 12 digits
        "41111111111111111113",  # 20 digits
        "4111111111111112",  # fails Luhn
        "4111 1111 1111 1111",  # spaces
        "4111-1111-1111-1111",  # dashes
        "4111111111111a11",  # a letter
        "\uff14" + "\uff11" * 15,  # full-width digits
        "",
        4111111111111111,
        None,
    ],
)
def test_invalid_pans_are_refused_without_echo(bad: object) -> None:
    with pytest.raises(InvalidPan) as caught:
        validate_pan(bad)
    assert caught.value.code == "invalid_pan"
    assert "4111" not in str(caught.value)


@pytest.mark.parametrize("pan", [VISA, MASTERCARD, AMEX, VISA_19])
def test_token_keeps_length_and_last_four_and_fails_luhn(pan: str) -> None:
    token = tokenize(KEY, pan, tenant="acme")
    assert len(token) == len(pan)
    assert token.isdigit()
    assert token[-4:] == pan[-4:]
    assert token != pan
    assert luhn_sum(token) != 0
    assert is_token(token) == token
    with pytest.raises(InvalidPan):
        validate_pan(token)


def _luhn_complete(body: str) -> str:
    return next(body + d for d in "0123456789" if luhn_sum(body + d) == 0)


@settings(deadline=None)  # a loaded CI machine must not turn timing into failure
@given(st.text(alphabet="0123456789", min_size=12, max_size=18))
def test_every_token_fails_luhn(body: str) -> None:
    pan = _luhn_complete(body)
    token = tokenize(KEY, pan, tenant="t")
    assert luhn_sum(token) != 0
    assert token[-4:] == pan[-4:]
    assert len(token) == len(pan)


def test_tokens_are_keyed_and_deterministic() -> None:
    # PCI DSS 3.5.1.1: without the key no PAN → token dictionary can be built.
    assert tokenize(KEY, VISA, tenant="acme") == tokenize(KEY, VISA, tenant="acme")
    assert tokenize(KEY, VISA, tenant="acme") != tokenize(bytes(32), VISA, tenant="acme")
    assert tokenize(KEY, VISA, tenant="acme") != tokenize(KEY, VISA, tenant="other")
    assert tokenize(KEY, VISA, tenant="acme") != tokenize(KEY, "4012888888881881", tenant="acme")


@pytest.mark.parametrize("bad", [VISA, "1234", "41111111111111a1", "9" * 20])
def test_a_card_number_is_not_a_token(bad: str) -> None:
    with pytest.raises(InvalidPan) as caught:
        is_token(bad)
    assert caught.value.code == "invalid_card_token"


def test_redaction_shows_at_most_bin_and_last_four() -> None:
    assert redact(VISA) == "411111******1111"
    assert redact(AMEX) == "378282*****0005"
    assert redact("1234") == "****"


def test_scrub_replaces_card_numbers_in_free_text() -> None:
    text = f"card {VISA}, also 5555-5555-5555-4444 and 4111 1111 1111 1111; order 1234567890123"
    out = scrub(text, lambda pan: f"<{pan[-4:]}>")
    assert out == "card <1111>, also <4444> and <1111>; order 1234567890123"
    assert scrub("no digits here", lambda pan: "x") == "no digits here"
