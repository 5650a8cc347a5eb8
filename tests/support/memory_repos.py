"""In-memory implementations of identity's storage protocols, for unit tests.

They keep the atomicity the protocols promise (single-use ``take``, compare-and-set
counters) with one lock each, so concurrency tests mean something.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from zerotrust.core.errors import Conflict
from zerotrust.identity.models import Challenge, WebAuthnCredential


class MemoryWebAuthnCredentialRepo:
    """``WebAuthnCredentialRepo`` over a dict keyed by credential id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, WebAuthnCredential] = {}

    def add(self, credential: WebAuthnCredential) -> None:
        with self._lock:
            if credential.credential_id in self._rows:
                raise Conflict("The credential is already registered.")
            self._rows[credential.credential_id] = credential

    def get(self, credential_id: str) -> WebAuthnCredential | None:
        with self._lock:
            return self._rows.get(credential_id)

    def for_principal(self, principal_id: str) -> Sequence[WebAuthnCredential]:
        with self._lock:
            return [c for c in self._rows.values() if c.principal_id == principal_id]

    def update_sign_count(
        self, credential_id: str, *, expected_old: int, new: int, now: float
    ) -> bool:
        with self._lock:
            row = self._rows.get(credential_id)
            if row is None or row.sign_count != expected_old:
                return False
            self._rows[credential_id] = dataclasses.replace(row, sign_count=new, last_used_at=now)
            return True

    def delete_for_principal(self, principal_id: str) -> None:
        with self._lock:
            for cid in [c for c, row in self._rows.items() if row.principal_id == principal_id]:
                del self._rows[cid]


class MemoryChallengeStore:
    """``ChallengeStore`` over a dict keyed by challenge digest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, Challenge] = {}

    def put(self, challenge: Challenge) -> None:
        with self._lock:
            self._rows[challenge.digest] = challenge

    def take(self, digest: str) -> Challenge | None:
        with self._lock:
            return self._rows.pop(digest, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)
