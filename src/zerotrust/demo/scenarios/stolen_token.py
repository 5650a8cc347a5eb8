"""stolen-token: fiona's access token, copied off her laptop to another machine.

Her tokens are bound to her laptop's key (RFC 9449 DPoP: the token names the key's
thumbprint) and every request must carry a fresh proof signed with that key, for that
method and URL, once. The thief can copy the token, but not the key: signed with
another key, sent without a proof, or sent with a proof captured from fiona, it is
refused, and so is her refresh token. Fiona keeps working throughout.
"""

from __future__ import annotations

import httpx

from zerotrust.client import DeviceKey, ZTClient
from zerotrust.demo.scenarios.actors import SignedIn
from zerotrust.demo.scenarios.evidence import Evidence, correlation_id, describe
from zerotrust.demo.scenarios.framework import Run, Scenario, story_of
from zerotrust.demo.scenarios.platform import Platform

REFRESH = "/v1/auth/refresh"


def _thefts(fiona: SignedIn, thief: ZTClient, path: str) -> list[tuple[str, httpx.Response, str]]:
    """Each way to use the copied token, its answer, and the reason the audit must give."""
    token = fiona.gateway.tokens["access_token"]
    own_key = thief.request("GET", path)  # the thief's client signs with the thief's key
    no_proof = thief.http.get(path, headers={"Authorization": f"DPoP {token}"})
    bearer = thief.http.get(path, headers={"Authorization": f"Bearer {token}"})
    captured = {"Authorization": f"DPoP {token}", "DPoP": fiona.gateway.proof("GET", path, token)}
    fiona.gateway.http.get(path, headers=captured)  # fiona's own request, as it was sent
    replayed = thief.http.get(path, headers=captured)
    return [
        ("the copied token, proof signed with the thief's own key", own_key, "dpop_key_mismatch"),
        ("the copied token without a DPoP proof", no_proof, "missing_proof"),
        ("the copied token as a plain bearer token", bearer, "not_dpop_scheme"),
        ("fiona's request replayed as captured (token + proof)", replayed, "replayed"),
    ]


def _steal_refresh(platform: Platform, thief: ZTClient, refresh_token: str) -> httpx.Response:
    with ZTClient(platform.api, thief.device) as at_control:
        return at_control.http.post(
            REFRESH,
            json={"refresh_token": refresh_token},
            headers={"DPoP": at_control.proof("POST", REFRESH)},
        )


def play(platform: Platform, run: Run) -> None:
    ev = platform.evidence
    fiona = platform.person("fiona")
    path = f"/api/transactions/{platform.sample('fraud_victim')}?limit=5"
    mark = ev.mark()
    own = fiona.gateway.request("GET", path)
    run.step(
        "fiona", f"GET {path} from her laptop", describe(own), "gateway", "key and token match"
    )
    thief = ZTClient(platform.gateway, DeviceKey.generate("ES256"))
    run.undo("close the thief's client", thief.close)
    thief.tokens = dict(fiona.gateway.tokens)
    thefts = _thefts(fiona, thief, path)
    for what, response, _reason in thefts:
        entry = ev.by_correlation(mark, correlation_id(response))
        run.step(
            "thief",
            f"GET {path} with {what}",
            describe(response),
            "DPoP (RFC 9449)",
            f"audited {entry.action}: {entry.reason}" if entry else "no audit entry found",
        )
    refresh = _steal_refresh(platform, thief, str(thief.tokens.get("refresh_token", "")))
    run.step(
        "thief",
        f"POST {REFRESH} with fiona's refresh token",
        describe(refresh),
        "DPoP-bound refresh",
        "bound to her key too, and checked before it is spent",
    )
    fiona.refresh()
    after = fiona.gateway.request("GET", path)
    run.step(
        "fiona", f"refreshes, GET {path}", describe(after), "gateway", "the theft cost her nothing"
    )
    _judge(run, ev, mark, thefts, refresh, (own.status_code, after.status_code))


def _judge(
    run: Run,
    ev: Evidence,
    mark: int,
    thefts: list[tuple[str, httpx.Response, str]],
    refresh: httpx.Response,
    fiona: tuple[int, int],
) -> None:
    for what, response, reason in thefts:
        entry = ev.by_correlation(mark, correlation_id(response))
        run.check(
            f"Refused: {what}",
            response.status_code == 401 and entry is not None and entry.reason == reason,
            f"{describe(response)}; audit " + (f"{entry.action} {entry.reason}" if entry else "-"),
        )
    audited = [e for e in ev.entries(mark, action="auth.rejected") if e.resource == REFRESH]
    run.check(
        "Refused: fiona's refresh token from the thief's machine",
        refresh.status_code == 401 and any(e.reason == "dpop_key_mismatch" for e in audited),
        f"{describe(refresh)}; audit " + (", ".join(f"{e.reason}" for e in audited) or "-"),
    )
    run.check(
        "Fiona's own requests succeed before and after",
        fiona == (200, 200),
        f"before {fiona[0]}, after refreshing {fiona[1]}",
    )


SCENARIO = Scenario(
    name="stolen-token",
    title="An access token copied to another machine",
    story=story_of(__doc__),
    play=play,
)
