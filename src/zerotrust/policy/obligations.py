"""Obligations: what the enforcement point must do to a response before it leaves.

A permit policy lists them in one annotation, ``@obligation("mask:pan,drop:ssn")``; an
allow carries the union over its determining permits, so a second permit can only add
restrictions. The grammar is ``verb:field`` with the verbs below. ``apply_obligations``
is the reference implementation for JSON bodies; tokenisation itself belongs to the
vault, so it is injected.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from zerotrust.core.errors import InvalidInput

VERBS: Final = ("mask", "drop", "tokenize")
_OBLIGATION = re.compile(r"^(mask|drop|tokenize):[a-z][a-z0-9_]{0,63}$")

Tokenizer = Callable[[str, str], str]  # (field, value) -> token


def parse_obligations(annotation: str) -> tuple[str, ...]:
    """Split and check an ``@obligation`` value; raise ``InvalidInput`` naming the bad one."""
    items = tuple(part.strip() for part in annotation.split(","))
    for item in items:
        if not _OBLIGATION.match(item):
            raise InvalidInput(
                f"obligation {item!r}: expected verb:field with verb in {', '.join(VERBS)}"
            )
    return items


def merge(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """The sorted union of several policies' obligations."""
    return tuple(sorted({item for group in groups for item in group}))


def mask_value(value: Any) -> str:
    """Keep at most the last four characters (PCI DSS 3.4.1 allows BIN and last four)."""
    text = str(value)
    keep = 4 if len(text) > 8 else 0
    return "*" * (len(text) - keep) + text[len(text) - keep :]


def apply_obligations(body: Any, obligations: Iterable[str], *, tokenize: Tokenizer) -> Any:
    """Return a copy of a JSON body with every named field masked, dropped or tokenised.

    Fields are matched by name at any depth, so a card number nested in a list of
    transactions is treated like one at the top level.
    """
    actions: dict[str, str] = {}
    for item in obligations:
        verb, _, name = item.partition(":")
        actions[name] = verb
    return _walk(body, actions, tokenize)


def _walk(node: Any, actions: Mapping[str, str], tokenize: Tokenizer) -> Any:
    if isinstance(node, list):
        return [_walk(item, actions, tokenize) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        verb = actions.get(key)
        if verb == "drop":
            continue
        if verb == "mask" and value is not None:
            out[key] = mask_value(value)
        elif verb == "tokenize" and value is not None:
            out[key] = tokenize(key, str(value))
        else:
            out[key] = _walk(value, actions, tokenize)
    return out
