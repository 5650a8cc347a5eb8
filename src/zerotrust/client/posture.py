"""Posture of the local machine, collected where the platform lets us see it.

What cannot be observed is reported as the unsafe value (``False``), so the server's
trust level errs towards caution; a real endpoint agent replaces these probes.
"""

from __future__ import annotations

import platform
import shutil
import time
from pathlib import Path

from zerotrust.devices.models import Posture

_PATCH_MARKERS = (
    Path("/var/lib/apt/periodic/upgrade-stamp"),
    Path("/var/lib/dpkg/status"),
    Path("/var/lib/rpm/rpmdb.sqlite"),
    Path("/var/log/pacman.log"),
)


def _os_release() -> tuple[str, str]:
    try:
        fields = dict(
            line.split("=", 1)
            for line in Path("/etc/os-release").read_text().splitlines()
            if "=" in line
        )
        return fields.get("ID", "linux").strip('"'), fields.get("VERSION_ID", "").strip('"')
    except OSError:
        return platform.system().lower() or "unknown", platform.release()


def _patch_age_days(now: float) -> int:
    stamps = [p.stat().st_mtime for p in _PATCH_MARKERS if p.exists()]
    return int((now - max(stamps)) // 86400) if stamps else 36500


def _disk_encrypted() -> bool:
    return any(
        p.read_text().startswith("CRYPT-")
        for p in Path("/sys/block").glob("dm-*/dm/uuid")
        if p.is_file()
    )


def _firewall() -> bool:
    tables = Path("/proc/net/ip_tables_names")
    return (tables.exists() and bool(tables.read_text().strip())) or shutil.which("nft") is not None


def collect_local_posture(now: float | None = None) -> Posture:
    now = time.time() if now is None else now
    os_id, version = _os_release()
    return Posture(
        os=os_id[:64] or "unknown",
        os_version=(version or "unknown")[:64],
        patch_age_days=min(_patch_age_days(now), 36500),
        disk_encrypted=_disk_encrypted(),
        firewall=_firewall(),
        screen_lock=False,
        endpoint_protection=False,
        collected_at=now,
    )
