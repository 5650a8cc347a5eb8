"""Fixtures for the policy decision point: the default pack and a PDP over it."""

from __future__ import annotations

import pytest

from zerotrust.policy.pdp import PolicyDecisionPoint
from zerotrust.policy.store import PolicyBundle, load_default


@pytest.fixture(scope="session")
def bundle() -> PolicyBundle:
    return load_default()


@pytest.fixture
def pdp(bundle: PolicyBundle) -> PolicyDecisionPoint:
    return PolicyDecisionPoint(bundle, budget_s=float("inf"))
