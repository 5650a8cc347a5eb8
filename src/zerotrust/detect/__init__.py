"""Real-time threat detection and automated response (see docs/detection.md).

``engine.DetectionEngine`` is an ``EventSink``: security events in, alerts out, risk
scores updated and playbooks run. ``replay``, ``simulate`` and ``evaluate`` run the same
detectors offline over stored or simulated events.
"""
