"""Rewrap: batched, resumable after a crash, idempotent, converging under rotation."""

from __future__ import annotations

import pytest

from tests.unit.vault.helpers import VaultFactory, customer
from zerotrust.core.errors import InvalidInput
from zerotrust.vault.rewrap import rewrap
from zerotrust.vault.services import Vault


def _population(vault: Vault, n: int) -> list[str]:
    return [customer(vault, i) for i in range(n)]


def _all_readable(vault: Vault, ids: list[str]) -> bool:
    return all(vault.records.get("customer", i).status == "active" for i in ids)


def test_rewrap_moves_every_key_to_the_primary(vault: Vault) -> None:
    ids = _population(vault, 25)
    vault.keys.rotate(actor="ops")
    seen: list[tuple[int, int]] = []
    report = rewrap(vault.keys, batch=7, progress=lambda d, t: seen.append((d, t)))
    assert (report.rewrapped, report.remaining, report.passes) == (25, 0, 1)
    assert seen == [(0, 25), (7, 25), (14, 25), (21, 25), (25, 25)]
    assert [(s.version, s.data_keys) for s in vault.keys.status()] == [(1, 0), (2, 25)]
    assert _all_readable(vault, ids)
    assert rewrap(vault.keys).rewrapped == 0  # idempotent


def test_a_crash_between_batches_loses_nothing_and_a_rerun_finishes(
    vaults: VaultFactory,
) -> None:
    vault = vaults()
    ids = _population(vault, 30)
    vault.keys.rotate(actor="ops")
    cursor: int | None = 0
    for _ in range(2):  # two batches, then the process "dies"
        assert cursor is not None
        _, cursor = vault.keys.rewrap_batch(after=cursor, limit=10)
    restarted = vaults()
    assert restarted.keys.pending_rewrap() == 10
    assert _all_readable(restarted, ids)
    assert rewrap(restarted.keys, batch=4).rewrapped == 10
    assert restarted.keys.pending_rewrap() == 0
    assert _all_readable(vaults(), ids)


def test_rotation_during_a_rewrap_is_caught_by_another_pass(vaults: VaultFactory) -> None:
    # With a KEK usage limit of 25, rewrapping 40 keys rotates the primary mid-run.
    vault = vaults(usage_limit=25, lease=5)
    ids = [customer(vault, i) for i in range(20)]  # versions 1 (20 wraps)
    vault.keys.rotate(actor="ops")
    report = rewrap(vault.keys, batch=8)
    assert report.remaining == 0
    assert report.passes >= 1
    primary = max(s.version for s in vault.keys.status())
    assert {s.version: s.data_keys for s in vault.keys.status()}[primary] == 20
    assert _all_readable(vaults(usage_limit=25, lease=5), ids)


@pytest.mark.parametrize("batch", [0, -1, 100_001, True])
def test_batch_bounds(vault: Vault, batch: int) -> None:
    with pytest.raises(InvalidInput):
        rewrap(vault.keys, batch=batch)


def test_pause_between_batches(vault: Vault) -> None:
    _population(vault, 5)
    vault.keys.rotate(actor="ops")
    sleeps: list[float] = []
    rewrap(vault.keys, batch=2, pause_s=0.5, sleep=sleeps.append)
    assert sleeps == [0.5, 0.5]
