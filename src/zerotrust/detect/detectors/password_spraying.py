"""Password spraying: one source tries a few passwords on many accounts.

Spraying stays under every per-account lockout by trying each account only once or
twice, so it is counted per source address: distinct accounts whose failure from this
source was not followed by a success. A distributed spray (many addresses, each trying a
few accounts; NIST SP 800-63B-4 §3.1.1.2) is caught by the same count taken across all
sources, on known accounts only, which a normal day never comes near.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.detectors.pending import PendingAccounts
from zerotrust.detect.events import Event
from zerotrust.detect.windows import Keyed


@dataclass(frozen=True)
class PasswordSprayingConfig:
    window_s: float = 1800.0
    accounts_per_source: int = 8  # pending accounts from one address within the window
    max_tries_per_account: float = 3.0  # above this it is brute force, not spraying
    global_window_s: float = 900.0
    global_accounts: int = 12  # pending known accounts across all addresses
    global_min_sources: int = 3


class PasswordSpraying:
    name: ClassVar[str] = "password_spraying"
    kinds: ClassVar[frozenset[str]] = frozenset({"auth.password"})

    def __init__(self, config: PasswordSprayingConfig | None = None) -> None:
        self.config = config or PasswordSprayingConfig()
        self.by_source: Keyed[str, PendingAccounts] = Keyed()
        self.everywhere = PendingAccounts(self.config.global_window_s)

    def observe(self, event: Event) -> Finding | None:
        account = event.principal.casefold()
        source = event.src_ip or "-"
        if event.outcome == "success":
            self.everywhere.resolve(account)
            pending = self.by_source.state.get(source)
            if pending is not None:
                pending.resolve(account)
            return None
        found = self._per_source(event, account, source)
        if event.reason != "unknown_user":
            self.everywhere.fail(account, event.ts, event.src_ip, event.id)
            found = found or self._global(event)
        return found

    def _per_source(self, event: Event, account: str, source: str) -> Finding | None:
        pending = self.by_source.state.get(source)
        if pending is None:
            pending = self.by_source.state[source] = PendingAccounts(self.config.window_s)
        pending.fail(account, event.ts, event.src_ip, event.id)
        self.by_source.touch(source, event.ts)
        cfg = self.config
        if (
            len(pending) < cfg.accounts_per_source
            or pending.mean_tries() > cfg.max_tries_per_account
        ):
            return None
        return Finding(
            detector=self.name,
            severity="high",
            key=f"src:{source}#{pending.episode}",
            subject=f"src:{source}",
            burst_window_s=cfg.window_s,
            principal=None,
            event_ids=pending.event_ids(),
            explanation=(
                f"{source} failed on {len(pending)} accounts in {cfg.window_s / 60:.0f} min, "
                f"{pending.mean_tries():.1f} tries each, none followed by a success"
            ),
            src_ip=event.src_ip,
            sources=(source,),
        )

    def _global(self, event: Event) -> Finding | None:
        cfg, pending = self.config, self.everywhere
        if len(pending) < cfg.global_accounts:
            return None
        sources = pending.sources()
        if (
            len(sources) < cfg.global_min_sources
            or pending.mean_tries() > cfg.max_tries_per_account
        ):
            return None
        return Finding(
            detector=self.name,
            severity="high",
            key=f"global#{pending.episode}",
            subject="global",
            burst_window_s=cfg.global_window_s,
            principal=None,
            event_ids=pending.event_ids(),
            explanation=(
                f"{len(pending)} known accounts failed from {len(sources)} addresses in "
                f"{cfg.global_window_s / 60:.0f} min without a following success (distributed)"
            ),
            src_ip=event.src_ip,
            sources=sources,
        )

    def prune(self, now: float) -> None:
        self.by_source.prune(now - self.config.window_s)
        self.everywhere.evict(now)
