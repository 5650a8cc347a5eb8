"""Reading what the product audited, as tests check it."""

from __future__ import annotations

from typing import Any

from zerotrust.audit.interfaces import EntryFilter
from zerotrust.service import Services


def audited(svc: Services, action: str) -> list[dict[str, Any]]:
    """The Merkle audit log's entries for ``action`` (exact, or a ``prefix.*``), oldest first."""
    assert svc.audit_log is not None
    return [e.to_dict() for e in svc.audit_log.read(EntryFilter(action=action), reader="test")]
