"""Just-in-time grants: four eyes, exact scope, automatic expiry, every transition audited."""

from __future__ import annotations

import pytest

from tests.unit.policy.helpers import FailingAudit, MemoryGrantRepo, make_request, user
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import Conflict, Forbidden, InvalidInput, NotFound, StoreUnavailable
from zerotrust.policy.grants import Grant, GrantIndex, GrantService, RepoGrantView
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle

TWO_HOURS = 2 * 3600
DB1 = {"type": "Database", "id": "db-payments", "environment": "production"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(1_767_225_600.0)


@pytest.fixture
def audit() -> MemoryAudit:
    return MemoryAudit()


@pytest.fixture
def repo() -> MemoryGrantRepo:
    return MemoryGrantRepo()


@pytest.fixture
def index() -> GrantIndex:
    return GrantIndex()


@pytest.fixture
def service(
    repo: MemoryGrantRepo, audit: MemoryAudit, clock: FixedClock, index: GrantIndex
) -> GrantService:
    return GrantService(repo, audit=audit, clock=clock, listeners=[index.put])


def ask(service: GrantService, **overrides: object) -> Grant:
    fields: dict[str, object] = {
        "principal_id": "dev1",
        "action": "read",
        "resource_type": "Database",
        "resource_id": "db-payments",
        "duration_s": TWO_HOURS,
        "justification": "INC-4711: reconcile ledger",
    }
    fields.update(overrides)
    return service.request(**fields)  # type: ignore[arg-type]


def test_a_developer_gets_exactly_the_granted_access_until_it_expires(
    bundle: PolicyBundle, service: GrantService, index: GrantIndex, clock: FixedClock
) -> None:
    pdp = PolicyDecisionPoint(bundle, grants=index, clock=clock, budget_s=float("inf"))
    read = make_request(user("developer", uid="dev1"), "read", DB1)
    assert pdp.decide(read).reasons == ("no-applicable-policy",)  # production: no standing read
    grant = ask(service)
    assert pdp.decide(read).effect == "deny"  # pending grants nothing
    service.approve(grant.id, approver="lead1")
    allowed = pdp.decide(read)
    assert (allowed.effect, allowed.reasons, allowed.grant_id) == (
        "allow",
        ("jit-grant",),
        grant.id,
    )
    assert allowed.policies == ("jit-grant",)
    # Exactly that: not another database, not another action, not another person.
    other_db = {**DB1, "id": "db-ledger"}
    assert (
        pdp.decide(make_request(user("developer", uid="dev1"), "read", other_db)).effect == "deny"
    )
    assert pdp.decide(make_request(user("developer", uid="dev1"), "write", DB1)).effect == "deny"
    assert pdp.decide(make_request(user("developer", uid="dev2"), "read", DB1)).effect == "deny"
    clock.advance(TWO_HOURS - 1)
    assert pdp.decide(read).effect == "allow"
    clock.advance(1)
    expired = pdp.decide(read)
    assert (expired.effect, expired.reasons) == ("deny", ("no-applicable-policy", "grant-expired"))
    assert expired.grant_id == grant.id


def test_grants_never_override_forbids(
    bundle: PolicyBundle, service: GrantService, index: GrantIndex, clock: FixedClock
) -> None:
    pdp = PolicyDecisionPoint(bundle, grants=index, clock=clock)
    service.approve(ask(service).id, approver="lead1")
    untrusted = make_request(
        user("developer", uid="dev1"), "read", DB1, {"device": {"trust": "low"}}
    )
    assert pdp.decide(untrusted).reasons == ("device-untrusted",)


def test_self_approval_is_refused_and_audited(service: GrantService, audit: MemoryAudit) -> None:
    grant = ask(service)
    for approver in ("dev1", "DEV1", " dev1"):
        with pytest.raises((Forbidden, InvalidInput)):
            service.approve(grant.id, approver=approver)
    assert service.get(grant.id).status == "pending"
    refused = [r for r in audit.records if r.action == "grant.approve"]
    assert refused
    assert all(r.outcome == "denied" for r in refused)
    assert refused[0].reason == "self-approval"


def test_every_transition_is_audited(
    service: GrantService, audit: MemoryAudit, clock: FixedClock
) -> None:
    first = ask(service)
    service.approve(first.id, approver="lead1")
    service.revoke(first.id, by="dev1")
    second = ask(service)
    service.deny(second.id, approver="lead1")
    third = ask(service)
    service.approve(third.id, approver="lead2")
    clock.advance(TWO_HOURS)
    assert [g.id for g in service.expire_due()] == [third.id]
    actions = [(r.action, r.actor, r.details["grant_id"]) for r in audit.records]
    assert actions == [
        ("grant.request", "dev1", first.id),
        ("grant.approve", "lead1", first.id),
        ("grant.revoke", "dev1", first.id),
        ("grant.request", "dev1", second.id),
        ("grant.deny", "lead1", second.id),
        ("grant.request", "dev1", third.id),
        ("grant.approve", "lead2", third.id),
        ("grant.expire", "system", third.id),
    ]
    assert audit.records[1].resource == "Database:db-payments"
    assert audit.records[1].details["expires_at"] == pytest.approx(1_767_225_600.0 + TWO_HOURS)


def test_a_revoked_grant_ends_access_at_once(
    bundle: PolicyBundle, service: GrantService, index: GrantIndex, clock: FixedClock
) -> None:
    pdp = PolicyDecisionPoint(bundle, grants=index, clock=clock)
    grant = service.approve(ask(service).id, approver="lead1")
    read = make_request(user("developer", uid="dev1"), "read", DB1)
    assert pdp.decide(read).allowed
    service.revoke(grant.id, by="secops")
    assert pdp.decide(read).reasons == ("no-applicable-policy",)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"duration_s": 8 * 3600 + 1}, "duration"),
        ({"duration_s": 0}, "duration"),
        ({"action": "manage"}, "action must be one of"),
        ({"resource_type": "database"}, "resource type"),
        ({"resource_id": ""}, "resource id"),
        ({"principal_id": " dev1"}, "principal"),
        ({"justification": "  "}, "justification"),
        ({"justification": "x" * 501}, "justification"),
        ({"principal_type": "Robot"}, "principal type"),
    ],
)
def test_bad_requests_are_refused(
    service: GrantService, repo: MemoryGrantRepo, overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        ask(service, **overrides)
    assert not repo.rows


def test_decided_and_stale_requests_cannot_be_decided_again(
    service: GrantService, clock: FixedClock
) -> None:
    grant = ask(service)
    service.deny(grant.id, approver="lead1")
    with pytest.raises(Conflict, match="already been decided"):
        service.approve(grant.id, approver="lead2")
    stale = ask(service)
    clock.advance(24 * 3600)
    with pytest.raises(Conflict) as caught:
        service.approve(stale.id, approver="lead1")
    assert caught.value.code == "grant_request_stale"
    with pytest.raises(NotFound):
        service.approve("jit_missing", approver="lead1")
    with pytest.raises(Conflict, match="revoked"):
        service.revoke(grant.id, by="lead1")


def test_a_transition_that_cannot_be_audited_is_undone(
    repo: MemoryGrantRepo, clock: FixedClock
) -> None:
    working = GrantService(repo, audit=MemoryAudit(), clock=clock)
    grant = ask(working)
    broken = GrantService(repo, audit=FailingAudit(), clock=clock)
    with pytest.raises(StoreUnavailable):
        broken.approve(grant.id, approver="lead1")
    assert repo.rows[grant.id].status == "pending"
    with pytest.raises(StoreUnavailable):
        ask(broken, resource_id="db-other")
    assert len(repo.rows) == 1


def test_the_index_and_the_repo_view_agree(
    service: GrantService, repo: MemoryGrantRepo, clock: FixedClock
) -> None:
    grant = service.approve(ask(service).id, approver="lead1")
    fresh = GrantIndex()
    fresh.refresh(repo)
    view = RepoGrantView(repo)
    for probe in (fresh, view):
        assert probe.match(grant.key, clock.now()).active == grant
        assert probe.match(grant.key, clock.now() + TWO_HOURS).expired == grant
        other = (*grant.key[:4], "db-other")
        assert probe.match(other, clock.now()).active is None


def test_the_longest_active_grant_wins(
    service: GrantService, index: GrantIndex, clock: FixedClock
) -> None:
    short = service.approve(ask(service, duration_s=600).id, approver="lead1")
    long = service.approve(ask(service, duration_s=7200).id, approver="lead1")
    assert index.match(short.key, clock.now()).active == long
    service.revoke(long.id, by="lead1")
    assert index.match(short.key, clock.now()).active == short


def test_states_follow_the_clock(service: GrantService, clock: FixedClock) -> None:
    grant = ask(service)
    assert grant.state(clock.now()) == "pending"
    assert grant.state(clock.now() + 24 * 3600) == "stale"
    approved = service.approve(grant.id, approver="lead1")
    assert approved.state(clock.now()) == "active"
    assert approved.state(clock.now() + TWO_HOURS) == "expired"
    assert [g.id for g in service.find(principal_id="dev1", statuses=["approved"])] == [grant.id]
