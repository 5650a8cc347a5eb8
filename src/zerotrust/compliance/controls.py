"""The control catalogue: PCI DSS v4.0, SOC 2 (2017 TSC, CC series) and GDPR articles,
each mapped to the automated checks (``checks.CHECKS``) whose results are its evidence.

A control passes when every check mapped to it passes. A control with no automated check
(SOC 2 CC6.4, physical access, which this software cannot observe) is reported as
``manual``: evidence has to come from elsewhere, and the report says so rather than pass it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Framework = Literal["pci", "soc2", "gdpr"]
FRAMEWORKS: Final[dict[str, str]] = {
    "pci": "PCI DSS v4.0",
    "soc2": "SOC 2 (Trust Services Criteria, CC6/CC7)",
    "gdpr": "GDPR (Regulation (EU) 2016/679)",
}


@dataclass(frozen=True)
class Control:
    """One requirement and the checks that evidence it."""

    framework: Framework
    id: str
    title: str
    checks: tuple[str, ...]


def _c(framework: Framework, cid: str, title: str, *checks: str) -> Control:
    return Control(framework, cid, title, checks)


CATALOGUE: Final[tuple[Control, ...]] = (
    # PCI DSS v4.0 requirement 3: protect stored account data.
    _c("pci", "3.4", "Access to displays of full PAN is restricted", "pan_protection"),
    _c("pci", "3.5", "PAN is secured wherever it is stored", "encryption_coverage"),
    _c("pci", "3.6", "Keys protecting stored account data are secured", "key_rotation"),
    _c(
        "pci",
        "3.7",
        "Key-management lifecycle (cryptoperiods) is defined and followed",
        "key_rotation",
    ),
    # Requirement 8: identify users and authenticate access.
    _c(
        "pci",
        "8.3",
        "Strong authentication: lockout and session limits",
        "lockout_settings",
        "session_settings",
    ),
    _c("pci", "8.4", "MFA is implemented for access", "mfa_coverage"),
    _c(
        "pci",
        "8.5",
        "MFA systems resist misuse (admin actions need a fresh step-up)",
        "admin_step_up",
    ),
    _c("pci", "8.6", "System and application accounts are managed", "workload_accounts"),
    # Requirement 10: log and monitor all access.
    _c(
        "pci",
        "10.2",
        "Audit logs record user activity and security events",
        "audit_events_recorded",
    ),
    _c(
        "pci",
        "10.3",
        "Audit logs are protected from destruction and modification",
        "audit_integrity",
    ),
    _c("pci", "10.4", "Audit logs are reviewed to identify anomalies", "detections_active"),
    _c("pci", "10.5", "Audit log history is retained and available", "audit_events_recorded"),
    _c("pci", "10.6", "Time is consistent across the audit trail", "time_ordering"),
    _c(
        "pci",
        "10.7",
        "Failures of critical security controls are detected and responded to",
        "audit_integrity",
        "detections_responded",
    ),
    # SOC 2 common criteria: logical access (CC6) and system operations (CC7).
    _c(
        "soc2",
        "CC6.1",
        "Logical access security: authentication, encryption, key management",
        "mfa_coverage",
        "encryption_coverage",
        "key_rotation",
    ),
    _c("soc2", "CC6.2", "Access is authorised and periodically reviewed", "access_review"),
    _c("soc2", "CC6.3", "Access is role-based and least privilege", "least_privilege"),
    _c("soc2", "CC6.4", "Physical access to facilities is restricted"),
    _c("soc2", "CC6.5", "Data is disposed of when no longer needed", "erasure"),
    _c(
        "soc2",
        "CC6.6",
        "Access from outside the boundary is protected",
        "lockout_settings",
        "session_settings",
    ),
    _c("soc2", "CC6.7", "Transmission of data is restricted and protected", "dataflow_encryption"),
    _c("soc2", "CC6.8", "Unauthorised or malicious activity is detected", "detections_active"),
    _c(
        "soc2",
        "CC7.2",
        "System components are monitored for anomalies",
        "audit_integrity",
        "detections_active",
    ),
    _c("soc2", "CC7.3", "Security events are evaluated", "detections_responded"),
    _c("soc2", "CC7.4", "Security incidents are responded to", "detections_responded"),
    # GDPR.
    _c("gdpr", "Art. 17", "Right to erasure", "erasure"),
    _c("gdpr", "Art. 30", "Records of processing activities", "dataflow_declared"),
    _c(
        "gdpr",
        "Art. 32",
        "Security of processing",
        "encryption_coverage",
        "key_rotation",
        "audit_integrity",
        "dataflow_encryption",
    ),
)


def controls(framework: str) -> list[Control]:
    """The catalogue of one framework; ``KeyError`` for an unknown one."""
    if framework not in FRAMEWORKS:
        raise KeyError(framework)
    return [c for c in CATALOGUE if c.framework == framework]
