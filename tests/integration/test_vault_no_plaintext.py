"""After known PII and card numbers go in through the API, no file under the data
directory (the SQLite database, its WAL and shared-memory files, keys) and no log line
holds them in the clear (PCI DSS 3.5.1, GDPR art. 32)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.identity import make_user, sign_in
from tests.unit.vault.helpers import AMEX, MASTERCARD, VISA, Policy, make_vault
from zerotrust.api import problems, records
from zerotrust.api.app import create_app
from zerotrust.core.auditing import MemoryAudit
from zerotrust.core.clock import FixedClock
from zerotrust.crypto.providers import FileRootKey
from zerotrust.identity.passwords import PasswordHashing
from zerotrust.service import Services, build_services
from zerotrust.settings import Settings
from zerotrust.store.vault_repo import create_tables

PEOPLE = [
    {
        "name": "Evangeline Quillfeather",
        "email": "evangeline.quillfeather@mailbox.example",
        "phone": "+44 7700 900461",
        "date_of_birth": "1984-02-29",
        "address": "17 Marigold Crescent, Bathwick",
        "pan": VISA,
    },
    {
        "name": "Thaddeus Orrinwright",
        "email": "t.orrinwright@post.example",
        "phone": "+1 202 555 0173",
        "address": "4 Juniper Row, Portland",
        "pan": MASTERCARD,
    },
    {
        "name": "Ximena Brightwater",
        "email": "ximena@brightwater.example",
        "pan": AMEX,
    },
]


def _needles() -> list[bytes]:
    out: list[bytes] = []
    for person in PEOPLE:
        for key, value in person.items():
            if key == "date_of_birth":
                continue  # a date's digits can occur anywhere by chance
            out.append(value.encode())
            if key in ("name", "address"):
                out.extend(
                    part.encode() for part in value.replace(",", "").split() if len(part) > 6
                )
        out.append(person["email"].split("@")[0].encode())
    return out


@pytest.fixture
def services(
    tmp_path: Path, clock: FixedClock, fast_hashing: PasswordHashing
) -> Iterator[Services]:
    data = tmp_path / "data"
    data.mkdir()
    # The default layout: the database and the root key file inside the data directory.
    FileRootKey(data / "root.key").create()
    settings = Settings(data_dir=data, database_url="", root_key="", issuer="http://testserver")
    svc = build_services(settings, clock=clock, hashing=fast_hashing)
    yield svc
    svc.close()


def _write_everything(api: TestClient, zc: Any) -> None:
    for person in PEOPLE:
        response = zc.request("POST", "/v1/records/customers", json=person)
        assert response.status_code == 201, response.text
        cid = response.json()["id"]
        txn = zc.request(
            "POST",
            "/v1/records/transactions",
            json={
                "customer_id": cid,
                "amount": "42.00",
                "currency": "EUR",
                "merchant": "Bookshop",
                "description": f"{person['name']} paid with {person['pan']}",
                "pan": person["pan"],
            },
        )
        assert txn.status_code == 201, txn.text
        profile = zc.request(
            "POST",
            "/v1/records/credit-profiles",
            json={"customer_id": cid, "score": 690, "employment": f"{person['name']} Ltd"},
        )
        assert profile.status_code == 201, profile.text
        assert zc.request("GET", f"/v1/records/customers/{cid}").status_code == 200
        detok = zc.request("POST", f"/v1/records/customers/{cid}/card/detokenize")
        assert detok.json()["pan"] == person["pan"]


def _scan(root: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        content = path.read_bytes()
        hits = [n.decode() for n in _needles() if n in content or n.lower() in content.lower()]
        if hits:
            found[path.name] = hits
    return found


def test_no_pii_or_card_number_on_disk_or_in_logs(
    services: Services,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(
        problems, "_UNPROCESSABLE", problems._UNPROCESSABLE | records.UNPROCESSABLE_CODES
    )
    data = services.settings.data_dir
    create_tables(services.db)
    audit = MemoryAudit()
    root = (data / "root.key").read_text().strip()
    vault = make_vault(services.db, clock, root_key=root, audit=audit)
    app = create_app(services)
    app.include_router(records.router)
    app.state.vault = vault
    policy = Policy()
    policy.permit_all()
    app.state.authorize = policy
    with TestClient(app, raise_server_exceptions=False) as api:
        zc = sign_in(api, make_user(services, "auditor", roles=("support_agent",)), clock)
        _write_everything(api, zc)
        bad = zc.request(
            "POST", "/v1/records/customers", json={**PEOPLE[0], "pan": VISA[:-1] + "2"}
        )
        assert bad.status_code == 422
        names = {p.name for p in data.iterdir()}
        assert {"zerotrust.db", "zerotrust.db-wal", "zerotrust.db-shm"} <= names
        assert _scan(data) == {}  # while the database is open: WAL and SHM in use
    services.db.dispose()
    assert _scan(data) == {}  # and after the last connection closed
    logged = caplog.text.encode()
    assert [n for n in _needles() if n in logged] == []
    assert [n for n in _needles() if n in repr(audit.records).encode()] == []


def test_the_scan_finds_plaintext(tmp_path: Path) -> None:
    (tmp_path / "leak-wal").write_bytes(b"\x00\x01" + VISA.encode() + b"\x02")
    (tmp_path / "other").write_bytes(b"EVANGELINE.QUILLFEATHER@MAILBOX.EXAMPLE")
    assert _scan(tmp_path) == {
        "leak-wal": [VISA],
        "other": [
            "Evangeline",
            "Quillfeather",
            "evangeline.quillfeather@mailbox.example",
            "evangeline.quillfeather",
        ],
    }
