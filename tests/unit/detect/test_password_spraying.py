"""Spraying fires on one source failing across many accounts, and on a distributed spray;
a busy office address with the usual typos stays quiet."""

from __future__ import annotations

from tests.unit.detect.helpers import GB_IP, RU_IP, T0, ev
from zerotrust.detect.detectors import PasswordSpraying


def test_one_source_many_accounts_fires() -> None:
    detector = PasswordSpraying()
    found = [detector.observe(ev(principal=f"user{i}", ip=RU_IP, ts=T0 + 5 * i)) for i in range(8)]
    assert found[:7] == [None] * 7
    finding = found[7]
    assert finding is not None
    assert finding.key == f"src:{RU_IP}#1"
    assert finding.sources == (RU_IP,)
    assert finding.principal is None


def test_office_address_with_typos_followed_by_success_is_quiet() -> None:
    detector = PasswordSpraying()
    for i in range(60):  # Monday morning: sixty people log in, each mistypes once
        ts = T0 + 30 * i
        assert detector.observe(ev(principal=f"user{i}", ip=GB_IP, ts=ts)) is None
        assert (
            detector.observe(ev(principal=f"user{i}", ip=GB_IP, ts=ts + 8, outcome="success"))
            is None
        )


def test_many_tries_on_few_accounts_is_not_spraying() -> None:
    detector = PasswordSpraying()
    for i in range(40):
        assert detector.observe(ev(principal=f"user{i % 2}", ip=RU_IP, ts=T0 + i)) is None


def test_distributed_spray_fires_on_the_global_count() -> None:
    detector = PasswordSpraying()
    ips = [f"203.0.113.{n}" for n in range(1, 7)]
    found = [
        detector.observe(ev(principal=f"user{i}", ip=ips[i % 6], ts=T0 + 10 * i)) for i in range(12)
    ]
    assert found[:11] == [None] * 11
    finding = found[11]
    assert finding is not None
    assert finding.key == "global#1"
    assert len(finding.sources) == 6


def test_slow_spray_outside_the_window_is_missed() -> None:
    # Documented limit: one account every five minutes stays under the per-source count.
    detector = PasswordSpraying()
    for i in range(30):
        assert detector.observe(ev(principal=f"user{i}", ip=RU_IP, ts=T0 + 300 * i)) is None
