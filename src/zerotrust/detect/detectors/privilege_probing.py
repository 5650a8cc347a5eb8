"""Privilege probing: bursts of denials, on resource types new to the principal.

Someone exploring what a stolen identity can reach, or an insider testing limits, is
denied again and again, mostly on actions and resource types the principal (and its
role) have never been allowed; ID enumeration (IDOR/BOLA, ASVS 8.2.2) is denied on many
distinct resources. A person whose role just changed is denied a few times on what they
used to do: known ground, few denials, quiet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.windows import Keyed, KnownSet, Window

Pair = tuple[str, str]  # (action, resource_type)


@dataclass(frozen=True)
class PrivilegeProbingConfig:
    window_s: float = 600.0
    denials: int = 10  # any denials of one principal within the window
    novel_denials: int = 4  # …or this many, when they span
    novel_pairs: int = 3  # this many (action, resource type) pairs never allowed before
    history_days: float = 90.0


@dataclass(slots=True)
class _Principal:
    allowed: KnownSet[Pair] = field(default_factory=lambda: KnownSet(256))
    denied: Window[tuple[Pair, str]] | None = None


class PrivilegeProbing:
    name: ClassVar[str] = "privilege_probing"
    kinds: ClassVar[frozenset[str]] = frozenset({"access"})

    def __init__(self, config: PrivilegeProbingConfig | None = None) -> None:
        self.config = config or PrivilegeProbingConfig()
        self.principals: Keyed[str, _Principal] = Keyed()
        self.roles: dict[str, KnownSet[Pair]] = {}

    def observe(self, event: Event) -> Finding | None:
        pair: Pair = (event.action or "", event.resource_type or "")
        state = self.principals.state.get(event.principal)
        if state is None:
            state = self.principals.state[event.principal] = _Principal()
        self.principals.touch(event.principal, event.ts)
        if event.outcome == "allowed":
            if pair not in state.allowed:
                state.allowed.add(pair)
                for role in event.roles:
                    self._role(role).add(pair)
            return None
        if state.denied is None:
            state.denied = Window(self.config.window_s)
        state.denied.add(event.ts, (pair, event.id))
        return self._judge(event, state, state.denied)

    def _role(self, role: str) -> KnownSet[Pair]:
        known = self.roles.get(role)
        if known is None:
            known = self.roles[role] = KnownSet(1024)
        return known

    def _novel(self, pair: Pair, state: _Principal, roles: tuple[str, ...]) -> bool:
        if pair in state.allowed:
            return False
        return not any(pair in self.roles[r] for r in roles if r in self.roles)

    def _judge(
        self, event: Event, state: _Principal, denied: Window[tuple[Pair, str]]
    ) -> Finding | None:
        cfg = self.config
        count = len(denied)
        if count < cfg.novel_denials:
            return None
        novel = {p for p, _ in denied if self._novel(p, state, event.roles)}
        if count < cfg.denials and len(novel) < cfg.novel_pairs:
            return None
        kinds = ", ".join(sorted(f"{a} {t}" for a, t in novel)[:4]) or "known resources"
        return Finding(
            detector=self.name,
            severity="high" if len(novel) >= cfg.novel_pairs else "medium",
            key=f"{event.principal}#{denied.episode}",
            subject=event.principal,
            burst_window_s=cfg.window_s,
            principal=event.principal,
            event_ids=tuple(eid for _, eid in denied),
            explanation=(
                f"{count} denials for {event.principal} in {cfg.window_s / 60:.0f} min, "
                f"{len(novel)} on never-allowed actions ({kinds})"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def prune(self, now: float) -> None:
        self.principals.prune(now - self.config.history_days * 86400)
