"""Structured logs: one JSON object per line, with the request's correlation id.

The access log passes a mapping as the message; it is merged into the line. Any other
message is logged as ``msg``. Exceptions are reduced to their class name in ``error``
(the traceback goes to the ``trace`` field only at debug level), and every string is
JSON-escaped, so CRLF or ANSI sequences in a header cannot forge log lines.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Mapping
from typing import Any

from zerotrust.core.clock import iso_utc


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": iso_utc(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if isinstance(record.msg, Mapping):
            line.update(record.msg)
        else:
            line["msg"] = record.getMessage()
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            if record.levelno <= logging.DEBUG or logging.getLogger().isEnabledFor(logging.DEBUG):
                line["trace"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, ensure_ascii=True, separators=(",", ":"), default=str)


def configure(level: str = "info") -> None:
    """Send the gateway's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("zerotrust", "uvicorn"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
