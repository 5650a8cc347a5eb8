"""Workload misuse: a service account acting outside its lane.

An AI workload is a program: it calls the same few actions on the same resource types
from the same network, day and night. After a learning period, a call from a network
(/24 or /64) that neither it nor its role has used suggests a stolen credential; several
distinct never-seen (action, resource type) pairs within the hour suggest a hijacked
workload reaching for new data. A new pod address inside a known network is autoscaling;
one new call after a deployment is learned and passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.events import Event
from zerotrust.detect.windows import Keyed, KnownSet, Window, subnet

Call = tuple[str, str]  # (action, resource type)


@dataclass(frozen=True)
class WorkloadMisuseConfig:
    learn_s: float = 86400.0  # learn only, for this long after a workload is first seen…
    learn_events: int = 50  # …and until it has made this many calls
    new_call_window_s: float = 3600.0
    new_calls: int = 2  # distinct never-seen (action, resource type) pairs in the window
    adopt_network_s: float = 86400.0  # a flagged network in use this long becomes known
    history_days: float = 90.0


@dataclass(slots=True)
class _Lane:
    first_ts: float
    events: int = 0
    networks: KnownSet[str] = field(default_factory=lambda: KnownSet(64))
    calls: KnownSet[Call] = field(default_factory=lambda: KnownSet(256))
    novel: Window[tuple[Call, str]] | None = None
    flagged: dict[str, float] = field(default_factory=dict)  # network → first flagged at


class WorkloadMisuse:
    name: ClassVar[str] = "workload_misuse"
    kinds: ClassVar[frozenset[str]] = frozenset({"access", "auth.client"})

    def __init__(self, config: WorkloadMisuseConfig | None = None) -> None:
        self.config = config or WorkloadMisuseConfig()
        self.lanes: Keyed[str, _Lane] = Keyed()
        self.role_networks: dict[str, KnownSet[str]] = {}

    def observe(self, event: Event) -> Finding | None:
        if event.principal_type != "service":
            return None
        lane = self.lanes.state.get(event.principal)
        if lane is None:
            lane = self.lanes.state[event.principal] = _Lane(event.ts)
        self.lanes.touch(event.principal, event.ts)
        lane.events += 1
        net = subnet(event.src_ip)
        call = (event.action or "", event.resource_type or "") if event.kind == "access" else None
        cfg = self.config
        learning = event.ts - lane.first_ts < cfg.learn_s or lane.events < cfg.learn_events
        found = None if learning else self._judge(event, lane, net, call)
        if found is not None and lane.novel is not None:
            # Calls made during a flagged burst are never adopted: otherwise an attacker's
            # first never-seen call would be learned and a second attack would pass.
            for flagged_call, _ in lane.novel:
                lane.calls.members.pop(flagged_call, None)
            call = None
        if event.is_success:
            self._learn(event, lane, net if self._adoptable(lane, net, event.ts) else None, call)
        return found

    def _adoptable(self, lane: _Lane, net: str | None, ts: float) -> bool:
        """A flagged network is learned only after a day of use (a migration), so an
        attacker's first calls never make its network part of the lane."""
        if net is None or net not in lane.flagged:
            return True
        if ts - lane.flagged[net] < self.config.adopt_network_s:
            return False
        del lane.flagged[net]
        return True

    def _learn(self, event: Event, lane: _Lane, net: str | None, call: Call | None) -> None:
        if net is not None:
            lane.networks.add(net)
            for role in event.roles:
                self.role_networks.setdefault(role, KnownSet(256)).add(net)
        if call is not None:
            lane.calls.add(call)

    def _known_network(self, event: Event, lane: _Lane, net: str | None) -> bool:
        if net is None or net in lane.networks:
            return True
        return any(net in self.role_networks.get(role, ()) for role in event.roles)

    def _novel_calls(self, event: Event, lane: _Lane, call: Call | None) -> list[tuple[Call, str]]:
        """The never-seen calls of the window, if this event is one of them."""
        if call is None or call in lane.calls:
            return []
        if lane.novel is None:
            lane.novel = Window(self.config.new_call_window_s)
        lane.novel.add(event.ts, (call, event.id))
        return list(lane.novel)

    def _judge(
        self, event: Event, lane: _Lane, net: str | None, call: Call | None
    ) -> Finding | None:
        # A new network is reported once, when first seen; it stays unlearned (flagged)
        # until it has been in use for a day, so a migration alerts once, not hourly.
        new_net = not self._known_network(event, lane, net) and net not in lane.flagged
        if new_net and net is not None:
            lane.flagged[net] = event.ts
            if len(lane.flagged) > 64:
                del lane.flagged[next(iter(lane.flagged))]
        novel = self._novel_calls(event, lane, call)
        distinct = sorted({c for c, _ in novel})
        if not new_net and len(distinct) < self.config.new_calls:
            return None
        what = [f"from new network {net}"] if new_net else []
        if distinct:
            shown = ", ".join(f"{a} {t}" for a, t in distinct[:3])
            what.append(f"{len(distinct)} never-seen call(s): {shown}")
        ids = [eid for _, eid in novel[-24:] if eid != event.id]
        return Finding(
            detector=self.name,
            severity="high" if new_net and distinct else "medium",
            key=f"{event.principal}|{net}" if new_net else event.principal,
            principal=event.principal,
            event_ids=(*ids, event.id),
            explanation=f"workload {event.principal} acted outside its lane: " + "; ".join(what),
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def prune(self, now: float) -> None:
        self.lanes.prune(now - self.config.history_days * 86400)
