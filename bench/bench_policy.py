"""Policy decision point benchmark: our full decision vs raw Cedar vs RBAC in pycasbin.

One run, one process, the same 10,000 users and the same request stream for everyone:

* ``zerotrust decide()`` — the PDP's full decision: context domain checks, the request's
  own entities, one schema-validated Cedar call (two on the step-up path), reasons,
  obligations and the version.
  Parsed principals are cached by content, so a principal's next request skips parsing;
  the "never seen before" row gives every request a new principal id (cache always cold).
* ``zerotrust endpoint path`` — the same plus ``request_from_json``/``decision_to_json``,
  what ``POST /v1/authz/check`` and ``zt authz check`` do.
* ``raw cedarpy`` — ``cedarpy.is_authorized`` with a pre-parsed ``PolicySet``, a
  pre-parsed ``Schema`` and a pre-parsed ``Entities`` handle holding all 10,000 users;
  per-request facts in ``context``. Also without the schema, for reference.
* ``pycasbin RBAC`` — an equivalent role → (resource type, action) model; it knows
  nothing of device, risk, assurance or obligations.

Contenders run interleaved in rounds so background noise hits all of them alike. Run:
``python bench/bench_policy.py [--requests N] [--write]``; ``--write`` updates the
``## Policy decision point`` section of ``bench/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import gc
import json
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import casbin
import cedarpy
from results_file import write_section

from zerotrust.policy.model import ACTIONS as MODEL_ACTIONS
from zerotrust.policy.model import RESOURCE_TYPES, decision_to_json, request_from_json
from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import default_pack_dir, load_default

USERS = 10_000
ROLES = (
    "fraud_analyst",
    "data_scientist",
    "support_agent",
    "compliance_officer",
    "developer",
    "admin",
)
ACTIONS, TYPES = MODEL_ACTIONS, RESOURCE_TYPES
PERMITS = {
    "fraud_analyst": [
        ("read", "Transaction"),
        ("read", "CustomerProfile"),
        ("read", "ModelOutput"),
        ("write", "FraudCase"),
    ],
    "data_scientist": [("read", "ModelOutput"), ("read", "FeatureSet")],
    "support_agent": [("read", "CustomerPII"), ("read", "Transaction")],
    "compliance_officer": [("read", "AuditLog"), ("read", "Report")],
    "developer": [("read", "Database")],
    "admin": [("manage", t) for t in ("User", "Role", "Device", "Policy")],
}
BASE_CONTEXT: dict[str, Any] = {
    "aal": 2,
    "auth_age_s": 60,
    "device": {"enrolled": True, "trust": "high", "patch_age_days": 3},
    "risk": {"score": 10, "level": "low"},
    "country": "GB",
    "hour_local": 10,
}
HEADING = "## Policy decision point"

CASBIN_MODEL = """
[request_definition]
r = sub, obj, act
[policy_definition]
p = sub, obj, act
[role_definition]
g = _, _
[policy_effect]
e = some(where (p.eft == allow))
[matchers]
m = g(r.sub, p.sub) && r.obj == p.obj && r.act == p.act
"""


def make_users(rng: random.Random) -> list[dict[str, Any]]:
    users = []
    for i in range(USERS):
        roles = rng.sample(ROLES, k=1 if rng.random() < 0.9 else 2)
        users.append({"type": "User", "id": f"user-{i:05d}", "roles": sorted(roles)})
    return users


def make_requests(rng: random.Random, users: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Half the requests ask for something the role has, half for anything at all."""
    out = []
    for _ in range(n):
        who = rng.choice(users)
        if rng.random() < 0.5:
            action, kind = rng.choice(PERMITS[rng.choice(who["roles"])])
        else:
            action, kind = rng.choice(ACTIONS), rng.choice(TYPES)
        context = copy.deepcopy(BASE_CONTEXT)
        roll = rng.random()
        if roll < 0.05:
            context["risk"] = {"score": 55, "level": "medium"}
        elif roll < 0.08:
            context["device"]["trust"] = "low"
        elif roll < 0.30:
            context["aal"] = 3
        out.append(
            {
                "principal": who,
                "action": action,
                "resource": {"type": kind, "id": f"{kind.lower()}-{rng.randrange(1000)}"},
                "context": context,
            }
        )
    return out


def cedar_raw_request(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "principal": {"type": "User", "id": obj["principal"]["id"]},
        "action": {"type": "Action", "id": obj["action"]},
        "resource": {"type": obj["resource"]["type"], "id": obj["resource"]["id"]},
        "context": obj["context"],
    }


def casbin_enforcer(users: list[dict[str, Any]]) -> casbin.Enforcer:
    model = casbin.model.Model()
    model.load_model_from_text(CASBIN_MODEL)
    enforcer = casbin.Enforcer(model)
    for role, grants in PERMITS.items():
        for action, kind in grants:
            enforcer.add_policy(role, kind, action)
    for user in users:
        for role in user["roles"]:
            enforcer.add_role_for_user(user["id"], role)
    return enforcer


def measure(fn: Callable[[Any], Any], items: list[Any]) -> list[int]:
    timings = []
    clock = time.perf_counter_ns
    for item in items:
        start = clock()
        fn(item)
        timings.append(clock() - start)
    return timings


def summarise(timings: list[int]) -> dict[str, float]:
    ordered = sorted(timings)
    mean = statistics.fmean(ordered)
    return {
        "mean_us": mean / 1000,
        "p50_us": ordered[len(ordered) // 2] / 1000,
        "p99_us": ordered[int(len(ordered) * 0.99)] / 1000,
        "per_s": 1e9 / mean,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--write", action="store_true", help="update bench/RESULTS.md")
    args = parser.parse_args()

    rng = random.Random(20260101)
    users = make_users(rng)
    raw_objs = make_requests(rng, users, args.requests)
    bundle = load_default()
    pdp = PolicyDecisionPoint(bundle, budget_s=float("inf"))
    parsed = [request_from_json(o) for o in raw_objs]

    pack = default_pack_dir()
    schema = cedarpy.Schema.from_str((pack / "schema.cedarschema").read_text("utf-8"))
    policy_set = cedarpy.PolicySet.from_str(
        "\n".join(p.read_text("utf-8") for p in sorted(pack.glob("*.cedar")))
    )
    directory = cedarpy.Entities.from_json_str(
        json.dumps(
            [
                {
                    "uid": {"type": "User", "id": u["id"]},
                    "attrs": {"roles": u["roles"]},
                    "parents": [],
                }
                for u in users
            ]
        ),
        schema,
    )
    raw_requests = [cedar_raw_request(o) for o in raw_objs]
    enforcer = casbin_enforcer(users)
    casbin_requests = [(o["principal"]["id"], o["resource"]["type"], o["action"]) for o in raw_objs]

    # Same answers: our allow is Cedar's Allow; step_up and deny are Cedar's Deny.
    step_ups = 0
    for request, raw in zip(parsed, raw_requests, strict=True):
        ours = pdp.decide(request)
        theirs = cedarpy.is_authorized(raw, policy_set, directory, schema)
        step_ups += ours.effect == "step_up"
        if ours.allowed != theirs.allowed or theirs.diagnostics.errors:
            sys.exit(f"disagreement on {raw}: {ours} vs {theirs.decision}")

    # A second PDP whose every request names a principal it has not seen: the per-request
    # entity is parsed each time (the cache of parsed principals never hits).
    cold_pdp = PolicyDecisionPoint(load_default(), budget_s=float("inf"))
    cold = [
        dataclasses.replace(
            r, principal=dataclasses.replace(r.principal, id=f"{i}-{r.principal.id}")
        )
        for i, r in enumerate(parsed)
    ]
    contenders: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "zerotrust `decide()`": (pdp.decide, parsed),
        "zerotrust `decide()`, principal never seen before": (cold_pdp.decide, cold),
        "zerotrust endpoint path (JSON in, JSON out)": (
            lambda o: decision_to_json(pdp.decide(request_from_json(o))),
            raw_objs,
        ),
        "raw `cedarpy.is_authorized` + schema": (
            lambda r: cedarpy.is_authorized(r, policy_set, directory, schema),
            raw_requests,
        ),
        "raw `cedarpy.is_authorized`, no schema": (
            lambda r: cedarpy.is_authorized(r, policy_set, directory),
            raw_requests,
        ),
        "pycasbin RBAC (roles only)": (lambda r: enforcer.enforce(*r), casbin_requests),
    }
    for fn, items in contenders.values():  # warm up
        measure(fn, items[:1000])
    timings: dict[str, list[int]] = {name: [] for name in contenders}
    chunk = max(1, len(parsed) // args.rounds)
    gc.disable()
    try:
        for r in range(args.rounds):
            names = list(contenders)
            names = names[r % len(names) :] + names[: r % len(names)]
            for name in names:
                fn, items = contenders[name]
                timings[name] += measure(fn, items[r * chunk : (r + 1) * chunk])
    finally:
        gc.enable()

    stats = {name: summarise(t) for name, t in timings.items()}
    raw = stats["raw `cedarpy.is_authorized` + schema"]
    table = render(stats, raw, args.requests, step_ups)
    print(table)
    if args.write:
        write_section(HEADING, f"{HEADING}\n\n`python bench/bench_policy.py --write`\n\n{table}")


def render(stats: dict[str, dict[str, float]], raw: dict[str, float], n: int, step_ups: int) -> str:
    lines = [
        f"{USERS:,} users, default pack ({len(load_default())} policies), {n:,} requests "
        f"({step_ups:,} on the step-up path), single thread, "
        f"Python {platform.python_version()}, cedarpy {cedar_version()}, "
        f"{platform.machine()}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| contender | decisions/s | mean µs | p50 µs | p99 µs | mean vs raw | p50 vs raw |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, s in stats.items():
        lines.append(
            f"| {name} | {s['per_s']:,.0f} | {s['mean_us']:.1f} | {s['p50_us']:.1f} "
            f"| {s['p99_us']:.1f} | {s['mean_us'] / raw['mean_us']:.2f}x "
            f"| {s['p50_us'] / raw['p50_us']:.2f}x |"
        )
    warm = stats["zerotrust `decide()`"]
    cold = stats["zerotrust `decide()`, principal never seen before"]
    lines += [
        "",
        "Goal (issue 4): our full decision within 1.5x of raw Cedar. Measured (mean, p50): "
        f"{warm['mean_us'] / raw['mean_us']:.2f}x, {warm['p50_us'] / raw['p50_us']:.2f}x "
        "for a principal seen before (its parsed entity is cached by content); "
        f"{cold['mean_us'] / raw['mean_us']:.2f}x, {cold['p50_us'] / raw['p50_us']:.2f}x "
        "for one never seen before (its entity is parsed and schema-checked per request). "
        "Both sides use pre-parsed policy-set and schema handles; raw Cedar looks the "
        "principal up in a pre-parsed handle of all users, ours receives the principal's "
        "roles in the request (no role cache: a revoked role is gone on the next decision). "
        "On top of the Cedar call our decision checks context domains, reads every "
        "satisfied policy, combines them, adds reasons, obligations and the version, and "
        "answers step-up after a second, verifying call (the step-up answers above). "
        "pycasbin decides roles only: no device, risk, assurance or obligations.",
    ]
    return "\n".join(lines)


def cedar_version() -> str:
    from importlib.metadata import version

    return version("cedarpy")


if __name__ == "__main__":
    main()
