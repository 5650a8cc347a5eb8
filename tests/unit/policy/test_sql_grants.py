"""The SQL grant repository (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from tests.unit.policy.helpers import make_request, user
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import Conflict
from zerotrust.policy.grants import Grant, GrantService, RepoGrantView
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle
from zerotrust.store.database import Database
from zerotrust.store.grants import SqlGrants
from zerotrust.store.schema import metadata

NOW = 1_767_225_600.0
WEIRD = 'db "prod"\\); DROP TABLE jit_grants; --\nforbid'


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    metadata.create_all(database.engine)
    yield database
    database.dispose()


def pending(grant_id: str = "jit_1", resource_id: str = "db-payments") -> Grant:
    return Grant(
        grant_id, "User", "dev1", "read", "Database", resource_id, 7200, "INC-1", "pending", NOW
    )


def test_grants_round_trip(db: Database) -> None:
    repo = SqlGrants(db)
    grant = pending(resource_id=WEIRD)
    repo.add(grant)
    assert repo.get(grant.id) == grant
    assert repo.get("jit_missing") is None
    with pytest.raises(Conflict):
        repo.add(grant)


def test_replace_is_compare_and_set(db: Database) -> None:
    repo = SqlGrants(db)
    grant = pending()
    repo.add(grant)
    approved = dataclasses.replace(
        grant, status="approved", decided_by="lead1", decided_at=NOW, expires_at=NOW + 7200
    )
    repo.replace(approved, expected_status="pending")
    assert repo.get(grant.id) == approved
    with pytest.raises(Conflict):
        repo.replace(dataclasses.replace(grant, status="denied"), expected_status="pending")
    assert repo.matching(grant.key) == [approved]
    assert repo.matching((*grant.key[:4], "other")) == []
    repo.remove(grant.id)
    assert repo.get(grant.id) is None


def test_find_filters_by_principal_and_status(db: Database) -> None:
    repo = SqlGrants(db)
    repo.add(pending("jit_1"))
    repo.add(dataclasses.replace(pending("jit_2"), principal_id="dev2", requested_at=NOW + 1))
    repo.add(dataclasses.replace(pending("jit_3"), status="denied", requested_at=NOW + 2))
    assert [g.id for g in repo.find()] == ["jit_1", "jit_2", "jit_3"]
    assert [g.id for g in repo.find(principal_id="dev1")] == ["jit_1", "jit_3"]
    assert [g.id for g in repo.find(statuses=["pending"])] == ["jit_1", "jit_2"]


def test_a_grant_in_the_database_feeds_the_pdp(db: Database, bundle: PolicyBundle) -> None:
    clock = FixedClock(NOW)
    repo = SqlGrants(db)
    service = GrantService(repo, audit=MemoryAudit(), clock=clock)
    pdp = PolicyDecisionPoint(bundle, grants=RepoGrantView(repo), clock=clock, budget_s=1.0)
    grant = service.request(
        principal_id="dev1",
        action="read",
        resource_type="Database",
        resource_id=WEIRD,
        duration_s=7200,
        justification="INC-1",
    )
    read = make_request(user("developer", uid="dev1"), "read", {"type": "Database", "id": WEIRD})
    assert pdp.decide(read).effect == "deny"
    service.approve(grant.id, approver="lead1")
    assert pdp.decide(read).grant_id == grant.id
    clock.advance(7200)
    assert pdp.decide(read).reasons == ("no-applicable-policy", "grant-expired")
    assert [g.id for g in service.expire_due()] == [grant.id]
    assert pdp.decide(read).reasons == ("no-applicable-policy", "grant-expired")
