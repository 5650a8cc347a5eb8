"""Stuffing fires on many non-existent usernames from several addresses."""

from __future__ import annotations

from tests.unit.detect.helpers import GB_IP, T0, ev
from zerotrust.detect.detectors import CredentialStuffing


def test_many_unknown_names_from_many_sources_fires() -> None:
    detector = CredentialStuffing()
    ips = ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
    results = [
        detector.observe(
            ev(principal=f"leaked{i}", ip=ips[i % 3], ts=T0 + i, reason="unknown_user")
        )
        for i in range(8)
    ]
    assert results[:7] == [None] * 7
    finding = results[7]
    assert finding is not None
    assert finding.key == "global#1"
    assert set(finding.sources) == set(ips)


def test_a_person_mistyping_their_username_is_quiet() -> None:
    detector = CredentialStuffing()
    for i in range(20):
        e = ev(principal="alcie", ip=GB_IP, ts=T0 + 3600 * i, reason="unknown_user")
        assert detector.observe(e) is None


def test_wrong_passwords_of_known_users_are_not_stuffing() -> None:
    detector = CredentialStuffing()
    for i in range(30):
        e = ev(principal=f"user{i}", ip=f"203.0.113.{i}", ts=T0 + i, reason="bad_password")
        assert detector.observe(e) is None


def test_the_window_forgets() -> None:
    detector = CredentialStuffing()
    for i in range(7):
        detector.observe(ev(principal=f"x{i}", ip=f"203.0.113.{i}", ts=T0, reason="unknown_user"))
    late = ev(principal="x8", ip="203.0.113.9", ts=T0 + 601, reason="unknown_user")
    assert detector.observe(late) is None
    assert len(detector.recent) == 1


def test_a_second_wave_after_a_quiet_spell_is_a_new_incident() -> None:
    from tests.unit.detect.helpers import GEO
    from zerotrust.detect.engine import DetectionEngine

    engine = DetectionEngine(geo=GEO)
    alerts = []
    for wave in (0, 1):  # two waves 30 minutes apart: inside the cooldown, but separate
        start = T0 + wave * 1800
        for i in range(20):
            e = ev(
                principal=f"leaked{i}", ip=f"203.0.113.{i % 4}", ts=start + i, reason="unknown_user"
            )
            alerts += engine.process(e)
    assert [a.detector for a in alerts].count("credential_stuffing") == 2
