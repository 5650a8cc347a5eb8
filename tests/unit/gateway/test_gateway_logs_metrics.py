"""Structured logs cannot be forged; metrics are labelled by codes."""

from __future__ import annotations

import json
import logging

from zerotrust.gateway.logs import JsonFormatter
from zerotrust.gateway.metrics import GatewayMetrics


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
