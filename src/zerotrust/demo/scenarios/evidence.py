"""What the verdicts are judged on besides the answers: the audit log, read in-process as
an operator's tool reads it (every read is itself audited), and the alerts it records.

Each process keeps its alert book in memory, so the control plane's ``/v1/alerts``
lists the alerts of sign-ins, not those the gateway raises. Both write to the one
tamper-evident log, though: an alert raised in either is found here as its
``detect.alert`` entry (the playbook's record of raising it), next to the responses it
triggered (``detect.lock_account``, ``detect.block_source``, ``session.revoke_all`` …).
The gateway publishes its events after answering, so detection there follows a request
by a few milliseconds: ``wait_for`` polls.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

import httpx

from zerotrust.audit.entry import AuditEntry
from zerotrust.audit.interfaces import EntryFilter
from zerotrust.audit.log import MAX_READ, AuditLog

READER: Final = "demo"
POLL_S: Final = 0.2
TIMES: Final = "\N{MULTIPLICATION SIGN}"


class Evidence:
    """Audit entries appended after a mark, found by action, outcome or content."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log

    def mark(self) -> int:
        """The sequence number of the latest entry: everything later is this run's."""
        return self.log.size() - 1

    def entries(
        self, after: int, *, action: str | None = None, outcome: str | None = None
    ) -> list[AuditEntry]:
        found: list[AuditEntry] = []
        cursor = after
        while True:
            where = EntryFilter(action=action, outcome=outcome, after_seq=cursor)
            page = self.log.read(where, limit=MAX_READ, reader=READER)
            found.extend(page)
            if len(page) < MAX_READ:
                return found
            cursor = page[-1].seq

    def wait_for(
        self,
        after: int,
        *,
        action: str,
        match: Callable[[AuditEntry], bool] = lambda _e: True,
        timeout_s: float = 5.0,
    ) -> AuditEntry | None:
        """The first entry of ``action`` after ``after`` that ``match``es, polling until
        ``timeout_s``; None if there is none by then."""
        deadline = time.monotonic() + timeout_s
        while True:
            for entry in self.entries(after, action=action):
                if match(entry):
                    return entry
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)

    def alert(
        self, after: int, *, detectors: tuple[str, ...], timeout_s: float = 5.0, **where: Any
    ) -> AuditEntry | None:
        """A ``detect.alert`` entry of one of ``detectors`` whose fields equal ``where``
        (``src_ip=…``, ``session_id=…``)."""

        def fits(entry: AuditEntry) -> bool:
            return entry.reason in detectors and all(
                getattr(entry, k) == v for k, v in where.items()
            )

        return self.wait_for(after, action="detect.alert", match=fits, timeout_s=timeout_s)

    def response(
        self, after: int, *, action: str, alert_id: str, timeout_s: float = 5.0
    ) -> AuditEntry | None:
        """The playbook's ``action`` entry (``detect.block_source`` …) for an alert."""
        return self.wait_for(
            after,
            action=action,
            match=lambda e: e.details.get("alert_id") == alert_id,
            timeout_s=timeout_s,
        )

    def block(self, after: int, address: str, *, timeout_s: float = 5.0) -> AuditEntry | None:
        """The playbook's ``detect.block_source`` entry for ``address``."""
        return self.wait_for(
            after,
            action="detect.block_source",
            match=lambda e: e.resource == f"ip:{address}",
            timeout_s=timeout_s,
        )

    def by_correlation(self, after: int, correlation_id: str) -> AuditEntry | None:
        """The gateway's entry (a decision or a refusal) for one request."""
        for entry in self.entries(after):
            if entry.details.get("correlation_id") == correlation_id:
                return entry
        return None


def listed(entry: AuditEntry | None, key: str) -> list[str]:
    """A list in an entry's details (``policies``, ``obligations``); [] if there is none."""
    value = entry.details.get(key) if entry is not None else None
    return [str(v) for v in value] if isinstance(value, list) else []


def correlation_id(response: httpx.Response) -> str:
    """The gateway's id for a request: in the problem body, or the response header."""
    body = problem(response)
    found = body.get("correlation_id") or response.headers.get("x-correlation-id", "")
    return str(found)


def body(response: httpx.Response) -> dict[str, Any]:
    """A JSON object answer ({} when the answer is anything else)."""
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def problem(response: httpx.Response) -> dict[str, Any]:
    """The problem+json body of a refusal ({} for anything else)."""
    return body(response) if response.status_code >= 400 else {}


def describe(response: httpx.Response) -> str:
    """``200``, ``201``, ``403 access_denied (workload-no-pii)``, ``429 rate_limited``."""
    body = problem(response)
    if not body:
        return str(response.status_code)
    text = f"{response.status_code} {body.get('code', '')}".rstrip()
    reasons = body.get("reasons") or ([body["reason"]] if body.get("reason") else [])
    return f"{text} ({', '.join(map(str, reasons))})" if reasons else text


def tally(values: Iterable[object]) -> str:
    """How often each answer came (``401 x4, 429 x4``, with a multiplication sign)."""
    counts = Counter(str(v) for v in values)
    return ", ".join(f"{value} {TIMES}{n}" for value, n in sorted(counts.items()))
