"""Test helpers for the policy decision point: a baseline context and request builders."""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import Conflict, StoreUnavailable
from zerotrust.policy.cases import deep_merge
from zerotrust.policy.grants import Grant, GrantKey, GrantStatus
from zerotrust.policy.model import AuthzRequest, request_from_json

# A healthy, low-risk, recently authenticated session on a managed laptop.
BASE_CONTEXT: dict[str, Any] = {
    "aal": 2,
    "auth_age_s": 60,
    "device": {"enrolled": True, "trust": "high", "patch_age_days": 3},
    "risk": {"score": 10, "level": "low"},
    "country": "GB",
    "hour_local": 10,
}


def user(*roles: str, uid: str = "u1") -> dict[str, Any]:
    return {"type": "User", "id": uid, "roles": list(roles)}


def workload(
    kind: str, uid: str = "svc1", purposes: tuple[str, ...] = ("fraud",)
) -> dict[str, Any]:
    return {"type": "ServiceAccount", "id": uid, "workload": kind, "purposes": list(purposes)}


def make_request(
    principal: Mapping[str, Any],
    action: str,
    resource: Mapping[str, Any] | str,
    context: Mapping[str, Any] | None = None,
) -> AuthzRequest:
    """A request over ``BASE_CONTEXT``; ``resource`` may be just a type name."""
    target = {"type": resource, "id": "r1"} if isinstance(resource, str) else dict(resource)
    return request_from_json(
        {
            "principal": dict(principal),
            "action": action,
            "resource": target,
            "context": deep_merge(copy.deepcopy(BASE_CONTEXT), context or {}),
        }
    )


class MemoryGrantRepo:
    """``GrantRepo`` over a dict, with the same compare-and-set contract as the SQL one."""

    def __init__(self) -> None:
        self.rows: dict[str, Grant] = {}

    def add(self, grant: Grant) -> None:
        if grant.id in self.rows:
            raise Conflict("exists")
        self.rows[grant.id] = grant

    def get(self, grant_id: str) -> Grant | None:
        return self.rows.get(grant_id)

    def replace(self, grant: Grant, *, expected_status: GrantStatus) -> None:
        current = self.rows.get(grant.id)
        if current is None or current.status != expected_status:
            raise Conflict("changed")
        self.rows[grant.id] = grant

    def remove(self, grant_id: str) -> None:
        self.rows.pop(grant_id, None)

    def find(
        self, *, principal_id: str | None = None, statuses: Collection[GrantStatus] | None = None
    ) -> list[Grant]:
        return [
            g
            for g in self.rows.values()
            if (principal_id is None or g.principal_id == principal_id)
            and (statuses is None or g.status in statuses)
        ]

    def matching(self, key: GrantKey) -> list[Grant]:
        return [
            g for g in self.rows.values() if g.key == key and g.status in ("approved", "expired")
        ]


class FailingAudit:
    """An audit log that is down: every append raises."""

    def append(self, record: AuditRecord) -> int:
        raise StoreUnavailable()
