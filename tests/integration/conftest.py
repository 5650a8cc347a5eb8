from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from zerotrust.api.app import create_app
from zerotrust.service import Services


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services), raise_server_exceptions=False) as c:
        yield c
