"""TOTP (RFC 6238) on top of pyotp, with single use enforced by the store.

Only server time is used; a code is accepted for the current step and one step either
side (clock drift, documented), and each accepted step is recorded atomically so the
same code — or any older one — can never be used again (RFC 6238 §5.2).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp

from zerotrust.core.errors import InvalidInput
from zerotrust.core.secret import constant_time_equals

STEP_S = 30
DIGITS = 6
DRIFT_STEPS = 1
SECRET_BYTES = 20  # 160 bits (RFC 4226 §4 recommends at least this)
_CODE = re.compile(r"[0-9]{6}")
_DIGESTS: dict[str, Callable[..., Any]] = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}


class OtpInvalidFormat(InvalidInput):
    """The submitted code is not six ASCII digits."""

    code = "otp_invalid_format"
    message = "The code must be six digits."


@dataclass(frozen=True)
class TotpParams:
    """Algorithm parameters (defaults are what every authenticator app supports)."""

    algorithm: str = "SHA1"
    digits: int = DIGITS
    step_s: int = STEP_S


def new_secret() -> str:
    """A fresh base32 secret of 160 bits from the CSPRNG."""
    return base64.b32encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii").rstrip("=")


def _totp(secret_b32: str, params: TotpParams) -> pyotp.TOTP:
    return pyotp.TOTP(
        secret_b32,
        digits=params.digits,
        digest=_DIGESTS[params.algorithm],
        interval=params.step_s,
    )


def code_at(secret_b32: str, ts: float, params: TotpParams = TotpParams()) -> str:
    """The code for time ``ts`` (used by tests and RFC vectors)."""
    return str(_totp(secret_b32, params).at(int(ts)))


def provisioning_uri(
    secret_b32: str, *, account: str, issuer: str, params: TotpParams = TotpParams()
) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return str(_totp(secret_b32, params).provisioning_uri(name=account, issuer_name=issuer))


def check_format(code: str) -> str:
    """Refuse anything but exactly six ASCII digits (no spaces, no 10 KB strings)."""
    if not isinstance(code, str) or len(code) != DIGITS or not _CODE.fullmatch(code):
        raise OtpInvalidFormat()
    return code


def matching_step(
    secret_b32: str, code: str, *, now: float, params: TotpParams = TotpParams()
) -> int | None:
    """The time step whose code equals ``code`` within ±1 step, or None.

    Every candidate is compared in constant time and all are compared, so timing does
    not reveal which step matched.
    """
    totp = _totp(secret_b32, params)
    current = int(now) // params.step_s
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        expected = str(totp.at(step * params.step_s))
        if constant_time_equals(expected, code) and found is None:
            found = step
    return found
