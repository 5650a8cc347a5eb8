"""Attack scenarios against the running demo, each ending in a verdict checked against
the platform's real answers, audit log and alerts (``zt demo scenario``).

They run in this order with ``--all``: the ones whose playbooks end sessions come last.
"""

from __future__ import annotations

from zerotrust.demo.scenarios import (
    credential_stuffing,
    data_scientist,
    insider,
    key_rotation,
    model_overreach,
    password_spray,
    phishing,
    stolen_token,
)
from zerotrust.demo.scenarios.framework import Scenario

SCENARIOS: tuple[Scenario, ...] = (
    phishing.SCENARIO,
    credential_stuffing.SCENARIO,
    password_spray.SCENARIO,
    stolen_token.SCENARIO,
    data_scientist.SCENARIO,
    key_rotation.SCENARIO,
    model_overreach.SCENARIO,
    insider.SCENARIO,
)


def names() -> list[str]:
    return [s.name for s in SCENARIOS]


def by_name(name: str) -> Scenario:
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    raise KeyError(name)
