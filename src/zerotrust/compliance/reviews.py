"""Access reviews: what each principal may do against what it did, and review campaigns.

For every principal the policy in force is asked what each of its roles permits, and the
audit log says which of those permissions were used in the last N days. A role (or a
just-in-time grant) none of whose permissions was used is *unused*: the principal is
over-privileged until a reviewer certifies it or it is revoked. A campaign lists every
role assignment and grant; reviewers certify or revoke each one. A revocation goes
through identity (role) or the grant service at once, so the very next decision no longer
sees it. The campaign's start, every decision and its close are audited; closed campaigns
are SOC 2 CC6.2/CC6.3 evidence.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal, Protocol

from zerotrust.compliance.dataflow import use_of
from zerotrust.compliance.models import (
    AccessControl,
    EvidenceSource,
    GrantFacts,
    Permission,
    PrincipalFacts,
    ScannedEntry,
)
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import Conflict, Forbidden, InvalidInput, NotFound

DAY: Final = 86_400.0
DEFAULT_WINDOW_DAYS: Final = 90
Decision = Literal["certify", "revoke"]
Usage = Mapping[str, Mapping[Permission, int]]


def usage_from(entries: Iterable[ScannedEntry]) -> dict[str, dict[Permission, int]]:
    """Uses per principal id and (action, resource type), from allowed accesses."""
    usage: dict[str, dict[Permission, int]] = defaultdict(lambda: defaultdict(int))
    for scanned in entries:
        use = use_of(scanned.entry) if scanned.entry is not None else None
        if use is not None:
            usage[use.principal][(use.action, use.resource_type)] += 1
    return usage


@dataclass(frozen=True)
class Entitlement:
    """One role assignment or grant held by a principal, and how much of it was used."""

    kind: Literal["role", "grant"]
    name: str  # the role, or the grant id
    permissions: tuple[Permission, ...]
    used: tuple[Permission, ...]
    uses: int

    @property
    def unused(self) -> bool:
        return self.uses == 0


@dataclass(frozen=True)
class PrincipalReview:
    """Granted versus used for one principal."""

    principal: PrincipalFacts
    granted: tuple[Permission, ...]
    used: Mapping[Permission, int]
    entitlements: tuple[Entitlement, ...]

    @property
    def unused_permissions(self) -> list[Permission]:
        return [p for p in self.granted if p not in self.used]

    @property
    def over_privileged(self) -> bool:
        return any(e.unused for e in self.entitlements)

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal.id,
            "name": self.principal.name,
            "kind": self.principal.kind,
            "granted": [list(p) for p in self.granted],
            "used": {f"{a} {t}": n for (a, t), n in sorted(self.used.items())},
            "unused": [list(p) for p in self.unused_permissions],
            "over_privileged": self.over_privileged,
            "stale": [f"{e.kind}:{e.name}" for e in self.entitlements if e.unused],
        }


def _entitlement(
    kind: Literal["role", "grant"], name: str, perms: Iterable[Permission], used: Usage, pid: str
) -> Entitlement:
    mine = used.get(pid, {})
    ordered = tuple(sorted(perms))
    hit = tuple(p for p in ordered if p in mine)
    return Entitlement(kind, name, ordered, hit, sum(mine[p] for p in hit))


def review_principals(
    source: EvidenceSource, usage: Usage, grants: Sequence[GrantFacts] | None = None
) -> list[PrincipalReview]:
    """Granted versus used for every active principal."""
    grants = source.grants() if grants is None else grants
    out = []
    for p in source.principals():
        if not p.active:
            continue
        ents = [
            _entitlement("role", r, source.role_permissions(p, r), usage, p.id) for r in p.roles
        ]
        ents += [
            _entitlement("grant", g.id, [(g.action, g.resource_type)], usage, p.id)
            for g in grants
            if g.principal_id == p.id
        ]
        granted = set(source.permissions(p)) | {q for e in ents for q in e.permissions}
        out.append(
            PrincipalReview(p, tuple(sorted(granted)), dict(usage.get(p.id, {})), tuple(ents))
        )
    return out


# -- campaigns ---------------------------------------------------------------------------


@dataclass
class ReviewItem:
    """One entitlement under review."""

    id: str
    principal_id: str
    principal_name: str
    kind: Literal["role", "grant"]
    name: str
    uses: int
    decision: Decision | None = None
    reviewer: str | None = None
    decided_at: float | None = None
    note: str | None = None


@dataclass
class Campaign:
    """A review campaign: every entitlement in force when it started."""

    id: str
    name: str
    started_by: str
    started_at: float
    window_days: int
    items: list[ReviewItem] = field(default_factory=list)
    closed_at: float | None = None

    def item(self, item_id: str) -> ReviewItem:
        found = next((i for i in self.items if i.id == item_id), None)
        if found is None:
            raise NotFound("No such review item in this campaign.")
        return found

    @property
    def pending(self) -> list[ReviewItem]:
        return [i for i in self.items if i.decision is None]

    def counts(self) -> dict[str, int]:
        decided = [i.decision for i in self.items]
        return {
            "items": len(self.items),
            "certified": decided.count("certify"),
            "revoked": decided.count("revoke"),
            "pending": decided.count(None),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Campaign:
        items = [ReviewItem(**i) for i in data.get("items", [])]
        return cls(**{**data, "items": items})


class CampaignStore(Protocol):
    def save(self, campaign: Campaign) -> None: ...

    def get(self, campaign_id: str) -> Campaign | None: ...

    def list(self) -> list[Campaign]: ...


class MemoryCampaigns:
    """Campaigns in a dict (tests; the adapter keeps them as files)."""

    def __init__(self) -> None:
        self._rows: dict[str, Campaign] = {}

    def save(self, campaign: Campaign) -> None:
        self._rows[campaign.id] = Campaign.from_json(campaign.to_json())

    def get(self, campaign_id: str) -> Campaign | None:
        row = self._rows.get(campaign_id)
        return Campaign.from_json(row.to_json()) if row else None

    def list(self) -> list[Campaign]:
        return sorted(self._rows.values(), key=lambda c: c.started_at)


def latest_closed(store: CampaignStore, *, now: float, max_age_days: int) -> Campaign | None:
    closed = [
        c
        for c in store.list()
        if c.closed_at is not None and now - c.closed_at <= max_age_days * DAY
    ]
    return max(closed, key=lambda c: c.closed_at or 0.0, default=None)


class Reviews:
    """Runs review campaigns over live state."""

    def __init__(
        self,
        source: EvidenceSource,
        control: AccessControl,
        store: CampaignStore,
        *,
        window_days: int = DEFAULT_WINDOW_DAYS,
    ) -> None:
        if not 1 <= window_days <= 3650:
            raise InvalidInput("window_days: 1 to 3650")
        self.source = source
        self.control = control
        self.store = store
        self.window_days = window_days

    def principals(self) -> list[PrincipalReview]:
        since = self.source.now() - self.window_days * DAY
        return review_principals(self.source, usage_from(self.source.audit_entries(since=since)))

    def start(self, name: str, *, actor: str) -> Campaign:
        """Open a campaign over every role assignment and grant in force (audited)."""
        if not name or len(name) > 200:
            raise InvalidInput("name: 1 to 200 characters")
        campaign = Campaign(
            id=f"rev_{secrets.token_hex(8)}",
            name=name,
            started_by=actor,
            started_at=self.source.now(),
            window_days=self.window_days,
        )
        for review in self.principals():
            p = review.principal
            campaign.items += [
                ReviewItem(f"{p.id}/{e.kind}/{e.name}", p.id, p.name, e.kind, e.name, e.uses)
                for e in review.entitlements
            ]
        self.control.record(
            AuditRecord(
                action="review.campaign_start",
                actor=actor,
                outcome="success",
                resource=f"review:{campaign.id}",
                details={"name": name, "window_days": self.window_days, **campaign.counts()},
            )
        )
        self.store.save(campaign)
        return campaign

    def get(self, campaign_id: str) -> Campaign:
        campaign = self.store.get(campaign_id)
        if campaign is None:
            raise NotFound("No such review campaign.")
        return campaign

    def certify(
        self, campaign_id: str, item_id: str, *, reviewer: str, note: str | None = None
    ) -> Campaign:
        return self._decide(campaign_id, item_id, "certify", reviewer, note)

    def revoke(
        self, campaign_id: str, item_id: str, *, reviewer: str, note: str | None = None
    ) -> Campaign:
        return self._decide(campaign_id, item_id, "revoke", reviewer, note)

    def _decide(
        self, campaign_id: str, item_id: str, decision: Decision, reviewer: str, note: str | None
    ) -> Campaign:
        campaign = self.get(campaign_id)
        if campaign.closed_at is not None:
            raise Conflict("The campaign is closed.", code="campaign_closed")
        item = campaign.item(item_id)
        if item.decision is not None:
            raise Conflict("This item was already decided.", code="already_decided")
        if reviewer in (item.principal_id, item.principal_name):
            # Nobody certifies their own access: that is the control being evidenced.
            raise Forbidden("Reviewers cannot review their own access.", code="self_review")
        if decision == "revoke":  # takes effect now, before the outcome is recorded
            if item.kind == "role":
                self.control.revoke_role(item.principal_id, item.name, actor=reviewer)
            else:
                self.control.revoke_grant(item.name, actor=reviewer)
        now = self.source.now()
        updated = replace(item, decision=decision, reviewer=reviewer, decided_at=now, note=note)
        campaign.items = [updated if i.id == item_id else i for i in campaign.items]
        self.control.record(
            AuditRecord(
                action=f"review.{decision}",
                actor=reviewer,
                outcome="success",
                resource=f"review:{campaign.id}",
                reason=note,
                details={
                    "item": item_id,
                    "principal": item.principal_id,
                    "kind": item.kind,
                    "entitlement": item.name,
                    "uses": item.uses,
                },
            )
        )
        if not campaign.pending:
            campaign.closed_at = now
            self.control.record(
                AuditRecord(
                    action="review.campaign_close",
                    actor=reviewer,
                    outcome="success",
                    resource=f"review:{campaign.id}",
                    details={"name": campaign.name, **campaign.counts()},
                )
            )
        self.store.save(campaign)
        return campaign
