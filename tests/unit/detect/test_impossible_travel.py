"""Impossible travel: too far, too fast, by a different device or none."""

from __future__ import annotations

from tests.unit.detect.helpers import DAY, GB_IP, GEO, HOUR, RU_IP, T0, US_IP, access, ev
from zerotrust.detect.detectors import ImpossibleTravel


def test_relayed_login_abroad_minutes_after_home_fires() -> None:
    detector = ImpossibleTravel(GEO)
    assert detector.observe(ev(outcome="success", ts=T0, ip=GB_IP, device="dev_a")) is None
    finding = detector.observe(ev(outcome="success", ts=T0 + 20 * 60, ip=RU_IP, device=None))
    assert finding is not None
    assert finding.severity == "high"
    assert "GB then RU" in finding.explanation


def test_a_real_flight_is_quiet() -> None:
    detector = ImpossibleTravel(GEO)
    detector.observe(ev(outcome="success", ts=T0, ip=GB_IP, device="dev_a"))
    # London to the US centre is about 6,800 km; landing and logging in 10 hours later.
    assert (
        detector.observe(ev(outcome="success", ts=T0 + 10 * HOUR, ip=US_IP, device="dev_b")) is None
    )


def test_a_flight_seen_in_the_wrong_order_is_still_a_flight() -> None:
    # The landing (at the gateway) is seen first, the departure (the control plane's
    # sign-in) a moment later: 10 hours apart either way.
    detector = ImpossibleTravel(GEO)
    detector.observe(ev(outcome="success", ts=T0 + 10 * HOUR, ip=US_IP, device="dev_b"))
    assert detector.observe(ev(outcome="success", ts=T0, ip=GB_IP, device="dev_a")) is None


def test_the_same_device_hopping_through_a_vpn_or_roaming_is_quiet() -> None:
    detector = ImpossibleTravel(GEO)
    detector.observe(access(ts=T0, ip=GB_IP, device="dev_a"))
    assert detector.observe(access(ts=T0 + 60, ip=US_IP, device="dev_a")) is None
    assert detector.observe(access(ts=T0 + 120, ip=GB_IP, device="dev_a")) is None


def test_hops_between_familiar_countries_are_quiet() -> None:
    detector = ImpossibleTravel(GEO)
    for day in range(2):  # GB and US each used on two days, on different devices
        detector.observe(ev(outcome="success", ts=T0 + day * DAY, ip=GB_IP, device="dev_a"))
        detector.observe(
            ev(outcome="success", ts=T0 + day * DAY + 10 * HOUR, ip=US_IP, device="dev_b")
        )
    t = T0 + 3 * DAY
    detector.observe(ev(outcome="success", ts=t, ip=GB_IP, device="dev_a"))
    assert detector.observe(ev(outcome="success", ts=t + 300, ip=US_IP, device="dev_b")) is None


def test_failures_and_unplaceable_addresses_are_not_judged() -> None:
    detector = ImpossibleTravel(GEO)
    detector.observe(ev(outcome="success", ts=T0, ip=GB_IP))
    assert detector.observe(ev(outcome="failure", ts=T0 + 60, ip=RU_IP, device=None)) is None
    assert detector.observe(ev(outcome="success", ts=T0 + 90, ip="10.0.0.5", device=None)) is None
