"""The sample platform's models: a fraud classifier for card transactions and a credit
scorecard, both logistic regressions trained at setup on the synthetic population.

Features come from what a workload sees through the gateway: a transaction as the
pseudonymised view returns it (customer ids tokenised, no description) and a credit
profile's figures. No name, email, phone, address or card number is used or needed.

A model is stored as JSON parameters, never as a pickle: unpickling runs code, so a model
file swapped on disk would become code execution inside the workload. The document
carries a format version, the model's kind and name, the feature names it was trained on
(a model built for another feature layout is refused), coefficients, intercept, decision
threshold and hold-out metrics, and a SHA-256 digest of all of it. The digest catches a
corrupted or carelessly edited file; a file signed with ``save(signing_key=...)`` and
loaded with ``load(expected_key=...)`` is also proved to come from whoever holds the key.
Scoring needs neither scikit-learn nor numpy: only training does.
"""

from __future__ import annotations

import hmac
import json
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

from zerotrust.core.errors import IntegrityError, InvalidInput
from zerotrust.crypto.encoding import b64url_decode, b64url_encode
from zerotrust.crypto.signing import SigningKey, VerifyingKey
from zerotrust.demo.data import CATEGORIES, CHANNELS, FX, HOME_COUNTRY, SyntheticData

if TYPE_CHECKING:
    from numpy.typing import NDArray

FORMAT: Final = "zerotrust-model"
FORMAT_VERSION: Final = 1
FRAUD_MODEL: Final = "fraud-v1"
CREDIT_MODEL: Final = "credit-v1"
MAX_FILE_BYTES: Final = 1 << 20
NIGHT_HOURS: Final = 6  # 00:00 to 06:00 UTC, when most card fraud happens
FRAUD_FEATURES: Final = (
    "log_amount_gbp",
    "hour_sin",
    "hour_cos",
    "night",
    "foreign",
    *(f"category={c}" for c in CATEGORIES),
    *(f"channel={c}" for c in CHANNELS),
)
EMPLOYMENT_STATUSES: Final = ("employed", "self-employed", "retired", "student", "unemployed")
CREDIT_FEATURES: Final = (
    "log_income",
    "debt_to_income",
    "bureau_score",
    *(f"employment={e}" for e in EMPLOYMENT_STATUSES),
)
# Probability of default below each bound gives the band; above the last, band E.
CREDIT_BANDS: Final = (("A", 0.01), ("B", 0.03), ("C", 0.07), ("D", 0.15))
_MAX_DTI: Final = 5.0
_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}(?:-[a-z0-9_]{1,20})*-v[0-9]{1,4}")
_KEYS: Final = frozenset(
    {"format", "version", "kind", "name", "features", "coefficients", "intercept"}
    | {"threshold", "metrics", "digest", "signature"}
)


class ModelInputError(InvalidInput):
    """A transaction or profile lacks a field a model needs, or holds a malformed one."""

    code = "model_input_invalid"
    message = "The record cannot be scored."


class ModelFileError(InvalidInput):
    """A model file is malformed, mis-shaped, tampered with or not signed as expected."""

    code = "model_file_invalid"
    message = "The model file is not valid."


# --- features ----------------------------------------------------------------------------


def _field(record: Mapping[str, Any], name: str) -> Any:
    if name not in record:
        raise ModelInputError(f"{name}: missing")
    return record[name]


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ModelInputError(f"{name}: a number expected")
    try:
        number = float(value)
    except ValueError:
        raise ModelInputError(f"{name}: a number expected") from None
    if not math.isfinite(number) or number < 0:
        raise ModelInputError(f"{name}: a finite, non-negative number expected")
    return number


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ModelInputError(f"{name}: a string expected")
    return value


def _hour(occurred_at: Any) -> float:
    try:
        moment = datetime.fromisoformat(_text(occurred_at, "occurred_at"))
    except ValueError:
        raise ModelInputError("occurred_at: an ISO 8601 time expected") from None
    if moment.tzinfo is None:  # a local time of unknown zone would shift the night
        raise ModelInputError("occurred_at: a time zone is required")
    moment = moment.astimezone(UTC)
    return moment.hour + moment.minute / 60


def _one_hot(names: Sequence[str]) -> dict[str, tuple[float, ...]]:
    return {value: tuple(float(value == name) for name in names) for value in names}


def _hot(table: Mapping[str, tuple[float, ...]], value: str) -> tuple[float, ...]:
    # An unseen value sets no column, rather than failing the whole batch.
    return table.get(value) or (0.0,) * len(table)


_CATEGORY_HOT: Final = _one_hot(CATEGORIES)
_CHANNEL_HOT: Final = _one_hot(CHANNELS)
_EMPLOYMENT_HOT: Final = _one_hot(EMPLOYMENT_STATUSES)


def _fraud_row(
    amount: Any, currency: Any, occurred_at: Any, country: Any, category: Any, channel: Any
) -> list[float]:
    rate = FX.get(_text(currency, "currency"))
    if rate is None:
        raise ModelInputError("currency: not one the model knows")
    hour = _hour(occurred_at)
    angle = 2 * math.pi * hour / 24
    return [
        math.log1p(_number(amount, "amount") / rate),
        math.sin(angle),
        math.cos(angle),
        float(hour < NIGHT_HOURS),
        float(_text(country, "country") != HOME_COUNTRY),
        *_hot(_CATEGORY_HOT, _text(category, "category")),
        *_hot(_CHANNEL_HOT, _text(channel, "channel")),
    ]


_FRAUD_INPUTS: Final = ("amount", "currency", "occurred_at", "country", "category", "channel")


def transaction_features(tx: Mapping[str, Any]) -> list[float]:
    """The fraud model's features of one transaction, in ``FRAUD_FEATURES`` order: the
    amount in pounds (log), the UTC hour on a circle, night, abroad, category, channel."""
    return _fraud_row(*(_field(tx, name) for name in _FRAUD_INPUTS))


def _employment(value: Any) -> str:
    text = _text(value, "employment").strip().lower()
    if text.startswith("self-employed"):
        return "self-employed"
    return text if text in EMPLOYMENT_STATUSES else "employed"  # a job title


def profile_features(profile: Mapping[str, Any]) -> list[float]:
    """The credit model's features, in ``CREDIT_FEATURES`` order."""
    income = _number(_field(profile, "income"), "income")
    debt = _number(_field(profile, "debt"), "debt")
    score = _number(_field(profile, "score"), "score")
    if score > 999:
        raise ModelInputError("score: at most 999")
    return [
        math.log(max(income, 1.0)),
        min(_MAX_DTI, debt / max(income, 1.0)),
        score / 1000,
        *_hot(_EMPLOYMENT_HOT, _employment(_field(profile, "employment"))),
    ]


# --- the models --------------------------------------------------------------------------


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _canonical(doc: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in doc.items() if k not in {"digest", "signature"}}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


@dataclass(frozen=True, slots=True)
class LinearModel:
    """A logistic regression over fixed features: ``p = sigmoid(intercept + w·x)``."""

    kind: ClassVar[str] = "linear"
    features: ClassVar[tuple[str, ...]] = ()

    name: str
    coefficients: tuple[float, ...]
    intercept: float
    threshold: float
    metrics: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ModelFileError("name: like 'fraud-v1' expected")
        if len(self.coefficients) != len(self.features):
            raise ModelFileError(
                f"coefficients: {len(self.features)} expected, got {len(self.coefficients)}"
            )
        numbers = (*self.coefficients, self.intercept, *self.metrics.values())
        if not all(isinstance(v, float) and math.isfinite(v) for v in numbers):
            raise ModelFileError("coefficients, intercept and metrics: finite numbers expected")
        if not 0.0 < self.threshold < 1.0:
            raise ModelFileError("threshold: a probability strictly between 0 and 1 expected")

    def probability(self, x: Sequence[float]) -> float:
        z = self.intercept + math.fsum(w * v for w, v in zip(self.coefficients, x, strict=True))
        return _sigmoid(z)

    def top_factors(self, x: Sequence[float], n: int = 3) -> list[tuple[str, float]]:
        """The features pushing this record's score up most (weight times value, when positive)."""
        parts = [(f, w * v) for f, w, v in zip(self.features, self.coefficients, x, strict=True)]
        return sorted((p for p in parts if p[1] > 0), key=lambda p: -p[1])[:n]

    # -- persistence ----------------------------------------------------------------------

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "kind": self.kind,
            "name": self.name,
            "features": list(self.features),
            "coefficients": list(self.coefficients),
            "intercept": self.intercept,
            "threshold": self.threshold,
            "metrics": dict(self.metrics),
        }
        doc["digest"] = sha256(_canonical(doc)).hexdigest()
        return doc

    def save(self, path: Path, *, signing_key: SigningKey | None = None) -> None:
        """Write the JSON document (signed when ``signing_key`` is given), atomically."""
        doc = self.document()
        if signing_key is not None:
            doc["signature"] = {
                "alg": signing_key.alg,
                "kid": signing_key.kid,
                "value": b64url_encode(signing_key.sign(_canonical(doc))),
            }
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path, *, expected_key: VerifyingKey | None = None) -> Self:
        """Read and verify a model file; any defect raises ``ModelFileError``."""
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
        if len(raw) > MAX_FILE_BYTES:
            raise ModelFileError(f"{path.name}: larger than {MAX_FILE_BYTES} bytes")
        try:
            doc = json.loads(raw, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError):
            raise ModelFileError(f"{path.name}: not JSON") from None
        return cls.from_document(doc, expected_key=expected_key)

    @classmethod
    def from_document(cls, doc: Any, *, expected_key: VerifyingKey | None = None) -> Self:
        _check_envelope(doc, cls.kind, cls.features)
        _check_digest(doc)
        if expected_key is not None:
            _check_signature(doc, expected_key)
        metrics = doc["metrics"]
        if not isinstance(metrics, dict) or not all(isinstance(k, str) for k in metrics):
            raise ModelFileError("metrics: an object of numbers expected")
        return cls(
            name=_string(doc["name"], "name"),
            coefficients=tuple(_float(v, "coefficients") for v in _list(doc, "coefficients")),
            intercept=_float(doc["intercept"], "intercept"),
            threshold=_float(doc["threshold"], "threshold"),
            metrics={k: _float(v, f"metrics.{k}") for k, v in metrics.items()},
        )


def _refuse_constant(name: str) -> Any:
    raise ModelFileError(f"{name}: not a finite number")


def _list(doc: Mapping[str, Any], key: str) -> list[Any]:
    value = doc[key]
    if not isinstance(value, list):
        raise ModelFileError(f"{key}: a list expected")
    return value


def _string(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ModelFileError(f"{key}: a string expected")
    return value


def _float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelFileError(f"{key}: numbers expected")
    try:
        return float(value)
    except OverflowError:  # an integer of hundreds of digits
        raise ModelFileError(f"{key}: finite numbers expected") from None


def _check_envelope(doc: Any, kind: str, features: tuple[str, ...]) -> None:
    if not isinstance(doc, dict):
        raise ModelFileError("a JSON object expected")
    if doc.get("format") != FORMAT or doc.get("version") != FORMAT_VERSION:
        raise ModelFileError(f"format: {FORMAT} version {FORMAT_VERSION} expected")
    missing, unknown = (_KEYS - {"signature"}) - doc.keys(), doc.keys() - _KEYS
    if missing or unknown:
        raise ModelFileError(f"fields: missing {sorted(missing)}, unknown {sorted(unknown)}")
    if doc["kind"] != kind:
        raise ModelFileError(f"kind: a {kind} model expected, found {doc['kind']!r}")
    if _list(doc, "features") != list(features):
        raise ModelFileError("features: trained on another feature layout; retrain the model")


def _check_digest(doc: Mapping[str, Any]) -> None:
    expected = sha256(_canonical(doc)).hexdigest()
    if not hmac.compare_digest(expected, _string(doc["digest"], "digest")):
        raise ModelFileError("digest: the parameters do not match it; the file was altered")


def _check_signature(doc: Mapping[str, Any], key: VerifyingKey) -> None:
    signature = doc.get("signature")
    if not isinstance(signature, dict) or signature.get("kid") != key.kid:
        raise ModelFileError(f"signature: none by key {key.kid}")
    try:
        key.verify(_canonical(doc), b64url_decode(_string(signature.get("value"), "signature")))
    except (IntegrityError, InvalidInput):
        raise ModelFileError("signature: does not verify; the file was altered") from None


@dataclass(frozen=True, slots=True)
class FraudModel(LinearModel):
    """Probability that a card transaction is fraud; ``label`` applies the threshold."""

    kind: ClassVar[str] = "fraud"
    features: ClassVar[tuple[str, ...]] = FRAUD_FEATURES

    def score(self, tx: Mapping[str, Any]) -> float:
        return self.probability(transaction_features(tx))

    def label(self, score: float) -> str:
        return "fraud" if score >= self.threshold else "ok"

    def explain(self, tx: Mapping[str, Any]) -> str:
        factors = self.top_factors(transaction_features(tx))
        return "top features: " + (", ".join(f"{f} (+{c:.2f})" for f, c in factors) or "none")


@dataclass(frozen=True, slots=True)
class CreditModel(LinearModel):
    """Probability of default of a credit profile, its band (A best to E) and a
    decision: ``refer`` to an underwriter at or above the threshold, else ``approve``."""

    kind: ClassVar[str] = "credit"
    features: ClassVar[tuple[str, ...]] = CREDIT_FEATURES

    def assess(self, profile: Mapping[str, Any]) -> dict[str, Any]:
        x = profile_features(profile)
        pd = self.probability(x)
        return {
            "model": self.name,
            "probability_of_default": pd,
            "band": credit_band(pd),
            "decision": "refer" if pd >= self.threshold else "approve",
            "factors": [f for f, _ in self.top_factors(x)],
        }


def credit_band(pd: float) -> str:
    return next((band for band, bound in CREDIT_BANDS if pd < bound), "E")


# A transparent scorecard, readable as it stands: debt against income, the bureau score,
# income itself and employment status move the odds of default. It scores profiles when
# no trained model is given, and stands in for repayment history, which the synthetic
# population lacks: ``train_credit_model`` draws its outcomes from it.
SCORECARD: Final = CreditModel(
    name="credit-scorecard-v1",
    coefficients=(-0.5, 2.6, -6.0, 0.0, 0.3, -0.2, 0.5, 1.0),
    intercept=5.4,
    threshold=0.1,
)


def credit_score(profile: Mapping[str, Any], model: CreditModel | None = None) -> dict[str, Any]:
    """Assess a credit profile with ``model``, or with the reference ``SCORECARD``."""
    return (model or SCORECARD).assess(profile)


# --- training ----------------------------------------------------------------------------


def _fraud_matrix(data: SyntheticData, samples: int) -> tuple[NDArray[Any], NDArray[Any]]:
    import numpy as np

    # Filled row by row from the generator: no list of transactions is ever held.
    n = min(samples, data.transactions)
    x, y = np.empty((n, len(FRAUD_FEATURES))), np.empty(n, dtype=np.int8)
    for i, t in enumerate(islice(data.iter_transactions(), n)):
        x[i] = _fraud_row(t.amount, t.currency, t.occurred_at, t.country, t.category, t.channel)
        y[i] = t.fraud_label
    return x, y


def _fit(
    x: NDArray[Any], y: NDArray[Any], *, seed: int, holdout: float
) -> tuple[tuple[float, ...], float, float, dict[str, float]]:
    """Fit on a random ``1 - holdout`` of the rows; pick the threshold that maximises F1
    on the training rows; measure on the held-out rows."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.metrics import (  # type: ignore[import-untyped]
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
    )

    order = np.random.default_rng(seed).permutation(len(y))
    cut = int(len(y) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    if len(set(y[train].tolist())) < 2 or len(set(y[test].tolist())) < 2:
        raise ValueError("Too few samples: both classes must occur in training and hold-out.")
    fitted = LogisticRegression(max_iter=1000).fit(x[train], y[train])
    precision, recall, cuts = precision_recall_curve(y[train], fitted.predict_proba(x[train])[:, 1])
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    threshold = float(cuts[int(np.argmax(f1[:-1]))])
    scores = fitted.predict_proba(x[test])[:, 1]
    flagged = scores >= threshold
    hits = float(np.sum(flagged & (y[test] == 1)))
    metrics = {
        "roc_auc": float(roc_auc_score(y[test], scores)),
        "average_precision": float(average_precision_score(y[test], scores)),
        "precision": hits / max(1.0, float(np.sum(flagged))),
        "recall": hits / float(np.sum(y[test] == 1)),
        "train_samples": float(len(train)),
        "test_samples": float(len(test)),
        "positive_rate": float(np.mean(y)),
    }
    coefficients = tuple(float(w) for w in fitted.coef_[0])
    return coefficients, float(fitted.intercept_[0]), threshold, metrics


def train_fraud_model(
    data: SyntheticData,
    *,
    samples: int = 200_000,
    seed: int = 7,
    holdout: float = 0.2,
    name: str = FRAUD_MODEL,
) -> FraudModel:
    """Train the fraud model on the first ``samples`` transactions of ``data``."""
    started = time.perf_counter()
    x, y = _fraud_matrix(data, samples)
    coefficients, intercept, threshold, metrics = _fit(x, y, seed=seed, holdout=holdout)
    metrics["train_seconds"] = round(time.perf_counter() - started, 3)
    return FraudModel(name, coefficients, intercept, threshold, metrics)


def _credit_matrix(
    profiles: Iterable[Mapping[str, Any]], n: int, seed: int
) -> tuple[NDArray[Any], NDArray[Any]]:
    import numpy as np

    x = np.empty((n, len(CREDIT_FEATURES)))
    for i, profile in enumerate(islice(profiles, n)):
        x[i] = profile_features(profile)
    truth = np.array([SCORECARD.probability(row) for row in x.tolist()])
    y = (np.random.default_rng([seed, 1]).random(n) < truth).astype(np.int8)
    return x, y


def train_credit_model(
    data: SyntheticData,
    *,
    profiles: int | None = None,
    seed: int = 7,
    holdout: float = 0.2,
    name: str = CREDIT_MODEL,
) -> CreditModel:
    """Train the credit model on the profiles of the first ``profiles`` customers (all by
    default), with defaults simulated from ``SCORECARD`` (the data has no outcomes)."""
    started = time.perf_counter()
    n = min(data.customers, profiles or data.customers)
    rows = (p.values("") for p in data.iter_credit_profiles(0, n))
    x, y = _credit_matrix(rows, n, seed)
    coefficients, intercept, threshold, metrics = _fit(x, y, seed=seed, holdout=holdout)
    metrics["train_seconds"] = round(time.perf_counter() - started, 3)
    return CreditModel(name, coefficients, intercept, threshold, metrics)
