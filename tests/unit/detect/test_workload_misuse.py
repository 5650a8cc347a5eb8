"""Workload misuse: a service account outside its network or its repertoire."""

from __future__ import annotations

from tests.unit.detect.helpers import DAY, RU_IP, T0, access, ev
from zerotrust.detect.detectors import WorkloadMisuse
from zerotrust.detect.events import Event


def _call(action: str, rtype: str, ts: float, ip: str = "10.20.1.10", **kw: object) -> Event:
    return access(
        "svc-fraud",
        action,
        rtype,
        ts=ts,
        ip=ip,
        ptype="service",
        roles=("fraud-model",),
        device=None,
        session=None,
        **kw,
    )


def _learned() -> WorkloadMisuse:
    detector = WorkloadMisuse()
    for i in range(300):  # two days of scoring from its pods
        assert detector.observe(_call("score", "transaction", T0 + i * 600)) is None
    return detector


def test_a_call_from_an_outside_network_fires() -> None:
    detector = _learned()
    t = T0 + 2 * DAY + 60
    found = detector.observe(
        ev(
            "auth.client",
            "svc-fraud",
            "success",
            ts=t,
            ip=RU_IP,
            ptype="service",
            roles=("fraud-model",),
            device=None,
        )
    )
    assert found is not None
    assert "new network" in found.explanation
    # Reported once; and the attacker's successes must not make its network part of the lane.
    assert detector.observe(_call("score", "transaction", t + 30, ip=RU_IP)) is None
    assert "203.0.113" not in detector.lanes.state["svc-fraud"].networks
    found = detector.observe(_call("export", "customer", t + 60, ip=RU_IP))
    assert found is None  # one never-seen call alone
    found = detector.observe(_call("read", "card_token", t + 90, ip=RU_IP))
    assert found is not None


def test_a_migrated_workload_alerts_once_and_the_network_is_adopted_after_a_day() -> None:
    detector = _learned()
    t = T0 + 2 * DAY
    found = [
        detector.observe(_call("score", "transaction", t + i * 600, ip="10.30.1.5"))
        for i in range(24 * 6 + 2)
    ]
    assert sum(f is not None for f in found) == 1
    assert "10.30.1" in detector.lanes.state["svc-fraud"].networks


def test_several_never_seen_calls_from_inside_fire() -> None:
    detector = _learned()
    t = T0 + 2 * DAY + 60
    assert detector.observe(_call("export", "customer", t)) is None
    found = detector.observe(_call("read", "credit_profile", t + 30, outcome="denied"))
    assert found is not None
    assert "2 never-seen call(s)" in found.explanation


def test_autoscaled_pods_and_one_new_call_after_a_deploy_are_quiet() -> None:
    detector = _learned()
    t = T0 + 2 * DAY + 60
    assert detector.observe(_call("score", "transaction", t, ip="10.20.1.201")) is None
    assert detector.observe(_call("read", "merchant", t + 10)) is None
    for i in range(20):
        assert detector.observe(_call("read", "merchant", t + 20 + i)) is None


def test_nothing_is_judged_while_learning() -> None:
    detector = WorkloadMisuse()
    for i, ip in enumerate(["10.0.0.1", RU_IP, "198.51.100.7"]):
        assert detector.observe(_call("anything", f"type{i}", T0 + i, ip=ip)) is None


def test_people_are_not_workloads() -> None:
    detector = WorkloadMisuse()
    assert detector.observe(access("alice", ts=T0 + 5 * DAY, ip=RU_IP)) is None


def test_calls_from_a_flagged_burst_are_not_learned() -> None:
    detector = _learned()
    t = T0 + 2 * DAY
    detector.observe(_call("read", "ledger", t))
    assert detector.observe(_call("list", "principal", t + 10)) is not None
    # A day later the same hijacked calls are still out of lane.
    detector.observe(_call("read", "ledger", t + DAY))
    assert detector.observe(_call("list", "principal", t + DAY + 10)) is not None
