"""The live path: identity's own events into the engine, responses in force at once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.identity import ATTACKER, HOME, PASSWORD, make_user, phished_password
from tests.unit.detect.helpers import RecordingActions
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import AuthenticationFailed
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.geo import StaticGeo
from zerotrust.detect.playbooks import PlaybookRunner
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings


class LockingActions(RecordingActions):
    """Locks for real: disables the principal, as the lead's implementation might."""

    def __init__(self, svc: Services) -> None:
        super().__init__()
        self.svc = svc

    def lock_account(self, principal: str, until: float) -> None:
        super().lock_account(principal, until)
        self.svc.admin.set_status(
            self.svc.admin.get(principal), active=False, actor="system:detect"
        )


@pytest.fixture
def wired(
    settings: Settings, clock: FixedClock, fast_hashing: PasswordHashing
) -> Iterator[tuple[Services, DetectionEngine, LockingActions, MemoryAudit]]:
    audit = MemoryAudit()
    engine = DetectionEngine(geo=StaticGeo({"203.0.113.": "RU"}))
    svc = build_services(settings, clock=clock, hashing=fast_hashing, extra_sinks=(engine,))
    actions = LockingActions(svc)
    engine.responder = PlaybookRunner(actions, audit)
    yield svc, engine, actions, audit
    svc.close()


def test_tenth_failed_login_blocks_the_source_before_login_returns(
    wired: tuple[Services, DetectionEngine, LockingActions, MemoryAudit], clock: FixedClock
) -> None:
    svc, engine, actions, audit = wired
    make_user(svc, "alice")
    for attempt in range(10):
        assert not any(name == "block_source" for name, _ in actions.calls), attempt
        with pytest.raises(AuthenticationFailed):
            svc.authenticator.login("alice", "wrong-password-123", ATTACKER)
        clock.advance(2)
    # The emit that carried the tenth failure ran detection and the playbook synchronously.
    assert ("block_source", ("203.0.113.66", clock.now() - 2 + 1800)) in actions.calls
    assert engine.stats.alerts["brute_force"] == 1
    assert engine.risk.score("alice", clock.now()).score > 0
    assert any(r.action == "detect.block_source" for r in audit.records)


def test_stolen_password_locks_the_account_for_the_next_request(
    wired: tuple[Services, DetectionEngine, LockingActions, MemoryAudit], clock: FixedClock
) -> None:
    svc, engine, actions, _ = wired
    phished_password(svc, make_user(svc, "bob"), clock)
    assert engine.stats.alerts["stolen_password"] == 1
    assert actions.calls[0][0] == "lock_account"
    with pytest.raises(AuthenticationFailed):
        svc.authenticator.login("bob", PASSWORD, HOME)
