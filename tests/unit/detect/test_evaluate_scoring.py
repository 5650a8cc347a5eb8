"""Scoring: recall by the class's own detector, false alerts, time to detect, goals."""

from __future__ import annotations

import json

import pytest

from tests.unit.detect.helpers import T0
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import InvalidInput
from zerotrust.detect.evaluate import AlertRecord, evaluate, load_alerts, load_labels

LABELS = [
    json.dumps(
        {
            "type": "attack",
            "id": "atk_1",
            "class": "brute_force",
            "principal": "a",
            "start": iso_utc(T0),
            "event_ids": ["e1", "e2"],
        }
    ),
    json.dumps(
        {
            "type": "attack",
            "id": "atk_2",
            "class": "mfa_fatigue",
            "principal": "b",
            "start": iso_utc(T0 + 100),
            "event_ids": ["e3"],
        }
    ),
    json.dumps(
        {
            "type": "corpus",
            "events": 20_003,
            "attack_events": 3,
            "benign_events": 20_000,
            "attacks": 2,
        }
    ),
]


def test_recall_false_alerts_and_time_to_detect() -> None:
    labels = load_labels(LABELS)
    alerts = [
        AlertRecord(T0 + 30, "brute_force", ("e0", "e2")),
        AlertRecord(T0 + 50, "brute_force", ("e1",)),  # later: first one counts
        AlertRecord(T0 + 120, "stolen_password", ("e3",)),  # right attack, wrong class
        AlertRecord(T0 + 500, "impossible_travel", ("e9",)),  # false
    ]
    report = evaluate(alerts, labels)
    assert report.classes["brute_force"].detected == 1
    assert report.classes["brute_force"].median_ttd == 30
    assert report.classes["mfa_fatigue"].detected == 0
    assert report.recall == 0.5
    assert report.false_alerts == 1
    assert report.false_per_10k == 0.5
    goals = dict(report.goals())
    assert goals["every class detected"] is False
    assert not report.passed()
    assert "FAIL" in "\n".join(report.lines())
    assert report.to_dict()["false_by_detector"] == {"impossible_travel": 1}


def test_alert_lines_are_read_from_json() -> None:
    line = json.dumps({"time": iso_utc(T0), "detector": "x", "event_id": "e1"})
    assert list(load_alerts([line])) == [AlertRecord(T0, "x", ("e1",))]


@pytest.mark.parametrize("bad", [["nope"], ['{"type": "attack"}'], ["[]"], [LABELS[0]]])
def test_bad_labels_are_refused(bad: list[str]) -> None:
    with pytest.raises(InvalidInput):
        load_labels(bad)
