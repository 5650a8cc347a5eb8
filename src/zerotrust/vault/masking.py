"""What a policy obligation does to a response: ``mask:pan``, ``mask:email``, ``drop:…``.

An obligation is ``verb:field``. ``mask`` replaces the value by a masked form chosen by the
field's name (``pan`` → ``************1234``, ``email`` → ``a***@example.com``), ``drop``
removes the field, ``tokenize`` replaces the value by a pseudonym from an injected
tokenizer. An obligation this module cannot carry out raises ``ObligationUnfulfilled``:
the enforcement point must withhold the response rather than release it unmasked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from zerotrust.vault.errors import ObligationUnfulfilled

Tokenizer = Callable[[str, str], str]  # (field, value) -> pseudonym
Masker = Callable[[str], str]

_OBLIGATION: Final = re.compile(r"^(mask|drop|tokenize):([a-z][a-z0-9_]{0,63})$")
KEEP: Final = 4


def mask_pan(value: str) -> str:
    """All but the last four characters starred: ``************1234`` (PCI DSS 3.4.1)."""
    keep = KEEP if len(value) > KEEP else 0
    return "*" * (len(value) - keep) + value[len(value) - keep :]


def mask_email(value: str) -> str:
    """First letter and the domain: ``a***@example.com``; the length is not revealed."""
    local, at, domain = value.rpartition("@")
    if not at or not local:
        return mask_text(value)
    return f"{local[0]}***@{domain}"


def mask_phone(value: str) -> str:
    """Only the last four digits: ``********4567``."""
    return mask_pan(value) if len(value) > 8 else "*" * len(value)


def mask_text(value: str) -> str:
    """Anything else: the last four characters of long values, nothing of short ones."""
    return mask_pan(value) if len(value) > 8 else "*" * len(value)


MASKERS: Final[Mapping[str, Masker]] = {
    "pan": mask_pan,
    "card_number": mask_pan,
    "card_token": mask_pan,
    "email": mask_email,
    "phone": mask_phone,
}


def masker_for(field: str) -> Masker:
    """The masking function for a field name."""
    return MASKERS.get(field, mask_text)


def parse(obligation: str) -> tuple[str, str]:
    """``(verb, field)``; an obligation outside the grammar cannot be honoured."""
    match = _OBLIGATION.match(obligation) if isinstance(obligation, str) else None
    if match is None:
        raise ObligationUnfulfilled
    return match.group(1), match.group(2)


def apply_obligations(
    body: Any, obligations: Iterable[str], *, tokenize: Tokenizer | None = None
) -> Any:
    """A copy of a JSON body with every named field masked, dropped or tokenised.

    Fields are matched by name at any depth, so a card number in a nested list of
    transactions is treated like one at the top level.
    """
    actions: dict[str, str] = {}
    for item in obligations:
        verb, field = parse(item)
        if verb == "tokenize" and tokenize is None:
            raise ObligationUnfulfilled
        # When two obligations name one field, the stronger wins (drop > tokenize > mask).
        if _STRENGTH[verb] > _STRENGTH.get(actions.get(field, ""), -1):
            actions[field] = verb
    return _walk(body, actions, tokenize) if actions else body


_STRENGTH: Final = {"mask": 0, "tokenize": 1, "drop": 2}


def _walk(node: Any, actions: Mapping[str, str], tokenize: Tokenizer | None) -> Any:
    if isinstance(node, list):
        return [_walk(item, actions, tokenize) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        verb = actions.get(key)
        if verb == "drop":
            continue
        if verb is None or value is None:
            out[key] = _walk(value, actions, tokenize)
        elif verb == "mask":
            out[key] = masker_for(key)(str(value))
        elif tokenize is not None:
            out[key] = tokenize(key, str(value))
    return out
