"""Small bounded structures the detectors keep their state in.

Every structure here forgets: windows drop entries older than their span, known-sets keep
only their most recent members. That is what keeps replay memory flat however long the
event stream runs.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


class Window(Generic[T]):
    """Items with their times, keeping only those within ``span`` seconds of the newest.

    ``episode`` counts bursts: it moves on whenever an item arrives at an empty window, so
    a detector can tell a new incident from the continuation of one.
    """

    __slots__ = ("episode", "items", "span")

    def __init__(self, span: float) -> None:
        self.span = span
        self.items: deque[tuple[float, T]] = deque()
        self.episode = 0

    def add(self, ts: float, item: T) -> None:
        self.evict(ts)
        if not self.items:
            self.episode += 1
        self.items.append((ts, item))

    def evict(self, now: float) -> None:
        horizon = now - self.span
        items = self.items
        while items and items[0][0] < horizon:
            items.popleft()

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return (item for _, item in self.items)

    def last_ts(self) -> float:
        return self.items[-1][0] if self.items else float("-inf")


class KnownSet(Generic[K]):
    """A set that remembers at most ``capacity`` members, forgetting the least recent."""

    __slots__ = ("capacity", "members")

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.members: dict[K, int] = {}

    def __contains__(self, item: object) -> bool:
        return item in self.members

    def __len__(self) -> int:
        return len(self.members)

    def seen(self, item: K) -> int:
        """How often ``item`` was added (0 if never or forgotten)."""
        return self.members.get(item, 0)

    def add(self, item: K) -> None:
        """Remember ``item`` (as the most recent member)."""
        count = self.members.pop(item, 0)
        self.members[item] = count + 1
        if len(self.members) > self.capacity:
            del self.members[next(iter(self.members))]


class Keyed(Generic[K, T]):
    """State per key, with the time each key was last touched, for pruning idle keys."""

    __slots__ = ("last", "state")

    def __init__(self) -> None:
        self.state: dict[K, T] = {}
        self.last: dict[K, float] = {}

    def touch(self, key: K, ts: float) -> None:
        self.last[key] = ts

    def prune(self, older_than: float) -> None:
        """Forget every key not touched since ``older_than``."""
        stale = [k for k, ts in self.last.items() if ts < older_than]
        for key in stale:
            del self.last[key]
            self.state.pop(key, None)

    def __len__(self) -> int:
        return len(self.state)


def subnet(ip: str | None) -> str | None:
    """The /24 of an IPv4 address or the /64 of an IPv6 one (cheap, string-based)."""
    if not ip:
        return None
    if ":" in ip:
        try:
            return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
        except ValueError:
            return None
    head, _, _ = ip.rpartition(".")
    return head or None
