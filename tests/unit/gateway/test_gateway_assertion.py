"""The identity assertion: signed, short-lived, for one upstream, verifiable with the JWKS."""

from __future__ import annotations

import pytest

from tests.support.identity import make_user
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.jwt import TokenInvalid
from zerotrust.gateway.assertion import AssertionSigner, verify_assertion
from zerotrust.identity.models import ClientInfo
from zerotrust.service import Services


def test_an_upstream_verifies_the_assertion_with_the_jwks(svc: Services, clock: FixedClock) -> None:
    user = make_user(svc, "ann", roles=("fraud_analyst",))
    tokens = svc.sessions.open(
        user.principal, aal=2, amr=("pwd", "otp"), client=ClientInfo(jkt="jkt")
    )
    auth = svc.sessions.authenticate(tokens.access_token, jkt="jkt")
    signer = AssertionSigner(svc.tokens, clock, ttl_s=60)
    token = signer.sign(
        auth, device_id="dev_1", audience="ledger", correlation_id="req_1", client_ip="10.0.0.7"
    )
    jwks = svc.tokens.jwks()
    claims = verify_assertion(
        token, jwks=jwks, issuer=svc.settings.issuer, audience="ledger", now=clock.now()
    )
    assert claims["sub"] == user.principal.id
    assert claims["roles"] == ["fraud_analyst"]
    assert (claims["device_id"], claims["aal"], claims["cid"]) == ("dev_1", 2, "req_1")
    assert (claims["sid"], claims["ip"]) == (auth.session.id, "10.0.0.7")
    assert claims["exp"] - claims["iat"] == 60
    with pytest.raises(TokenInvalid) as err:  # an assertion for one upstream is not for another
        verify_assertion(
            token, jwks=jwks, issuer=svc.settings.issuer, audience="vault", now=clock.now()
        )
    assert err.value.reason == "wrong_audience"
    with pytest.raises(TokenInvalid) as err:  # short-lived
        verify_assertion(
            token, jwks=jwks, issuer=svc.settings.issuer, audience="ledger", now=clock.now() + 120
        )
    assert err.value.reason == "expired"
    with pytest.raises(TokenInvalid) as err:  # an access token is not an assertion
        verify_assertion(
            tokens.access_token,
            jwks=jwks,
            issuer=svc.settings.issuer,
            audience=svc.settings.audience,
            now=clock.now(),
        )
    assert err.value.reason == "wrong_type"


def test_a_public_route_asserts_no_identity(svc: Services, clock: FixedClock) -> None:
    signer = AssertionSigner(svc.tokens, clock, ttl_s=60)
    token = signer.sign(
        None, device_id=None, audience="console", correlation_id="req_2", client_ip="10.0.0.8"
    )
    claims = verify_assertion(
        token, jwks=svc.tokens.jwks(), issuer=svc.settings.issuer, audience="console",
        now=clock.now(),
    )  # fmt: skip
    assert (claims["sub"], claims["ptype"], claims["roles"], claims["aal"]) == (
        "anonymous", "anonymous", [], 0,
    )  # fmt: skip
    assert "sid" not in claims
    assert claims["ip"] == "10.0.0.8"
