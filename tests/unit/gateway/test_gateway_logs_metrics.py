"""Structured logs cannot be forged; metrics are labelled by codes."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence

from tests.support.events import denied_access
from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.shared import EventFeed
from zerotrust.gateway.logs import JsonFormatter
from zerotrust.gateway.metrics import DetectionCollector, GatewayMetrics


def _format(msg: object) -> dict[str, object]:
    record = logging.LogRecord("zerotrust.gateway.access", logging.INFO, __file__, 1, msg, (), None)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert "\r" not in line
    parsed: dict[str, object] = json.loads(line)
    return parsed


def test_access_lines_are_one_json_object_with_escaped_text() -> None:
    line = _format({"cid": "req_1", "path": "/a\r\nFAKE: entry", "ua": "\x1b[31mred"})
    assert line["cid"] == "req_1"
    assert line["path"] == "/a\r\nFAKE: entry"  # kept as data, escaped on the wire
    assert line["level"] == "info"
    assert line["logger"] == "zerotrust.gateway.access"
    assert _format("plain %s")["msg"] == "plain %s"


def test_exceptions_log_their_class() -> None:
    try:
        raise ValueError("secret detail")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "zerotrust", logging.ERROR, __file__, 1, "boom", (), sys.exc_info()
        )
    line = json.loads(JsonFormatter().format(record))
    assert line["error"] == "ValueError"


def test_decisions_are_counted_by_effect_and_first_reason() -> None:
    metrics = GatewayMetrics()
    metrics.decision("deny", "device-untrusted,risk-high")
    metrics.decision("allow", "role-permit")
    metrics.stages({"decide": 0.0002})
    text = metrics.exposition().decode()
    assert 'zt_gateway_decisions_total{effect="deny",reason="device-untrusted"} 1.0' in text
    assert 'zt_gateway_stage_seconds_count{stage="decide"} 1.0' in text


class _OthersEvents:
    """Two events from another process, then a gap (number 3 not committed yet)."""

    def __init__(self, events: list[dict[str, object]]) -> None:
        self.events = events

    def last_seq(self) -> int:
        return 0

    def others_after(
        self, seq: int, also: Sequence[int], *, limit: int
    ) -> list[tuple[int, Mapping[str, object] | None]]:
        rows = [(1, self.events[0]), (2, self.events[1]), (4, None)]
        return [(s, e) for s, e in rows if s > seq or s in also]


class _Refused:
    def claim(self, detector: str, key: str, *, now: float, until: float, alert_id: str) -> bool:
        return False


def test_detection_is_counted_at_each_scrape() -> None:
    engine = DetectionEngine(claims=_Refused())
    probes = [denied_access(1_800_000_000.0 + i, i).to_dict() for i in range(10)]
    feed = EventFeed(_OthersEvents(probes[:2]), engine.ingest)
    metrics = GatewayMetrics()
    metrics.registry.register(DetectionCollector(engine, feed))
    feed.pull()
    for event in probes[2:]:
        engine.ingest(event)  # the tenth denial: privilege probing, claimed elsewhere
    engine.ingest({"kind": "nonsense"})
    text = metrics.exposition().decode()
    assert "zt_detect_events_total 10.0" in text
    assert "zt_detect_feed_events_total 2.0" in text
    assert "zt_detect_feed_gaps 1.0" in text
    assert "zt_detect_malformed_events_total 1.0" in text
    assert "zt_detect_already_claimed_total 1.0" in text
    assert 'zt_detect_alerts_total{detector="privilege_probing"} 0.0' in text
    assert "zt_detect_claim_errors_total 0.0" in text
