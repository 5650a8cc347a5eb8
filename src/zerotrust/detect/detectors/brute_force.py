"""Brute force: many failed guesses at one account's password or second factor.

The identity service already locks an account after 10 failures (PCI DSS 8.3.4); this
detector raises the alert, feeds the risk score and lets a playbook block the sources.
A person who mistypes, or forgets and resets, fails a handful of times; a device retrying
a stale password fails a few times an hour. Neither reaches the threshold in the window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.windows import Keyed, Window

# Push rejections are MFA fatigue, not guessing; they have their own detector.
GUESS_METHODS = frozenset({None, "totp", "recovery", "webauthn"})


@dataclass(frozen=True)
class BruteForceConfig:
    window_s: float = 900.0
    threshold: int = 10  # failures of one factor on one account within the window


class BruteForce:
    name: ClassVar[str] = "brute_force"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.password", "auth.mfa"})

    def __init__(self, config: BruteForceConfig | None = None) -> None:
        self.config = config or BruteForceConfig()
        self.failures: Keyed[tuple[str, str], Window[Event]] = Keyed()

    def observe(self, event: Event) -> Finding | None:
        if event.outcome != "failure" or event.mfa_method not in GUESS_METHODS:
            return None
        factor = "password" if event.kind == "auth.password" else "mfa"
        key = (event.principal.casefold(), factor)
        window = self.failures.state.get(key)
        if window is None:
            window = self.failures.state[key] = Window(self.config.window_s)
        window.add(event.ts, event)
        self.failures.touch(key, event.ts)
        if len(window) < self.config.threshold:
            return None
        events = list(window)
        sources = tuple(dict.fromkeys(e.src_ip for e in events if e.src_ip))
        return Finding(
            detector=self.name,
            severity="high",
            key=f"{key[0]}|{factor}#{window.episode}",
            subject=f"{key[0]}|{factor}",
            burst_window_s=self.config.window_s,
            principal=event.principal,
            event_ids=tuple(e.id for e in events),
            explanation=(
                f"{len(events)} failed {factor} attempts on {event.principal} within "
                f"{self.config.window_s / 60:.0f} min from {len(sources)} address(es)"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
            sources=sources,
        )

    def prune(self, now: float) -> None:
        self.failures.prune(now - self.config.window_s)
