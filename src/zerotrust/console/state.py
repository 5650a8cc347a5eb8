"""Short-lived ceremony state this console process holds between two requests.

A passkey sign-in waits here for its device link (at most ``ttl_s``), and a passkey
enrolment between its password, code and passkey steps. The browser holds only an opaque
token for it, in an HttpOnly cookie; the store keeps the token's SHA-256. Nothing here
outlives the ceremony: the session itself is identity's server-side session.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from zerotrust.core.clock import Clock
from zerotrust.core.errors import RateLimited
from zerotrust.core.ids import new_token, token_digest

# Link codes avoid look-alike characters (0/O, 1/I/L) so they survive being read aloud.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8

PendingKind = Literal["signin", "enrol"]


@dataclass
class Pending:
    """One ceremony in progress, bound to the browser key that started it (``jkt``)."""

    kind: PendingKind
    principal_id: str
    jkt: str
    src_ip: str | None
    expires_at: float
    link_code: str = ""
    device_id: str | None = None  # set when the owner's enrolled device confirms the link
    mfa_token: str | None = None  # enrolment: the password step's single-use token
    second_factor_done: bool = False


def new_link_code() -> str:
    """``XXXX-XXXX``: 40 bits from the CSPRNG, single use, valid for the ceremony only."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalise_code(code: str) -> str:
    compact = "".join(ch for ch in code.upper() if ch.isalnum())[:CODE_LENGTH]
    return f"{compact[:4]}-{compact[4:]}"


class PendingStore:
    """Ceremonies in progress, bounded in number and in time; safe across threads."""

    def __init__(self, clock: Clock, *, capacity: int = 10_000) -> None:
        self._clock = clock
        self._capacity = capacity
        self._items: OrderedDict[str, Pending] = OrderedDict()
        self._codes: dict[str, str] = {}
        self._lock = threading.Lock()

    def put(self, pending: Pending) -> str:
        """Store ``pending``; return the opaque token the browser keeps for it."""
        token = new_token()
        key = token_digest(token)
        with self._lock:
            self._prune()
            self._items[key] = pending
            if pending.link_code:
                self._codes[token_digest(pending.link_code)] = key
            while len(self._items) > self._capacity:
                self._drop(next(iter(self._items)))
        return token

    def get(self, token: str | None) -> Pending | None:
        if not token:
            return None
        with self._lock:
            self._prune()
            return self._items.get(token_digest(token[:256]))

    def take(self, token: str | None) -> Pending | None:
        """Remove and return (single use): of two racing completions only one wins."""
        if not token:
            return None
        with self._lock:
            self._prune()
            key = token_digest(token[:256])
            pending = self._items.get(key)
            if pending is not None:
                self._drop(key)
            return pending

    def by_code(self, code: str) -> Pending | None:
        with self._lock:
            self._prune()
            key = self._codes.get(token_digest(normalise_code(code)))
            return self._items.get(key) if key else None

    def _drop(self, key: str) -> None:
        pending = self._items.pop(key, None)
        if pending is not None and pending.link_code:
            self._codes.pop(token_digest(pending.link_code), None)

    def _prune(self) -> None:
        now = self._clock.now()
        for key in [k for k, p in self._items.items() if p.expires_at <= now]:
            self._drop(key)


class SourceLimiter:
    """At most ``limit`` ceremony starts per source address in ``window_s`` (this process).

    Starting a sign-in stores a WebAuthn challenge and needs no secret, so an address
    could otherwise fill the challenge table; the lockout counts failures, not starts.
    """

    def __init__(self, clock: Clock, *, limit: int = 30, window_s: float = 300.0) -> None:
        self._clock = clock
        self._limit = limit
        self._window = window_s
        self._starts: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, source: str | None) -> None:
        """Count one start; ``RateLimited`` past the limit."""
        now = self._clock.now()
        key = source or "unknown"
        with self._lock:
            if len(self._starts) > 100_000:
                self._starts.clear()  # a flood of addresses: start counting afresh
            recent = [t for t in self._starts.get(key, ()) if t > now - self._window]
            if len(recent) >= self._limit:
                self._starts[key] = recent
                raise RateLimited(max(1, int(recent[0] + self._window - now)))
            recent.append(now)
            self._starts[key] = recent
