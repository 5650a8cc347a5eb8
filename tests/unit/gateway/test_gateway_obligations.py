"""Obligations applied to response bodies: by field name and by route classification."""

from __future__ import annotations

import json
from typing import Any

import pytest

from zerotrust.gateway.config import FieldRule
from zerotrust.gateway.obligations import apply, count_records, filter_body
from zerotrust.gateway.routes_file import json_path_steps
from zerotrust.vault.errors import ObligationUnfulfilled

BODY = {
    "customer": "c1",
    "email": "ada@example.com",
    "card": {"pan": "4111111111111111", "number": "5500005555555559"},
    "items": [{"card_number": "4000056655665556", "id": "t1"}, {"id": "t2"}],
    "ssn": "123-45-6789",
}


def rule(path: str, data_class: str) -> FieldRule:
    return FieldRule(path, json_path_steps(path), data_class)


def tokenizer(field: str, value: str) -> str:
    return f"tok_{field}_{len(value)}"


def test_mask_by_name_at_any_depth_and_by_classification() -> None:
    rules = [rule("$.card.number", "pan"), rule("$.items[*].card_number", "pan")]
    out = apply(json.loads(json.dumps(BODY)), ["mask:pan"], rules=rules)
    assert out["card"] == {"pan": "************1111", "number": "************5559"}
    assert out["items"][0]["card_number"] == "************5556"
    assert out["ssn"] == BODY["ssn"]  # no obligation names it


def test_drop_and_tokenize() -> None:
    rules = [rule("$.card", "card")]
    out = apply(
        json.loads(json.dumps(BODY)),
        ["drop:ssn", "tokenize:email", "drop:card"],
        rules=rules,
        tokenize=tokenizer,
    )
    assert "ssn" not in out
    assert "card" not in out
    assert out["email"] == "tok_email_15"


def test_the_strongest_obligation_wins_for_a_field() -> None:
    out = apply({"pan": "4111111111111111"}, ["mask:pan", "drop:pan"])
    assert out == {}


def test_drop_from_a_list_keeps_the_other_items() -> None:
    body = {"emails": ["a@x", "b@x", "c@x"]}
    assert apply(body, ["drop:address"], rules=[rule("$.emails[1]", "address")]) == {
        "emails": ["a@x", "c@x"]
    }


@pytest.mark.parametrize(
    ("content", "content_type", "encoding", "obligations"),
    [
        (b"plain 4111111111111111", "text/plain", "", ["mask:pan"]),
        (b"\x1f\x8b compressed", "application/json", "gzip", ["mask:pan"]),
        (b"{not json", "application/json", "", ["mask:pan"]),
        (b'{"email": "a@x"}', "application/json", "", ["tokenize:email"]),  # no tokenizer
        (b'{"pan": "1"}', "application/json", "", ["mask:pan;drop"]),  # malformed obligation
    ],
)
def test_an_obligation_that_cannot_be_met_withholds_the_body(
    content: bytes, content_type: str, encoding: str, obligations: list[str]
) -> None:
    with pytest.raises(ObligationUnfulfilled):
        filter_body(
            content, content_type=content_type, content_encoding=encoding, obligations=obligations
        )


def test_without_obligations_the_body_passes_untouched() -> None:
    content = b"\x1f\x8b anything"
    assert filter_body(
        content, content_type="application/octet-stream", content_encoding="gzip", obligations=()
    ) == (content, None)


def test_filtered_bodies_are_json_with_their_record_count() -> None:
    out, records = filter_body(
        json.dumps([BODY, BODY]).encode(),
        content_type="application/problem+json; charset=utf-8",
        content_encoding="identity",
        obligations=["mask:pan"],
    )
    assert records == 2
    assert b"4111111111111111" not in out
    assert json.loads(out)[0]["card"]["pan"] == "************1111"


@pytest.mark.parametrize(
    ("body", "records"),
    [([1, 2, 3], 3), ({"items": [1, 2]}, 2), ({"a": 1}, 1), ({"a": [1], "b": [2]}, 1), ("x", None)],
)
def test_record_counts(body: Any, records: int | None) -> None:
    assert count_records(json.dumps(body).encode(), "application/json") == records
    assert count_records(b"", "application/json") is None
    assert count_records(b"[1]", "text/plain") is None
