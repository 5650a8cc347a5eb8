"""Seed the sample platform: stream the synthetic population into the vault.

Customers go in a slice at a time, then their credit profiles, then their transactions,
all through ``Records.create_many`` (one transaction per batch, every field encrypted
under its customer's data key). Only one slice of customers and one batch of records
are held at once, so memory stays flat whatever the size; and a customer's key is used
while it is still cached, so each key is made and unwrapped once.

Seeding is idempotent: a marker record, written last, says the platform is seeded. A
second call finds it and writes nothing (unless ``force``); an interrupted seed leaves
no marker, so the next call seeds again.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from zerotrust.demo.data import SyntheticData
from zerotrust.service import Services
from zerotrust.vault.models import DEFAULT_TENANT
from zerotrust.vault.records import MAX_BATCH, Records

MARKER_EMAIL: Final = "seed-marker@demo.invalid"  # RFC 2606: never a real mailbox
MARKER_NAME: Final = "Demo platform seed marker"
MARKER_VERSION: Final = 1
DEFAULT_BATCH: Final = 5_000
_SLICE: Final = 250  # customers per slice: their keys stay cached while in use
_MARKER = re.compile(
    r"^v(?P<v>\d+) seed=(?P<seed>-?\d+) customers=(?P<customers>\d+) "
    r"transactions=(?P<transactions>\d+) fraud=(?P<fraud>\d+)$"
)


@dataclass(frozen=True)
class SeedProgress:
    """Where a seed run is, reported after every batch."""

    customers: int
    credit_profiles: int
    transactions: int
    transactions_total: int
    elapsed_s: float


@dataclass(frozen=True)
class SeedSummary:
    """What the platform holds; ``seeded`` is False when it was seeded before."""

    seeded: bool
    seed: int
    customers: int
    credit_profiles: int
    transactions: int
    fraud: int  # transactions labelled fraud
    elapsed_s: float
    samples: Mapping[str, str] = field(default_factory=dict)  # role → customer id

    @property
    def rate(self) -> float:
        """Records written per second (0 when nothing was written)."""
        written = self.customers + self.credit_profiles + self.transactions
        return written / self.elapsed_s if self.seeded and self.elapsed_s > 0 else 0.0


def seed_platform(
    services: Services,
    *,
    customers: int = 10_000,
    transactions: int = 1_000_000,
    seed: int = 7,
    batch: int = DEFAULT_BATCH,
    force: bool = False,
    tenant: str = DEFAULT_TENANT,
    progress: Callable[[SeedProgress], None] | None = None,
    processes: int = 1,
) -> SeedSummary:
    """Seed the vault with the synthetic population, unless it is already seeded.

    ``batch`` records go in per database transaction (at most ``MAX_BATCH``);
    ``progress`` is called after every batch. With ``force`` a seeded platform gets a
    second population next to the first. ``processes`` > 1 splits the customers into
    that many ranges seeded by processes of their own (each customer's records are
    generated from its own stream, so the data is the same); they must be able to build
    the same services from the environment (``load_settings``), as ``zt`` does.
    """
    if not 1 <= batch <= MAX_BATCH:
        raise ValueError(f"batch: 1 to {MAX_BATCH} records")
    records = services.vault.records
    if not force:
        existing = seeded(records, tenant=tenant)
        if existing is not None:
            return existing
    data = SyntheticData(customers=customers, transactions=transactions, seed=seed)
    if processes > 1 and customers >= processes * _SLICE:
        summary = _seed_in_processes(data, batch, tenant, progress, processes)
    else:
        summary = _Seeder(records, data, batch=batch, tenant=tenant, progress=progress).run()
    records.create(
        "customer",
        {
            "name": MARKER_NAME,
            "email": MARKER_EMAIL,
            "address": (
                f"v{MARKER_VERSION} seed={seed} customers={customers} "
                f"transactions={transactions} fraud={summary.fraud}"
            ),
        },
        tenant=tenant,
    )
    return summary


def seeded(records: Records, *, tenant: str = DEFAULT_TENANT) -> SeedSummary | None:
    """The summary of an earlier seed run, found through its marker; None if unseeded."""
    markers = records.find("customer", field="email", value=MARKER_EMAIL, tenant=tenant)
    for marker in reversed(markers):
        match = _MARKER.match(str(marker.fields.get("address", "")))
        if match is None or int(match["v"]) != MARKER_VERSION:
            continue
        data = SyntheticData(
            customers=int(match["customers"]),
            transactions=int(match["transactions"]),
            seed=int(match["seed"]),
        )
        return SeedSummary(
            seeded=False,
            seed=data.seed,
            customers=data.customers,
            credit_profiles=data.customers,
            transactions=data.transactions,
            fraud=int(match["fraud"]),
            elapsed_s=0.0,
            samples=_find_samples(records, data, tenant=tenant),
        )
    return None


def _find_samples(records: Records, data: SyntheticData, *, tenant: str) -> dict[str, str]:
    """The sample customers' ids, found by their (deterministic) email addresses."""
    out: dict[str, str] = {}
    for role, index in data.samples().items():
        email = data.customer(index).email
        found = records.find("customer", field="email", value=email, tenant=tenant)
        if found:
            out[role] = found[-1].record_id  # the latest seed's, if seeded more than once
    return dict(sorted(out.items()))


class _Seeder:
    """One seed run: slices of customers, their profiles, their transactions in batches.

    A slice is small enough that its customers' data keys, made when the customers are
    stored, are still cached while their transactions are written.
    """

    def __init__(
        self,
        records: Records,
        data: SyntheticData,
        *,
        batch: int,
        tenant: str,
        progress: Callable[[SeedProgress], None] | None,
    ) -> None:
        self.records, self.data, self.batch, self.tenant = records, data, batch, tenant
        self.progress = progress
        self.started = time.perf_counter()
        self.customers = self.profiles = self.transactions = self.fraud = 0
        self.wanted = data.samples()
        self.samples: dict[str, str] = {}

    def run(self, first: int = 0, end: int | None = None) -> SeedSummary:
        """Seed customers ``first`` to ``end`` (all by default) and what is theirs."""
        size = min(_SLICE, self.batch)
        end = self.data.customers if end is None else end
        for start in range(first, end, size):
            stop = min(end, start + size)
            owners = self._customers(start, stop)
            self._profiles(start, stop, owners)
            self._transactions(start, stop, owners)
        return SeedSummary(
            seeded=True,
            seed=self.data.seed,
            customers=self.customers,
            credit_profiles=self.profiles,
            transactions=self.transactions,
            fraud=self.fraud,
            elapsed_s=time.perf_counter() - self.started,
            samples=dict(sorted(self.samples.items())),
        )

    def _customers(self, start: int, stop: int) -> list[tuple[str, str]]:
        """Store customers ``start`` to ``stop``; their (id, card token) in order."""
        rows = (c.values() for c in self.data.iter_customers(start, stop))
        people = self.records.create_many("customer", rows, tenant=self.tenant)
        owners = [(r.record_id, str(r.fields["card_token"])) for r in people]
        for role, index in self.wanted.items():
            if start <= index < stop:
                self.samples[role] = owners[index - start][0]
        self.customers += len(owners)
        return owners

    def _profiles(self, start: int, stop: int, owners: list[tuple[str, str]]) -> None:
        rows = (
            p.values(owners[p.customer - start][0])
            for p in self.data.iter_credit_profiles(start, stop)
        )
        self.profiles += len(self.records.create_many("credit_profile", rows, tenant=self.tenant))
        self._report()

    def _transactions(self, start: int, stop: int, owners: list[tuple[str, str]]) -> None:
        pending: list[dict[str, Any]] = []
        for txn in self.data.iter_transactions(start, stop):
            customer_id, token = owners[txn.customer - start]
            pending.append(txn.values(customer_id, token))
            self.fraud += txn.fraud_label
            if len(pending) == self.batch:
                self._write(pending)
                pending = []
        if pending:
            self._write(pending)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        self.transactions += len(self.records.create_many("transaction", rows, tenant=self.tenant))
        self._report()

    def _report(self) -> None:
        if self.progress is not None:
            self.progress(
                SeedProgress(
                    customers=self.customers,
                    credit_profiles=self.profiles,
                    transactions=self.transactions,
                    transactions_total=self.data.transactions,
                    elapsed_s=time.perf_counter() - self.started,
                )
            )


# --- several processes ------------------------------------------------------------------


def _seed_in_processes(
    data: SyntheticData,
    batch: int,
    tenant: str,
    progress: Callable[[SeedProgress], None] | None,
    processes: int,
) -> SeedSummary:
    """Customer ranges seeded side by side; progress summed from every process."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue: Any = ctx.Queue()
    step = -(-data.customers // processes)
    ranges = [(i, min(data.customers, i + step)) for i in range(0, data.customers, step)]
    args = (data.customers, data.transactions, data.seed, batch, tenant)
    workers = [
        ctx.Process(target=_seed_range, args=(*args, first, end, queue), daemon=True)
        for first, end in ranges
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    latest: dict[int, SeedProgress] = {}
    done: dict[int, SeedSummary] = {}
    try:
        while len(done) < len(workers):
            try:
                index, kind, message = queue.get(timeout=1.0)
            except Exception:  # queue.Empty: check nobody died silently
                if any(w.exitcode not in (None, 0) for w in workers):
                    raise RuntimeError("a seeding process failed; see its error above") from None
                continue
            if kind == "failed":
                raise RuntimeError(f"seeding failed: {message}")
            if kind == "done":
                done[index] = message
                continue
            latest[index] = message
            if progress is not None:
                progress(
                    SeedProgress(
                        customers=sum(p.customers for p in latest.values()),
                        credit_profiles=sum(p.credit_profiles for p in latest.values()),
                        transactions=sum(p.transactions for p in latest.values()),
                        transactions_total=data.transactions,
                        elapsed_s=time.perf_counter() - started,
                    )
                )
    finally:
        for w in workers:
            w.join(timeout=5 if len(done) == len(workers) else 0.1)
            if w.is_alive():
                w.kill()
    parts = list(done.values())
    samples: dict[str, str] = {}
    for part in parts:
        samples.update(part.samples)
    return SeedSummary(
        seeded=True,
        seed=data.seed,
        customers=sum(p.customers for p in parts),
        credit_profiles=sum(p.credit_profiles for p in parts),
        transactions=sum(p.transactions for p in parts),
        fraud=sum(p.fraud for p in parts),
        elapsed_s=time.perf_counter() - started,
        samples=dict(sorted(samples.items())),
    )


def _seed_range(
    customers: int,
    transactions: int,
    seed: int,
    batch: int,
    tenant: str,
    first: int,
    end: int,
    queue: Any,
) -> None:  # pragma: no cover - runs in a child process (tests/integration/test_demo_seed.py)
    from zerotrust.service import build_services
    from zerotrust.settings import load_settings

    index = first
    try:
        services = build_services(load_settings())
        try:
            data = SyntheticData(customers=customers, transactions=transactions, seed=seed)
            seeder = _Seeder(
                services.vault.records,
                data,
                batch=batch,
                tenant=tenant,
                progress=lambda p: queue.put((index, "progress", p)),
            )
            queue.put((index, "done", seeder.run(first, end)))
        finally:
            services.close()
    except BaseException as exc:
        queue.put((index, "failed", f"{type(exc).__name__}: {exc}"))
        raise
