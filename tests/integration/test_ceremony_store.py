"""Console ceremonies in the shared database, on SQLite and PostgreSQL: each step forward
happens once, an ended ceremony is gone, and no token or code is stored in clear."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from tests.support.concurrency import race
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import StoreUnavailable
from zerotrust.identity.ceremonies import Ceremony, normalise_code
from zerotrust.service import Services
from zerotrust.store.ceremonies_repo import SqlCeremonies, ceremonies
from zerotrust.store.database import Database
from zerotrust.store.migrations import applied_versions, migrate


def _signin(clock: FixedClock, ttl: float = 120.0) -> Ceremony:
    return Ceremony("signin", "usr_1", "jkt_browser", "10.0.0.7", clock.now() + ttl)


def _rows(services: Services) -> list[dict[str, object]]:
    with services.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(ceremonies))]


def test_a_sign_in_waits_is_linked_once_and_taken_once(
    services: Services, clock: FixedClock
) -> None:
    store = SqlCeremonies(services.db, clock)
    token, code = store.start(_signin(clock), with_code=True)
    assert len(code) == 9
    assert code == normalise_code(code)
    assert store.get(token) == _signin(clock)
    assert store.by_code(code.lower().replace("-", " ")) == _signin(clock)
    assert store.link(code, "dev_1")
    assert not store.link(code, "dev_2")  # already linked: the first device stays
    linked = store.get(token)
    assert linked is not None
    assert linked.device_id == "dev_1"
    assert store.take(token) == linked
    assert store.take(token) is None  # single use
    assert store.get(token) is None
    assert store.by_code(code) is None
    assert not store.link(code, "dev_1")


def test_an_enrolment_passes_its_second_factor_once(services: Services, clock: FixedClock) -> None:
    store = SqlCeremonies(services.db, clock)
    token, code = store.start(Ceremony("enrol", "usr_1", "jkt_browser", None, clock.now() + 300))
    assert code == ""
    assert store.pass_second_factor(token)
    assert not store.pass_second_factor(token)
    after = store.get(token)
    assert after is not None
    assert after.second_factor_done
    signin, _ = store.start(_signin(clock), with_code=True)
    assert not store.pass_second_factor(signin)  # a sign-in has no second-factor step
    assert not store.pass_second_factor(None)
    assert not store.link("ABCD-EFGH", "dev_1")  # no such code


def test_an_ended_ceremony_can_neither_be_read_nor_moved_on(
    services: Services, clock: FixedClock
) -> None:
    store = SqlCeremonies(services.db, clock)
    token, code = store.start(_signin(clock, ttl=10), with_code=True)
    clock.advance(10)
    assert store.get(token) is None
    assert store.by_code(code) is None
    assert not store.link(code, "dev_1")
    assert store.take(token) is None


def test_tokens_and_codes_are_stored_only_as_hashes(services: Services, clock: FixedClock) -> None:
    store = SqlCeremonies(services.db, clock)
    token, code = store.start(_signin(clock), with_code=True)
    [row] = _rows(services)
    stored = " ".join(str(v) for v in row.values())
    assert token not in stored
    assert code not in stored
    assert code.replace("-", "") not in stored


def test_ended_ceremonies_are_deleted_and_the_table_stays_bounded(
    services: Services, clock: FixedClock
) -> None:
    store = SqlCeremonies(services.db, clock, capacity=3)
    first, _ = store.start(_signin(clock, ttl=5))
    clock.advance(60)  # past the first's end, and past the prune interval
    tokens = [store.start(_signin(clock, ttl=100 + i))[0] for i in range(3)]
    assert store.count() == 3  # the ended one was deleted
    newest, _ = store.start(_signin(clock, ttl=500))
    assert store.count() == 3
    assert store.get(tokens[0]) is None  # the live one nearest its end gave way
    assert all(store.get(t) is not None for t in [*tokens[1:], newest])
    assert store.get(first) is None


def test_of_replicas_completing_one_sign_in_at_once_one_wins(
    services: Services, clock: FixedClock
) -> None:
    token, code = SqlCeremonies(services.db, clock).start(_signin(clock), with_code=True)
    barrier = threading.Barrier(6)
    taken: list[bool] = []
    linked: list[bool] = []

    def replica(db: Database, i: int) -> None:
        store = SqlCeremonies(db, clock)
        barrier.wait()
        linked.append(store.link(code, f"dev_{i}"))
        barrier.wait()
        taken.append(store.take(token) is not None)

    race(services.settings.effective_database_url, 6, replica)
    assert sorted(linked) == [False] * 5 + [True]
    assert sorted(taken) == [False] * 5 + [True]


def test_an_older_database_gains_the_ceremonies_table(services: Services) -> None:
    db = services.db
    with db.begin() as conn:
        conn.execute(sa.text("DROP TABLE ceremonies"))
        conn.execute(sa.text("DELETE FROM schema_migrations WHERE version = 4"))
    assert 4 not in applied_versions(db)
    assert migrate(db, now=0.0) == [4]
    assert migrate(db, now=0.0) == []
    with db.engine.connect() as conn:
        assert sa.inspect(conn).has_table("ceremonies")


def test_a_table_that_keeps_refusing_new_rows_fails_closed_with_a_clear_error(
    services: Services, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlCeremonies(services.db, clock)

    def clash(row: dict[str, object]) -> None:
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(store, "_insert", clash)
    with pytest.raises(StoreUnavailable, match="could not be started"):
        store.start(_signin(clock), with_code=True)
