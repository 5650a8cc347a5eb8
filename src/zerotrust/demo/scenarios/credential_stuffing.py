"""credential-stuffing: a leaked list of e-mail/password pairs from another site, tried by
a small botnet.

Most names on the list were never accounts here; a few are (people reuse names), with
the password they used elsewhere. Every attempt fails alike, unknown and known names in
the same words. The detectors see many unknown names from a few addresses, and addresses
failing across many accounts; the playbooks block those addresses for an hour, without
locking any victim. From a blocked address even a right password is refused.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial

import httpx

from zerotrust.audit.entry import AuditEntry
from zerotrust.demo.scenarios.actors import Outsider, foreign_address
from zerotrust.demo.scenarios.evidence import body, describe, tally
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform
from zerotrust.identity.models import name_key

BOTS = ("VN", "ID", "BR")
REAL = ("fiona", "sam", "chloe")  # names on the list that are accounts here too
LEAKED = 21  # names on the list that are not
BOUGHT = "devon"  # whose real password the attackers obtained elsewhere


def leaked_list() -> list[tuple[str, str]]:
    """The attacker's list: (user name, password) pairs leaked from another service."""
    first = ("alex", "jo", "sam.k", "priya", "tom", "lee", "maria", "omar", "kate", "li", "ben")
    pairs = [
        (f"{first[i % len(first)]}.{secrets.token_hex(2)}@example.net", secrets.token_urlsafe(9))
        for i in range(LEAKED)
    ]
    for i, name in enumerate(REAL):
        pairs.insert(1 + i * 7, (name, secrets.token_urlsafe(9)))  # reused elsewhere, wrong here
    return pairs


def opened(response: httpx.Response) -> bool:
    """Whether an answer let the attacker on: an MFA challenge or a token."""
    found = body(response) if response.status_code == 200 else {}
    return bool(found.get("mfa_token") or found.get("access_token"))


@dataclass
class Wave:
    """The botnet's answers, per address, and the right-password retries."""

    bots: list[Outsider]
    answers: dict[str, list[httpx.Response]]
    retries: list[httpx.Response]

    @property
    def let_in(self) -> int:
        every = [r for rs in self.answers.values() for r in rs] + self.retries
        return sum(opened(r) for r in every)


def _stuff(platform: Platform, run: Run, bots: list[Outsider]) -> dict[str, list[httpx.Response]]:
    answers: dict[str, list[httpx.Response]] = {bot.address: [] for bot in bots}
    for i, (user, password) in enumerate(leaked_list()):
        bot = bots[i % len(bots)]
        answers[bot.address].append(bot.password(user, password))
    for bot in bots:
        run.step(
            f"bot {bot.label}",
            f"POST /v1/auth/login, {len(answers[bot.address])} pairs from the leaked list",
            tally(r.status_code for r in answers[bot.address]),
            "identity",
            "unknown and known names fail alike (401 invalid_credentials); 429 once blocked",
        )
    return answers


def _retry(platform: Platform, run: Run, bots: list[Outsider]) -> list[httpx.Response]:
    password = platform.persona(BOUGHT)["password"]
    retries = [bot.password(BOUGHT, password) for bot in bots]
    run.step(
        "botnet",
        f"POST /v1/auth/login as {BOUGHT} with {BOUGHT}'s real password, from each address",
        tally(describe(r) for r in retries),
        "source block",
        "a blocked address is refused before any password is checked",
    )
    return retries


def play(platform: Platform, run: Run) -> None:
    ev = platform.evidence
    bots = [Outsider(platform.api, address=foreign_address(c)) for c in BOTS]
    for bot in bots:
        run.undo(f"close {bot.address}", bot.close)
        run.undo(f"unblock {bot.address}", partial(platform.unblock, bot.address))
    for name in REAL:
        run.undo(f"reset {name}'s failure count", partial(platform.forget_failures, name))
    mark = ev.mark()
    answers = _stuff(platform, run, bots)
    blocks = {bot.address: ev.block(mark, bot.address) for bot in bots}
    ids = {str(b.details.get("alert_id")) for b in blocks.values() if b is not None}
    alerts = [
        e for e in ev.entries(mark, action="detect.alert") if e.details.get("alert_id") in ids
    ]
    run.step(
        "detection",
        "many unknown names from a few addresses; addresses failing across many accounts",
        ", ".join(sorted({e.reason or "" for e in alerts})) or "no alert",
        "detect → playbook",
        "block each source for 60 min; no account is locked",
    )
    wave = Wave(bots, answers, _retry(platform, run, bots))
    locked = [
        n for n in (*REAL, BOUGHT) if platform.services.guard.is_locked("password", name_key(n))
    ]
    _judge(run, wave, alerts, blocks, locked)


def _judge(
    run: Run,
    wave: Wave,
    alerts: list[AuditEntry],
    blocks: dict[str, AuditEntry | None],
    locked: list[str],
) -> None:
    run.check(
        "The attack was detected",
        bool(alerts) and {e.reason for e in alerts} <= {"credential_stuffing", "password_spraying"},
        "; ".join(f"{e.reason} {e.details.get('alert_id')} from {e.src_ip}" for e in alerts)
        or "no alert",
    )
    run.check(
        "Every source is blocked, even with a right password",
        all(blocks.values()) and all(r.status_code == 429 for r in wave.retries),
        f"{sum(b is not None for b in blocks.values())}/{len(wave.bots)} detect.block_source; "
        f"right password: {tally(r.status_code for r in wave.retries)}",
    )
    attempts = sum(len(rs) for rs in wave.answers.values()) + len(wave.retries)
    run.check(
        "No account was opened",
        wave.let_in == 0,
        f"{attempts} attempts, {wave.let_in} MFA challenges or tokens issued",
    )
    run.check(
        "No victim account was locked",
        not locked,
        f"locked: {', '.join(locked)}" if locked else f"{', '.join(REAL)}, {BOUGHT}: not locked",
    )


SCENARIO = Scenario(
    name="credential-stuffing",
    title="A leaked password list tried by a small botnet",
    story=story_of(__doc__),
    play=play,
)
