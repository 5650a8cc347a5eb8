"""Text in request bodies must be Unicode.

JSON can spell a lone UTF-16 surrogate (``"\\ud800"``), which Python decodes into a ``str``
that no UTF-8 encoder accepts. Left in, it fails far from the edge, where the text is
encoded: a password hash, a lockout counter's key, an audit entry (a 500, or an audit
failure the client chose). Bodies carrying one are refused at the edge instead.
"""

from __future__ import annotations


def is_unicode(value: object) -> bool:
    """Whether every string in a JSON value (keys included) encodes as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(is_unicode(k) and is_unicode(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(is_unicode(v) for v in value)
    return True
