"""Credential stuffing: username/password pairs leaked elsewhere, tried from many addresses.

The tell is the usernames: a leaked list holds many accounts that do not exist here, so a
burst of ``unknown_user`` failures for many distinct names, from several addresses, is
stuffing. People mistype their own username now and then, one name from one address;
that never adds up to many names from many addresses in minutes. The response is to
throttle the sources, never to lock the victims (ASVS 6.1.1, 6.3.1).
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event


@dataclass(frozen=True)
class CredentialStuffingConfig:
    window_s: float = 600.0
    unknown_users: int = 8  # distinct non-existent usernames within the window
    min_sources: int = 3  # from at least this many addresses


class CredentialStuffing:
    name: ClassVar[str] = "credential_stuffing"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.password"})

    def __init__(self, config: CredentialStuffingConfig | None = None) -> None:
        self.config = config or CredentialStuffingConfig()
        self.recent: deque[tuple[float, str, str, str]] = deque()  # ts, user, source, id
        self.users: Counter[str] = Counter()
        self.sources: Counter[str] = Counter()
        self.episode = 0

    def observe(self, event: Event) -> Finding | None:
        if event.outcome != "failure" or event.reason != "unknown_user":
            return None
        user, source = event.principal.casefold(), event.src_ip or "-"
        self.prune(event.ts)
        if not self.recent:
            self.episode += 1  # a new wave, not the tail of the last one
        self.recent.append((event.ts, user, source, event.id))
        self.users[user] += 1
        self.sources[source] += 1
        cfg = self.config
        if len(self.users) < cfg.unknown_users or len(self.sources) < cfg.min_sources:
            return None
        return Finding(
            detector=self.name,
            severity="high",
            key=f"global#{self.episode}",
            subject="global",
            burst_window_s=self.config.window_s,
            principal=None,
            event_ids=tuple(entry[3] for entry in self.recent),
            explanation=(
                f"{len(self.users)} non-existent usernames tried from {len(self.sources)} "
                f"addresses in {cfg.window_s / 60:.0f} min (leaked credential list)"
            ),
            src_ip=event.src_ip,
            sources=tuple(s for s, _ in self.sources.most_common(50) if s != "-"),
        )

    def prune(self, now: float) -> None:
        horizon = now - self.config.window_s
        recent = self.recent
        while recent and recent[0][0] < horizon:
            _, user, source, _ = recent.popleft()
            _decrement(self.users, user)
            _decrement(self.sources, source)


def _decrement(counter: Counter[str], key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
