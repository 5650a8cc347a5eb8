"""Failed logins still "pending": not (yet) followed by a success of the same account.

A typo is followed by a success within seconds, so it leaves the pending set at once; a
guess at someone else's password never is. Counting pending accounts, rather than raw
failures, is what keeps a busy office address with the usual typos quiet while a sprayer
behind one address is caught after a few accounts.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class Pending:
    last_ts: float
    tries: int
    src_ip: str | None
    event_ids: list[str] = field(default_factory=list)


class PendingAccounts:
    """Accounts with recent unresolved failures, forgotten ``span`` seconds after the last."""

    __slots__ = ("_order", "accounts", "episode", "span")

    def __init__(self, span: float) -> None:
        self.span = span
        self.accounts: dict[str, Pending] = {}
        self._order: deque[tuple[float, str]] = deque()
        self.episode = 0  # moves on at the first failure after a quiet spell

    def fail(self, account: str, ts: float, src_ip: str | None, event_id: str) -> Pending:
        self.evict(ts)
        if not self.accounts:
            self.episode += 1
        entry = self.accounts.get(account)
        if entry is None:
            entry = self.accounts[account] = Pending(ts, 0, src_ip)
        entry.last_ts, entry.src_ip = ts, src_ip
        entry.tries += 1
        if len(entry.event_ids) < 3:
            entry.event_ids.append(event_id)
        self._order.append((ts, account))
        self.evict(ts)
        return entry

    def resolve(self, account: str) -> None:
        self.accounts.pop(account, None)

    def evict(self, now: float) -> None:
        horizon = now - self.span
        order = self._order
        while order and order[0][0] < horizon:
            ts, account = order.popleft()
            entry = self.accounts.get(account)
            if entry is not None and entry.last_ts <= ts:
                del self.accounts[account]

    def __len__(self) -> int:
        return len(self.accounts)

    def mean_tries(self) -> float:
        return sum(p.tries for p in self.accounts.values()) / max(1, len(self.accounts))

    def sources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.src_ip for p in self.accounts.values() if p.src_ip))

    def event_ids(self, limit: int = 25) -> tuple[str, ...]:
        ids = [i for p in self.accounts.values() for i in p.event_ids[:1]]
        return tuple(ids[-limit:])

    def is_idle(self, now: float) -> bool:
        self.evict(now)
        return not self.accounts
