"""The PDP's facts: principals, resources from paths, and the request context."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zerotrust.core.clock import FixedClock
from zerotrust.devices.models import Device, Trust
from zerotrust.gateway.config import ResourceSpec
from zerotrust.gateway.context import (
    UNKNOWN_PATCH_AGE_DAYS,
    ContextBuilder,
    NoRisk,
    fill,
    principal_entity,
    resource_entity,
    workload_purpose,
)
from zerotrust.gateway.geo import Countries
from zerotrust.identity.models import Principal, Session
from zerotrust.identity.sessions import AuthContext

ALICE = Principal("usr_a", "user", "alice", "Alice", "active", ("fraud_analyst",), 0.0)
BOT = Principal("svc_b", "service", "bot", "Bot", "active", (), 0.0, "fraud_model", ("fraud",))


class StaticCountries:
    def country(self, ip: str) -> str | None:
        return {"81.2.69.142": "GB"}.get(ip)


def auth(principal: Principal = ALICE, **claims: object) -> AuthContext:
    session = Session(
        id="ses_1",
        principal_id=principal.id,
        created_at=1000.0,
        last_seen_at=1000.0,
        auth_time=1000.0,
        aal=2,
        amr=("pwd", "otp"),
        jkt="jkt",
    )
    return AuthContext(principal, session, dict(claims))


def test_principals_map_to_the_schema() -> None:
    user = principal_entity(ALICE)
    assert (user.type, user.id, dict(user.attrs)) == ("User", "usr_a", {"roles": ["fraud_analyst"]})
    bot = principal_entity(BOT)
    assert bot.type == "ServiceAccount"
    assert dict(bot.attrs) == {"workload": "fraud_model", "purposes": ["fraud"]}


def test_resources_come_from_the_path_segments() -> None:
    spec = ResourceSpec("CustomerPII", "{1}", {"customer": "{1}", "kind": "{2}"})
    entity = resource_entity(spec, ("c1", "pii"))
    assert (entity.id, dict(entity.attrs)) == ("c1", {"customer": "c1", "kind": "pii"})
    collection = resource_entity(spec, ())
    assert (collection.id, dict(collection.attrs)) == ("*", {})
    assert fill("{path}", ("a", "b")) == "a/b"
    assert fill("cases/{2}", ("a",)) is None


@pytest.mark.parametrize(
    ("scope", "requested", "purpose"),
    [
        ("fraud", None, "fraud"),
        ("fraud marketing", None, None),  # ambiguous: the workload must say which
        ("fraud marketing", "marketing", "marketing"),
        ("fraud", "marketing", None),  # not among its token's purposes
        (None, None, None),
    ],
)
def test_workload_purpose(scope: str | None, requested: str | None, purpose: str | None) -> None:
    claims = {} if scope is None else {"scope": scope}
    assert workload_purpose(claims, requested) == purpose


def test_the_context_has_every_fact_the_schema_requires() -> None:
    builder = ContextBuilder(
        countries=Countries(StaticCountries()), risk=NoRisk(), timezone="Asia/Tokyo"
    )
    device = Device("dev_1", "usr_a", "laptop", "jkt", {}, "active", 0.0)
    context = builder.build(
        auth(), device=device, trust=Trust("high", (), 3), client_ip="81.2.69.142", now=1300.0
    )
    assert context == {
        "aal": 2,
        "auth_age_s": 300,
        "device": {"enrolled": True, "trust": "high", "patch_age_days": 3},
        "risk": {"score": 0, "level": "low"},
        "country": "GB",
        "hour_local": 9,  # 1970-01-01T00:21Z is 09:21 in Tokyo
    }


def test_unknown_facts_are_the_cautious_values() -> None:
    builder = ContextBuilder(countries=Countries(StaticCountries()), risk=NoRisk())
    pending = Device("dev_1", "usr_a", "laptop", "jkt", {}, "pending", 0.0)
    context = builder.build(
        auth(), device=pending, trust=Trust("unknown"), client_ip="10.0.0.1", now=1000.0
    )
    assert context["device"] == {
        "enrolled": False,
        "trust": "unknown",
        "patch_age_days": UNKNOWN_PATCH_AGE_DAYS,
    }
    assert context["country"] == "ZZ"


def test_risk_purpose_and_case_come_from_their_sources() -> None:
    class Risky:
        def score(self, principal: str, now: float) -> tuple[int, str]:
            return (55, "medium") if principal == "bot" else (0, "low")

    class Cases:
        def case_for(self, principal_id: str, session_id: str) -> str | None:
            return "c7" if session_id == "ses_1" else None

    builder = ContextBuilder(countries=Countries(StaticCountries()), risk=Risky(), cases=Cases())
    context = builder.build(
        auth(BOT, scope="fraud"), device=None, trust=Trust("unknown"), client_ip="x", now=1000.0
    )
    assert context["risk"] == {"score": 55, "level": "medium"}
    assert context["purpose"] == "fraud"
    assert context["case_customer"] == "c7"


def test_a_failing_country_database_is_unknown_not_an_error() -> None:
    class Broken:
        def country(self, ip: str) -> str | None:
            raise ValueError(ip)

    assert Countries(Broken()).country("8.8.8.8") == "ZZ"
    assert Countries().country("81.2.69.142") == "GB"  # the offline database
    assert Countries().country("127.0.0.1") == "ZZ"


def test_the_clock_is_the_one_injected() -> None:
    clock = FixedClock(86_400 * 365 + 3600 * 15)
    builder = ContextBuilder(countries=Countries(StaticCountries()), risk=NoRisk())
    ctx = builder.build(auth(), device=None, trust=Trust("unknown"), client_ip="x", now=clock.now())
    assert ctx["hour_local"] == 15
    assert replace(ALICE).roles == ("fraud_analyst",)
