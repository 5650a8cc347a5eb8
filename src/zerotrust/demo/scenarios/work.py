"""The platform's legitimate AI work, as the scenarios need it: the fraud model scoring
customers' recent transactions through the gateway and writing its outputs."""

from __future__ import annotations

from collections.abc import Sequence

from zerotrust.client import ZTClient
from zerotrust.demo.models import FraudModel
from zerotrust.demo.personas import demo_dir
from zerotrust.demo.scenarios.platform import Platform
from zerotrust.demo.workloads import FRAUD_PURPOSE, PURPOSE_HEADER, BatchReport, run_fraud_batch

LIMIT = 50  # recent transactions per customer


def fraud_batch(platform: Platform, client: ZTClient, customer_ids: Sequence[str]) -> BatchReport:
    """Score ``customer_ids`` with the trained fraud model (``zt demo up`` trains it),
    writing an output per flagged transaction and a summary per customer."""
    path = demo_dir(platform.data_dir) / "models" / "fraud-v1.json"
    if path.exists():
        model = FraudModel.load(path)
        return run_fraud_batch(client, model, customer_ids, limit=LIMIT, max_retries=0)
    return _unscored(client, customer_ids)


def _unscored(client: ZTClient, customer_ids: Sequence[str]) -> BatchReport:
    """Without a trained model (the demo extra not installed): the same calls, each
    customer summarised with a neutral score."""
    report = BatchReport("unscored")
    headers = {PURPOSE_HEADER: FRAUD_PURPOSE}
    for cid in customer_ids:
        read = client.request("GET", f"/api/transactions/{cid}?limit={LIMIT}", headers=headers)
        # The subject is the id the model was shown: the pseudonym, never the customer id.
        seen = read.json().get("customer_id", "") if read.status_code == 200 else ""
        output = {"model": "unscored", "subject": str(seen), "score": 0, "label": "ok"}
        wrote = client.request("POST", f"/api/model-outputs/{cid}", headers=headers, json=output)
        for response in (read, wrote):
            if response.status_code < 300:
                report.allowed += 1
            else:
                report.denied += 1
        report.customers += 1
        report.outputs += wrote.status_code == 201
    return report
