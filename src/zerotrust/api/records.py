"""``/v1/records``: the fintech's customers, transactions and credit profiles over HTTP.

Every route authenticates the caller (``deps.current``), then asks the policy decision
point through ``app.state.authorize(ctx, action, resource_type, resource_id)``, which
returns the obligations to apply (``["mask:pan"]``) or raises ``Forbidden``. Without a
decision point every request is denied (fail closed). Denials are audited. Responses go
out only after the obligations are applied, and are never cached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from zerotrust.api import problems
from zerotrust.api.auth import Strict
from zerotrust.api.deps import current
from zerotrust.core.auditing import AuditRecord, AuditRecorder
from zerotrust.core.errors import Forbidden, InvalidInput, Sealed, ZTError
from zerotrust.identity.sessions import AuthContext
from zerotrust.vault.kinds import CREDIT_PROFILE, CUSTOMER, TRANSACTION, KindSpec, Record
from zerotrust.vault.masking import apply_obligations
from zerotrust.vault.models import DEFAULT_TENANT
from zerotrust.vault.services import Vault

# Every route: the caller (401, or 401 step-up from the policy), the policy's refusal
# (403), a sealed vault or an unavailable store (503).
router = APIRouter(
    prefix="/v1/records",
    tags=["records"],
    responses=problems.responses(*problems.SIGNED_IN, 403),
)

Authorize = Callable[[AuthContext, str, str, "str | None"], list[str]]
Ctx = Annotated[AuthContext, Depends(current)]
RecordId = Annotated[str, Path(min_length=1, max_length=64)]
PSEUDONYM_PURPOSE = "api"

# Codes of this router's errors for ``problems.py``: content that fails a rule is 422, an
# erased data subject is 410 Gone (until mapped, ``erased`` falls back to 404).
UNPROCESSABLE_CODES = frozenset(
    {"invalid_pan", "invalid_card_token", "invalid_field", "invalid_query"}
)
GONE_CODES = frozenset({"erased"})


class RecordOut(BaseModel):
    """A record as released: its envelope, then its fields (masked as the policy obliges)."""

    model_config = ConfigDict(extra="allow")

    id: str
    kind: str
    customer_id: str | None
    status: str
    created_at: float


class RecordsOut(BaseModel):
    items: list[RecordOut]


class CardOut(BaseModel):
    customer_id: str
    pan: str


class ErasureOut(BaseModel):
    customer_id: str
    status: str
    keys_destroyed: int
    already_erased: bool


# What the vault checks (``vault.records``), stated in the document so clients (and
# generated tests) know it; the vault still does the checking, with its own codes.
DECIMAL: dict[str, Any] = {"pattern": r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$"}
# Text: not blank, no control characters once trimmed.
TEXT: dict[str, Any] = {"pattern": r"^\s*[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*\s*$"}


class CustomerIn(Strict):
    name: str = Field(max_length=200, json_schema_extra=TEXT)
    email: str = Field(max_length=400, json_schema_extra={"format": "email"})
    phone: str | None = Field(default=None, max_length=64)
    date_of_birth: str | None = Field(
        default=None, max_length=32, json_schema_extra={"format": "date"}
    )
    address: str | None = Field(default=None, max_length=500, json_schema_extra=TEXT)
    pan: str | None = Field(default=None, max_length=64)


class TransactionIn(Strict):
    customer_id: str = Field(max_length=64)
    amount: str | int = Field(json_schema_extra=DECIMAL)
    currency: str = Field(max_length=8, json_schema_extra={"pattern": "^[A-Z]{3}$"})
    merchant: str = Field(max_length=200, json_schema_extra=TEXT)
    description: str | None = Field(default=None, max_length=2000)
    pan: str | None = Field(default=None, max_length=64)
    card_token: str | None = Field(default=None, max_length=64)
    category: str | None = Field(default=None, max_length=64, json_schema_extra=TEXT)
    country: str | None = Field(default=None, pattern="^[A-Z]{2}$")  # ISO 3166-1 alpha-2
    occurred_at: str | None = Field(default=None, max_length=40, json_schema_extra=TEXT)
    channel: str | None = Field(default=None, max_length=32, json_schema_extra=TEXT)
    fraud_label: int | None = Field(default=None, json_schema_extra={"minimum": 0, "maximum": 1})


class CreditProfileIn(Strict):
    customer_id: str = Field(max_length=64)
    score: int = Field(json_schema_extra={"minimum": 0, "maximum": 10**6})
    income: str | int | None = Field(default=None, json_schema_extra=DECIMAL)
    debt: str | int | None = Field(default=None, json_schema_extra=DECIMAL)
    employment: str | None = Field(default=None, max_length=200, json_schema_extra=TEXT)


def _deny_all(
    ctx: AuthContext, action: str, resource_type: str, resource_id: str | None
) -> list[str]:
    raise Forbidden


class Gate:
    """One request's access to the vault: the policy decision, then the data."""

    def __init__(self, request: Request, ctx: Ctx) -> None:
        state = request.app.state
        self.ctx = ctx
        self.tenant = _tenant(ctx)
        self._authorize: Authorize = getattr(state, "authorize", None) or _deny_all
        self._vault: Vault | None = getattr(state, "vault", None)
        services = getattr(state, "services", None)
        self._audit: AuditRecorder | None = (
            self._vault.audit if self._vault is not None else getattr(services, "audit", None)
        )
        self._src_ip = request.client.host if request.client else None

    @property
    def vault(self) -> Vault:
        if self._vault is None:
            raise Sealed("The vault is not configured.")
        return self._vault

    def check(self, action: str, spec: KindSpec | str, resource_id: str | None) -> list[str]:
        """The obligations of an allow; raises (and audits) on anything else."""
        rtype = spec if isinstance(spec, str) else spec.resource_type
        try:
            obligations = self._authorize(self.ctx, action, rtype, resource_id)
            if not isinstance(obligations, list) or not all(
                isinstance(o, str) for o in obligations
            ):
                raise Forbidden
        except ZTError as exc:
            self.record(action, rtype, resource_id, outcome="denied", reason=exc.code)
            raise
        except Exception:  # a failing decision point denies (fail closed)
            self.record(action, rtype, resource_id, outcome="denied", reason="pdp_error")
            raise Forbidden from None
        return list(obligations)

    def record(
        self, action: str, rtype: str, resource_id: str | None, *, outcome: str, reason: str | None
    ) -> None:
        if self._audit is None:
            return
        self._audit.append(
            AuditRecord(
                action=f"vault.{action}",
                actor=self.ctx.principal.id,
                outcome=outcome,
                resource=f"{rtype}:{resource_id or '*'}",
                reason=reason,
                src_ip=self._src_ip,
                session_id=self.ctx.session.id,
            )
        )

    def release(self, body: Any, obligations: list[str], response: Response) -> Any:
        """Apply the obligations to a body and mark it uncacheable."""
        response.headers["Cache-Control"] = "no-store"
        return apply_obligations(body, obligations, tokenize=self._tokenize)

    def _tokenize(self, _field: str, value: str) -> str:
        return self.vault.pseudonym(value, tenant=self.tenant, purpose=PSEUDONYM_PURPOSE)


GateDep = Annotated[Gate, Depends(Gate)]


def _tenant(ctx: AuthContext) -> str:
    tenant = ctx.claims.get("tenant")
    return tenant if isinstance(tenant, str) and 0 < len(tenant) <= 64 else DEFAULT_TENANT


def _records(records: list[Record]) -> dict[str, Any]:
    return {"items": [r.to_json() for r in records]}


def _one_filter(**filters: str | None) -> tuple[str, str]:
    given = [(k, v) for k, v in filters.items() if v is not None]
    if len(given) != 1:
        raise InvalidInput(f"Give exactly one of: {', '.join(filters)}.", code="invalid_query")
    return given[0]


# --- customers -----------------------------------------------------------------------


@router.post(
    "/customers",
    status_code=201,
    response_model=RecordOut,
    responses=problems.responses(*problems.BODY),
)
def create_customer(body: CustomerIn, gate: GateDep, response: Response) -> Any:
    obligations = gate.check("write", CUSTOMER, None)
    record = gate.vault.records.create(
        "customer", body.model_dump(exclude_none=True), tenant=gate.tenant
    )
    return gate.release(record.to_json(), obligations, response)


@router.get(
    "/customers/{record_id}", response_model=RecordOut, responses=problems.responses(404, 410, 422)
)
def read_customer(record_id: RecordId, gate: GateDep, response: Response) -> Any:
    obligations = gate.check("read", CUSTOMER, record_id)
    record = gate.vault.records.get("customer", record_id, tenant=gate.tenant)
    return gate.release(record.to_json(), obligations, response)


@router.get("/customers", response_model=RecordsOut, responses=problems.responses(422))
def find_customers(
    gate: GateDep,
    response: Response,
    email: Annotated[str | None, Query(max_length=400)] = None,
    phone: Annotated[str | None, Query(max_length=64)] = None,
    card_token: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    field, value = _one_filter(email=email, phone=phone, card_token=card_token)
    obligations = gate.check("list", CUSTOMER, None)
    found = gate.vault.records.find(
        "customer", field=field, value=value, tenant=gate.tenant, limit=limit
    )
    return gate.release(_records(found), obligations, response)


@router.post(
    "/customers/{record_id}/card/detokenize",
    response_model=CardOut,
    responses=problems.responses(404, 410, 422),
)
def detokenize_card(record_id: RecordId, gate: GateDep, response: Response) -> Any:
    """The full card number: needs the ``detokenize`` decision (the PDP demands step-up)."""
    obligations = gate.check("detokenize", CUSTOMER, record_id)
    card = gate.vault.records.detokenize(record_id, actor=gate.ctx.principal.id, tenant=gate.tenant)
    return gate.release({"customer_id": record_id, "pan": card}, obligations, response)


@router.delete(
    "/customers/{record_id}", response_model=ErasureOut, responses=problems.responses(404, 422)
)
def erase_customer(record_id: RecordId, gate: GateDep, response: Response) -> Any:
    """Crypto-shred the customer and everything of theirs (idempotent)."""
    obligations = gate.check("delete", "Customer", record_id)
    erasure = gate.vault.records.erase(record_id, actor=gate.ctx.principal.id, tenant=gate.tenant)
    body = {
        "customer_id": erasure.subject_id,
        "status": "erased",
        "keys_destroyed": erasure.keys_destroyed,
        "already_erased": erasure.already_erased,
    }
    return gate.release(body, obligations, response)


# --- transactions and credit profiles -------------------------------------------------


@router.post(
    "/transactions",
    status_code=201,
    response_model=RecordOut,
    responses=problems.responses(404, 410, *problems.BODY),
)
def create_transaction(body: TransactionIn, gate: GateDep, response: Response) -> Any:
    obligations = gate.check("write", TRANSACTION, None)
    values = body.model_dump(exclude_none=True)
    record = gate.vault.records.create("transaction", values, tenant=gate.tenant)
    return gate.release(record.to_json(), obligations, response)


@router.get(
    "/transactions/{record_id}",
    response_model=RecordOut,
    responses=problems.responses(404, 410, 422),
)
def read_transaction(record_id: RecordId, gate: GateDep, response: Response) -> Any:
    obligations = gate.check("read", TRANSACTION, record_id)
    record = gate.vault.records.get("transaction", record_id, tenant=gate.tenant)
    return gate.release(record.to_json(), obligations, response)


@router.get("/transactions", response_model=RecordsOut, responses=problems.responses(422))
def find_transactions(
    gate: GateDep,
    response: Response,
    customer_id: Annotated[str | None, Query(max_length=64)] = None,
    card_token: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    field, value = _one_filter(customer_id=customer_id, card_token=card_token)
    obligations = gate.check("list", TRANSACTION, None)
    records = gate.vault.records
    found = (
        records.for_customer("transaction", value, tenant=gate.tenant, limit=limit)
        if field == "customer_id"
        else records.find("transaction", field=field, value=value, tenant=gate.tenant, limit=limit)
    )
    return gate.release(_records(found), obligations, response)


@router.post(
    "/credit-profiles",
    status_code=201,
    response_model=RecordOut,
    responses=problems.responses(404, 410, *problems.BODY),
)
def create_credit_profile(body: CreditProfileIn, gate: GateDep, response: Response) -> Any:
    obligations = gate.check("write", CREDIT_PROFILE, None)
    values = body.model_dump(exclude_none=True)
    record = gate.vault.records.create("credit_profile", values, tenant=gate.tenant)
    return gate.release(record.to_json(), obligations, response)


@router.get(
    "/credit-profiles/{record_id}",
    response_model=RecordOut,
    responses=problems.responses(404, 410, 422),
)
def read_credit_profile(record_id: RecordId, gate: GateDep, response: Response) -> Any:
    obligations = gate.check("read", CREDIT_PROFILE, record_id)
    record = gate.vault.records.get("credit_profile", record_id, tenant=gate.tenant)
    return gate.release(record.to_json(), obligations, response)


@router.get("/credit-profiles", response_model=RecordsOut, responses=problems.responses(422))
def find_credit_profiles(
    gate: GateDep,
    response: Response,
    customer_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    obligations = gate.check("list", CREDIT_PROFILE, None)
    found = gate.vault.records.for_customer(
        "credit_profile", customer_id, tenant=gate.tenant, limit=limit
    )
    return gate.release(_records(found), obligations, response)
