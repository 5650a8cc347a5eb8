"""Two instances sharing PostgreSQL and Redis agree on lockouts and revocations."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.support.identity import PASSWORD, make_user
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import build_services
from zerotrust.settings import Settings

CLIENT = ClientInfo(src_ip="192.0.2.10", jkt="test-device-key")


@pytest.mark.postgres
@pytest.mark.redis
def test_lockout_and_logout_on_one_replica_hold_on_the_other(
    tmp_path: Path,
    pg_server_url: str,
    redis_url: str,
    fast_hashing: PasswordHashing,
    clock: FixedClock,
) -> None:
    from tests.conftest import _truncate_all

    _truncate_all(pg_server_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    root = "A" * 42 + "Q"
    quiet = tmp_path / "detect.yaml"
    quiet.write_text("playbooks: {}\n")  # identity's own lockout, not a playbook's block
    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_server_url,
        redis_url=redis_url,
        root_key=root,
        detect_config=str(quiet),
    )
    a = build_services(settings, clock=clock, hashing=fast_hashing)
    b = build_services(settings, clock=clock, hashing=fast_hashing)
    try:
        user = make_user(a, f"u{secrets.token_hex(3)}")
        for _ in range(10):
            with pytest.raises(AuthenticationFailed):
                a.authenticator.login(user.principal.name, "wrong-password-1", CLIENT)
        with pytest.raises(AuthenticationFailed):
            b.authenticator.login(user.principal.name, PASSWORD, CLIENT)  # locked on b too
        b.authenticator.guard.unlock(user.principal.name)
        first = b.authenticator.login(user.principal.name, PASSWORD, CLIENT)
        tokens = b.authenticator.complete_totp(first.mfa_token, user.code(clock), CLIENT)
        assert (
            a.sessions.authenticate(tokens.access_token, jkt="test-device-key").principal.id
            == user.principal.id
        )
        a.sessions.revoke(tokens.session_id, actor="test", reason="logout")
        with pytest.raises(AuthenticationFailed):
            b.sessions.authenticate(tokens.access_token, jkt="test-device-key")
    finally:
        a.close()
        b.close()
