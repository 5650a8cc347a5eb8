"""Session replay: one session on two devices, or ping-ponging between places."""

from __future__ import annotations

from tests.unit.detect.helpers import GB_IP, GB_IP2, GEO, RU_IP, T0, access
from zerotrust.detect.detectors import SessionReplay


def test_a_session_used_without_its_device_fires() -> None:
    detector = SessionReplay(GEO)
    assert detector.observe(access(ts=T0, device="dev_a", ip=GB_IP)) is None
    found = detector.observe(access(ts=T0 + 60, device=None, ip=RU_IP))
    assert found is not None
    assert found.session_id == "ses_1"
    assert "device none" in found.explanation


def test_a_session_used_from_another_device_fires() -> None:
    detector = SessionReplay(GEO)
    detector.observe(access(ts=T0, device="dev_a"))
    assert detector.observe(access(ts=T0 + 60, device="dev_b")) is not None


def test_wifi_to_mobile_data_is_quiet() -> None:
    detector = SessionReplay(GEO)
    detector.observe(access(ts=T0, ip=GB_IP))
    for i in range(1, 20):
        assert detector.observe(access(ts=T0 + 30 * i, ip=GB_IP2)) is None


def test_a_flaky_connection_flapping_twice_is_quiet() -> None:
    detector = SessionReplay(GEO)
    for i, ip in enumerate([GB_IP, GB_IP2, GB_IP, GB_IP]):
        assert detector.observe(access(ts=T0 + 30 * i, ip=ip)) is None


def test_concurrent_use_from_two_places_fires() -> None:
    detector = SessionReplay(GEO)
    ips = [GB_IP, RU_IP, GB_IP, RU_IP]
    found = [detector.observe(access(ts=T0 + 20 * i, ip=ip)) for i, ip in enumerate(ips)]
    assert found[:3] == [None] * 3
    assert found[3] is not None


def test_idle_sessions_are_forgotten() -> None:
    detector = SessionReplay(GEO)
    for i in range(100):
        detector.observe(access(ts=T0 + i, session=f"ses_{i}"))
    detector.prune(T0 + 100 + 3601)
    assert len(detector.sessions) == 0
