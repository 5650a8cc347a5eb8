"""Session replay: one session on two devices, or ping-ponging between places."""

from __future__ import annotations

from tests.unit.detect.helpers import GB_IP, GB_IP2, GEO, RU_IP, T0, access, ev
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


def test_a_key_enrolled_after_sign_in_is_the_same_client() -> None:
    # Enrolling needs a session: sign in (no device yet), enrol the key, then use the
    # gateway, which names the device the session's key belongs to.
    detector = SessionReplay(GEO)
    signed_in = ev("auth.mfa", outcome="success", device=None, session="ses_1", ts=T0)
    assert detector.observe(signed_in) is None
    assert detector.observe(access(ts=T0 + 300, device="dev_a")) is None
    assert detector.observe(access(ts=T0 + 360, device="dev_a")) is None
    copied = detector.observe(access(ts=T0 + 420, device="dev_b"))  # then a copy elsewhere
    assert copied is not None


def test_a_sign_in_from_another_process_arriving_late_is_the_same_client() -> None:
    # The gateway sees its accesses at once and the control plane's sign-in a moment
    # later, though the sign-in came first.
    detector = SessionReplay(GEO)
    assert detector.observe(access(ts=T0 + 300, device="dev_a")) is None
    signed_in = ev("auth.mfa", outcome="success", device=None, session="ses_1", ts=T0)
    assert detector.observe(signed_in) is None
    assert detector.observe(access(ts=T0 + 400, device=None)) is not None  # a copy


def test_a_late_sign_in_on_a_device_after_accesses_without_it_fires() -> None:
    # The other way round is replay: the session was opened on dev_a, and the accesses
    # seen first (later in time) came from no device.
    detector = SessionReplay(GEO)
    detector.observe(access(ts=T0 + 300, device=None))
    signed_in = ev("auth.mfa", outcome="success", device="dev_a", session="ses_1", ts=T0)
    assert detector.observe(signed_in) is not None


def test_a_device_that_goes_missing_on_a_later_sign_in_step_fires() -> None:
    detector = SessionReplay(GEO)
    detector.observe(access(ts=T0, device="dev_a"))
    later = ev("auth.mfa", outcome="success", device=None, session="ses_1", ts=T0 + 60)
    assert detector.observe(later) is not None


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
