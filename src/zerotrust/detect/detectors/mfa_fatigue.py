"""MFA fatigue (push bombing): a burst of rejected or ignored approval prompts.

Someone who holds the password sends prompt after prompt until the owner taps "approve"
to make it stop (ASVS 6.6.4). An owner who misses a prompt or two (phone in another room,
asleep on call) produces one or two timeouts, then approves their own login. A burst of
``threshold`` push failures within the window is an attack; an approval that comes right
after such a burst is worse, and is reported as critical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.windows import Keyed, Window


@dataclass(frozen=True)
class MfaFatigueConfig:
    window_s: float = 600.0
    threshold: int = 4  # rejected or unanswered push prompts for one principal in the window


class MfaFatigue:
    name: ClassVar[str] = "mfa_fatigue"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.mfa"})

    def __init__(self, config: MfaFatigueConfig | None = None) -> None:
        self.config = config or MfaFatigueConfig()
        self.rejected: Keyed[str, Window[str]] = Keyed()

    def observe(self, event: Event) -> Finding | None:
        if event.mfa_method != "push":
            return None
        key = event.principal.casefold()
        window = self.rejected.state.get(key)
        if event.outcome == "success":
            return self._approved_after_burst(event, key, window)
        if window is None:
            window = self.rejected.state[key] = Window(self.config.window_s)
        window.add(event.ts, event.id)
        self.rejected.touch(key, event.ts)
        if len(window) < self.config.threshold:
            return None
        return Finding(
            detector=self.name,
            severity="high",
            key=f"{key}#{window.episode}",
            subject=key,
            burst_window_s=self.config.window_s,
            principal=event.principal,
            event_ids=tuple(window),
            explanation=(
                f"{len(window)} push prompts to {event.principal} rejected or unanswered "
                f"within {self.config.window_s / 60:.0f} min"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
        )

    def _approved_after_burst(
        self, event: Event, key: str, window: Window[str] | None
    ) -> Finding | None:
        if window is None:
            return None
        window.evict(event.ts)
        if len(window) < self.config.threshold:
            return None
        ids = (*window, event.id)
        del self.rejected.state[key]
        return Finding(
            detector=self.name,
            severity="critical",
            key=f"{key}|approved",
            principal=event.principal,
            event_ids=ids,
            explanation=(
                f"push approved by {event.principal} right after {len(ids) - 1} rejected "
                "prompts: the owner may have given in"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def prune(self, now: float) -> None:
        self.rejected.prune(now - self.config.window_s)
