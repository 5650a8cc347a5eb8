"""Bulk exfiltration: records or bytes far beyond the principal's and its role's baseline.

The rolling one-hour volume of allowed reads is compared with a multiple of the busy-hour
baseline (``baselines.py``) of the principal and of its roles, whichever is larger; so a
workload's nightly batch (its own baseline) and a compliance officer's quarter-close
audit pull (a multiple of the role's busy hour) pass, while a customer-table dump does
not. At an hour the principal has almost never worked, a smaller multiple suffices.
Until any baseline exists, only a very large volume is judged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from zerotrust.detect.alerts import Finding
from zerotrust.detect.baselines import HOUR, Reference, Volume, VolumeBaselines
from zerotrust.detect.events import Event


@dataclass(frozen=True)
class BulkExfiltrationConfig:
    multiple: float = 10.0  # times the busy hour (95th percentile of active hours)
    odd_hour_multiple: float = 4.0  # times the busy hour, at an hour the principal rarely works
    odd_hour_share: float = 0.02  # "rarely": under this share of the principal's active hours
    min_profile_hours: int = 48  # active hours before the hour-of-day profile is trusted
    floor_records: int = 2_000  # never alert below this many records an hour
    floor_bytes: int = 20_000_000
    cold_records: int = 1_000_000  # with no baseline yet, only above this
    cold_bytes: int = 10_000_000_000
    min_own_hours: int = 12  # active hours before the principal's percentile is used…
    few_hours: int = 2  # …and before that, from this many, its largest hour
    min_role_hours: int = 24
    history_days: float = 35.0


class BulkExfiltration:
    name: ClassVar[str] = "bulk_exfiltration"
    kinds: ClassVar[frozenset[str]] = frozenset({"access"})

    def __init__(self, config: BulkExfiltrationConfig | None = None) -> None:
        self.config = cfg = config or BulkExfiltrationConfig()
        self.baselines = VolumeBaselines(
            min_own_hours=cfg.min_own_hours,
            min_role_hours=cfg.min_role_hours,
            few_hours=cfg.few_hours,
        )

    def observe(self, event: Event) -> Finding | None:
        if event.outcome != "allowed" or not (event.records or event.bytes):
            return None
        cfg = self.config
        vol = self.baselines.add(
            event.principal, event.roles, event.ts, event.records, event.bytes, event.id
        )
        if vol.sum_records < cfg.floor_records and vol.sum_bytes < cfg.floor_bytes:
            return None
        ref = self.baselines.reference(vol, event.roles)
        odd = (
            vol.active_hours >= cfg.min_profile_hours
            and vol.hour_share(int(event.ts // HOUR) % 24) < cfg.odd_hour_share
        )
        multiple = cfg.odd_hour_multiple if odd else cfg.multiple
        over = self._over(
            vol.sum_records, ref.records, multiple, cfg.floor_records, cfg.cold_records
        )
        over = over or self._over(
            vol.sum_bytes, ref.bytes, multiple, cfg.floor_bytes, cfg.cold_bytes
        )
        if not over:
            return None
        return self._finding(event, vol, ref, odd=odd)

    @staticmethod
    def _over(value: int, ref: float | None, multiple: float, floor: int, cold: int) -> bool:
        limit = cold if ref is None else max(floor, multiple * ref)
        return value > limit

    def _finding(self, event: Event, vol: Volume, ref: Reference, *, odd: bool) -> Finding:
        baseline = (
            "no baseline yet"
            if ref.records is None
            else f"busy hour {ref.records:,.0f} records / {(ref.bytes or 0) / 1e6:,.1f} MB"
        )
        when = " at an unusual hour" if odd else ""
        return Finding(
            detector=self.name,
            severity="high",
            key=event.principal,
            principal=event.principal,
            event_ids=tuple(entry[3] for entry in list(vol.recent)[-25:]),
            explanation=(
                f"{event.principal} read {vol.sum_records:,} records / "
                f"{vol.sum_bytes / 1e6:,.1f} MB in the last hour{when} ({baseline})"
            ),
            src_ip=event.src_ip,
            device_id=event.device_id,
            session_id=event.session_id,
        )

    def prune(self, now: float) -> None:
        self.baselines.forget(now - self.config.history_days * 86400)
