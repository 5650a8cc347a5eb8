"""One canonical path per request (security catalogue F.44)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zerotrust.gateway.canonical import BadPath, canonical_path, encode_path


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (b"/", "/"),
        (b"/api/cards/c1", "/api/cards/c1"),
        (b"/api/cards/c1/", "/api/cards/c1/"),  # a trailing slash is kept, once
        (b"/api/cards//", "/api/cards/"),
        (b"/api/cards/.", "/api/cards/"),
        (b"/api/cards/c1/..", "/api/cards/"),
        (b"/api/cards/c1/..;x", "/api/cards/"),
        (b"/..", "/"),
        (b"/api/../admin", "/admin"),  # dot segments
        (b"/api/./cards", "/api/cards"),
        (b"/api/%2e%2e/admin", "/admin"),  # encoded dots are dots
        (b"/api/%2E%2e/admin", "/admin"),
        (b"/api/.%2e/admin", "/admin"),
        (b"//admin", "/admin"),  # double slashes
        (b"/api//cards///c1", "/api/cards/c1"),
        (b"/api/cards;jsessionid=1/c1", "/api/cards/c1"),  # ;params are dropped
        (b"/api/..;/admin", "/admin"),  # the Tomcat "..;/" bypass
        (b"/../../etc/passwd", "/etc/passwd"),  # never above the root
        (b"/ADMIN", "/ADMIN"),  # case is kept; routes match case-insensitively
        (b"/api/caf%C3%A9", None),  # decoded non-ASCII is refused
        (b"/api/a%20b", "/api/a b"),
    ],
)
def test_canonical_forms(raw: bytes, canonical: str | None) -> None:
    if canonical is None:
        with pytest.raises(BadPath):
            canonical_path(raw)
    else:
        assert canonical_path(raw) == canonical


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"/api%2fadmin", "encoded_slash"),
        (b"/api%2Fadmin", "encoded_slash"),
        (b"/api/%252e%252e/admin", "double_encoding"),
        (b"/api/%00", "encoded_nul"),
        (b"/api%5cadmin", "encoded_backslash"),
        (b"/api\\admin", "backslash"),
        (b"/api/%zz", "bad_escape"),
        (b"/api/%2", "bad_escape"),
        (b"/api/%ff", "bad_utf8"),
        (b"/api/\x01", "non_printable"),
        (b"/api/\xc3\xa9", "non_ascii"),
        (b"api/cards", "not_absolute"),
        (b"*", "not_absolute"),
        (b"/" + b"a" * 9000, "path_too_long"),
    ],
)
def test_refused_paths_name_their_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(BadPath) as err:
        canonical_path(raw)
    assert err.value.reason == reason
    assert err.value.code == "bad_path"


def test_the_forwarded_form_is_the_canonical_path_encoded() -> None:
    assert encode_path("/api/a b/c") == "/api/a%20b/c"
    assert canonical_path(encode_path("/api/a b/c").encode()) == "/api/a b/c"


_PIECES = st.sampled_from(
    ["a", "B", "..", ".", "", "%2e", "%2E%2e", ";x=1", "%41", "~", "-", "_", "0"]
)


@given(st.lists(_PIECES, max_size=12))
def test_canonical_paths_are_fixed_points(pieces: list[str]) -> None:
    raw = ("/" + "/".join(pieces)).encode()
    once = canonical_path(raw)
    assert canonical_path(encode_path(once).encode()) == once
    assert once.startswith("/")
    assert "//" not in once
    assert once == "/" or not once.endswith("//")
    for segment in once.split("/")[1:]:
        assert segment not in (".", "..")
        assert ";" not in segment
