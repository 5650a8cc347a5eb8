"""model-overreach: the fraud model, hijacked or buggy, reaches beyond its purpose.

After a normal batch (read transactions, score them, write outputs), the model tries to
mark a transaction as legitimate and to read a customer's personal data. Both are
forbidden by name for its kind of workload, whatever else is permitted, and the refusal
says which policy forbade it. Two never-seen calls from a workload that had settled
into its lane are what the workload detector looks for: its playbook ends the model's
sessions. Its legitimate reads show behaviour only: pseudonymised customer ids, no free
text, no card tokens.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from zerotrust.audit.entry import AuditEntry
from zerotrust.client import ZTClient
from zerotrust.demo.scenarios.actors import Workload, new_workload, retire, sign_in_workload
from zerotrust.demo.scenarios.evidence import body, correlation_id, describe, listed, problem
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform
from zerotrust.demo.scenarios.work import fraud_batch
from zerotrust.demo.workloads import FRAUD_PURPOSE, BatchReport

BATCH = 12  # customers in the normal batch: more calls than the detector learns from
HIDDEN = frozenset({"description", "card_token", "name", "email", "pan"})
REVOCATION_S = 5.0  # the gateway publishes events just after answering: a short wait
# What it tries, and the reason and policy id each refusal must name.
OVERREACH = (
    ("POST", "/api/transactions/{}", "workload-transactions-read-only",
     "fraud-model-transactions-read-only"),
    ("GET", "/api/customers/{}", "workload-no-pii", "fraud-model-no-pii"),
)  # fmt: skip
FORGED = {"fraud_label": 0, "amount": "0.01"}  # "this one was not fraud"


@dataclass
class Denial:
    method: str
    path: str
    response: httpx.Response
    reason: str  # the reason the refusal must give
    policy: str  # the policy id the audit must name
    policies: list[str]  # the policy ids it names


def _revoked(client: ZTClient, path: str) -> httpx.Response | None:
    """The first refusal of the (allowed) ``path`` within ``REVOCATION_S``, if any."""
    deadline = time.monotonic() + REVOCATION_S
    while time.monotonic() < deadline:
        probe = client.request("GET", path)
        if probe.status_code == 401:
            return probe
        time.sleep(0.1)
    return None


def _normal_work(
    platform: Platform, run: Run, model: Workload, client: ZTClient, customer: str
) -> tuple[BatchReport, httpx.Response]:
    report = fraud_batch(platform, client, platform.customers(BATCH))
    run.step(
        model.name,
        f"normal batch: scores {report.customers} customers' transactions, writes outputs",
        f"{report.allowed} allowed, {report.denied} denied, {report.outputs} outputs",
        "gateway",
        "fraud-model-transactions, fraud-model-output: its purpose, fraud_detection",
    )
    read = client.request("GET", f"/api/transactions/{customer}?limit=20")
    ids = sorted({str(i.get("customer_id")) for i in body(read).get("items") or []})
    run.step(
        model.name,
        f"GET /api/transactions/{customer}",
        f"{describe(read)}, customer_id {', '.join(ids)}",
        "obligations",
        "tokenize:customer_id, drop:pii, drop:pan",
    )
    return report, read


def _overreach(
    platform: Platform, run: Run, model: Workload, client: ZTClient, customer: str, mark: int
) -> list[Denial]:
    denials = []
    for method, template, reason, policy in OVERREACH:
        path = template.format(customer)
        response = client.request(method, path, json=FORGED if method == "POST" else None)
        entry = platform.evidence.by_correlation(mark, correlation_id(response))
        policies = listed(entry, "policies")
        denials.append(Denial(method, path, response, reason, policy, policies))
        why = f"forbid {', '.join(policies)}" if policies else "-"
        run.step(model.name, f"{method} {path}", describe(response), "policy", why)
    return denials


def _detection(
    platform: Platform, run: Run, model: Workload, client: ZTClient, customer: str, mark: int
) -> tuple[AuditEntry | None, AuditEntry | None, httpx.Response | None]:
    ev = platform.evidence
    revoked = _revoked(client, f"/api/transactions/{customer}?limit=1")
    cut = ev.wait_for(
        mark,
        action="detect.revoke_sessions",
        match=lambda e: e.resource == f"principal:{model.name}",
    )
    alert_id = str(cut.details.get("alert_id")) if cut else "none"
    alert = ev.wait_for(
        mark,
        action="detect.alert",
        match=lambda e: e.details.get("alert_id") == alert_id and e.reason == "workload_misuse",
        timeout_s=1,
    )
    run.step(
        "detection",
        f"{model.name}: two never-seen calls after settling into its lane",
        f"workload_misuse alert {alert_id}" if alert else "no alert",
        "detect → playbook",
        "end the workload's sessions",
    )
    run.step(
        model.name,
        f"GET /api/transactions/{customer}",
        describe(revoked) if revoked is not None else "still allowed",
        "session revocation",
        "it must prove its key again, and is watched",
    )
    return alert, cut, revoked


def play(platform: Platform, run: Run) -> None:
    services = platform.services
    model = new_workload(services, prefix="fraud-model", kind="fraud_model", purpose=FRAUD_PURPOSE)
    run.undo(f"retire {model.name}", lambda: retire(services, model.id))
    run.note(f"{model.name}: a deployment of the fraud model made for this run")
    customer, mark = platform.sample("typical"), platform.evidence.mark()
    client = sign_in_workload(platform.api, platform.gateway, model)
    run.undo(f"close {model.name}'s client", client.close)
    report, read = _normal_work(platform, run, model, client, customer)
    denials = _overreach(platform, run, model, client, customer, mark)
    alert, cut, revoked = _detection(platform, run, model, client, customer, mark)

    run.check(
        "Its normal work is allowed",
        report.allowed > 0 and report.denied == 0,
        f"{report.allowed} calls allowed, {report.outputs} outputs written",
    )
    items = [i for i in body(read).get("items") or [] if isinstance(i, dict)]
    ids = sorted({str(i.get("customer_id")) for i in items})
    hidden = sorted({k for i in items for k in i} & HIDDEN)
    run.check(
        "Its reads are pseudonymised, without free text or card tokens",
        read.status_code == 200
        and bool(items)
        and all(i.startswith("psn_") for i in ids)
        and customer not in read.text
        and not hidden,
        f"{read.status_code}, {len(items)} items, customer_id {', '.join(ids)}; "
        + (f"exposed {hidden}" if hidden else "no description, no card token"),
    )
    for d in denials:
        run.check(
            f"{d.method} {d.path.split('/')[2]}: denied, naming the reason and the policy",
            d.response.status_code == 403
            and d.reason in problem(d.response).get("reasons", [])
            and d.policy in d.policies,
            f"{describe(d.response)}; audit policies {d.policies}",
        )
    run.check(
        "The misuse raised an alert",
        alert is not None,
        f"workload_misuse {alert.details.get('alert_id')}" if alert else "no alert",
    )
    run.check(
        "The playbook ended the model's sessions",
        cut is not None and revoked is not None,
        (f"detect.revoke_sessions #{cut.seq}" if cut else "no revocation")
        + (f"; next request {describe(revoked)}" if revoked is not None else "; still allowed"),
    )


SCENARIO = Scenario(
    name="model-overreach",
    title="The fraud model reaches beyond its purpose",
    story=story_of(__doc__),
    play=play,
)
