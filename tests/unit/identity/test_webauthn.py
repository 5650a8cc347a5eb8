"""Passkey ceremonies against a software authenticator; SECURITY-TESTS.md cases 16-21."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.authenticator import UP, SoftAuthenticator, b64url, b64url_decode
from tests.support.memory_repos import MemoryChallengeStore, MemoryWebAuthnCredentialRepo
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.core.errors import ConfigError, InvalidInput
from zerotrust.identity.models import Principal, WebAuthnCredential
from zerotrust.identity.webauthn import (
    VerifiedPasskey,
    WebAuthnRejected,
    WebAuthnService,
)

RP_ID = "bank.example"
ORIGIN = "https://bank.example"
EVIL = "https://evil.example"


def principal(pid: str, name: str) -> Principal:
    return Principal(
        id=pid,
        kind="user",
        name=name,
        display_name=name.title(),
        status="active",
        roles=(),
        created_at=0.0,
    )


ALICE = principal("usr_" + "a" * 32, "alice")
BOB = principal("usr_" + "b" * 32, "bob")


@dataclass
class World:
    clock: FixedClock = field(default_factory=FixedClock)
    audit: MemoryAudit = field(default_factory=MemoryAudit)
    credentials: MemoryWebAuthnCredentialRepo = field(default_factory=MemoryWebAuthnCredentialRepo)
    challenges: MemoryChallengeStore = field(default_factory=MemoryChallengeStore)
    service: WebAuthnService = field(init=False)

    def __post_init__(self) -> None:
        self.service = WebAuthnService(
            rp_id=RP_ID,
            rp_name="Bank",
            expected_origins=[ORIGIN],
            credentials=self.credentials,
            challenges=self.challenges,
            clock=self.clock,
            audit=self.audit,
        )

    def register(self, who: Principal, authenticator: SoftAuthenticator) -> WebAuthnCredential:
        response = authenticator.create(self.service.registration_options(who))
        return self.service.verify_registration(who, response, name="laptop")

    def login(
        self, who: Principal, authenticator: SoftAuthenticator, **knobs: Any
    ) -> VerifiedPasskey:
        options = self.service.authentication_options(who)
        return self.service.verify_authentication(who, authenticator.get(options, **knobs))


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def key() -> SoftAuthenticator:
    return SoftAuthenticator(RP_ID, ORIGIN)


@pytest.fixture
def alice_key(world: World, key: SoftAuthenticator) -> SoftAuthenticator:
    world.register(ALICE, key)
    return key


def rejected(code: str, call: Callable[[], object]) -> WebAuthnRejected:
    """Run ``call``; it must raise WebAuthnRejected with ``code`` (and nothing else)."""
    with pytest.raises(WebAuthnRejected) as info:
        call()
    assert info.value.code == code
    assert isinstance(info.value, InvalidInput)  # the edge's 400
    return info.value


# -- the happy paths -------------------------------------------------------------------


def test_registration_options_are_json_ready_and_store_one_challenge(world: World) -> None:
    options = world.service.registration_options(ALICE, require_uv=True)
    assert json.loads(json.dumps(options)) == options
    assert len(b64url_decode(options["challenge"])) == 32
    assert options["rp"] == {"id": RP_ID, "name": "Bank"}
    assert b64url_decode(options["user"]["id"]) == ALICE.id.encode()
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []
    assert options["timeout"] == 300_000
    stored = world.challenges.take(hashlib.sha256(b64url_decode(options["challenge"])).hexdigest())
    assert stored is not None
    assert (stored.principal_id, stored.purpose, stored.require_uv) == (ALICE.id, "register", True)
    assert stored.expires_at == world.clock.now() + 300


def test_register_stores_the_public_key_and_metadata(world: World, key: SoftAuthenticator) -> None:
    world.clock.advance(5)
    cred = world.register(ALICE, key)
    (held,) = key.credentials.values()
    assert cred.credential_id == b64url(held.credential_id)
    assert cred.public_key == held.cose_public_key()
    assert (cred.principal_id, cred.name, cred.sign_count) == (ALICE.id, "laptop", 0)
    assert cred.transports == ("internal", "hybrid")
    assert cred.aaguid == "00000000-0000-0000-0000-000000000000"
    assert cred.created_at == world.clock.now()
    assert world.credentials.get(cred.credential_id) == cred


def test_options_list_the_principals_credentials(
    world: World, alice_key: SoftAuthenticator
) -> None:
    world.register(BOB, SoftAuthenticator(RP_ID, ORIGIN))
    (cred,) = world.credentials.for_principal(ALICE.id)
    expected = [
        {"id": cred.credential_id, "type": "public-key", "transports": ["internal", "hybrid"]}
    ]
    assert world.service.registration_options(ALICE)["excludeCredentials"] == expected
    auth = world.service.authentication_options(ALICE)
    assert auth["allowCredentials"] == expected
    assert auth["rpId"] == RP_ID
    assert auth["userVerification"] == "preferred"
    required = world.service.authentication_options(ALICE, require_uv=True)
    assert required["userVerification"] == "required"


def test_login_verifies_and_advances_the_counter(
    world: World, alice_key: SoftAuthenticator
) -> None:
    world.clock.advance(60)
    first = world.login(ALICE, alice_key)
    second = world.login(ALICE, alice_key)
    (cred,) = world.credentials.for_principal(ALICE.id)
    assert first == VerifiedPasskey(cred.credential_id, user_verified=True, new_sign_count=1)
    assert second.new_sign_count == 2
    assert (cred.sign_count, cred.last_used_at) == (2, world.clock.now())
    assert len(world.challenges) == 0


def test_up_only_login_reports_not_user_verified(world: World) -> None:
    key = SoftAuthenticator(RP_ID, ORIGIN, user_verified=False)
    world.register(ALICE, key)
    assert world.login(ALICE, key).user_verified is False


def test_uv_required_login_succeeds_with_uv(world: World, alice_key: SoftAuthenticator) -> None:
    options = world.service.authentication_options(ALICE, require_uv=True)
    assert world.service.verify_authentication(ALICE, alice_key.get(options)).user_verified


def test_counterless_authenticator_may_stay_at_zero(world: World) -> None:
    key = SoftAuthenticator(RP_ID, ORIGIN, increment=0)
    world.register(ALICE, key)
    assert world.login(ALICE, key).new_sign_count == 0
    assert world.login(ALICE, key).new_sign_count == 0


def test_accepts_a_json_string(world: World, key: SoftAuthenticator) -> None:
    response = key.create(world.service.registration_options(ALICE))
    world.service.verify_registration(ALICE, json.dumps(response), name="phone")
    options = world.service.authentication_options(ALICE)
    assert world.service.verify_authentication(ALICE, json.dumps(key.get(options)))


def test_service_refuses_an_incomplete_configuration() -> None:
    with pytest.raises(ConfigError):
        WebAuthnService(
            rp_id=RP_ID,
            rp_name="Bank",
            expected_origins=[],
            credentials=MemoryWebAuthnCredentialRepo(),
            challenges=MemoryChallengeStore(),
            clock=FixedClock(),
            audit=MemoryAudit(),
        )


# -- case 16: origin and RP ID ---------------------------------------------------------


def test_assertion_from_another_origin_is_rejected(
    world: World, alice_key: SoftAuthenticator
) -> None:
    rejected("origin_mismatch", lambda: world.login(ALICE, alice_key, origin=EVIL))


@pytest.mark.parametrize("flag", [True, 1, "false", None])
def test_cross_origin_iframe_assertion_is_rejected(
    world: World, alice_key: SoftAuthenticator, flag: object
) -> None:
    extra = {"crossOrigin": flag}
    rejected("origin_mismatch", lambda: world.login(ALICE, alice_key, client_data_extra=extra))


def test_assertion_for_another_rp_id_is_rejected(
    world: World, alice_key: SoftAuthenticator
) -> None:
    other = hashlib.sha256(b"evil.example").digest()
    rejected("rp_id_mismatch", lambda: world.login(ALICE, alice_key, rp_id_hash=other))


def test_registration_from_another_origin_or_rp_id_is_rejected(
    world: World, key: SoftAuthenticator
) -> None:
    def register(**knobs: Any) -> WebAuthnCredential:
        response = key.create(world.service.registration_options(ALICE), **knobs)
        return world.service.verify_registration(ALICE, response, name="x")

    rejected("origin_mismatch", lambda: register(origin=EVIL))
    rejected("rp_id_mismatch", lambda: register(rp_id="evil.example"))
    assert world.credentials.for_principal(ALICE.id) == []


# -- case 17: replay and challenge binding ---------------------------------------------


@pytest.mark.parametrize("increment", [1, 0])
def test_replayed_assertion_is_rejected(world: World, increment: int) -> None:
    key = SoftAuthenticator(RP_ID, ORIGIN, increment=increment)
    world.register(ALICE, key)
    captured = key.get(world.service.authentication_options(ALICE))
    world.service.verify_authentication(ALICE, captured)
    rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, captured))


def test_replayed_registration_is_rejected(world: World, key: SoftAuthenticator) -> None:
    captured = key.create(world.service.registration_options(ALICE))
    world.service.verify_registration(ALICE, captured, name="x")
    rejected(
        "challenge_invalid", lambda: world.service.verify_registration(ALICE, captured, name="x")
    )


def test_expired_challenge_is_rejected(world: World, alice_key: SoftAuthenticator) -> None:
    response = alice_key.get(world.service.authentication_options(ALICE))
    world.clock.advance(301)
    rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, response))


def test_expired_registration_challenge_is_rejected(world: World, key: SoftAuthenticator) -> None:
    response = key.create(world.service.registration_options(ALICE))
    world.clock.advance(301)
    rejected(
        "challenge_invalid", lambda: world.service.verify_registration(ALICE, response, name="x")
    )


@pytest.mark.parametrize(("age", "accepted"), [(299, True), (300, False)])
def test_challenge_lives_exactly_its_ttl(
    world: World, alice_key: SoftAuthenticator, age: int, accepted: bool
) -> None:
    response = alice_key.get(world.service.authentication_options(ALICE))
    world.clock.advance(age)
    if accepted:
        assert world.service.verify_authentication(ALICE, response)
    else:
        rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, response))


def test_concurrent_replays_of_one_assertion_succeed_once(
    world: World, alice_key: SoftAuthenticator
) -> None:
    captured = alice_key.get(world.service.authentication_options(ALICE))

    def attempt(_: int) -> str:
        try:
            world.service.verify_authentication(ALICE, captured)
        except WebAuthnRejected as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(attempt, range(16)))
    assert outcomes == ["challenge_invalid"] * 15 + ["ok"]


def test_challenge_issued_to_another_principal_is_rejected(
    world: World, alice_key: SoftAuthenticator
) -> None:
    bobs_options = world.service.authentication_options(BOB)
    response = alice_key.get(
        world.service.authentication_options(ALICE), challenge=bobs_options["challenge"]
    )
    rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, response))


def test_registration_challenge_cannot_serve_a_login(
    world: World, alice_key: SoftAuthenticator
) -> None:
    registration = world.service.registration_options(ALICE)
    response = alice_key.get(
        world.service.authentication_options(ALICE), challenge=registration["challenge"]
    )
    rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, response))


def test_login_challenge_cannot_serve_a_registration(world: World, key: SoftAuthenticator) -> None:
    login = world.service.authentication_options(ALICE)
    response = key.create(world.service.registration_options(ALICE), challenge=login["challenge"])
    rejected(
        "challenge_invalid", lambda: world.service.verify_registration(ALICE, response, name="x")
    )


@pytest.mark.parametrize("forged", [b64url(b"\x00" * 32), b64url(b"short"), ""])
def test_unknown_challenge_is_rejected(
    world: World, alice_key: SoftAuthenticator, forged: str
) -> None:
    rejected("challenge_invalid", lambda: world.login(ALICE, alice_key, challenge=forged))


def test_a_rejected_response_still_uses_up_its_challenge(
    world: World, alice_key: SoftAuthenticator
) -> None:
    options = world.service.authentication_options(ALICE)
    evil = alice_key.get(options, origin=EVIL)
    rejected("origin_mismatch", lambda: world.service.verify_authentication(ALICE, evil))
    good = alice_key.get(options)
    rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, good))


def test_losing_the_counter_race_is_a_replay(world: World, alice_key: SoftAuthenticator) -> None:
    first = alice_key.get(world.service.authentication_options(ALICE))
    second = alice_key.get(world.service.authentication_options(ALICE))
    # Both assertions read the stored counter 0; the second commits first.
    cid = b64url_decode(first["rawId"])
    original = world.credentials.update_sign_count

    def racing(credential_id: str, *, expected_old: int, new: int, now: float) -> bool:
        original(credential_id, expected_old=expected_old, new=new + 1, now=now)
        return original(credential_id, expected_old=expected_old, new=new, now=now)

    world.credentials.update_sign_count = racing  # type: ignore[method-assign]
    rejected("challenge_invalid", lambda: world.service.verify_authentication(ALICE, first))
    world.credentials.update_sign_count = original  # type: ignore[method-assign]
    assert world.credentials.get(b64url(cid)).sign_count == 2  # type: ignore[union-attr]
    rejected(
        "possible_cloned_authenticator",
        lambda: world.service.verify_authentication(ALICE, second),
    )


# -- case 18: sign counter -------------------------------------------------------------


@pytest.mark.parametrize("presented", [0, 4, 5])
def test_counter_not_above_the_stored_value_raises_a_clone_alert(
    world: World, alice_key: SoftAuthenticator, presented: int
) -> None:
    world.login(ALICE, alice_key, sign_count=5)
    rejected(
        "possible_cloned_authenticator",
        lambda: world.login(ALICE, alice_key, sign_count=presented),
    )
    (record,) = world.audit.records
    (cred,) = world.credentials.for_principal(ALICE.id)
    assert (record.action, record.actor, record.outcome) == (
        "webauthn.clone_suspected",
        ALICE.id,
        "failure",
    )
    assert record.reason == "possible_cloned_authenticator"
    assert record.resource == f"webauthn_credential:{cred.credential_id}"
    assert record.details == {"stored_sign_count": 5, "presented_sign_count": presented}
    assert cred.sign_count == 5


def test_a_cloned_key_is_caught_when_it_falls_behind(
    world: World, alice_key: SoftAuthenticator
) -> None:
    twin = alice_key.clone()
    world.login(ALICE, twin)
    world.login(ALICE, twin)  # the clone is used twice: the server has seen 2
    assert world.audit.records == []
    rejected("possible_cloned_authenticator", lambda: world.login(ALICE, alice_key))  # says 1
    assert [r.action for r in world.audit.records] == ["webauthn.clone_suspected"]


def test_forged_low_counter_without_a_valid_signature_raises_no_alert(
    world: World, alice_key: SoftAuthenticator
) -> None:
    world.login(ALICE, alice_key, sign_count=5)
    rejected(
        "webauthn_rejected",
        lambda: world.login(ALICE, alice_key, sign_count=1, tamper_signature=lambda s: s[::-1]),
    )
    assert world.audit.records == []


# -- case 19: user verification --------------------------------------------------------


def test_uv_required_but_up_only_assertion_is_rejected(
    world: World, alice_key: SoftAuthenticator
) -> None:
    options = world.service.authentication_options(ALICE, require_uv=True)
    response = alice_key.get(options, user_verified=False)
    rejected("uv_required", lambda: world.service.verify_authentication(ALICE, response))


def test_uv_required_registration_without_uv_is_rejected(world: World) -> None:
    key = SoftAuthenticator(RP_ID, ORIGIN, user_verified=False)
    response = key.create(world.service.registration_options(ALICE, require_uv=True))
    rejected("uv_required", lambda: world.service.verify_registration(ALICE, response, name="x"))


def test_assertion_without_user_presence_is_rejected(
    world: World, alice_key: SoftAuthenticator
) -> None:
    rejected("webauthn_rejected", lambda: world.login(ALICE, alice_key, flags=0))


def test_flipping_the_uv_bit_in_transit_breaks_the_signature(
    world: World, alice_key: SoftAuthenticator
) -> None:
    options = world.service.authentication_options(ALICE, require_uv=True)
    response = alice_key.get(
        options, flags=UP, tamper_auth_data=lambda d: d[:32] + bytes([d[32] | 0x04]) + d[33:]
    )
    rejected("webauthn_rejected", lambda: world.service.verify_authentication(ALICE, response))


# -- case 21: credential binding -------------------------------------------------------


def test_credential_of_another_user_cannot_log_in(
    world: World, alice_key: SoftAuthenticator
) -> None:
    bobs_key = SoftAuthenticator(RP_ID, ORIGIN)
    world.register(BOB, bobs_key)
    (bobs,) = bobs_key.credentials
    options = world.service.authentication_options(ALICE)
    response = bobs_key.get(options, credential_id=bobs)
    rejected("credential_unknown", lambda: world.service.verify_authentication(ALICE, response))
    assert world.credentials.get(b64url(bobs)).principal_id == BOB.id  # type: ignore[union-attr]


def test_user_handle_of_another_user_is_rejected(
    world: World, alice_key: SoftAuthenticator
) -> None:
    response = alice_key.get(world.service.authentication_options(ALICE))
    response["response"]["userHandle"] = b64url(BOB.id.encode())
    rejected("credential_unknown", lambda: world.service.verify_authentication(ALICE, response))


def test_unregistered_credential_is_rejected(world: World, alice_key: SoftAuthenticator) -> None:
    stranger = SoftAuthenticator(RP_ID, ORIGIN)
    stranger.create(world.service.registration_options(ALICE))  # made, never verified
    (made,) = stranger.credentials
    response = stranger.get(world.service.authentication_options(ALICE), credential_id=made)
    rejected("credential_unknown", lambda: world.service.verify_authentication(ALICE, response))


@pytest.mark.parametrize("who", [ALICE, BOB])
def test_credential_id_registered_to_anyone_cannot_be_registered_again(
    world: World, alice_key: SoftAuthenticator, who: Principal
) -> None:
    (taken,) = alice_key.credentials
    squatter = SoftAuthenticator(RP_ID, ORIGIN)
    response = squatter.create(world.service.registration_options(who), credential_id=taken)
    rejected(
        "credential_exists", lambda: world.service.verify_registration(who, response, name="x")
    )
    assert world.credentials.get(b64url(taken)).principal_id == ALICE.id  # type: ignore[union-attr]


def test_raw_id_must_match_the_attested_credential_id(world: World, key: SoftAuthenticator) -> None:
    response = key.create(world.service.registration_options(ALICE))
    response["id"] = response["rawId"] = b64url(b"someone-elses-id")
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))


@pytest.mark.parametrize("name", ["", "   ", "x" * 129, "bad\nname", "nul\x00"])
def test_bad_passkey_names_are_rejected(world: World, key: SoftAuthenticator, name: str) -> None:
    response = key.create(world.service.registration_options(ALICE))
    rejected("name_invalid", lambda: world.service.verify_registration(ALICE, response, name=name))


# -- case 20: malformed input is a 400, never a 500 ------------------------------------


def assertion(world: World, key: SoftAuthenticator, **knobs: Any) -> dict[str, Any]:
    return key.get(world.service.authentication_options(ALICE), **knobs)


def attestation(world: World, key: SoftAuthenticator, **knobs: Any) -> dict[str, Any]:
    return key.create(world.service.registration_options(ALICE), **knobs)


@pytest.mark.parametrize(
    "garbage", [b"\xff\x00\x13", b"", b"\xa1", cbor2.dumps([1, 2]), b"\xbf" * 1000, b"\x9f" * 5000]
)
def test_malformed_cbor_attestation_object(
    world: World, key: SoftAuthenticator, garbage: bytes
) -> None:
    response = attestation(world, key, tamper_attestation_object=lambda _: garbage)
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))


@pytest.mark.parametrize(
    "statement",
    [
        {"fmt": "none", "attStmt": {}, "authData": 10**12},  # bytes(10**12) in the library
        {"fmt": "none", "attStmt": {}, "authData": "text"},
        {"fmt": 1, "attStmt": {}, "authData": b"\x00" * 37},
        {"fmt": "none", "attStmt": [], "authData": b"\x00" * 37},
        {"fmt": "none", "attStmt": {}},
    ],
)
def test_attestation_object_of_the_wrong_shape(
    world: World, key: SoftAuthenticator, statement: dict[str, Any]
) -> None:
    response = attestation(world, key, tamper_attestation_object=lambda _: cbor2.dumps(statement))
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))


def test_attestation_statement_that_does_not_verify(world: World, key: SoftAuthenticator) -> None:
    def packed(raw: bytes) -> bytes:
        obj = cbor2.loads(raw)
        return cbor2.dumps({**obj, "fmt": "packed", "attStmt": {"alg": -7, "sig": b"\x30"}})

    response = attestation(world, key, tamper_attestation_object=packed)
    rejected(
        "webauthn_rejected", lambda: world.service.verify_registration(ALICE, response, name="x")
    )


@pytest.mark.parametrize("length", [0, 20, 36])
def test_truncated_authenticator_data(
    world: World, alice_key: SoftAuthenticator, length: int
) -> None:
    response = assertion(world, alice_key, tamper_auth_data=lambda d: d[:length])
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


@pytest.mark.parametrize("cut", [37, 40, 60, -10])
def test_truncated_attested_authenticator_data(
    world: World, key: SoftAuthenticator, cut: int
) -> None:
    response = attestation(world, key, tamper_auth_data=lambda d: d[:cut])
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))


def test_one_mebibyte_client_data(world: World, alice_key: SoftAuthenticator) -> None:
    options = world.service.authentication_options(ALICE)
    big = json.dumps(
        {
            "type": "webauthn.get",
            "challenge": options["challenge"],
            "origin": ORIGIN,
            "pad": "x" * 2**20,
        }
    ).encode()
    response = alice_key.get(options, client_data_json=big)
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, json.dumps(response)))
    # The challenge was never looked up, so the genuine response still works.
    assert world.service.verify_authentication(ALICE, alice_key.get(options))


def test_client_data_just_over_the_limit(world: World, alice_key: SoftAuthenticator) -> None:
    response = assertion(world, alice_key, client_data_extra={"pad": "x" * 16 * 1024})
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


def test_create_type_on_get_is_rejected(world: World, alice_key: SoftAuthenticator) -> None:
    response = assertion(world, alice_key, client_data_type="webauthn.create")
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


def test_get_type_on_create_is_rejected(world: World, key: SoftAuthenticator) -> None:
    response = attestation(world, key, client_data_type="webauthn.get")
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))


@pytest.mark.parametrize(
    "client_data",
    [
        b"not json",
        b"[]",
        b"\xff\xfe\x00",
        b'{"type":"webauthn.get","origin":"https://bank.example"}',
        b'{"type":"webauthn.get","challenge":7,"origin":"https://bank.example"}',
        b'{"type":1,"challenge":"AAAA","origin":"https://bank.example"}',
        b'{"type":"webauthn.get","challenge":"!!","origin":"https://bank.example"}',
        b"[" * 10_000,
    ],
)
def test_malformed_client_data(
    world: World, alice_key: SoftAuthenticator, client_data: bytes
) -> None:
    response = assertion(world, alice_key, client_data_json=client_data)
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


@pytest.mark.parametrize(
    "path",
    [
        "id",
        "rawId",
        "response.clientDataJSON",
        "response.authenticatorData",
        "response.signature",
        "response.userHandle",
    ],
)
@pytest.mark.parametrize("garbage", ["***", "a", "AAAA=A", "AA==AA", "é", "A" * 200_000])
def test_garbage_base64(
    world: World, alice_key: SoftAuthenticator, path: str, garbage: str
) -> None:
    response = assertion(world, alice_key)
    set_path(response, path, garbage)
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


@pytest.mark.parametrize(
    "text",
    ["", "not json", "[1, 2]", "null", "42", '"str"', "[" * 50_000, "{" + " " * 70_000 + "}"],
)
def test_non_json_or_non_object_credential(world: World, text: str) -> None:
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, text))
    rejected("malformed", lambda: world.service.verify_registration(ALICE, text, name="x"))


@pytest.mark.parametrize(
    "path",
    [
        "id",
        "rawId",
        "type",
        "response",
        "response.clientDataJSON",
        "response.authenticatorData",
        "response.signature",
    ],
)
def test_missing_assertion_fields(world: World, alice_key: SoftAuthenticator, path: str) -> None:
    response = assertion(world, alice_key)
    set_path(response, path, None, delete=True)
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


@pytest.mark.parametrize(
    "path",
    ["id", "rawId", "type", "response", "response.clientDataJSON", "response.attestationObject"],
)
def test_missing_attestation_fields(world: World, key: SoftAuthenticator, path: str) -> None:
    response = attestation(world, key)
    set_path(response, path, None, delete=True)
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("type", "password"),
        ("id", 17),
        ("rawId", ["A"]),
        ("response", "x"),
        ("response.signature", {"a": 1}),
        ("response.userHandle", 5),
        ("response.clientDataJSON", None),
    ],
)
def test_wrong_field_types(
    world: World, alice_key: SoftAuthenticator, path: str, value: object
) -> None:
    response = assertion(world, alice_key)
    set_path(response, path, value)
    rejected("malformed", lambda: world.service.verify_authentication(ALICE, response))


def test_odd_transports_are_dropped_not_fatal(world: World, key: SoftAuthenticator) -> None:
    response = attestation(world, key)
    response["response"]["transports"] = ["usb", "warp-drive", 7, "usb", ["nfc"], {"a": 1}]
    cred = world.service.verify_registration(ALICE, response, name="x")
    assert cred.transports == ("usb",)


def test_errors_do_not_echo_client_data(world: World, alice_key: SoftAuthenticator) -> None:
    error = rejected("origin_mismatch", lambda: world.login(ALICE, alice_key, origin=EVIL))
    assert "evil" not in str(error)


def set_path(
    response: dict[str, Any], path: str, value: object, *, delete: bool = False
) -> dict[str, Any]:
    """Set (or delete) a dotted path such as ``response.signature``; return the response."""
    *parents, leaf = path.split(".")
    data = response
    for part in parents:
        data = data[part]
    if delete:
        del data[leaf]
    else:
        data[leaf] = value
    return response


# -- property: any mutation is a success or a WebAuthnRejected -------------------------

COMMON = ["id", "rawId", "type", "authenticatorAttachment", "response", "response.clientDataJSON"]
ASSERTION_FIELDS = [
    *COMMON,
    "response.authenticatorData",
    "response.signature",
    "response.userHandle",
]
ATTESTATION_FIELDS = [*COMMON, "response.attestationObject", "response.transports"]
CLIENT_DATA_KEYS = ["type", "challenge", "origin", "crossOrigin", "tokenBinding", "topOrigin"]
ATTESTATION_KEYS = ["fmt", "attStmt", "authData"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
cbor_values = json_values | st.binary(max_size=64) | st.integers(-(2**70), 2**70)

Mutation = Callable[[dict[str, Any]], object]


def rebyte(field: str, edit: tuple[int, int, bool]) -> Mutation:
    """Flip bits in, or truncate, the decoded bytes of one base64url field."""

    def apply(r: dict[str, Any]) -> object:
        raw = bytearray(b64url_decode(r["response"][field]))
        i, byte, truncate = edit
        if truncate:
            raw = raw[: i % (len(raw) + 1)]
        elif raw:
            raw[i % len(raw)] ^= byte or 1
        r["response"][field] = b64url(bytes(raw))
        return r

    return apply


def restructure(field: str, key: str, value: object) -> Mutation:
    """Set one member of the JSON (clientDataJSON) or CBOR (attestationObject) inside a field."""

    def apply(r: dict[str, Any]) -> object:
        raw = b64url_decode(r["response"][field])
        if field == "clientDataJSON":
            r["response"][field] = b64url(json.dumps({**json.loads(raw), key: value}).encode())
        else:
            r["response"][field] = b64url(cbor2.dumps({**cbor2.loads(raw), key: value}))
        return r

    return apply


def retext(index: int, char: str) -> Mutation:
    """Overwrite one character of the credential's JSON text (usually breaking it)."""

    def apply(r: dict[str, Any]) -> object:
        text = json.dumps(r)
        i = index % (len(text) + 1)
        return text[:i] + char + text[i + 1 :]

    return apply


@st.composite
def mutations(draw: st.DrawFn, fields: list[str], binary: list[str]) -> Mutation:
    """One random change to a response's JSON, its decoded bytes, its inner structure or text."""
    kind = draw(st.sampled_from(["bytes", "value", "delete", "text", "inner"]))
    if kind == "text":
        return retext(draw(st.integers(0, 10_000)), draw(st.characters()))
    if kind == "bytes":
        edit = draw(st.tuples(st.integers(0, 2000), st.integers(0, 255), st.booleans()))
        return rebyte(draw(st.sampled_from(binary)), edit)
    if kind == "inner":
        field = draw(st.sampled_from(["clientDataJSON", *binary[1:2]]))
        if field == "clientDataJSON":
            return restructure(field, draw(st.sampled_from(CLIENT_DATA_KEYS)), draw(json_values))
        if field == "attestationObject":
            return restructure(field, draw(st.sampled_from(ATTESTATION_KEYS)), draw(cbor_values))
        return rebyte(
            field, draw(st.tuples(st.integers(0, 2000), st.integers(0, 255), st.just(False)))
        )
    path = draw(st.sampled_from(fields))
    if kind == "value":
        value = draw(json_values)
        return lambda r: set_path(r, path, value)
    return lambda r: set_path(r, path, None, delete=True)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mutate=mutations(
        ASSERTION_FIELDS,
        ["clientDataJSON", "authenticatorData", "signature", "userHandle"],
    ),
    require_uv=st.booleans(),
)
def test_random_mutations_of_an_assertion_never_escape(mutate: Mutation, require_uv: bool) -> None:
    world = World()
    key = SoftAuthenticator(RP_ID, ORIGIN)
    world.register(ALICE, key)
    options = world.service.authentication_options(ALICE, require_uv=require_uv)
    response = mutate(key.get(options))
    try:
        result = world.service.verify_authentication(ALICE, response)  # type: ignore[arg-type]
    except WebAuthnRejected:
        return
    assert isinstance(result, VerifiedPasskey)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutate=mutations(ATTESTATION_FIELDS, ["clientDataJSON", "attestationObject"]))
def test_random_mutations_of_an_attestation_never_escape(mutate: Mutation) -> None:
    world = World()
    response = mutate(attestation(world, SoftAuthenticator(RP_ID, ORIGIN)))
    with contextlib.suppress(WebAuthnRejected):
        cred = world.service.verify_registration(ALICE, response, name="x")  # type: ignore[arg-type]
        assert world.credentials.get(cred.credential_id) == cred


def test_base64_padding_is_tolerated(world: World, alice_key: SoftAuthenticator) -> None:
    response = assertion(world, alice_key)
    sig = response["response"]["signature"]
    response["response"]["signature"] = base64.urlsafe_b64encode(b64url_decode(sig)).decode()
    assert world.service.verify_authentication(ALICE, response)


def test_public_key_off_its_curve_is_not_stored(world: World, key: SoftAuthenticator) -> None:
    # The COSE key ends with y; changing its last byte moves the point off P-256.
    response = attestation(world, key, tamper_auth_data=lambda d: d[:-1] + bytes([d[-1] ^ 1]))
    rejected("malformed", lambda: world.service.verify_registration(ALICE, response, name="x"))
    assert world.credentials.for_principal(ALICE.id) == []
