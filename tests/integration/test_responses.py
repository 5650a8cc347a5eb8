"""Detection wired into the product: alerts raised by real events, responses in force on
the very next request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.support.identity import PASSWORD, make_user
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed, RateLimited
from zerotrust.identity.models import ClientInfo
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

ATTACKER = ClientInfo(src_ip="198.51.100.99", user_agent="curl/8", jkt="jkt_attacker")


@pytest.fixture
def services(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing
) -> Iterator[Services]:
    """The product as configured by default: detection with its default playbooks."""
    svc = build_services(
        replace(settings, detect_config=""), clock=clock, hashing=fast_hashing, audit=MemoryAudit()
    )
    yield svc
    svc.close()


def test_brute_force_blocks_the_source_on_the_next_request(services: Services) -> None:
    make_user(services, "alice")
    make_user(services, "bob")
    started = time.perf_counter()
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            services.authenticator.login("alice", "not-the-password-1", ATTACKER)
    with pytest.raises(RateLimited):  # blocked: even bob's right password from there
        services.authenticator.login("bob", PASSWORD, ATTACKER)
    assert time.perf_counter() - started < 1.0 + 10 * 0.05
    alerts = services.alerts.list()
    assert [a.detector for a in alerts] == ["brute_force"]
    actions = [r.action for r in services.audit.records]  # type: ignore[attr-defined]
    assert "detect.block_source" in actions
    # Elsewhere, bob is unaffected.
    bob = services.authenticator.login("bob", PASSWORD, ClientInfo(src_ip="192.0.2.1"))
    assert bob.mfa_token


def test_responses_act_on_identity(services: Services) -> None:
    user = make_user(services, "carol")
    responses = services.responses
    responses.lock_account("carol", services.clock.now() + 1800)
    with pytest.raises(AuthenticationFailed):
        services.authenticator.login("carol", user.password, ClientInfo(src_ip="192.0.2.2"))
    services.guard.unlock("carol")  # an admin undoes it
    assert services.authenticator.login("carol", user.password, ClientInfo(src_ip="192.0.2.2"))
    responses.lock_account("nobody-known", services.clock.now() + 60)  # no crash
