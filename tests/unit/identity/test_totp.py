"""TOTP behaviour: drift window, format, single use (sequential and concurrent)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyotp
import pytest

from tests.support.identity import make_user
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.identity.authentication import OtpAlreadyUsed
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.totp import OtpInvalidFormat, matching_step, new_secret
from zerotrust.service import Services

CLIENT = ClientInfo(src_ip="203.0.113.7", user_agent="pytest", jkt="test-device-key")


def test_secret_is_160_bits_from_the_csprng() -> None:
    secrets = {new_secret() for _ in range(100)}
    assert len(secrets) == 100
    assert all(len(s) == 32 for s in secrets)  # 20 bytes in base32


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)]
)
def test_only_one_step_of_drift_is_accepted(offset: int, accepted: bool) -> None:
    secret = new_secret()
    now = 1_767_225_615.0
    code = pyotp.TOTP(secret).at(int(now) + 30 * offset)
    assert (matching_step(secret, code, now=now) is not None) is accepted


def test_same_code_twice_in_sequence_is_refused(services: Services, clock: FixedClock) -> None:
    user = make_user(services)
    auth = services.authenticator
    code = user.code(clock)
    first = auth.login("alice", user.password, CLIENT)
    auth.complete_totp(first.mfa_token, code, CLIENT)
    second = auth.login("alice", user.password, CLIENT)
    with pytest.raises(OtpAlreadyUsed):
        auth.complete_totp(second.mfa_token, code, CLIENT)


def test_an_older_code_after_a_newer_one_is_refused(services: Services, clock: FixedClock) -> None:
    user = make_user(services)
    auth = services.authenticator
    newer, older = user.code(clock, 1), user.code(clock, -1)
    auth.complete_totp(auth.login("alice", user.password, CLIENT).mfa_token, newer, CLIENT)
    with pytest.raises(OtpAlreadyUsed):
        auth.complete_totp(auth.login("alice", user.password, CLIENT).mfa_token, older, CLIENT)


def test_twenty_concurrent_submissions_exactly_one_wins(
    services: Services, clock: FixedClock
) -> None:
    user = make_user(services)
    auth = services.authenticator
    tokens = [auth.login("alice", user.password, CLIENT).mfa_token for _ in range(20)]
    code = user.code(clock)

    def submit(mfa_token: str) -> str:
        try:
            auth.complete_totp(mfa_token, code, CLIENT)
        except AuthenticationFailed as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, tokens))
    assert results.count("ok") == 1
    assert "otp_already_used" in results
    # The others are replays, or meet the lock that replays add up to (whether they do,
    # and whether the success reset the count first, depends on how the threads
    # interleave; test_ten_replays_lock_totp checks the lock itself).
    assert set(results) <= {"ok", "otp_already_used", "invalid_credentials"}


def test_ten_replays_lock_totp(services: Services, clock: FixedClock) -> None:
    user = make_user(services)
    auth = services.authenticator
    code = user.code(clock)
    auth.complete_totp(auth.login("alice", user.password, CLIENT).mfa_token, code, CLIENT)
    for _ in range(10):
        with pytest.raises(OtpAlreadyUsed):
            auth.complete_totp(auth.login("alice", user.password, CLIENT).mfa_token, code, CLIENT)
    clock.advance(30)
    later = auth.login("alice", user.password, CLIENT).mfa_token
    with pytest.raises(AuthenticationFailed) as err:  # a fresh code: the factor is locked
        auth.complete_totp(later, user.code(clock), CLIENT)
    assert err.value.code == "invalid_credentials"


def test_twenty_concurrent_submissions_on_one_login(services: Services, clock: FixedClock) -> None:
    user = make_user(services)
    auth = services.authenticator
    mfa_token = auth.login("alice", user.password, CLIENT).mfa_token
    code = user.code(clock)

    def submit(_: int) -> str:
        try:
            auth.complete_totp(mfa_token, code, CLIENT)
        except AuthenticationFailed as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(submit, range(20)))
    assert results.count("ok") == 1


@pytest.mark.parametrize(
    "code",
    [
        "",
        "12345",
        "1234567",
        "12a456",
        " 123456",
        "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits
        "9" * 10_000,
        "123456\n",
    ],
)
def test_malformed_codes_are_a_clear_error_and_count(services: Services, code: str) -> None:
    user = make_user(services)
    auth = services.authenticator
    mfa_token = auth.login("alice", user.password, CLIENT).mfa_token
    with pytest.raises(OtpInvalidFormat):
        auth.complete_totp(mfa_token, code, CLIENT)
    assert services.counters.get("lock:totp:alice", now=services.clock.now()) == 1


def test_ten_wrong_codes_lock_totp(services: Services, clock: FixedClock) -> None:
    user = make_user(services)
    auth = services.authenticator
    mfa_token = auth.login("alice", user.password, CLIENT).mfa_token
    wrong = f"{(int(user.code(clock)) + 1) % 1_000_000:06d}"
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            auth.complete_totp(mfa_token, wrong, CLIENT)
    with pytest.raises(AuthenticationFailed):
        auth.complete_totp(mfa_token, user.code(clock), CLIENT)  # right code, factor locked
    lock = [r for r in services.audit.records if r.action == "auth.lockout"]  # type: ignore[attr-defined]
    assert lock[0].details["factor"] == "totp"


def test_expired_mfa_token_is_refused(services: Services, clock: FixedClock) -> None:
    user = make_user(services)
    auth = services.authenticator
    mfa_token = auth.login("alice", user.password, CLIENT).mfa_token
    clock.advance(301)
    with pytest.raises(AuthenticationFailed) as err:
        auth.complete_totp(mfa_token, user.code(clock), CLIENT)
    assert err.value.code == "mfa_token_invalid"


def test_totp_secret_is_stored_sealed(services: Services) -> None:
    user = make_user(services)
    record = services.authenticator.totps.get(user.principal.id)
    assert record is not None
    assert user.totp_secret.encode() not in record.secret_envelope
    assert record.secret_envelope[0] == 1  # versioned envelope
