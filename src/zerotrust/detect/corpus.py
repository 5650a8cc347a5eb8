"""Writing a simulated corpus: events in time order, and the labels of the attacks in it.

Generators push events in any order within a day; the emitter keeps them in a heap and
writes out everything before a given time, so a corpus of any length is written with
about one day of events in memory. Ids come from the seeded generator: same seed, same
bytes.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from zerotrust.core.clock import iso_utc


@dataclass(frozen=True)
class Who:
    """The principal fields every event carries."""

    name: str
    type: str = "user"
    roles: tuple[str, ...] = ()


@dataclass
class Attack:
    """One injected attack: its class, its victim and every event the attacker caused."""

    id: str
    cls: str
    principal: str | None
    event_ids: list[str] = field(default_factory=list)
    start: float = float("inf")

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "attack",
            "id": self.id,
            "class": self.cls,
            "principal": self.principal,
            "start": iso_utc(self.start),
            "event_ids": self.event_ids,
        }


class Emitter:
    """Builds schema events, labels attack events, and releases them in time order."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.heap: list[tuple[float, int, dict[str, Any]]] = []
        self.seq = 0
        self.written = 0
        self.attack_events = 0

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self.rng.getrandbits(128):032x}"

    def emit(
        self,
        ts: float,
        kind: str,
        who: Who,
        outcome: str,
        *,
        ip: str | None,
        device: str | None = None,
        session: str | None = None,
        attack: Attack | None = None,
        **extra: Any,
    ) -> str:
        event: dict[str, Any] = {
            "id": self.new_id("evt"),
            "time": iso_utc(ts),
            "kind": kind,
            "principal": who.name,
            "principal_type": who.type,
            "principal_roles": list(who.roles),
            "outcome": outcome,
            "src_ip": ip,
            "user_agent": "zt-sim/1.0" if who.type == "service" else "Mozilla/5.0",
            "device_id": device,
            "session_id": session,
        }
        event.update({k: v for k, v in extra.items() if v is not None})
        if attack is not None:
            attack.event_ids.append(event["id"])
            attack.start = min(attack.start, ts)
            self.attack_events += 1
        self.seq += 1
        heapq.heappush(self.heap, (ts, self.seq, event))
        return str(event["id"])

    def flush(self, before: float, write: Callable[[str], object]) -> None:
        """Write every buffered event earlier than ``before``, in (time, creation) order."""
        heap = self.heap
        while heap and heap[0][0] < before:
            write(json.dumps(heapq.heappop(heap)[2], separators=(",", ":")) + "\n")
            self.written += 1
