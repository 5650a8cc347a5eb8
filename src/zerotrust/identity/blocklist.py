"""Blocklist of common and breached passwords (NIST SP 800-63B §3.1.1.2).

The list ships with the ``zxcvbn`` package: 30,000 passwords ranked by frequency in real
breach corpora, plus common English words, names and film/TV terms. A password is refused
when, case-folded, it is one of them, or when it is such an entry plus only digits and
punctuation (``Password2024!``), since attackers try those first.
"""

from __future__ import annotations

import re
from functools import lru_cache

_TRAILING = re.compile(r"[\d\W_]+$")
_LEADING = re.compile(r"^[\d\W_]+")
_MIN_STEM = 4  # stems shorter than this ("abc" + digits) would block too much


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """Every blocked entry, case-folded (loaded once, about 90,000 entries)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    words: set[str] = set()
    for name in (
        "passwords",
        "english_wikipedia",
        "us_tv_and_film",
        "surnames",
        "female_names",
        "male_names",
    ):
        words.update(w.casefold() for w in FREQUENCY_LISTS[name])
    return frozenset(words)


@lru_cache(maxsize=1)
def breached_passwords() -> frozenset[str]:
    """Only the breach-derived list (used where a narrower check is wanted)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(w.casefold() for w in FREQUENCY_LISTS["passwords"])


def is_blocked(password: str) -> bool:
    """True when the password or its alphabetic stem is a known common/breached password."""
    folded = password.casefold()
    blocked = common_passwords()
    if folded in blocked or folded.replace(" ", "") in blocked:
        return True
    stem = _LEADING.sub("", _TRAILING.sub("", folded))
    return len(stem) >= _MIN_STEM and stem in breached_passwords() and len(stem) >= len(folded) // 2
