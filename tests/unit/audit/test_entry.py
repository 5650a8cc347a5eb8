"""Canonical entry encoding: one line per event, bounded, no secrets (ASVS 16.4.1, PCI 10.2)."""

from __future__ import annotations

import json
import math

import pytest

from zerotrust.audit import entry as enc
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import IntegrityError

TS = 1_700_000_000.123


def _record(**kw: object) -> AuditRecord:
    fields: dict[str, object] = {"action": "auth.login", "actor": "usr_1", "outcome": "failure"}
    fields.update(kw)
    return AuditRecord(**fields)  # type: ignore[arg-type]


def test_encoding_is_versioned_ordered_ascii_json() -> None:
    data = enc.encode_entry(7, TS, _record(src_ip="203.0.113.9", details={"b": 1, "a": 2}))
    assert data == (
        b'{"v":1,"seq":7,"time":"2023-11-14T22:13:20.123Z","action":"auth.login",'
        b'"actor":"usr_1","outcome":"failure","src_ip":"203.0.113.9","details":{"a":2,"b":1}}'
    )
    assert data.startswith(enc.seq_prefix(7))


def test_decode_round_trips() -> None:
    record = _record(
        resource="acct_9",
        reason="bad password",
        device_id="dev_1",
        session_id="ses_1",
        details={"n": 1, "nested": {"x": [1, "y"]}},
    )
    entry = enc.decode_entry(enc.encode_entry(3, TS, record))
    assert entry.seq == 3
    assert entry.time == "2023-11-14T22:13:20.123Z"
    assert (entry.action, entry.actor, entry.outcome) == ("auth.login", "usr_1", "failure")
    assert (entry.resource, entry.reason, entry.device_id) == ("acct_9", "bad password", "dev_1")
    assert entry.details == {"n": 1, "nested": {"x": [1, "y"]}}
    assert entry.to_dict()["seq"] == 3


@pytest.mark.parametrize(
    "nasty",
    [
        'alice\r\n{"v":1,"seq":0,"action":"forged"}',
        "\x1b[2J\x1b[31mroot\x1b[0m",
        'bob","outcome":"success',
        "line\u2028separator\u2029and\x00nul",
        "\u202eevil bidi",
    ],
)
def test_crlf_ansi_and_json_metacharacters_cannot_break_or_forge_entries(nasty: str) -> None:
    data = enc.encode_entry(1, TS, _record(actor=nasty, reason=nasty, details={nasty: nasty}))
    assert b"\n" not in data
    assert b"\r" not in data
    assert b"\x1b" not in data
    assert all(32 <= c < 127 for c in data)  # printable ASCII only
    entry = enc.decode_entry(data)
    assert entry.actor == nasty  # evidence preserved, just encoded
    assert entry.outcome == "failure"
    assert entry.seq == 1


def test_one_mebibyte_values_are_truncated_with_a_marker() -> None:
    huge = "A" * (1 << 20)
    data = enc.encode_entry(
        1, TS, _record(actor=huge, reason=huge, resource=huge, details={"ua": huge, "k" * 5000: 1})
    )
    assert len(data) < 16 * 1024
    entry = enc.decode_entry(data)
    assert entry.actor == "A" * enc.MAX_ID + enc.TRUNCATED
    assert entry.reason == "A" * enc.MAX_TEXT + enc.TRUNCATED
    assert entry.details["ua"].endswith(enc.TRUNCATED)


def test_details_larger_than_the_bound_become_one_truncated_string() -> None:
    details = {f"k{i}": "x" * 1000 for i in range(40)}
    entry = enc.decode_entry(enc.encode_entry(1, TS, _record(details=details)))
    assert list(entry.details) == ["truncated"]
    assert entry.details["truncated"].endswith(enc.TRUNCATED)


def test_many_keys_and_long_lists_are_bounded() -> None:
    details = {"list": list(range(500)), **{f"k{i:03}": i for i in range(100)}}
    entry = enc.decode_entry(enc.encode_entry(1, TS, _record(details=details)))
    assert len(entry.details) == enc.MAX_ITEMS + 1
    assert enc.TRUNCATED in entry.details


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "new_password",
        "Authorization",
        "access_token",
        "refreshToken",
        "apiKey",
        "client-secret",
        "totp",
        "otp_code",
        "pin",
        "card_number",
        "cvv",
        "private_key",
        "pan",
    ],
)
def test_secret_named_details_are_redacted(key: str) -> None:
    entry = enc.decode_entry(enc.encode_entry(1, TS, _record(details={key: "hunter2hunter2"})))
    assert entry.details == {key: enc.REDACTED}


@pytest.mark.parametrize("key", ["spin", "company", "mapping", "status_code", "user_agent"])
def test_ordinary_keys_are_kept(key: str) -> None:
    entry = enc.decode_entry(enc.encode_entry(1, TS, _record(details={key: "v"})))
    assert entry.details == {key: "v"}


@pytest.mark.parametrize("pan", ["4111111111111111", "4111 1111 1111 1111", "5500-0000-0000-0004"])
def test_card_numbers_are_masked_anywhere(pan: str) -> None:
    record = _record(reason=f"card {pan} declined", resource=pan, details={"note": pan})
    data = enc.encode_entry(1, TS, record)
    digits = pan.replace(" ", "").replace("-", "")
    assert digits.encode() not in data
    assert pan.encode() not in data
    assert enc.decode_entry(data).reason == f"card {enc.PAN_MASK} declined"


def test_identifiers_the_product_mints_are_kept_whole() -> None:
    # A random session id whose hex holds a Luhn-valid 13-digit run ("9616542714856"):
    # it names the session, it is no card number. A real one beside it is still masked.
    session = "ses_434ee3eac6f433a9616542714856fecb"
    record = _record(session_id=session, resource=f"session:{session}", reason=f"{session} ok")
    entry = enc.decode_entry(enc.encode_entry(1, TS, record))
    assert (entry.session_id, entry.resource) == (session, f"session:{session}")
    assert entry.reason == f"{session} ok"
    mixed = f"{session} paid with 4111111111111111; x{session[4:]}"  # the last: no id
    masked = f"{session} paid with {enc.PAN_MASK}; x434ee3eac6f433a{enc.PAN_MASK}fecb"
    assert enc.mask_pans(mixed) == masked


def test_long_digit_runs_that_fail_luhn_are_kept() -> None:
    entry = enc.decode_entry(enc.encode_entry(1, TS, _record(reason="order 4111111111111112")))
    assert entry.reason == "order 4111111111111112"


def test_non_json_values_become_safe_text() -> None:
    details = {
        "bytes": b"\x00secret",
        "nan": math.nan,
        "big": 10**30,
        "set": {3, 1, 2},
        "obj": object,
        "deep": {"a": {"b": {"c": {"d": {"e": 1}}}}},
        5: "int key",
    }
    entry = enc.decode_entry(enc.encode_entry(1, TS, _record(details=details)))
    d = entry.details
    assert d["bytes"] == "[7 bytes]"
    assert d["nan"] == "nan"
    assert d["big"] == "[integer out of range]"
    assert d["set"] == [1, 2, 3]
    assert d["obj"].startswith("<class")
    assert d["5"] == "int key"
    assert d["deep"]["a"]["b"]["c"] == "[nested too deep]"


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"[1,2]",
        b'{"v":2,"seq":1}',
        b'{"v":1,"seq":"1","time":"t","action":"a","actor":"b","outcome":"c"}',
        b'{"v":1,"seq":1,"time":"t","action":"a","actor":"b","outcome":"c","evil":1}',
        b'{"v":1,"seq":1}',
        b"\xff\xfe",
    ],
)
def test_malformed_entries_raise_integrity_error(data: bytes) -> None:
    with pytest.raises(IntegrityError):
        enc.decode_entry(data)


def test_prepared_entries_seal_at_any_sequence_number() -> None:
    prepared = enc.prepare(_record(), TS)
    assert json.loads(prepared.seal(12))["seq"] == 12
    assert prepared.seal(12) == enc.encode_entry(12, TS, _record())
