"""Just-in-time grants: time-limited access to one resource, approved by a second person.

A principal requests an action on one resource (type and id) for a bounded duration and
gives a justification. A different person approves or denies it (no self-approval: the
four-eyes rule of OWASP ASVS 2.3.5 / PCI DSS 7.2). The approval starts the clock; when it
runs out the grant is simply no longer active — the PDP compares the expiry with its own
clock on every decision, so no sweeper has to run for access to end. ``expire_due`` only
records the expiry in the store and the audit log. Every transition is audited, and a
transition whose audit write fails is undone (fail closed).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.clock import Clock
from zerotrust.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zerotrust.core.ids import new_id

GrantStatus = Literal["pending", "approved", "denied", "revoked", "expired"]
GrantState = Literal["pending", "active", "denied", "revoked", "expired", "stale"]

DEFAULT_MAX_DURATION_S: Final = 8 * 3600
DEFAULT_REQUEST_TTL_S: Final = 24 * 3600
DEFAULT_GRANTABLE: Final = frozenset({"read", "list", "write"})
PRINCIPAL_TYPES: Final = frozenset({"User", "ServiceAccount"})
MAX_JUSTIFICATION: Final = 500
_IN_FORCE_OR_EXPIRED: Final[tuple[GrantStatus, ...]] = ("approved", "expired")
_APPROVED: Final[tuple[GrantStatus, ...]] = ("approved",)
_TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True, slots=True)
class Grant:
    """One just-in-time grant and where it is in its life."""

    id: str
    principal_type: str
    principal_id: str
    action: str
    resource_type: str
    resource_id: str
    duration_s: int
    justification: str
    status: GrantStatus
    requested_at: float
    decided_by: str | None = None
    decided_at: float | None = None
    expires_at: float | None = None
    revoked_by: str | None = None
    revoked_at: float | None = None

    @property
    def key(self) -> GrantKey:
        return (
            self.principal_type,
            self.principal_id,
            self.action,
            self.resource_type,
            self.resource_id,
        )

    def state(self, now: float, *, request_ttl_s: int = DEFAULT_REQUEST_TTL_S) -> GrantState:
        """The status as of ``now``: an approved grant past its expiry is ``expired``."""
        if self.status == "approved":
            return "active" if self.expires_at is not None and now < self.expires_at else "expired"
        if self.status == "pending" and now >= self.requested_at + request_ttl_s:
            return "stale"
        return self.status


GrantKey = tuple[str, str, str, str, str]


class GrantRepo(Protocol):
    """Storage for grants; ``replace`` is a compare-and-set on the stored status."""

    def add(self, grant: Grant) -> None: ...

    def get(self, grant_id: str) -> Grant | None: ...

    def replace(self, grant: Grant, *, expected_status: GrantStatus) -> None:
        """Store ``grant`` if the stored one still has ``expected_status``; else ``Conflict``."""
        ...

    def remove(self, grant_id: str) -> None: ...

    def find(
        self, *, principal_id: str | None = None, statuses: Collection[GrantStatus] | None = None
    ) -> list[Grant]: ...

    def matching(self, key: GrantKey) -> list[Grant]:
        """Approved and expired grants for exactly this principal, action and resource."""
        ...


@dataclass(frozen=True, slots=True)
class GrantMatch:
    """The grant (if any) behind a request: one in force, or one that has run out."""

    active: Grant | None = None
    expired: Grant | None = None


NO_MATCH: Final = GrantMatch()


class GrantView(Protocol):
    """What the PDP asks: is there a grant for exactly this access, now?"""

    def match(self, key: GrantKey, now: float) -> GrantMatch: ...


def best_match(grants: Collection[Grant], now: float) -> GrantMatch:
    """The longest-lasting active grant, else the most recently expired one."""
    active = [g for g in grants if g.state(now) == "active"]
    if active:
        return GrantMatch(active=max(active, key=lambda g: g.expires_at or 0.0))
    expired = [g for g in grants if g.status in ("approved", "expired")]
    return (
        GrantMatch(expired=max(expired, key=lambda g: g.expires_at or 0.0)) if expired else NO_MATCH
    )


class RepoGrantView:
    """Looks grants up in the store on every decision (one indexed query)."""

    def __init__(self, repo: GrantRepo) -> None:
        self._repo = repo

    def match(self, key: GrantKey, now: float) -> GrantMatch:
        return best_match(self._repo.matching(key), now)


class GrantIndex:
    """An in-memory copy for the hot path, kept current by ``GrantService`` listeners.

    Other replicas call ``refresh`` periodically; expiry never waits for a refresh, since
    the PDP compares ``expires_at`` with its clock on every decision.
    """

    def __init__(self) -> None:
        self._by_key: dict[GrantKey, dict[str, Grant]] = {}

    def refresh(self, repo: GrantRepo) -> None:
        fresh: dict[GrantKey, dict[str, Grant]] = {}
        for grant in repo.find(statuses=_IN_FORCE_OR_EXPIRED):
            fresh.setdefault(grant.key, {})[grant.id] = grant
        self._by_key = fresh  # one reference swap: readers see the old or the new index

    def put(self, grant: Grant) -> None:
        """Record a grant's latest state (approved or expired kept; others dropped)."""
        bucket = dict(self._by_key.get(grant.key, {}))
        bucket.pop(grant.id, None)
        if grant.status in ("approved", "expired"):
            bucket[grant.id] = grant
        self._by_key = {**self._by_key, grant.key: bucket}

    def match(self, key: GrantKey, now: float) -> GrantMatch:
        bucket = self._by_key.get(key)
        return best_match(list(bucket.values()), now) if bucket else NO_MATCH


Listener = Callable[[Grant], None]


class GrantService:
    """Requests, approvals, denials, revocations and expiries, each audited."""

    def __init__(
        self,
        repo: GrantRepo,
        *,
        audit: AuditRecorder,
        clock: Clock,
        max_duration_s: int = DEFAULT_MAX_DURATION_S,
        request_ttl_s: int = DEFAULT_REQUEST_TTL_S,
        grantable_actions: Collection[str] = DEFAULT_GRANTABLE,
        listeners: Collection[Listener] = (),
    ) -> None:
        self._repo = repo
        self._audit = audit
        self._clock = clock
        self.max_duration_s = max_duration_s
        self.request_ttl_s = request_ttl_s
        self.grantable_actions = frozenset(grantable_actions)
        self._listeners = tuple(listeners)

    def request(
        self,
        *,
        principal_id: str,
        action: str,
        resource_type: str,
        resource_id: str,
        duration_s: int,
        justification: str,
        principal_type: str = "User",
    ) -> Grant:
        """File a request; it grants nothing until someone else approves it."""
        self._check_request(
            principal_type, action, resource_type, resource_id, duration_s, justification
        )
        grant = Grant(
            new_id("jit"),
            principal_type,
            _ident(principal_id, "principal"),
            action,
            resource_type,
            resource_id,
            duration_s,
            justification.strip(),
            "pending",
            self._clock.now(),
        )
        self._repo.add(grant)
        try:
            self._audit.append(_record("grant.request", grant.principal_id, "success", grant))
        except Exception:
            self._repo.remove(grant.id)  # an unaudited request must not stand
            raise
        self._notify(grant)
        return grant

    def approve(self, grant_id: str, *, approver: str) -> Grant:
        """Approve a pending request; the approver must be someone else."""
        grant = self._pending(grant_id)
        _ident(approver, "approver")
        if _same_person(approver, grant.principal_id):
            self._audit.append(
                _record("grant.approve", approver, "denied", grant, reason="self-approval")
            )
            raise Forbidden(
                "A grant cannot be approved by the person it is for.", code="self_approval"
            )
        now = self._clock.now()
        return self._transition(
            grant,
            "grant.approve",
            approver,
            dataclasses.replace(
                grant,
                status="approved",
                decided_by=approver,
                decided_at=now,
                expires_at=now + grant.duration_s,
            ),
        )

    def deny(self, grant_id: str, *, approver: str) -> Grant:
        """Refuse a pending request."""
        grant = self._pending(grant_id)
        _ident(approver, "approver")
        return self._transition(
            grant,
            "grant.deny",
            approver,
            dataclasses.replace(
                grant, status="denied", decided_by=approver, decided_at=self._clock.now()
            ),
        )

    def revoke(self, grant_id: str, *, by: str) -> Grant:
        """End a pending or active grant now (anyone may withdraw access early)."""
        grant = self._get(grant_id)
        _ident(by, "revoker")
        if grant.state(self._clock.now(), request_ttl_s=self.request_ttl_s) not in (
            "pending",
            "active",
        ):
            raise Conflict(
                "Only a pending or active grant can be revoked.", code="grant_not_revocable"
            )
        return self._transition(
            grant,
            "grant.revoke",
            by,
            dataclasses.replace(
                grant, status="revoked", revoked_by=by, revoked_at=self._clock.now()
            ),
        )

    def expire_due(self) -> list[Grant]:
        """Record every approved grant whose time is up as ``expired`` (audited)."""
        now = self._clock.now()
        done = []
        for grant in self._repo.find(statuses=_APPROVED):
            if grant.state(now) == "expired":
                try:
                    done.append(
                        self._transition(
                            grant,
                            "grant.expire",
                            "system",
                            dataclasses.replace(grant, status="expired"),
                        )
                    )
                except Conflict:
                    continue  # revoked or expired by someone else meanwhile
        return done

    def find(
        self, *, principal_id: str | None = None, statuses: Collection[GrantStatus] | None = None
    ) -> list[Grant]:
        return self._repo.find(principal_id=principal_id, statuses=statuses)

    def get(self, grant_id: str) -> Grant:
        return self._get(grant_id)

    # -- internals -------------------------------------------------------------------

    def _check_request(
        self,
        principal_type: str,
        action: str,
        resource_type: str,
        resource_id: str,
        duration_s: int,
        justification: str,
    ) -> None:
        if principal_type not in PRINCIPAL_TYPES:
            raise InvalidInput("principal type must be User or ServiceAccount")
        if action not in self.grantable_actions:
            raise InvalidInput(f"action must be one of {', '.join(sorted(self.grantable_actions))}")
        if not _TYPE_NAME.match(resource_type):
            raise InvalidInput("resource type must be a Cedar entity type name")
        _ident(resource_id, "resource id")
        if not 0 < duration_s <= self.max_duration_s:
            raise InvalidInput(f"duration must be 1-{self.max_duration_s} seconds")
        if not justification.strip() or len(justification) > MAX_JUSTIFICATION:
            raise InvalidInput(f"justification must be 1-{MAX_JUSTIFICATION} characters")

    def _get(self, grant_id: str) -> Grant:
        grant = self._repo.get(grant_id)
        if grant is None:
            raise NotFound("No such grant.", code="grant_not_found")
        return grant

    def _pending(self, grant_id: str) -> Grant:
        grant = self._get(grant_id)
        state = grant.state(self._clock.now(), request_ttl_s=self.request_ttl_s)
        if state == "stale":
            raise Conflict(
                "The request is too old to decide; file a new one.", code="grant_request_stale"
            )
        if state != "pending":
            raise Conflict("The grant has already been decided.", code="grant_decided")
        return grant

    def _transition(self, old: Grant, action: str, actor: str, new: Grant) -> Grant:
        self._repo.replace(new, expected_status=old.status)
        try:
            self._audit.append(_record(action, actor, "success", new))
        except Exception:
            self._repo.replace(old, expected_status=new.status)  # no unaudited change
            raise
        self._notify(new)
        return new

    def _notify(self, grant: Grant) -> None:
        for listener in self._listeners:
            listener(grant)


def _same_person(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


def _ident(value: str, what: str) -> str:
    if not value or len(value) > 512 or value != value.strip():
        raise InvalidInput(f"{what} must be 1-512 characters without surrounding spaces")
    return value


def _record(
    action: str, actor: str, outcome: str, grant: Grant, reason: str | None = None
) -> AuditRecord:
    return AuditRecord(
        action=action,
        actor=actor,
        outcome=outcome,
        resource=f"{grant.resource_type}:{grant.resource_id}",
        reason=reason,
        details={
            "grant_id": grant.id,
            "principal": f"{grant.principal_type}:{grant.principal_id}",
            "grant_action": grant.action,
            "status": grant.status,
            "duration_s": grant.duration_s,
            "expires_at": grant.expires_at,
        },
    )
