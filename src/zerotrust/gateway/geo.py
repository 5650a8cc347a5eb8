"""Client address → ISO 3166-1 country, offline, for the policy context.

The lookup is the detection package's: geoip2fast's bundled country database, nothing
fetched at run time. Private, reserved, unknown and unplaceable addresses are ``ZZ``
(the schema's "unknown"), so a policy that wants a known country must say so.
"""

from __future__ import annotations

from typing import Final, Protocol

from zerotrust.detect.geo import CountryGeo

UNKNOWN_COUNTRY: Final = "ZZ"


class CountryLookup(Protocol):
    def country(self, ip: str) -> str | None:
        """The ISO country code of an address, or ``None`` when it cannot be placed."""
        ...


class Countries:
    """Countries for the PDP context; loads the database once, at construction."""

    def __init__(self, lookup: CountryLookup | None = None) -> None:
        self._lookup = lookup or CountryGeo()
        self.country("192.0.2.1")  # load the database now, not on the first request

    def country(self, ip: str) -> str:
        try:
            code = self._lookup.country(ip)
        except Exception:  # a hostile string must never fail a request open or closed
            return UNKNOWN_COUNTRY
        if not code or len(code) != 2 or not code.isascii() or not code.isupper():
            return UNKNOWN_COUNTRY
        return code
