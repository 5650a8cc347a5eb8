"""The sample platform's models: features, training, persistence, credit scoring."""

from __future__ import annotations

import json
import math
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest

from zerotrust.crypto.signing import SigningKey
from zerotrust.demo.data import CATEGORIES, SyntheticData
from zerotrust.demo.models import (
    CREDIT_FEATURES,
    FRAUD_FEATURES,
    SCORECARD,
    CreditModel,
    FraudModel,
    ModelFileError,
    ModelInputError,
    credit_band,
    credit_score,
    profile_features,
    train_credit_model,
    train_fraud_model,
    transaction_features,
)

TX: dict[str, Any] = {
    "id": "tx-1",
    "customer_id": "tok_8f3a",
    "amount": "117.00",
    "currency": "EUR",
    "merchant": "Smith Digital",
    "category": "electronics",
    "country": "FR",
    "occurred_at": "2025-03-04T02:15:00Z",
    "channel": "online",
    "card_token": "4000009876541234",
}
PROFILE: dict[str, Any] = {
    "id": "cp-1",
    "customer_id": "c-1",
    "score": 780,
    "income": "34000.00",
    "debt": "6000.00",
    "employment": "Chartered accountant",
}


@pytest.fixture(scope="module")
def fraud_model() -> FraudModel:
    return train_fraud_model(SyntheticData(customers=400, transactions=30_000), samples=30_000)


@pytest.fixture(scope="module")
def credit_model() -> CreditModel:
    return train_credit_model(SyntheticData(customers=6_000, transactions=0))


def _named(features: list[float]) -> dict[str, float]:
    return dict(zip(FRAUD_FEATURES, features, strict=True))


# --- features ------------------------------------------------------------------------------


def test_features_are_deterministic_and_ignore_identity() -> None:
    first = transaction_features(TX)
    assert first == transaction_features(dict(TX))
    assert len(first) == len(FRAUD_FEATURES)
    with_pii = {
        **TX,
        "customer_id": "c-real",
        "card_token": "4000001111111111",
        "merchant": "Other Merchant",
        "description": "Online payment to Jane Doe",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
    }
    assert transaction_features(with_pii) == first
    behaviour = {
        "log_amount_gbp",
        "hour_sin",
        "hour_cos",
        "night",
        "foreign",
        "category",
        "channel",
    }
    assert {f.split("=")[0] for f in FRAUD_FEATURES} == behaviour


def test_features_follow_the_transaction() -> None:
    x = _named(transaction_features(TX))
    assert x["log_amount_gbp"] == pytest.approx(math.log1p(100.0))  # 117 EUR at 1.17
    assert (x["night"], x["foreign"]) == (1.0, 1.0)
    assert x["category=electronics"] == 1.0
    assert sum(x[f"category={c}"] for c in CATEGORIES) == 1.0
    assert (x["channel=online"], x["channel=atm"]) == (1.0, 0.0)
    assert x["hour_sin"] ** 2 + x["hour_cos"] ** 2 == pytest.approx(1.0)


def test_the_hour_is_taken_in_utc() -> None:
    local = {**TX, "occurred_at": "2025-03-04T09:15:00+07:00"}  # 02:15 UTC
    assert transaction_features(local) == transaction_features(TX)
    day = _named(transaction_features({**TX, "occurred_at": "2025-03-04T14:00:00Z"}))
    assert day["night"] == 0.0


def test_an_unknown_category_sets_no_column() -> None:
    x = _named(transaction_features({**TX, "category": "pet_food", "channel": "teleport"}))
    assert not any(x[f] for f in FRAUD_FEATURES if f.startswith(("category=", "channel=")))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": None}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "nan"}, "amount"),
        ({"currency": "XXX"}, "currency"),
        ({"occurred_at": "2025-03-04T02:15:00"}, "occurred_at"),  # no zone
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"country": 44}, "country"),
    ],
)
def test_malformed_transactions_are_refused(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ModelInputError, match=field):
        transaction_features({**TX, **change})


def test_a_missing_field_is_named() -> None:
    tx = {k: v for k, v in TX.items() if k != "channel"}
    with pytest.raises(ModelInputError, match="channel: missing"):
        transaction_features(tx)


# --- the fraud model -----------------------------------------------------------------------


def test_the_fraud_model_separates_fraud_on_held_out_data(fraud_model: FraudModel) -> None:
    m = fraud_model.metrics
    assert m["roc_auc"] >= 0.85
    assert m["test_samples"] == pytest.approx(6_000)
    assert 0 < m["precision"] <= 1
    assert 0 < m["recall"] <= 1
    assert 0 < fraud_model.threshold < 1
    assert fraud_model.name == "fraud-v1"


def test_labels_follow_the_threshold(fraud_model: FraudModel) -> None:
    t = fraud_model.threshold
    assert (fraud_model.label(t), fraud_model.label(t - 1e-9)) == ("fraud", "ok")
    risky = fraud_model.score(TX)
    safe = {**TX, "amount": "12.00", "currency": "GBP", "country": "GB", "category": "grocery"}
    calm = fraud_model.score({**safe, "occurred_at": "2025-03-04T12:15:00Z"})
    calm_card = fraud_model.score({**safe, "channel": "card_present"})
    assert risky > max(calm, calm_card)
    assert fraud_model.label(risky) == "fraud"
    assert "foreign" in fraud_model.explain(TX)


def test_training_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both classes"):
        train_fraud_model(SyntheticData(customers=5, transactions=20, fraud_rate=0.0))


# --- persistence ---------------------------------------------------------------------------


def test_save_and_load_give_identical_scores(fraud_model: FraudModel, tmp_path: Path) -> None:
    path = tmp_path / "fraud-v1.json"
    fraud_model.save(path)
    loaded = FraudModel.load(path)
    assert loaded == fraud_model
    variants = [TX, {**TX, "country": "GB"}, {**TX, "amount": "3.50", "channel": "atm"}]
    assert [loaded.score(t) for t in variants] == [fraud_model.score(t) for t in variants]
    doc = json.loads(path.read_text())
    assert (doc["format"], doc["version"], doc["kind"]) == ("zerotrust-model", 1, "fraud")
    assert doc["features"] == list(FRAUD_FEATURES)


def _rewrite(path: Path, change: dict[str, Any], *, digest: bool) -> None:
    doc = json.loads(path.read_text())
    doc.update(change)
    if digest:  # as a careful forger would: the digest matches the new content
        body = {k: v for k, v in doc.items() if k not in {"digest", "signature"}}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        doc["digest"] = sha256(canonical).hexdigest()
    path.write_text(json.dumps(doc))


@pytest.fixture
def saved(fraud_model: FraudModel, tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    fraud_model.save(path)
    return path


def test_an_altered_coefficient_breaks_the_digest(saved: Path) -> None:
    doc = json.loads(saved.read_text())
    doc["coefficients"][4] = -10.0  # make "foreign" look safe
    saved.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match="digest"):
        FraudModel.load(saved)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"coefficients": [0.5] * (len(FRAUD_FEATURES) - 1)}, "coefficients: 21 expected"),
        ({"coefficients": ["0.5"] * len(FRAUD_FEATURES)}, "numbers expected"),
        ({"features": list(reversed(FRAUD_FEATURES))}, "another feature layout"),
        ({"kind": "credit"}, "a fraud model expected"),
        ({"threshold": 1.5}, "threshold"),
        ({"intercept": 1e309}, "finite"),
        ({"intercept": 10**400}, "finite"),
        ({"version": 2}, "version 1 expected"),
        ({"extra": "pickle"}, "unknown \\['extra'\\]"),
        ({"name": "../../etc"}, "name"),
        ({"metrics": {"roc_auc": "high"}}, "metrics"),
    ],
)
def test_a_mis_shaped_model_is_refused(saved: Path, change: dict[str, Any], message: str) -> None:
    _rewrite(saved, change, digest=True)
    with pytest.raises(ModelFileError, match=message):
        FraudModel.load(saved)


@pytest.mark.parametrize("content", [b"", b"\x80\x81", b"[1, 2]", b'{"a": NaN}', b" " * (2 << 20)])
def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ModelFileError):
        FraudModel.load(path)


def test_a_signed_model_verifies_against_its_key(fraud_model: FraudModel, tmp_path: Path) -> None:
    key, other = SigningKey.generate("EdDSA"), SigningKey.generate("ES256")
    path = tmp_path / "signed.json"
    fraud_model.save(path, signing_key=key)
    assert FraudModel.load(path, expected_key=key.verifying_key()) == fraud_model
    with pytest.raises(ModelFileError, match="signature: none by key"):
        FraudModel.load(path, expected_key=other.verifying_key())
    _rewrite(path, {"threshold": 0.99}, digest=True)  # digest fixed, signature not
    with pytest.raises(ModelFileError, match="does not verify"):
        FraudModel.load(path, expected_key=key.verifying_key())


def test_an_unsigned_model_is_refused_when_a_key_is_expected(saved: Path) -> None:
    with pytest.raises(ModelFileError, match="signature"):
        FraudModel.load(saved, expected_key=SigningKey.generate("EdDSA").verifying_key())


# --- credit --------------------------------------------------------------------------------


def _pd(model: CreditModel | None, **change: Any) -> float:
    result = credit_score({**PROFILE, **change}, model)
    pd: float = result["probability_of_default"]
    return pd


@pytest.mark.parametrize("which", ["scorecard", "trained"])
def test_credit_risk_moves_the_sensible_way(which: str, credit_model: CreditModel) -> None:
    model = None if which == "scorecard" else credit_model
    by_debt = [_pd(model, debt=f"{d}.00") for d in (0, 3_000, 10_000, 30_000, 80_000)]
    by_income = [_pd(model, income=f"{i}.00") for i in (12_000, 25_000, 50_000, 120_000)]
    by_score = [_pd(model, score=s) for s in (300, 550, 780, 950)]
    assert by_debt == sorted(by_debt)
    assert by_debt[0] < by_debt[-1]
    assert by_income == sorted(by_income, reverse=True)
    assert by_income[0] > by_income[-1]
    assert by_score == sorted(by_score, reverse=True)
    assert _pd(model, employment="Unemployed") > _pd(model)


def test_a_credit_assessment_has_a_band_and_a_decision() -> None:
    good = credit_score(PROFILE)
    bad = credit_score({**PROFILE, "debt": "60000.00", "score": 250, "employment": "Unemployed"})
    assert good["model"] == SCORECARD.name
    assert good["band"] < bad["band"]
    assert (good["decision"], bad["decision"]) == ("approve", "refer")
    assert "debt_to_income" in bad["factors"]
    assert [credit_band(p) for p in (0.001, 0.02, 0.05, 0.1, 0.5)] == list("ABCDE")


def test_employment_titles_map_to_a_status() -> None:
    def status(text: str) -> str:
        features = profile_features({**PROFILE, "employment": text})
        x = dict(zip(CREDIT_FEATURES, features, strict=True))
        return next(f for f, v in x.items() if f.startswith("employment=") and v)

    assert status("Chartered accountant") == "employment=employed"
    assert status("Self-employed plumber") == "employment=self-employed"
    assert status("Retired") == "employment=retired"


def test_a_trained_credit_model_round_trips(credit_model: CreditModel, tmp_path: Path) -> None:
    assert credit_model.name == "credit-v1"
    assert credit_model.metrics["roc_auc"] >= 0.75
    path = tmp_path / "credit.json"
    credit_model.save(path)
    assert CreditModel.load(path).assess(PROFILE) == credit_model.assess(PROFILE)
    with pytest.raises(ModelFileError, match="a fraud model expected"):
        FraudModel.load(path)
