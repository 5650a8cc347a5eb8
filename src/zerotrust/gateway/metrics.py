"""Prometheus metrics at ``/metrics``: decisions, latency per stage, upstream errors.

Each gateway has its own registry, so two gateways in one process (tests, the bench)
never mix their counts. Label values are stable codes (effects, reason codes, stage and
upstream names from the routes file), never request data, so cardinality stays bounded.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from zerotrust.detect.engine import DetectionEngine
from zerotrust.detect.shared import EventFeed

CONTENT_TYPE: Final = CONTENT_TYPE_LATEST.encode("ascii")
# Sub-millisecond resolution where the chain lives, seconds where upstreams do.
BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
MAX_REASON_CHARS: Final = 64


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.decisions = Counter(
            "zt_gateway_decisions",
            "Access decisions by effect and first reason code.",
            ("effect", "reason"),
            registry=self.registry,
        )
        self.refusals = Counter(
            "zt_gateway_refusals",
            "Requests refused before verification (framing, path, route, method, size).",
            ("status", "code"),
            registry=self.registry,
        )
        self.stage_seconds = Histogram(
            "zt_gateway_stage_seconds",
            "Latency of each stage of the request chain.",
            ("stage",),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "zt_gateway_upstream_errors",
            "Upstream failures by upstream and kind.",
            ("upstream", "kind"),
            registry=self.registry,
        )
        self.withheld = Counter(
            "zt_gateway_withheld_responses",
            "Responses withheld because an obligation could not be applied.",
            registry=self.registry,
        )
        self._stages: dict[str, Histogram] = {}
        self.event_failures = Counter(
            "zt_gateway_event_failures",
            "Security events that could not be published.",
            registry=self.registry,
        )

    def decision(self, effect: str, reason: str) -> None:
        first = reason.split(",", 1)[0][:MAX_REASON_CHARS] or "none"
        self.decisions.labels(effect, first).inc()

    def stage(self, stage: str, seconds: float) -> None:
        child = self._stages.get(stage)
        if child is None:  # label lookups take a lock and a hash each: keep the children
            child = self._stages[stage] = self.stage_seconds.labels(stage)
        child.observe(seconds)

    def stages(self, times: Mapping[str, float]) -> None:
        for stage, seconds in times.items():
            self.stage(stage, seconds)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class DetectionCollector(Collector):
    """This replica's detection engine and event feed, read at each scrape: whether it
    keeps up with the other processes' events and whether its claims store answers."""

    def __init__(self, engine: DetectionEngine, feed: EventFeed) -> None:
        self.engine = engine
        self.feed = feed

    def collect(self) -> Iterator[Metric]:
        stats = self.engine.stats
        yield _counter("zt_detect_events", "Events run through the detectors.", stats.events)
        yield _counter(
            "zt_detect_malformed_events", "Events dropped as malformed.", stats.malformed
        )
        yield _counter(
            "zt_detect_feed_events",
            "Other processes' events taken in at upkeeps.",
            self.feed.seen,
        )
        yield GaugeMetricFamily(
            "zt_detect_feed_gaps",
            "Sequence numbers skipped over and still waited for.",
            value=len(self.feed.gaps),
        )
        alerts = CounterMetricFamily(
            "zt_detect_alerts", "Alerts raised by this process.", labels=("detector",)
        )
        for detector, count in sorted(stats.alerts.items()):
            alerts.add_metric((detector,), count)
        yield alerts
        yield _counter(
            "zt_detect_already_claimed",
            "Alerts not raised here: another process claimed the incident first.",
            stats.already_claimed,
        )
        yield _counter(
            "zt_detect_claim_errors",
            "Alerts raised without a claim: the claims store failed.",
            stats.claim_errors,
        )
        errors = CounterMetricFamily(
            "zt_detect_detector_errors",
            "Detectors (and responders) that raised, by name.",
            labels=("detector",),
        )
        for name, count in sorted(stats.detector_errors.items()):
            errors.add_metric((name,), count)
        yield errors


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)
