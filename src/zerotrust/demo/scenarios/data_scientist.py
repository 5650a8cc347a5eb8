"""data-scientist: dara studies the fraud model's outputs and the features it scores.

She sees model outputs and feature sets, never who they are about: the gateway replaces
every customer id with a keyed pseudonym on the way out (the tokenize:customer_id
obligation of her role's permit), the same pseudonym for the same customer in every
view, so she can join them without learning the id. Customer records and raw
transactions (free-text descriptions, card tokens) are refused.
"""

from __future__ import annotations

import httpx

from zerotrust.demo.scenarios.evidence import body, correlation_id, describe, listed
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform
from zerotrust.demo.scenarios.work import fraud_batch

IDENTITY = frozenset(
    {"name", "email", "phone", "address", "date_of_birth", "description", "card_token", "pan"}
)


def pseudonymised(response: httpx.Response, raw_id: str) -> tuple[bool, str]:
    """Whether every customer id in the answer is a pseudonym, the raw id appears
    nowhere in it (not even in free text) and no identity field is left."""
    found = body(response)
    items = [i for i in found.get("items") or [] if isinstance(i, dict)]
    ids = {found.get("customer_id")} | {i.get("customer_id") for i in items}
    fields = {k for i in items for k in i} & IDENTITY
    ok = (
        response.status_code == 200
        and bool(items)
        and all(isinstance(i, str) and i.startswith("psn_") for i in ids)
        and raw_id not in response.text
        and not fields
    )
    shown = ", ".join(sorted(str(i) for i in ids))
    extra = f"; identity fields {sorted(fields)}" if fields else ""
    extra += "; the customer id appears in it" if raw_id in response.text else ""
    return ok, f"{response.status_code}, {len(items)} items, customer_id {shown}{extra}"


def play(platform: Platform, run: Run) -> None:
    ev = platform.evidence
    customer = platform.sample("typical")
    mark = ev.mark()
    with platform.workload("fraud-model") as model:
        report = fraud_batch(platform, model, [customer])
    run.step(
        "fraud-model",
        f"scores {customer}'s transactions, POST /api/model-outputs/{customer}",
        f"{report.outputs} output(s) written",
        "gateway",
        "fraud-model-output: the model writes its own outputs",
    )
    dara = platform.person("dara").gateway
    outputs = dara.request("GET", f"/api/model-outputs/{customer}")
    features = dara.request("GET", f"/api/features/{customer}?limit=20")
    pii = dara.request("GET", f"/api/customers/{customer}")
    raw = dara.request("GET", f"/api/transactions/{customer}?limit=5")
    out_ok, out_seen = pseudonymised(outputs, customer)
    feat_ok, feat_seen = pseudonymised(features, customer)
    obligations = listed(ev.by_correlation(mark, correlation_id(outputs)), "obligations")
    policies = listed(ev.by_correlation(mark, correlation_id(pii)), "policies")
    for what, answer, control, why in (
        (f"/api/model-outputs/{customer}", out_seen, "obligations", ", ".join(obligations)),
        (f"/api/features/{customer}", feat_seen, "obligations", "behaviour, not identity"),
        (f"/api/customers/{customer}", describe(pii), "policy", f"forbid {', '.join(policies)}"),
        (f"/api/transactions/{customer}", describe(raw), "policy", "no permit for her role"),
    ):
        run.step("dara", f"GET {what}", answer, control, why)
    pseudonym = body(outputs).get("customer_id")

    run.check(
        "The fraud model wrote an output to read",
        report.outputs >= 1,
        f"{report.outputs} output(s), {report.allowed} calls allowed",
    )
    run.check("Model outputs are visible, pseudonymised", out_ok, out_seen)
    run.check("Features are visible, pseudonymised, without identity fields", feat_ok, feat_seen)
    run.check(
        "One pseudonym per customer in every view, never the customer id",
        pseudonym == body(features).get("customer_id") and pseudonym != customer,
        f"outputs {pseudonym}, features {body(features).get('customer_id')}",
    )
    run.check(
        "The gateway applied her role's tokenize obligation",
        "tokenize:customer_id" in obligations,
        f"authz.decision obligations {obligations}",
    )
    run.check(
        "Raw customer records are refused, with the policy that says so",
        pii.status_code == 403 and "data-scientist-no-pii" in policies,
        f"{describe(pii)}; policies {policies}",
    )
    run.check("Raw transactions are refused", raw.status_code == 403, describe(raw))


SCENARIO = Scenario(
    name="data-scientist",
    title="A data scientist sees model outputs, never who they are about",
    story=story_of(__doc__),
    play=play,
)
