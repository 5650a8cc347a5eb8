"""Several processes over one database: racing ones, played by threads that each hold
their own connections, and whole ones, each with its own services."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from zerotrust.service import Services
from zerotrust.store.database import Database


def race(url: str, count: int, fn: Callable[[Database, int], object]) -> None:
    """Run ``fn(db, i)`` in ``count`` threads at once, each over its own ``Database`` (so
    its own connections, as separate processes would have); wait for all, then close."""
    databases = [Database(url) for _ in range(count)]
    threads = [threading.Thread(target=fn, args=(db, i)) for i, db in enumerate(databases)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for db in databases:
            db.dispose()


@contextmanager
def two_processes(make: Callable[[], Services]) -> Iterator[tuple[Services, Services]]:
    """Two processes' services over one database (``make`` builds each, so each has its
    own engine, caches and recorders), both closed afterwards."""
    first = make()
    try:
        second = make()
        try:
            yield first, second
        finally:
            second.close()
    finally:
        first.close()
