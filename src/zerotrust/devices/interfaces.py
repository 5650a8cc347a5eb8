"""Storage the device registry needs; ``zerotrust.store.devices_repo`` implements it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from zerotrust.devices.models import Device, DeviceStatus, Posture


class DeviceRepo(Protocol):
    def add(self, device: Device) -> None:
        """Insert; raises ``Conflict`` if the key (jkt) is already enrolled."""

    def get(self, device_id: str) -> Device | None: ...

    def by_jkt(self, jkt: str) -> Device | None: ...

    def list(self, owner_id: str | None = None) -> Sequence[Device]: ...

    def set_status(
        self, device_id: str, status: DeviceStatus, *, approved_by: str | None = None
    ) -> None: ...

    def set_posture(self, device_id: str, posture: Posture, *, received_at: float) -> None: ...
