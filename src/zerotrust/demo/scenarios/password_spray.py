"""password-spray: one common password tried once on every account an attacker can guess,
from one address.

A few tries per account stay far below any account's lockout, which is the point of
spraying. The detector counts instead how many accounts one address fails on without a
success, and the playbook blocks the address for an hour. The sprayed password could
not have worked anyway: the password policy refuses it when anyone tries to set it.
"""

from __future__ import annotations

from functools import partial

from zerotrust.core.errors import ZTError
from zerotrust.demo.personas import PERSONAS
from zerotrust.demo.scenarios.actors import Outsider, foreign_address
from zerotrust.demo.scenarios.credential_stuffing import BOUGHT, opened
from zerotrust.demo.scenarios.evidence import describe, tally
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform
from zerotrust.identity.models import name_key
from zerotrust.identity.passwords import check_policy

SPRAYED = "Winter2025!!"  # a season, a year, symbols: what people pick when made to
GUESSED = ("admin", "helpdesk", "finance", "j.smith", "ops")  # the directory, guessed


def policy_says(password: str) -> str:
    """What the password policy answers to ``password`` being set."""
    try:
        check_policy(password)
    except ZTError as exc:
        return exc.code
    return "accepted"


def play(platform: Platform, run: Run) -> None:
    ev = platform.evidence
    staff = [p.name for p in PERSONAS]
    sprayer = Outsider(platform.api, address=foreign_address("RO"))
    run.undo("close the sprayer's client", sprayer.close)
    run.undo(f"unblock {sprayer.address}", partial(platform.unblock, sprayer.address))
    for name in staff:
        run.undo(f"reset {name}'s failure count", partial(platform.forget_failures, name))
    who, mark = f"sprayer {sprayer.label}", ev.mark()
    targets = [*staff, *GUESSED]
    answers = [sprayer.password(name, SPRAYED) for name in targets]
    run.step(
        who,
        f"POST /v1/auth/login with {SPRAYED!r} on {len(targets)} accounts, once each",
        tally(r.status_code for r in answers),
        "identity",
        "every try fails alike; one try per account is far below its lockout",
    )
    alert = ev.alert(mark, detectors=("password_spraying",), src_ip=sprayer.address)
    alert_id = str(alert.details.get("alert_id")) if alert else "none"
    run.step(
        "detection",
        f"{sprayer.address} failed on many accounts, few tries each, no success",
        f"password_spraying alert {alert_id}" if alert else "no alert",
        "detect → playbook",
        "block the source for 60 min",
    )
    retry = sprayer.password(BOUGHT, platform.persona(BOUGHT)["password"])
    run.step(
        who,
        f"POST /v1/auth/login as {BOUGHT} with {BOUGHT}'s real password",
        describe(retry),
        "source block",
        "a blocked address is refused before any password is checked",
    )
    verdict = policy_says(SPRAYED)
    run.step(
        "password policy",
        f"set {SPRAYED!r} as anyone's password",
        verdict,
        "blocklist (NIST SP 800-63B)",
        "common and breached passwords are refused when set",
    )
    block = ev.response(mark, action="detect.block_source", alert_id=alert_id, timeout_s=1)
    locked = [n for n in staff if platform.services.guard.is_locked("password", name_key(n))]

    run.check(
        "The spray was detected",
        alert is not None,
        f"{alert_id} from {alert.src_ip}" if alert else "no password_spraying alert",
    )
    run.check(
        "The source is blocked, even with a right password",
        block is not None and retry.status_code == 429 and answers[-1].status_code == 429,
        (f"detect.block_source #{block.seq}" if block else "no block")
        + f"; last spray {answers[-1].status_code}; right password {describe(retry)}",
    )
    run.check(
        "No account was opened",
        not any(opened(r) for r in (*answers, retry)),
        f"{len(answers) + 1} attempts, no MFA challenge or token issued",
    )
    run.check(
        "No account was locked",
        not locked,
        f"locked: {', '.join(locked)}" if locked else f"all {len(staff)} staff accounts usable",
    )
    run.check(
        "The sprayed password can never be set",
        verdict == "password_blocklisted",
        f"password policy: {verdict}",
    )


SCENARIO = Scenario(
    name="password-spray",
    title="One common password sprayed across the staff directory",
    story=story_of(__doc__),
    play=play,
)
