"""Strict unpadded base64url (RFC 4648 §5, RFC 7515 §2)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerotrust.core.errors import InvalidInput
from zerotrust.crypto.encoding import b64url_decode, b64url_encode

# RFC 4648 §10 test vectors, with the padding removed as RFC 7515 §2 requires.
RFC4648 = [
    (b"", ""),
    (b"f", "Zg"),
    (b"fo", "Zm8"),
    (b"foo", "Zm9v"),
    (b"foob", "Zm9vYg"),
    (b"fooba", "Zm9vYmE"),
    (b"foobar", "Zm9vYmFy"),
]


@pytest.mark.parametrize(("data", "text"), RFC4648)
def test_rfc4648_vectors(data: bytes, text: str) -> None:
    assert b64url_encode(data) == text
    assert b64url_decode(text) == data


def test_uses_the_url_safe_alphabet() -> None:
    assert b64url_encode(b"\xfb\xff\xbf") == "-_-_"
    assert b64url_decode("-_-_") == b"\xfb\xff\xbf"


@given(st.binary(max_size=256))
def test_round_trip(data: bytes) -> None:
    text = b64url_encode(data)
    assert "=" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize(
    "text",
    [
        "Zg==",  # padding
        "Zg=",
        "Zm9v=",
        " Zm9v",  # whitespace
        "Zm9v\n",
        "Zm 9v",
        "Zm9v\t",
        "+/8",  # standard alphabet, not URL-safe
        "Zm9v!",
        "Zm9vé",  # non-ASCII
        "\uff3a\uff4d\uff19\uff56",  # full-width look-alikes of "Zm9v"
        "Z",  # a single leftover character encodes no byte
        "Zm9vY",
        "Zh",  # non-zero trailing bits: "Zg" is the one encoding of b"f" (RFC 4648 §3.5)
        "Zm9",
    ],
)
def test_rejects_non_canonical_or_foreign_text(text: str) -> None:
    with pytest.raises(InvalidInput):
        b64url_decode(text)


def test_rejects_bytes_input() -> None:
    with pytest.raises(InvalidInput):
        b64url_decode(b"Zm9v")  # type: ignore[arg-type]
