"""One module per detector; ``build_detectors`` makes the configured set."""

from __future__ import annotations

from zerotrust.detect.detectors.base import Detector
from zerotrust.detect.detectors.brute_force import BruteForce, BruteForceConfig
from zerotrust.detect.detectors.bulk_exfiltration import BulkExfiltration, BulkExfiltrationConfig
from zerotrust.detect.detectors.credential_stuffing import (
    CredentialStuffing,
    CredentialStuffingConfig,
)
from zerotrust.detect.detectors.impossible_travel import ImpossibleTravel, ImpossibleTravelConfig
from zerotrust.detect.detectors.mfa_fatigue import MfaFatigue, MfaFatigueConfig
from zerotrust.detect.detectors.password_spraying import PasswordSpraying, PasswordSprayingConfig
from zerotrust.detect.detectors.privilege_probing import PrivilegeProbing, PrivilegeProbingConfig
from zerotrust.detect.detectors.session_replay import SessionReplay, SessionReplayConfig
from zerotrust.detect.detectors.stolen_password import StolenPassword, StolenPasswordConfig
from zerotrust.detect.detectors.workload_misuse import WorkloadMisuse, WorkloadMisuseConfig

__all__ = [
    "BruteForce",
    "BruteForceConfig",
    "BulkExfiltration",
    "BulkExfiltrationConfig",
    "CredentialStuffing",
    "CredentialStuffingConfig",
    "Detector",
    "ImpossibleTravel",
    "ImpossibleTravelConfig",
    "MfaFatigue",
    "MfaFatigueConfig",
    "PasswordSpraying",
    "PasswordSprayingConfig",
    "PrivilegeProbing",
    "PrivilegeProbingConfig",
    "SessionReplay",
    "SessionReplayConfig",
    "StolenPassword",
    "StolenPasswordConfig",
    "WorkloadMisuse",
    "WorkloadMisuseConfig",
]
