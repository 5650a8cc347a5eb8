"""Detection settings: every threshold, from one mapping (YAML or JSON), checked at start.

    detectors:
      brute_force: {threshold: 10, window_s: 900}
      impossible_travel: {enabled: false}
    cooldown_s: 3600
    risk: {half_life_s: 1800}
    playbooks: {...}            # see playbooks.py

Unknown detectors, unknown fields and values of the wrong type are refused with
``ConfigError`` (a typo in a threshold must not silently keep the default).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from zerotrust.core.errors import ConfigError
from zerotrust.detect.detectors import (
    BruteForceConfig,
    BulkExfiltrationConfig,
    CredentialStuffingConfig,
    ImpossibleTravelConfig,
    MfaFatigueConfig,
    PasswordSprayingConfig,
    PrivilegeProbingConfig,
    SessionReplayConfig,
    StolenPasswordConfig,
    WorkloadMisuseConfig,
)

DETECTOR_CONFIGS: dict[str, type] = {
    "brute_force": BruteForceConfig,
    "password_spraying": PasswordSprayingConfig,
    "credential_stuffing": CredentialStuffingConfig,
    "stolen_password": StolenPasswordConfig,
    "impossible_travel": ImpossibleTravelConfig,
    "mfa_fatigue": MfaFatigueConfig,
    "bulk_exfiltration": BulkExfiltrationConfig,
    "privilege_probing": PrivilegeProbingConfig,
    "workload_misuse": WorkloadMisuseConfig,
    "session_replay": SessionReplayConfig,
}
DETECTOR_NAMES = tuple(DETECTOR_CONFIGS)


@dataclass(frozen=True)
class RiskConfig:
    half_life_s: float = 1800.0  # a score halves every 30 minutes without new findings
    medium_at: int = 30
    high_at: int = 60
    points: dict[str, float] = field(
        default_factory=lambda: {"low": 10, "medium": 25, "high": 45, "critical": 70}
    )


@dataclass(frozen=True)
class DetectConfig:
    """Everything the engine needs besides its collaborators."""

    detectors: dict[str, Any] = field(
        default_factory=lambda: {name: cls() for name, cls in DETECTOR_CONFIGS.items()}
    )
    enabled: frozenset[str] = frozenset(DETECTOR_NAMES)
    cooldown_s: float = 3600.0  # one alert per detector and key within this time
    prune_every_s: float = 300.0  # event time between sweeps of idle detector state
    risk: RiskConfig = field(default_factory=RiskConfig)
    playbooks: Mapping[str, Any] | None = None  # None: the defaults of playbooks.py


def load_config(data: Mapping[str, Any] | None) -> DetectConfig:
    """Build a ``DetectConfig`` from a mapping; raises ``ConfigError`` on anything unknown."""
    if data is None:
        return DetectConfig()
    if not isinstance(data, Mapping):
        raise ConfigError("detection config must be a mapping")
    _only(data, {"detectors", "cooldown_s", "prune_every_s", "risk", "playbooks"}, "config")
    detectors = {name: cls() for name, cls in DETECTOR_CONFIGS.items()}
    enabled = set(DETECTOR_NAMES)
    for name, overrides in (data.get("detectors") or {}).items():
        if name not in DETECTOR_CONFIGS:
            raise ConfigError(f"unknown detector {name!r}")
        values = dict(overrides or {})
        if not values.pop("enabled", True):
            enabled.discard(name)
        detectors[name] = _apply(detectors[name], values, name)
    return DetectConfig(
        detectors=detectors,
        enabled=frozenset(enabled),
        cooldown_s=_number(data.get("cooldown_s", 3600.0), "cooldown_s"),
        prune_every_s=_number(data.get("prune_every_s", 300.0), "prune_every_s"),
        risk=_apply(RiskConfig(), dict(data.get("risk") or {}), "risk"),
        playbooks=data.get("playbooks"),
    )


def _apply(base: Any, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in dataclasses.fields(base)}
    _only(values, set(known), where)
    checked: dict[str, Any] = {}
    for key, value in values.items():
        default = getattr(base, key)
        if isinstance(default, bool | dict):
            if type(value) is not type(default):
                raise ConfigError(f"{where}.{key} must be a {type(default).__name__}")
            checked[key] = value
        elif isinstance(default, int | float):
            number = _number(value, f"{where}.{key}")
            if isinstance(default, int) and not number.is_integer():
                raise ConfigError(f"{where}.{key} must be a whole number")
            checked[key] = int(number) if isinstance(default, int) else number
        else:
            raise ConfigError(f"{where}.{key} cannot be set")
    return dataclasses.replace(base, **checked)


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where} must be a non-negative number")
    return float(value)


def _only(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"unknown setting(s) in {where}: {', '.join(unknown)}")
