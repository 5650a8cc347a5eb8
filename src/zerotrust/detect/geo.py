"""Offline IP geolocation: address → country → approximate coordinates.

Nothing is fetched at run time. Countries come from the database that ships inside the
``geoip2fast`` package (MaxMind GeoLite2 country data); coordinates are country centres
from ``data/country_centroids.txt``. Country precision is all impossible travel needs: it
judges only journeys of many hundreds of kilometres. Private, reserved and unknown
addresses have no location, and detectors never judge what they cannot place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Protocol

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True, slots=True)
class Location:
    """A country and its centre."""

    country: str
    lat: float
    lon: float


class GeoLocator(Protocol):
    """Where an address is, or ``None`` when it cannot be placed (private, unknown)."""

    def locate(self, ip: str) -> Location | None: ...


def haversine_km(a: Location, b: Location) -> float:
    """Great-circle distance between two locations."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@lru_cache(maxsize=1)
def centroids() -> dict[str, Location]:
    """Country code → its centre, read once from the packaged table."""
    text = resources.files("zerotrust.detect").joinpath("data/country_centroids.txt").read_text()
    table: dict[str, Location] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            code, lat, lon = line.split()
            table[code] = Location(code, float(lat), float(lon))
    return table


class CountryGeo:
    """``GeoLocator`` over geoip2fast's bundled country database (IPv4), with a cache."""

    def __init__(self, *, cache_size: int = 65536) -> None:
        self._db: Any = None
        self._table = centroids()
        self._cache: dict[str, Location | None] = {}
        self._cache_size = cache_size

    def _database(self) -> Any:
        if self._db is None:
            from geoip2fast import GeoIP2Fast  # type: ignore[import-untyped]

            self._db = GeoIP2Fast(verbose=False)
        return self._db

    def country(self, ip: str) -> str | None:
        """The ISO country code of a public address, else ``None``."""
        try:
            found = self._database().lookup(ip)
        except Exception:  # a hostile string must never stop detection
            return None
        code = getattr(found, "country_code", "")
        if getattr(found, "is_private", False) or not code or len(code) != 2 or code == "--":
            return None
        return str(code)

    def locate(self, ip: str) -> Location | None:
        if ip in self._cache:
            return self._cache[ip]
        code = self.country(ip)
        where = self._table.get(code) if code else None
        if len(self._cache) >= self._cache_size:
            self._cache.clear()  # bounded memory; a cold cache only costs a few lookups
        self._cache[ip] = where
        return where


class StaticGeo:
    """A ``GeoLocator`` from a fixed map of address prefixes to countries (tests, demos)."""

    def __init__(self, prefixes: dict[str, str]) -> None:
        table = centroids()
        self._prefixes = sorted(
            ((p, table[c]) for p, c in prefixes.items()), key=lambda item: -len(item[0])
        )

    def locate(self, ip: str) -> Location | None:
        for prefix, where in self._prefixes:
            if ip.startswith(prefix):
                return where
        return None
