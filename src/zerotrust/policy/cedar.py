"""The Cedar adapter: the only module that imports ``cedarpy``.

Cedar's pipeline is parse → validate → evaluate; this module maps each stage's failures
to values once, at the boundary. Policies are parsed per file (so an error names its
file), keyed by their ``@id`` annotation, validated against the schema, and compiled once
into handles that every decision reuses. Requests travel as Cedar's JSON forms — entity
ids are data inside JSON, never spliced into policy text, so an id holding ``"``, ``)``,
a newline or a keyword cannot change a policy (Cedar injection).

Cedar reports only the forbids behind a Deny, so on its own it cannot say whether a
permit also held — which step-up needs to know. The evaluation set therefore carries
every policy with its effect set to ``forbid``: one call then reports every policy whose
scope and conditions held, and the PDP combines them with Cedar's own rule (a satisfied
forbid wins, then a satisfied permit allows, otherwise deny). Validation and
explanations use the policies as written.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import cedarpy

from zerotrust.core.errors import InvalidInput

MAX_ERROR_CHARS: Final = 300
ENTITY_CACHE_SIZE: Final = 16_384
ANSWER_CACHE_SIZE: Final = 4_096


class PolicyLoadError(InvalidInput):
    """A policy file or the schema does not parse or does not validate."""

    code = "policy_invalid"
    message = "The policy set is not valid."


@dataclass(frozen=True, slots=True)
class ParsedPolicy:
    """One static policy: its ``@id``, effect, annotations and Cedar JSON (EST) form."""

    id: str
    effect: Literal["permit", "forbid"]
    annotations: Mapping[str, str]
    source: str
    est: Mapping[str, Any] = field(repr=False, hash=False)

    def text(self) -> str:
        """Cedar source rendered from the parsed form (for explanations)."""
        doc = {"staticPolicies": {self.id: dict(self.est)}, "templates": {}, "templateLinks": []}
        return str(cedarpy.policies_from_json_str(json.dumps(doc))).strip()


@dataclass(frozen=True, slots=True)
class Outcome:
    """Every policy whose scope and conditions held, and any errors.

    ``rejected`` means the request or its entities do not conform to the schema, so
    nothing was evaluated.
    """

    satisfied: tuple[str, ...]
    errors: tuple[str, ...]
    rejected: bool = False


def parse_file(text: str, source: str) -> list[ParsedPolicy]:
    """Parse one ``.cedar`` file; every policy must carry a string ``@id``."""
    try:
        doc = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        raise PolicyLoadError(f"{source}: {_one_line(str(exc))}") from None
    if doc.get("templates"):
        raise PolicyLoadError(f"{source}: templates are not supported; write static policies")
    return [_parsed(est, source) for est in doc.get("staticPolicies", {}).values()]


def _parsed(est: Mapping[str, Any], source: str) -> ParsedPolicy:
    annotations = {str(k): str(v) for k, v in (est.get("annotations") or {}).items()}
    policy_id = annotations.get("id", "")
    if not policy_id:
        raise PolicyLoadError(f'{source}: every policy needs an @id("...") annotation')
    return ParsedPolicy(policy_id, est["effect"], annotations, source, est)


class Compiled:
    """Parsed handles for one policy set and its schema, reused by every decision."""

    def __init__(
        self,
        policies: Sequence[ParsedPolicy],
        schema_text: str,
        *,
        entity_cache_size: int = ENTITY_CACHE_SIZE,
        answer_cache_size: int = ANSWER_CACHE_SIZE,
    ) -> None:
        self.schema = _schema(schema_text)
        # Cedar is a pure function of the policy set, the schema and the request: an
        # answer is reused for an identical request (same principal, action, resource,
        # entities and context, byte for byte). Context carries the auth age in
        # seconds, the hour and the risk score, so a reuse is within the same second.
        # A reload compiles a new set, and with it an empty cache.
        self._answers: dict[tuple[str, ...], Outcome] = {}
        self._answer_cache_size = answer_cache_size
        # Parsed, schema-checked entity handles keyed by their exact JSON: a principal
        # making many requests is parsed once. The key is the whole content, so a role
        # change is a different key and never served stale.
        self._entities: OrderedDict[str, cedarpy.Entities] = OrderedDict()
        self._entity_cache_size = entity_cache_size
        self.by_id = {p.id: p for p in policies}
        doc = {
            "staticPolicies": {p.id: {**p.est, "effect": "forbid"} for p in policies},
            "templates": {},
            "templateLinks": [],
        }
        try:
            self.policy_set = cedarpy.PolicySet.from_json_str(json.dumps(doc))
        except ValueError as exc:
            raise PolicyLoadError(f"policy set: {_one_line(str(exc))}") from None

    def validate(self, texts: Sequence[str]) -> list[str]:
        """Type-check the policies against the schema; return one message per problem."""
        result = cedarpy.validate_policies("\n".join(texts), self.schema)
        names = result.id_annotations_by_policy_id
        return [_rename(e.policy_id, e.error, names) for e in result.errors]

    def evaluate(
        self,
        principal: tuple[str, str],
        action: str,
        resource: tuple[str, str],
        context_json: str,
        entities_json: str,
    ) -> Outcome:
        """One Cedar call: which policies hold for this request (schema-checked first)."""
        key = (*principal, action, *resource, context_json, entities_json)
        known = self._answers.get(key)
        if known is not None:
            return known
        outcome = self._evaluate(principal, action, resource, context_json, entities_json)
        answers = self._answers
        if len(answers) >= self._answer_cache_size:
            answers.clear()  # bounded; a burst of distinct requests starts it afresh
        answers[key] = outcome
        return outcome

    def _evaluate(
        self,
        principal: tuple[str, str],
        action: str,
        resource: tuple[str, str],
        context_json: str,
        entities_json: str,
    ) -> Outcome:
        request = {
            "principal": {"type": principal[0], "id": principal[1]},
            "action": {"type": "Action", "id": action},
            "resource": {"type": resource[0], "id": resource[1]},
            "context": context_json,
        }
        try:
            entities = self._parsed_entities(entities_json)
        except ValueError as exc:
            return Outcome((), (_one_line(f"entities: {exc}"),), rejected=True)
        result = cedarpy.is_authorized(request, self.policy_set, entities, self.schema)
        diagnostics = result.diagnostics
        errors = tuple(_one_line(e) for e in diagnostics.errors)
        decision = result.decision.value
        if decision == "NoDecision":
            return Outcome((), errors, rejected=True)
        if decision != "Deny":  # every compiled policy is a forbid: Allow is impossible
            raise RuntimeError(f"unexpected Cedar decision {decision}")
        return Outcome(tuple(diagnostics.reasons), errors)

    def _parsed_entities(self, text: str) -> cedarpy.Entities:
        cache = self._entities
        handle = cache.get(text)
        if handle is None:
            handle = cedarpy.Entities.from_json_str(text, self.schema)
            while len(cache) >= self._entity_cache_size:
                # Oldest first, in O(1): a flood of new principals cannot make eviction slow.
                try:
                    cache.popitem(last=False)
                except KeyError:  # emptied by another thread meanwhile
                    break
            cache[text] = handle
        return handle


def entities_json(entities: Sequence[tuple[str, str, Mapping[str, Any]]]) -> str:
    """Cedar's JSON entity form for the request's own entities (no parents: roles are data)."""
    return json.dumps(
        [
            {"uid": {"type": kind, "id": ident}, "attrs": dict(attrs), "parents": []}
            for kind, ident, attrs in entities
        ]
    )


def _schema(text: str) -> cedarpy.Schema:
    try:
        return cedarpy.Schema.from_str(text)
    except ValueError as exc:
        raise PolicyLoadError(f"schema: {_one_line(str(exc))}") from None


def _rename(cedar_id: str, message: str, names: Mapping[str, str]) -> str:
    # Cedar numbers policies by position in the text it was given; show our @id instead.
    def ours(match: re.Match[str]) -> str:
        return f"`{names.get(match.group(1), match.group(1))}`"

    text = re.sub(r"`(policy\d+)`", ours, _one_line(message))
    return f"policy {names.get(cedar_id, cedar_id)}: {text}" if cedar_id else text


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[:MAX_ERROR_CHARS] + "…"
