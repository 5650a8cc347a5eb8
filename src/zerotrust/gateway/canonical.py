"""One canonical path per request (OWASP ASVS 4.1.4, 13.4.4; security catalogue F.44).

The decision is taken on the canonical path and the same path is forwarded, so a front
end and a back end can never disagree about which resource was asked for. From the raw
request target: percent-escapes are decoded exactly once; ``%2f`` (an encoded slash),
``%5c`` (an encoded backslash), ``%00`` and ``%25`` (an encoded percent sign, i.e. double
encoding such as ``%252e``) are refused rather than guessed at; ``;params`` are dropped
from each segment (``..;/`` is a known Tomcat bypass); empty and ``.`` segments vanish
(but a trailing slash is kept, once); ``..`` removes the previous segment and never
climbs above the root (RFC 3986 §5.2.4).
Anything outside printable ASCII after decoding is refused. Route matching then compares
prefixes case-insensitively, so ``/ADMIN`` reaches the ``/admin`` route and its policy.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote

from zerotrust.core.errors import InvalidInput

MAX_PATH_BYTES: Final = 8 * 1024
_REFUSED_ESCAPES: Final = {
    "2f": "encoded_slash",
    "5c": "encoded_backslash",
    "00": "encoded_nul",
    "25": "double_encoding",
}
_HEX: Final = frozenset("0123456789abcdefABCDEF")
# Characters a path segment may carry unescaped (RFC 3986 pchar minus ';', which we drop).
_SAFE: Final = "/-._~!$&'()*+,=:@"


class BadPath(InvalidInput):
    """The request target is not a path we will interpret."""

    code = "bad_path"
    message = "The request path is not valid."

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


def canonical_path(raw: bytes) -> str:
    """The canonical form of a raw request path (no query); raise ``BadPath(reason)``."""
    if len(raw) > MAX_PATH_BYTES:
        raise BadPath("path_too_long")
    if not raw.startswith(b"/"):
        raise BadPath("not_absolute")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise BadPath("non_ascii") from None
    decoded = _decode_once(text)
    if not decoded.isascii() or not decoded.isprintable():
        raise BadPath("non_printable")
    if "\\" in decoded:
        raise BadPath("backslash")
    return _remove_dot_segments(decoded)


def _decode_once(text: str) -> str:
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        char = text[i]
        if char != "%":
            out.append(ord(char))
            i += 1
            continue
        pair = text[i + 1 : i + 3]
        if len(pair) != 2 or not set(pair) <= _HEX:
            raise BadPath("bad_escape")
        refused = _REFUSED_ESCAPES.get(pair.lower())
        if refused:
            raise BadPath(refused)
        out.append(int(pair, 16))
        i += 3
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise BadPath("bad_utf8") from None


def _remove_dot_segments(path: str) -> str:
    kept: list[str] = []
    segments = path.split("/")
    for segment in segments:
        bare = segment.split(";", 1)[0]
        if bare in ("", "."):
            continue
        if bare == "..":
            if kept:
                kept.pop()
            continue
        kept.append(bare)
    # A trailing slash names another resource (``/console/`` is a folder's index,
    # ``/console`` a redirect to it), so it is kept, once; as are the ones ``.`` and
    # ``..`` leave at the end (RFC 3986 §5.2.4).
    folder = kept and segments[-1].split(";", 1)[0] in ("", ".", "..")
    return "/" + "/".join(kept) + ("/" if folder else "")


def encode_path(path: str) -> str:
    """The canonical path as it goes on the wire to the upstream."""
    return quote(path, safe=_SAFE)
