"""The canonical encoding of one audit entry: the bytes the Merkle leaf commits to.

An entry is one line of ASCII JSON with a fixed key order::

    {"v":1,"seq":42,"time":"2024-05-01T12:00:00.123Z","action":"auth.login",
     "actor":"usr_…","outcome":"failure","src_ip":"203.0.113.9","details":{…}}

``v`` versions the format, ``seq`` is the position in the log (the order; wall-clock
time is only a field) and ``time`` is UTC. Every string goes through ``json.dumps`` with
``ensure_ascii``, so CR, LF, ANSI escapes, quotes and Unicode line separators appear only
as ``\\r``, ``\\n``, ``\\u001b``, ``\\"``, ``\\u2028``: one event can never be split into two
lines or forge a field, in the log or in any line-based export (log injection, ASVS
16.4.1). Each value is bounded and cut with a visible marker, so a 1 MiB user agent
cannot bloat the log. Audit entries never hold secrets, tokens or card numbers (PCI DSS
3.3, 10.2): detail keys that name a secret are redacted, and digit runs that pass the Luhn
check are masked wherever they appear.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from zerotrust.core.auditing import AuditRecord
from zerotrust.core.clock import iso_utc
from zerotrust.core.errors import IntegrityError

VERSION = 1
MAX_ID = 200  # action, actor, outcome, ids, addresses
MAX_TEXT = 1024  # resource, reason, each string inside details
MAX_DETAILS = 8192  # the encoded details object
MAX_ITEMS = 64  # keys per object, items per list
MAX_DEPTH = 4
_SHORT = 13  # shorter strings can hold no card number and need no bounding
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # what every JSON reader holds exactly
TRUNCATED = "…[truncated]"
REDACTED = "[redacted]"
PAN_MASK = "[redacted:pan]"

_OPTIONAL = ("resource", "reason", "src_ip", "device_id", "session_id")
# Detail keys whose values are never logged: anywhere in the key, or as a whole word of it.
_SECRET_PART = re.compile(
    r"pass(word|wd|phrase)|secret|token|authori[sz]ation|cookie|api_?key|private_?key"
    r"|card_?number|cvv|cvc"
)
_SECRET_WORDS = frozenset({"pan", "pin", "otp", "totp", "pwd", "seed", "mnemonic"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
# 13-19 digits, optionally grouped by single spaces or dashes (PAN lengths, ISO/IEC 7812).
_PAN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")
# A cheap necessary condition for _PAN (13 digits, separators allowed) checked first.
_pan_search = re.compile(r"[0-9][0-9 -]{12}").search
# Identifiers this product mints (``core.ids.new_id``: a type prefix, then 128 random
# bits in hex; alert ids alike) are never card numbers, yet about one in 500 holds a
# Luhn-valid run of 13 digits: a run inside one is kept, so the entry still names it.
_MINTED_ID = re.compile(r"(?<![0-9A-Za-z_])[a-z]{2,8}_[0-9a-f]{32}(?![0-9A-Za-z_])")


def _no_default(value: object) -> object:
    raise TypeError(type(value).__name__)


def _make_dumps() -> Callable[[object], str]:
    # Compact ASCII JSON with sorted keys from the C encoder, built once: json.dumps
    # rebuilds it on every call, a third of the cost of encoding an entry. Values are
    # canonicalised first (string keys, no cycles, no NaN), so its checks are not needed.
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # pragma: no cover - CPython always has the C accelerator
        return json.JSONEncoder(
            ensure_ascii=True, separators=(",", ":"), allow_nan=False, sort_keys=True
        ).encode
    encoder = make(
        None, _no_default, json.encoder.encode_basestring_ascii, None, ":", ",", True, False, False
    )
    return lambda value: "".join(encoder(value, 0))


_dumps = _make_dumps()
_esc = json.encoder.encode_basestring_ascii  # the C escaper: a quoted, ASCII-only string


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decoded entry: a record plus its place (``seq``) and UTC ``time``."""

    seq: int
    time: str
    action: str
    actor: str
    outcome: str
    resource: str | None = None
    reason: str | None = None
    src_ip: str | None = None
    device_id: str | None = None
    session_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "seq": self.seq,
            "time": self.time,
            "action": self.action,
            "actor": self.actor,
            "outcome": self.outcome,
        }
        for name in _OPTIONAL:
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.details:
            data["details"] = self.details
        return data


class Prepared(NamedTuple):
    """A record encoded up to its sequence number, which only the commit knows."""

    ts: float
    time: str
    action: str
    actor: str
    outcome: str
    tail: bytes  # ``,"time":"…","action":…}``: the entry after ``"seq":N``

    def seal(self, seq: int) -> bytes:
        """The complete canonical entry at position ``seq``."""
        return b'{"v":1,"seq":%d%s' % (seq, self.tail)


def prepare(record: AuditRecord, ts: float, *, time: str | None = None) -> Prepared:
    """Bound, redact and encode ``record`` as stamped at ``ts`` (seconds, UTC).

    ``time`` is ``iso_utc(ts)`` when the caller has it already (a batch shares one).
    This is the append hot path, hence the shape: short plain strings (most identifiers)
    skip ``_ident``/``_text``, which would return them unchanged, and the JSON is joined
    from escaped parts instead of encoding an intermediate dict.
    """
    r, short = record, _SHORT
    v: object = r.action
    action = v if type(v) is str and len(v) < short else _ident(v)
    v = r.actor
    actor = v if type(v) is str and len(v) < short else _ident(v)
    v = r.outcome
    outcome = v if type(v) is str and len(v) < short else _ident(v)
    time = time or iso_utc(ts)
    parts = [',"time":"', time, '","action":', _esc(action), ',"actor":', _esc(actor),
             ',"outcome":', _esc(outcome)]  # fmt: skip
    if (v := r.resource) is not None:
        parts += (',"resource":', _esc(v if type(v) is str and len(v) < short else _text(v)))
    if (v := r.reason) is not None:
        parts += (',"reason":', _esc(v if type(v) is str and len(v) < short else _text(v)))
    if (v := r.src_ip) is not None:
        parts += (',"src_ip":', _esc(v if type(v) is str and len(v) < short else _ident(v)))
    if (v := r.device_id) is not None:
        parts += (',"device_id":', _esc(v if type(v) is str and len(v) < short else _ident(v)))
    if (v := r.session_id) is not None:
        parts += (',"session_id":', _esc(v if type(v) is str and len(v) < short else _ident(v)))
    if d := r.details:
        parts += (',"details":', _details(d))
    parts.append("}")
    return Prepared(ts, time, action, actor, outcome, "".join(parts).encode())


def _details(details: object) -> str:
    """The encoded details object: canonical, and bounded as a whole too."""
    if type(details) is dict or isinstance(details, Mapping):
        encoded = _dumps(_canon_mapping(details, 0))
    else:
        encoded = _dumps({"value": _canon(details, 1)})
    if len(encoded) > MAX_DETAILS:
        return _dumps({"truncated": bound(encoded, MAX_TEXT)})
    return encoded


def encode_entry(seq: int, ts: float, record: AuditRecord) -> bytes:
    """The canonical bytes of ``record`` at position ``seq``, stamped at ``ts``."""
    return prepare(record, ts).seal(seq)


def seq_prefix(seq: int) -> bytes:
    """How the entry at ``seq`` must begin; a cheap check that rows were not reordered."""
    return b'{"v":1,"seq":%d,' % seq


def decode_entry(data: bytes) -> AuditEntry:
    """Parse canonical entry bytes; anything malformed raises ``IntegrityError``."""
    try:
        obj = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise IntegrityError("The audit entry is not valid JSON.") from None
    if not isinstance(obj, dict) or obj.get("v") != VERSION:
        raise IntegrityError("The audit entry has an unknown version.")
    try:
        entry = AuditEntry(**{k: v for k, v in obj.items() if k != "v"})
    except TypeError:
        raise IntegrityError("The audit entry has unknown or missing fields.") from None
    if not _well_typed(entry):
        raise IntegrityError("The audit entry has fields of the wrong type.")
    return entry


def _well_typed(e: AuditEntry) -> bool:
    required = (e.time, e.action, e.actor, e.outcome)
    optional = (getattr(e, name) for name in _OPTIONAL)
    return (
        type(e.seq) is int
        and all(isinstance(v, str) for v in required)
        and all(v is None or isinstance(v, str) for v in optional)
        and isinstance(e.details, dict)
    )


def bound(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters plus a visible marker when longer."""
    return text if len(text) <= limit else text[:limit] + TRUNCATED


def mask_pans(text: str) -> str:
    """Replace digit runs that pass the Luhn check (card numbers) with a marker."""
    if len(text) < 13 or not _pan_search(text):
        return text
    minted: list[tuple[int, int]] | None = None

    def mask(m: re.Match[str]) -> str:
        nonlocal minted
        if not _luhn(m.group()):
            return m.group()
        if minted is None:  # only once a run passes Luhn: rare
            minted = [i.span() for i in _MINTED_ID.finditer(text)]
        inside = any(start <= m.start() and m.end() <= end for start, end in minted)
        return m.group() if inside else PAN_MASK

    return _PAN.sub(mask, text)


def _luhn(candidate: str) -> bool:
    digits = [int(c) for c in candidate if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        doubled = d * 2 if i % 2 else d
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


def _ident(value: object) -> str:
    text = value if type(value) is str else str(value)
    if len(text) < _SHORT:
        return text
    if len(text) > MAX_ID:
        text = text[:MAX_ID] + TRUNCATED
    return mask_pans(text) if _pan_search(text) else text


def _text(value: object) -> str:
    text = value if type(value) is str else str(value)
    if len(text) < _SHORT:
        return text
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + TRUNCATED
    return mask_pans(text) if _pan_search(text) else text


def _canon(value: object, depth: int) -> object:
    """A JSON-safe, bounded, redacted, deterministic copy of ``value``."""
    if type(value) is str:
        return _text(value)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if _INT_MIN <= value <= _INT_MAX else "[integer out of range]"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[{len(value)} bytes]"  # never the bytes: they may be key material
    if depth >= MAX_DEPTH:
        return "[nested too deep]"
    if isinstance(value, Mapping):
        return _canon_mapping(value, depth)
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
        out = [_canon(v, depth + 1) for v in items[:MAX_ITEMS]]
        return [*out, TRUNCATED] if len(items) > MAX_ITEMS else out
    return _text(str(value))


def _canon_mapping(value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for raw_key, raw in value.items():
        if len(out) >= MAX_ITEMS:
            out[TRUNCATED] = f"{len(value) - MAX_ITEMS} more keys"
            break
        key, secret = _key(raw_key if type(raw_key) is str else str(raw_key))
        kind = type(raw)
        # Inline fast paths for the common flat values; _canon handles the rest.
        if secret:
            out[key] = REDACTED
        elif kind is str:
            out[key] = raw if len(raw) < _SHORT else _text(raw)
        elif (kind is int and _INT_MIN <= raw <= _INT_MAX) or kind is bool or raw is None:
            out[key] = raw
        else:
            out[key] = _canon(raw, depth + 1)
    return out  # keys are sorted when encoded


@functools.lru_cache(maxsize=4096)
def _key(raw: str) -> tuple[str, bool]:
    """A detail key, bounded, and whether its value must be redacted (keys repeat)."""
    key = _ident(raw)
    norm = key.lower().replace("-", "_")
    if _SECRET_PART.search(norm):
        return key, True
    return key, not _SECRET_WORDS.isdisjoint(_WORD_SPLIT.split(norm))
