"""phishing: a fraud analyst's password, phished, tried from abroad on an unknown machine.

The attacker has the password and nothing else. The password is accepted (it is right),
but a session needs the second factor from the analyst's authenticator; the failed guess
that follows, after a password success from a new device in a new country, is the
pattern of a stolen password. The playbook locks the account, blocks the source and ends
the account's sessions, since whoever holds the password may try again; the security
team sees the alert, checks with the analyst and lifts the lock, and she works again.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import httpx
import pyotp

from zerotrust.audit.entry import AuditEntry
from zerotrust.demo.scenarios.actors import (
    TOTP_STEP_S,
    Outsider,
    Person,
    SignedIn,
    foreign_address,
    new_person,
    retire,
)
from zerotrust.demo.scenarios.evidence import body, describe
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform


def wrong_code(secret: str) -> str:
    """A six-digit guess that is not a valid code right now (±1 step)."""
    now = time.time()
    valid = {pyotp.TOTP(secret).at(now + d * TOTP_STEP_S) for d in (-1, 0, 1)}
    while (code := f"{secrets.randbelow(10**6):06d}") in valid:
        pass
    return code


@dataclass
class Target:
    """The analyst, signed in on her laptop, and what she is working on."""

    person: Person
    signed: SignedIn
    path: str

    def work(self) -> httpx.Response:
        return self.signed.gateway.request("GET", self.path)


@dataclass
class Attack:
    """What the attacker got, and how the analyst's session fared meanwhile."""

    attacker: Outsider
    phished: httpx.Response
    refused: httpx.Response
    owner_during: httpx.Response


@dataclass
class Response:
    """What zerotrust did about it."""

    alert: AuditEntry | None
    lock: AuditEntry | None
    block: AuditEntry | None
    retry: httpx.Response
    owner_after: httpx.Response
    explanation: str
    trail: list[AuditEntry]


def _attack(platform: Platform, run: Run, target: Target) -> Attack:
    victim = target.person
    attacker = Outsider(platform.api, address=foreign_address("NG"))
    run.undo("close the attacker's client", attacker.close)
    run.undo(f"unblock {attacker.address}", lambda: platform.unblock(attacker.address))
    who = f"attacker {attacker.label}"
    phished = attacker.password(victim.name, victim.password)
    first = body(phished)
    run.step(
        who,
        f"POST /v1/auth/login as {victim.name} with the phished password, from a new machine",
        f"{phished.status_code} {first.get('status', describe(phished))}",
        "MFA",
        f"the password is right but opens nothing: second factor required {first.get('methods')}",
    )
    during = target.work()
    run.step(victim.name, f"GET {target.path} meanwhile", describe(during), "session", "untouched")
    guess = wrong_code(victim.totp_secret)
    refused = attacker.totp(str(first.get("mfa_token", "")), guess)
    run.step(
        who,
        f"POST /v1/auth/mfa/totp with a guessed code {guess}",
        describe(refused),
        "MFA (TOTP, RFC 6238)",
        "not a code from the analyst's authenticator: no session, no token",
    )
    return Attack(attacker, phished, refused, during)


def _response(platform: Platform, run: Run, target: Target, attack: Attack, mark: int) -> Response:
    ev, attacker, victim = platform.evidence, attack.attacker, target.person
    alert = ev.alert(mark, detectors=("stolen_password",), src_ip=attacker.address)
    alert_id = str(alert.details.get("alert_id")) if alert else "none"
    run.step(
        "detection",
        "password success from a new device and country, then a failed second factor",
        f"stolen_password alert {alert_id}" if alert else "no alert",
        "detect → playbook",
        "lock the account 30 min, block the source 60 min, end the account's sessions",
    )
    retry = attacker.password(victim.name, victim.password)
    run.step(
        f"attacker {attacker.label}",
        "POST /v1/auth/login again, with the right password",
        describe(retry),
        "source block",
        "the address is refused before any password is checked",
    )
    after = target.work()
    run.step(
        victim.name,
        f"GET {target.path}",
        describe(after),
        "session revocation",
        "the playbook ended her sessions: her password is known to be stolen",
    )
    listed = [a for a in platform.alert_book() if a.get("id") == alert_id]
    explanation = str(listed[0].get("explanation", "")) if listed else ""
    run.step("ada (admin)", "GET /v1/alerts", f"200, {alert_id}", "alert book", explanation)
    return Response(
        alert=alert,
        lock=ev.response(mark, action="detect.lock_account", alert_id=alert_id, timeout_s=1),
        block=ev.response(mark, action="detect.block_source", alert_id=alert_id, timeout_s=1),
        retry=retry,
        owner_after=after,
        explanation=explanation,
        trail=[e for e in ev.entries(mark) if e.src_ip == attacker.address],
    )


def _recovery(platform: Platform, run: Run, victim: Person, alert_id: str, path: str) -> int:
    platform.unlock(victim.name, alert_id=alert_id)
    back = platform.sign_in(victim)
    run.undo("close the analyst's new clients", back.close)
    resumed = back.gateway.request("GET", path)
    run.step(
        victim.name,
        f"once the security team lifted the lock: signs in again, GET {path}",
        describe(resumed),
        "identity + gateway",
        "her own password, authenticator and laptop",
    )
    return resumed.status_code


def play(platform: Platform, run: Run) -> None:
    services = platform.services
    victim = new_person(services, prefix="analyst", role="fraud_analyst", title="Fraud analyst")
    run.undo(f"retire {victim.name}", lambda: retire(services, victim.id))
    run.note(f"{victim.name}: a fraud analyst like fiona, made for this run, on her laptop")
    path = f"/api/transactions/{platform.sample('typical')}?limit=5"
    mark = platform.evidence.mark()
    target = Target(victim, platform.sign_in(victim), path)
    run.undo("close the analyst's clients", target.signed.close)
    before = target.work()
    run.step(
        victim.name,
        f"signs in (password + TOTP) on her laptop, GET {path}",
        describe(before),
        "identity + gateway",
        "MFA on an enrolled, healthy device: fraud-analyst-read",
    )
    attack = _attack(platform, run, target)
    response = _response(platform, run, target, attack, mark)
    alert_id = str(response.alert.details.get("alert_id")) if response.alert else "none"
    resumed = _recovery(platform, run, victim, alert_id, path)
    _judge(run, victim, before.status_code, attack, response, resumed)


def _judge(
    run: Run, victim: Person, before: int, attack: Attack, seen: Response, resumed: int
) -> None:
    first, alert, why = body(attack.phished), seen.alert, seen.explanation
    run.check(
        "The phished password alone opened no session",
        attack.phished.status_code == 200 and "mfa_token" in first and "access_token" not in first,
        f"login {attack.phished.status_code} {first.get('status')}, no token issued",
    )
    run.check(
        "MFA stopped the attacker",
        attack.refused.status_code == 401 and "access_token" not in body(attack.refused),
        f"TOTP step {describe(attack.refused)}",
    )
    run.check(
        "The login was flagged as a stolen password, with a reason",
        alert is not None and "new device and country" in why,
        f"{alert.details.get('alert_id') if alert else 'no alert'}: {why or 'not in /v1/alerts'}",
    )
    run.check(
        "The attacker's source is blocked, even with the right password",
        seen.retry.status_code == 429 and seen.block is not None,
        f"retry {describe(seen.retry)}; "
        + (f"detect.block_source #{seen.block.seq}" if seen.block else "no block"),
    )
    run.check(
        "The owner's session kept working while the attacker held only the password",
        before == 200 and attack.owner_during.status_code == 200,
        f"before {before}, during the attack {attack.owner_during.status_code}",
    )
    run.check(
        "The playbook locked the account and ended its sessions",
        seen.lock is not None and seen.owner_after.status_code == 401,
        (f"detect.lock_account #{seen.lock.seq}" if seen.lock else "no lock")
        + f"; her next request {describe(seen.owner_after)}",
    )
    actions = ", ".join(sorted({e.action for e in seen.trail}))
    device = alert.device_id if alert and alert.device_id else "none enrolled"
    run.check(
        "The audit trail shows the attacker's address and device",
        any(e.action == "auth.rejected" for e in seen.trail)
        and alert is not None
        and alert.device_id != victim.device_id,
        f"{len(seen.trail)} entries from {attack.attacker.address} ({actions}); "
        f"device: {device} (hers: {victim.device_id})",
    )
    run.check("Once the lock is lifted, the owner works again", resumed == 200, f"GET {resumed}")


SCENARIO = Scenario(
    name="phishing",
    title="A phished password, tried from abroad on an unknown machine",
    story=story_of(__doc__),
    play=play,
)
