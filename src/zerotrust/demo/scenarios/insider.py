"""insider-exfiltration: a support agent pulls customers' personal data beyond his case.

A support session is bound to one customer's case, so the agent reads that customer's
record (card number masked) and history, and nobody else's: every other customer is a
403, whatever id he tries. A burst of denials is what the probing detector looks for;
its playbook ends his sessions, so the harvest stops at the next request. Nothing of
another customer was disclosed on the way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from zerotrust.audit.entry import AuditEntry
from zerotrust.client import ZTClient
from zerotrust.demo.scenarios.actors import Person, new_person, retire
from zerotrust.demo.scenarios.evidence import body, correlation_id, describe, tally
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform

OTHERS = 30  # customers he tries beyond his case
CASE_REREAD_S = 1.2  # the gateway re-reads the cases file once a second at most
CASE_PICKUP_S = 5.0  # the longest wait for the gateway to bind his case
DETECTION_S = 5.0  # the gateway publishes events just after answering: a short wait
# Both responses of the probing playbook end his sessions.
ENDS = ("detect.revoke_sessions", "detect.require_step_up")


@dataclass
class Harvest:
    """His requests for other customers, in order, up to the first refusal to him."""

    answers: list[tuple[str, httpx.Response]]
    cut: httpx.Response | None  # the 401 that ended it

    def denied(self) -> list[httpx.Response]:
        return [r for _p, r in self.answers if r.status_code == 403]

    def disclosed(self, case: str) -> list[str]:
        return [p for p, r in self.answers if r.status_code == 200 and case not in p]


def _until_allowed(client: ZTClient, path: str) -> httpx.Response:
    """His case's record; retried while the gateway has not bound the case yet."""
    deadline = time.monotonic() + CASE_PICKUP_S
    while True:
        response = client.request("GET", path)
        if response.status_code != 403 or time.monotonic() >= deadline:
            return response
        time.sleep(0.25)


def _harvest(client: ZTClient, others: list[str], case: str) -> Harvest:
    answers: list[tuple[str, httpx.Response]] = []
    for cid in others:
        for path in (f"/api/customers/{cid}", f"/api/transactions/{cid}?limit=500"):
            response = client.request("GET", path)
            answers.append((path, response))
            if response.status_code == 401:
                return Harvest(answers, response)
    deadline = time.monotonic() + DETECTION_S
    while time.monotonic() < deadline:  # detection follows the last denial closely
        probe = client.request("GET", f"/api/customers/{case}")
        answers.append((f"/api/customers/{case}", probe))
        if probe.status_code == 401:
            return Harvest(answers, probe)
        time.sleep(0.1)
    return Harvest(answers, None)


def _own_case(run: Run, agent: Person, client: ZTClient, case: str) -> list[httpx.Response]:
    record = _until_allowed(client, f"/api/customers/{case}")
    card = str(body(record).get("card_token", "-"))
    run.step(
        agent.name,
        f"GET /api/customers/{case} (his case)",
        f"{describe(record)}, card {card}",
        "policy + obligation",
        "support-agent-customer: his case only; mask:pan",
    )
    history = [client.request("GET", f"/api/transactions/{case}?limit=500") for _ in range(3)]
    run.step(
        agent.name,
        f"GET /api/transactions/{case}?limit=500, three times",
        tally(r.status_code for r in history),
        "policy",
        "his case's full history, as often as he needs",
    )
    return [record, *history]


def _detection(
    platform: Platform, run: Run, agent: Person, harvest: Harvest, mark: int
) -> tuple[AuditEntry | None, AuditEntry | None]:
    ev = platform.evidence
    ended = ev.wait_for(
        mark,
        action="detect.*",
        match=lambda e: e.action in ENDS and e.resource == f"principal:{agent.name}",
    )
    alert_id = str(ended.details.get("alert_id")) if ended else "none"
    alert = ev.wait_for(
        mark, action="detect.alert", match=lambda e: e.details.get("alert_id") == alert_id
    )
    run.step(
        "detection",
        f"a burst of denials for {agent.name} on customers outside his case",
        f"{alert.reason} alert {alert_id}" if alert else "no alert",
        "detect → playbook",
        "end his sessions: he must sign in again, with his risk raised",
    )
    cut = harvest.cut
    refusal = ev.by_correlation(mark, correlation_id(cut)) if cut is not None else None
    run.step(
        agent.name,
        "his next request",
        describe(cut) if cut is not None else "still allowed",
        "session revocation",
        f"audited {refusal.action}: {refusal.reason}" if refusal else "-",
    )
    return alert, refusal


def play(platform: Platform, run: Run) -> None:
    services = platform.services
    agent = new_person(services, prefix="support", role="support_agent", title="Support agent")
    run.undo(f"retire {agent.name}", lambda: retire(services, agent.id))
    case = platform.sample("typical")
    platform.set_case(agent.id, case)
    run.undo(f"close {agent.name}'s case", lambda: platform.set_case(agent.id, None))
    run.note(f"{agent.name}: a support agent like sam, made for this run, on the case of {case}")
    others = [c for c in platform.customers(OTHERS + 1) if c != case][:OTHERS]
    time.sleep(CASE_REREAD_S)  # so that his first request finds the case bound
    mark = platform.evidence.mark()
    signed = platform.sign_in(agent)
    run.undo(f"close {agent.name}'s clients", signed.close)
    own = _own_case(run, agent, signed.gateway, case)
    harvest = _harvest(signed.gateway, others, case)
    run.step(
        agent.name,
        f"GET /api/customers/… and /api/transactions/… of {len(others)} other customers",
        tally(r.status_code for _p, r in harvest.answers),
        "policy",
        "support-agent-customer permits his case's customer only",
    )
    alert, refusal = _detection(platform, run, agent, harvest, mark)

    card = str(body(own[0]).get("card_token", "-"))
    run.check(
        "His own case is readable, with the card number masked",
        all(r.status_code == 200 for r in own) and card.startswith("*"),
        f"{tally(r.status_code for r in own)}; card {card}",
    )
    denied = harvest.denied()
    run.check(
        "Other customers are refused",
        bool(denied) and all(body(r).get("code") == "access_denied" for r in denied),
        f"{tally(describe(r) for r in denied)}",
    )
    run.check(
        "Nothing beyond his case was disclosed",
        not harvest.disclosed(case),
        f"{len(harvest.disclosed(case))} other customers' records returned",
    )
    run.check(
        "The harvest was detected",
        alert is not None and alert.reason in ("privilege_probing", "bulk_exfiltration"),
        f"{alert.reason} {alert.details.get('alert_id')}" if alert else "no alert for him",
    )
    run.check(
        "The playbook ended his session: the next request is refused",
        refusal is not None and refusal.reason == "session_revoked",
        (describe(harvest.cut) if harvest.cut is not None else "no 401")
        + (f"; audit {refusal.action} {refusal.reason}" if refusal else ""),
    )


SCENARIO = Scenario(
    name="insider-exfiltration",
    title="A support agent harvests customers beyond his case",
    story=story_of(__doc__),
    play=play,
)
