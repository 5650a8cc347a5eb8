"""Obligations applied to response bodies before they leave the gateway.

An allow may carry obligations such as ``mask:pan``, ``tokenize:email`` or ``drop:ssn``
(docs/policy.md). A field is subject to ``verb:X`` when it is *named* ``X`` at any depth
(the vault's rule, ``vault.masking``) or when the route *classifies* it as ``X``
(``$.card.number: pan`` in the routes file), so a card number under another name is
still masked. An obligation that cannot be carried out — a body that is not JSON, a
compressed body, a ``tokenize`` without a tokenizer, a malformed obligation — withholds
the whole response (``ObligationUnfulfilled``): it is never released unfiltered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from zerotrust.gateway.config import FieldRule
from zerotrust.vault.errors import ObligationUnfulfilled
from zerotrust.vault.masking import Tokenizer, apply_obligations, masker_for, parse

_STRENGTH = {"mask": 0, "tokenize": 1, "drop": 2}
# Records are counted (for the access event) in JSON bodies up to this size only.
MAX_COUNTED_BYTES = 1 << 20


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def filter_body(
    content: bytes,
    *,
    content_type: str,
    content_encoding: str,
    obligations: Sequence[str],
    rules: Sequence[FieldRule] = (),
    tokenize: Tokenizer | None = None,
) -> tuple[bytes, int | None]:
    """The response body with the obligations applied, and its record count (see
    ``count_records``); raise ``ObligationUnfulfilled`` when they cannot be applied."""
    if not obligations:
        return content, count_records(content, content_type)
    if content_encoding.strip().lower() not in ("", "identity"):
        raise ObligationUnfulfilled
    if not content.strip():
        return content, None
    if not is_json(content_type):
        raise ObligationUnfulfilled
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        raise ObligationUnfulfilled from None
    filtered = apply(body, obligations, rules=rules, tokenize=tokenize)
    out = json.dumps(filtered, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return out, records_of(filtered)


def apply(
    body: Any,
    obligations: Sequence[str],
    *,
    rules: Sequence[FieldRule] = (),
    tokenize: Tokenizer | None = None,
) -> Any:
    """Apply by classification (the route's field rules), then by name (the vault's)."""
    actions: dict[str, str] = {}
    for item in obligations:
        verb, data_class = parse(item)
        if _STRENGTH[verb] > _STRENGTH.get(actions.get(data_class, ""), -1):
            actions[data_class] = verb
    for rule in rules:
        action = actions.get(rule.data_class)
        if action is not None:
            _at_path(body, rule.steps, _change(action, rule.data_class, tokenize))
    return apply_obligations(body, obligations, tokenize=tokenize)


_DROP = object()


def _change(verb: str, data_class: str, tokenize: Tokenizer | None) -> Callable[[Any], Any]:
    """What ``verb`` does to one value of ``data_class``."""

    def change(value: Any) -> Any:
        if verb == "drop":
            return _DROP
        if value is None:
            return None
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        if verb == "mask":
            return masker_for(data_class)(text)
        if tokenize is None:
            raise ObligationUnfulfilled
        return tokenize(data_class, text)

    return change


def _at_path(node: Any, steps: Sequence[str | int | None], change: Callable[[Any], Any]) -> None:
    """Replace (or drop) every value the JSON path reaches, in place."""
    step, rest = steps[0], steps[1:]
    if isinstance(step, str):
        keys: list[Any] = [step] if isinstance(node, dict) and step in node else []
    elif isinstance(node, list):
        keys = list(range(len(node))) if step is None else [step] if -1 < step < len(node) else []
    else:
        keys = []
    for key in reversed(keys):  # reversed: dropping list items keeps earlier indexes valid
        if rest:
            _at_path(node[key], rest, change)
            continue
        new = change(node[key])
        if new is _DROP:
            del node[key]
        else:
            node[key] = new


def count_records(content: bytes, content_type: str) -> int | None:
    """How many records a JSON response holds: a top-level list's length, an object's 1,
    or a single list-valued member's length (``{"items": [...]}``)."""
    if not content or len(content) > MAX_COUNTED_BYTES or not is_json(content_type):
        return None
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return records_of(body)


def records_of(body: Any) -> int | None:
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        lists = [v for v in body.values() if isinstance(v, list)]
        return len(lists[0]) if len(lists) == 1 else 1
    return None
