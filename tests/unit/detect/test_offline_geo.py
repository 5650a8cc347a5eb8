"""Offline geo: the packaged country database and centres; nothing fetched."""

from __future__ import annotations

import pytest

from zerotrust.detect.geo import CountryGeo, Location, centroids, haversine_km


def test_public_addresses_are_placed() -> None:
    geo = CountryGeo()
    where = geo.locate("8.8.8.8")
    assert where is not None
    assert where.country == "US"
    assert geo.locate("8.8.8.8") is where  # cached


@pytest.mark.parametrize("ip", ["10.1.2.3", "192.168.0.1", "127.0.0.1", "not-an-ip", "", "::1"])
def test_private_and_garbage_addresses_have_no_location(ip: str) -> None:
    assert CountryGeo().locate(ip) is None


def test_every_country_has_a_centre() -> None:
    table = centroids()
    assert len(table) > 240
    assert all(-90 <= c.lat <= 90 and -180 <= c.lon <= 180 for c in table.values())


def test_distances() -> None:
    london, new_york = Location("GB", 51.5, -0.13), Location("US", 40.7, -74.0)
    assert 5500 < haversine_km(london, new_york) < 5650
    assert haversine_km(london, london) == 0
