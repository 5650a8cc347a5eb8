"""Password policy and hashing (NIST SP 800-63B §3.1.1.2, OWASP ASVS 6.2)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zerotrust.identity.blocklist import common_passwords, is_blocked
from zerotrust.identity.passwords import PasswordHashing, PasswordRejected, check_policy


def test_lengths_11_rejected_12_and_64_accepted() -> None:
    with pytest.raises(PasswordRejected) as err:
        check_policy("kx9#vbq2mzt")
    assert err.value.code == "password_too_short"
    assert check_policy("kx9#vbq2mztr")
    assert check_policy("kx9#vbq2mztr" * 5 + "abcd")


def test_over_maximum_and_over_byte_cap_rejected() -> None:
    with pytest.raises(PasswordRejected) as err:
        check_policy("kx9#vbq2mztr" * 22)
    assert err.value.code == "password_too_long"
    with pytest.raises(PasswordRejected) as err:
        check_policy("a" * (1024 * 1024))
    assert err.value.code == "password_too_long"


def test_length_counts_code_points_after_nfc() -> None:
    # Eleven characters that are 22 code points in NFD: still too short.
    nfd = unicodedata.normalize("NFD", "éèêëēėęàáâä")
    assert len(nfd) == 22
    with pytest.raises(PasswordRejected):
        check_policy(nfd)
    assert check_policy("😀😁😂🤣😃😄😅😆😉😊😋😎")  # 12 astral characters


def test_nfc_and_nfd_spellings_verify_alike(fast_hashing: PasswordHashing) -> None:
    nfc = unicodedata.normalize("NFC", "crème-brûlée-façade")
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    stored = fast_hashing.hash(nfc)
    assert fast_hashing.verify(stored, nfd)


def test_no_truncation_and_no_trimming(fast_hashing: PasswordHashing) -> None:
    base = "x" * 72
    stored = fast_hashing.hash(base + "tail-one")
    assert not fast_hashing.verify(stored, base + "tail-two")  # the bcrypt 72-byte trap
    spaced = fast_hashing.hash("  leading-spaces-kept")
    assert not fast_hashing.verify(spaced, "leading-spaces-kept")
    nul = fast_hashing.hash("with\x00nul-inside-it")
    assert not fast_hashing.verify(nul, "with")
    assert fast_hashing.verify(nul, "with\x00nul-inside-it")


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Winter2025!!", "password_blocklisted"),
        ("password1234", "password_blocklisted"),
        ("qwertyuiop123", "password_blocklisted"),
        ("alice-rocks-hard-2024", "password_contains_username"),
        ("my-zerotrust-login", "password_contains_service_name"),
    ],
)
def test_blocklisted_or_personal_passwords_rejected(password: str, code: str) -> None:
    with pytest.raises(PasswordRejected) as err:
        check_policy(password, username="alice")
    assert err.value.code == code


def test_blocklist_is_large_and_passphrases_pass() -> None:
    assert len(common_passwords()) >= 20_000
    assert not is_blocked("cobalt-heron-ledger-91")
    assert not is_blocked("correct horse battery staple")


def test_hashes_are_argon2id_with_owasp_parameters() -> None:
    stored = PasswordHashing().hash("cobalt-heron-ledger-91")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_corrupt_stored_hash_verifies_false(fast_hashing: PasswordHashing) -> None:
    assert not fast_hashing.verify("not-a-hash", "anything-at-all")


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=12, max_size=40))
def test_any_password_round_trips(fast_hashing: PasswordHashing, password: str) -> None:
    stored = fast_hashing.hash(password)
    assert fast_hashing.verify(stored, password)
    assert not fast_hashing.verify(stored, password + "x")
