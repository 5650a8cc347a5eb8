"""Support cases from a file: which customer each support agent is working for.

``context.case_customer`` binds a support session to one customer's case (the
``support-agent-customer`` policy), so an agent reads that customer's records and
nobody else's. The assignments come from the ticketing system; here, a JSON object
``{"<principal id>": "<customer id>"}`` that the ticketing integration rewrites. It is
re-read when it changes (checked at most once a second); a file that is missing or
does not parse binds nobody, so support reads are denied rather than widened.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

log = logging.getLogger("zerotrust.gateway")


class FileCases:
    """``CaseSource`` over a JSON file of principal id → customer id."""

    def __init__(self, path: Path, *, check_every_s: float = 1.0) -> None:
        self.path = path
        self._check_every_s = check_every_s
        self._checked = -float("inf")
        self._mtime: float | None = None
        self._cases: dict[str, str] = {}
        self._lock = threading.Lock()

    def case_for(self, principal_id: str, session_id: str) -> str | None:
        del session_id  # a case follows the agent, whichever session they use
        self._refresh()
        return self._cases.get(principal_id)

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._check_every_s:
            return
        with self._lock:
            self._checked = now
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                self._cases, self._mtime = {}, None
                return
            if mtime == self._mtime:
                return
            self._mtime = mtime
            try:
                data = json.loads(self.path.read_text("utf-8"))
            except (OSError, ValueError):
                data = None
            if not isinstance(data, dict):
                log.warning("support cases file %s ignored: not a JSON object", self.path)
                self._cases = {}
                return
            self._cases = {str(k): v for k, v in data.items() if isinstance(v, str)}
