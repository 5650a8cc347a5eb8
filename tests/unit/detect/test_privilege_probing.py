"""Privilege probing: bursts of denials, mostly on never-allowed actions."""

from __future__ import annotations

from tests.unit.detect.helpers import T0, access
from zerotrust.detect.detectors import PrivilegeProbing

PROBES = [("grant", "role"), ("read", "signing_key"), ("update", "policy"), ("grant", "role")]


def _history(detector: PrivilegeProbing) -> None:
    for i in range(50):
        detector.observe(access("alice", "read", "customer", ts=T0 + i * 60))
        detector.observe(access("alice", "read", "transaction", ts=T0 + i * 60 + 1))


def test_denials_on_never_allowed_actions_fire() -> None:
    detector = PrivilegeProbing()
    _history(detector)
    t = T0 + 4000
    found = [
        detector.observe(access("alice", a, r, outcome="denied", ts=t + 5 * i))
        for i, (a, r) in enumerate(PROBES)
    ]
    assert found[:3] == [None] * 3
    assert found[3] is not None
    assert found[3].severity == "high"


def test_id_enumeration_on_a_known_action_fires_on_volume() -> None:
    detector = PrivilegeProbing()
    _history(detector)
    found = [
        detector.observe(access("alice", "read", "customer", outcome="denied", ts=T0 + 4000 + i))
        for i in range(10)
    ]
    assert found[:9] == [None] * 9
    assert found[9] is not None
    assert found[9].severity == "medium"


def test_a_narrowed_role_gives_a_few_quiet_denials() -> None:
    detector = PrivilegeProbing()
    _history(detector)
    for i in range(4):
        e = access("alice", "read", "transaction", outcome="denied", ts=T0 + 4000 + 30 * i)
        assert detector.observe(e) is None


def test_what_the_role_may_do_is_not_novel() -> None:
    detector = PrivilegeProbing()
    for i, (a, r) in enumerate(PROBES[:3]):  # a colleague in the same role did these
        detector.observe(access("bob", a, r, ts=T0 + i))
    for i, (a, r) in enumerate(PROBES):
        e = access("alice", a, r, outcome="denied", ts=T0 + 100 + i)
        assert detector.observe(e) is None
