"""Rewrap: move every data key to the primary KEK version, in batches.

Batched, so memory stays flat however many keys there are; each batch commits alone, and
every key is at all times wrapped by a KEK version that still exists, so a crash (even
``kill -9``) at any moment leaves every record readable. The job keeps no state of its
own: what is left is exactly the keys not yet under the primary version, so a rerun
resumes where the last one stopped, and running it twice is harmless (idempotent). If
the primary changes during a run (rotation at the usage limit), another pass follows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from zerotrust.core.errors import InvalidInput
from zerotrust.vault.keys import KeyHierarchy

MAX_PASSES: Final = 5
MAX_BATCH: Final = 100_000

Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class RewrapReport:
    rewrapped: int
    remaining: int
    passes: int


def rewrap(
    keys: KeyHierarchy,
    *,
    batch: int = 1000,
    progress: Progress | None = None,
    pause_s: float = 0.0,
    sleep: Callable[[float], None] = time.sleep,
) -> RewrapReport:
    """Rewrap until no data key is left on an old KEK version (or ``MAX_PASSES``)."""
    if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= MAX_BATCH:
        raise InvalidInput(f"The batch size must be between 1 and {MAX_BATCH}.")
    total = keys.pending_rewrap()
    done = passes = 0
    if progress is not None:
        progress(done, total)
    while passes < MAX_PASSES:
        passes += 1
        cursor: int | None = 0
        while cursor is not None:
            count, cursor = keys.rewrap_batch(after=cursor, limit=batch)
            done += count
            if progress is not None:
                progress(done, max(total, done))
            if cursor is not None and pause_s > 0:
                sleep(pause_s)  # throttle, to spare a busy production database
        remaining = keys.pending_rewrap()
        if remaining == 0:
            break
        total = done + remaining
    return RewrapReport(rewrapped=done, remaining=keys.pending_rewrap(), passes=passes)
