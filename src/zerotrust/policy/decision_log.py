"""The decision log: one JSON line per decision, the input of ``zt policy whatif``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from zerotrust.policy.model import AuthzRequest, Decision
from zerotrust.policy.whatif import log_line


class DecisionLog:
    """Appends decisions to a file (mode 0600); safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, request: AuthzRequest, decision: Decision) -> None:
        line = log_line(request, decision) + "\n"
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)
