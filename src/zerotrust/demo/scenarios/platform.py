"""The running demo as the scenarios see it: where it answers, its data, its people and
its records.

Requests go over HTTP to the control plane and the gateway, as any client's would. What
only an operator's tool does — make an account for a run, bind a support case, rotate
the vault's keys, read the audit log, lift a lock or a block — is done in-process through
the product's services over the same database, as ``zt`` does. It refuses to run on a
data directory that is not a demo's.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import httpx

from zerotrust.client import DeviceKey, ZTClient
from zerotrust.core.auditing import AuditRecord
from zerotrust.core.errors import NotFound, ZTError
from zerotrust.demo.data import SyntheticData
from zerotrust.demo.personas import demo_dir, load_state, refresh_posture, require_demo
from zerotrust.demo.scenarios.actors import ACTOR, Person, SignedIn, sign_in
from zerotrust.demo.scenarios.evidence import Evidence
from zerotrust.demo.seed import SeedSummary, seeded
from zerotrust.demo.session import workload_client
from zerotrust.identity.models import name_key
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings

REFRESH_AFTER_S: Final = 180.0  # access tokens live 300 s: renew well before


class DemoNotRunning(ZTError):
    code = "demo_not_running"
    message = "The demo is not running: start it with `zt demo up`."


def _listening(*urls: str) -> None:
    """Stop before any scenario if the control plane or the gateway does not answer."""
    for url in urls:
        try:
            httpx.get(f"{url}/healthz", timeout=3)
        except httpx.HTTPError:
            raise DemoNotRunning(
                f"Nothing answers at {url}: start the demo with `zt demo up`."
            ) from None


class Platform:
    """One demo: its URLs, the services over its database, its sample customers, the
    personas signed in so far (one sign-in each, shared by the scenarios)."""

    def __init__(self, services: Services, *, data_dir: Path, api: str, gateway: str) -> None:
        self.services = services
        self.data_dir = data_dir
        self.api = api.rstrip("/")
        self.gateway = gateway.rstrip("/")
        if services.audit_log is None:
            raise RuntimeError("the scenarios need the product's audit log")
        self.evidence = Evidence(services.audit_log)
        self._summary: SeedSummary | None = None
        self._customers: list[str] = []
        self._people: dict[str, SignedIn] = {}

    @classmethod
    @contextmanager
    def open(cls, settings: Settings, *, api: str, gateway: str) -> Iterator[Platform]:
        require_demo(settings.data_dir)  # accounts are made and keys rotated: demo only
        _listening(api.rstrip("/"), gateway.rstrip("/"))
        services = build_services(settings)
        platform = None
        try:
            # Posture reports go stale; the personas' devices report again, as their
            # agents would, so a demo that has been up for hours still trusts them.
            refresh_posture(services, settings.data_dir)
            platform = cls(services, data_dir=settings.data_dir, api=api, gateway=gateway)
            yield platform
        finally:
            if platform is not None:
                platform.close()
            services.close()

    def close(self) -> None:
        for person in self._people.values():
            person.close()
        self._people.clear()

    # --- data --------------------------------------------------------------------------

    @property
    def summary(self) -> SeedSummary:
        if self._summary is None:
            self._summary = seeded(self.services.vault.records)
            if self._summary is None:
                raise NotFound("The platform is not seeded: run `zt demo up` first.")
        return self._summary

    def sample(self, role: str) -> str:
        """A sample customer's id: typical, heavy, fraud_victim, thin_file."""
        return self.summary.samples[role]

    def customers(self, count: int) -> list[str]:
        """``count`` customer ids, found by their (deterministic) e-mail addresses."""
        s = self.summary
        data = SyntheticData(customers=s.customers, transactions=s.transactions, seed=s.seed)
        records = self.services.vault.records
        index = len(self._customers)
        while len(self._customers) < count and index < data.customers:
            found = records.find("customer", field="email", value=data.customer(index).email)
            if found:
                self._customers.append(found[-1].record_id)
            index += 1
        return self._customers[:count]

    # --- people --------------------------------------------------------------------------

    def persona(self, name: str) -> dict[str, Any]:
        state = load_state(self.data_dir)
        if state is None or name not in state["people"]:
            raise NotFound(f"No persona {name!r}: run `zt demo up` first.")
        entry: dict[str, Any] = state["people"][name]
        return entry

    def person(self, name: str) -> SignedIn:
        """Persona ``name`` signed in on their own device (once; renewed when due)."""
        signed = self._people.get(name)
        if signed is not None and time.monotonic() - signed.signed_at > REFRESH_AFTER_S:
            signed.refresh()
        if signed is None:
            entry = self.persona(name)
            signed = self._sign_in(
                name,
                entry["id"],
                entry["password"],
                entry["totp_secret"],
                DeviceKey.load(Path(entry["device_key"])),
            )
            self._people[name] = signed
        return signed

    def sign_in(self, person: Person) -> SignedIn:
        """A colleague made for a run, signed in on their laptop (the caller closes it)."""
        return self._sign_in(
            person.name, person.id, person.password, person.totp_secret, person.device
        )

    def _sign_in(
        self, name: str, principal_id: str, password: str, secret: str, device: DeviceKey
    ) -> SignedIn:
        def last_used() -> int:
            record = self.services.authenticator.totps.get(principal_id)
            return record.last_used_step if record is not None else -1

        return sign_in(
            self.api,
            self.gateway,
            name=name,
            password=password,
            totp_secret=secret,
            device=device,
            last_used=last_used,
        )

    def alert_book(self) -> list[dict[str, Any]]:
        """The control plane's alerts as the security team reads them (ada, an admin,
        ``GET /v1/alerts``): those raised by sign-ins and other control-plane events."""
        return self.person("ada").control.get_json_list("/v1/alerts")

    @contextmanager
    def workload(self, name: str) -> Iterator[ZTClient]:
        """A gateway client for the demo's workload ``name`` (fraud-model, credit-model)."""
        with workload_client(self.data_dir, name, api=self.api, gateway=self.gateway) as c:
            yield c

    # --- support cases -------------------------------------------------------------------

    @property
    def cases_file(self) -> Path:
        return demo_dir(self.data_dir) / "cases.json"

    def set_case(self, principal_id: str, customer_id: str | None) -> None:
        """Bind a support agent to one customer's case, or (None) to none; the gateway
        re-reads the file within a second."""
        path = self.cases_file
        data = json.loads(path.read_text("utf-8")) if path.exists() else {}
        if customer_id is None:
            data.pop(principal_id, None)
        else:
            data[principal_id] = customer_id
        tmp = path.with_suffix(".scenario.tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)

    # --- undoing what an attack left -------------------------------------------------------

    def unlock(self, name: str, *, alert_id: str | None = None) -> None:
        """Lift a lock on an account (``zt user unlock``), audited."""
        self.services.guard.unlock(name_key(name))
        self._audit("detect.undo.unlock_account", f"principal:{name}", alert_id)

    def unblock(self, address: str, *, alert_id: str | None = None) -> None:
        """Lift a block on a source address (``/v1/alerts/{id}/undo``), audited."""
        self.services.guard.unblock_source(address)
        self._audit("detect.undo.unblock_source", f"source:{address}", alert_id)

    def forget_failures(self, name: str) -> None:
        """Reset the password-failure count an attack left on a real account, so reruns
        never add up to a lockout of a persona."""
        self.services.guard.succeeded("password", name_key(name))

    def _audit(self, action: str, resource: str, alert_id: str | None) -> None:
        details: dict[str, Any] = {"alert_id": alert_id} if alert_id else {}
        self.services.audit.append(
            AuditRecord(
                action=action, actor=ACTOR, outcome="success", resource=resource, details=details
            )
        )
