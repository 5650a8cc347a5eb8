"""Passwords: argon2id hashing and the set-time policy (NIST SP 800-63B §3.1.1.2).

Length is counted in Unicode code points after NFC normalisation, so a password typed in
NFC or NFD verifies alike. No composition rules; a blocklist instead. Nothing is trimmed
or truncated: argon2 hashes every byte (no bcrypt 72-byte trap).
"""

from __future__ import annotations

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from zerotrust.core.errors import InvalidInput
from zerotrust.core.ids import new_token
from zerotrust.identity.blocklist import is_blocked

MIN_LENGTH = 12
MAX_LENGTH = 256
# Requests carrying more than this many bytes of password are refused before any
# hashing work, so a 1 MiB password cannot be used to burn CPU.
MAX_BYTES = 4096
SERVICE_WORDS = ("zerotrust", "zero trust")


class PasswordRejected(InvalidInput):
    """The password does not meet the policy; ``code`` says which rule."""

    code = "password_rejected"
    message = "The password does not meet the password policy."


def normalise(password: str) -> str:
    """NFC form: the one that is hashed and measured."""
    return unicodedata.normalize("NFC", password)


def check_policy(password: str, *, username: str | None = None) -> str:
    """Return the normalised password, or raise ``PasswordRejected`` with a reason code."""
    if len(password.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise PasswordRejected("The password is too long.", code="password_too_long")
    value = normalise(password)
    if len(value) < MIN_LENGTH:
        raise PasswordRejected(
            f"The password must have at least {MIN_LENGTH} characters.", code="password_too_short"
        )
    if len(value) > MAX_LENGTH:
        raise PasswordRejected(
            f"The password must have at most {MAX_LENGTH} characters.", code="password_too_long"
        )
    folded = value.casefold()
    if username and len(username) >= 3 and username.casefold() in folded:
        raise PasswordRejected(
            "The password must not contain the username.", code="password_contains_username"
        )
    if any(word in folded for word in SERVICE_WORDS):
        raise PasswordRejected(
            "The password must not contain the service name.", code="password_contains_service_name"
        )
    if is_blocked(value):
        raise PasswordRejected(
            "The password is too common or known to be breached.", code="password_blocklisted"
        )
    return value


class PasswordHashing:
    """argon2id with OWASP parameters (m=19 MiB, t=2, p=1) unless told otherwise."""

    def __init__(
        self, *, memory_kib: int = 19 * 1024, time_cost: int = 2, parallelism: int = 1
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
        )
        # A hash of a random password: verifying against it costs what a real check
        # costs, so unknown and locked accounts answer in the same time as known ones.
        self._dummy = self._hasher.hash(new_token())

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalise(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """True if the password matches; False on mismatch or an unusable stored hash."""
        try:
            return self._hasher.verify(password_hash, normalise(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spend the time of one verification without checking anything."""
        self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
