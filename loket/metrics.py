"""The one metrics registry. Series carry ids, counts and codes; never personal data.

Serve it with `prometheus_client.generate_latest(REGISTRY)` (e.g. on /metrics).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge

REGISTRY = CollectorRegistry()

CONSUMER_LAG = Gauge(
    "loket_consumer_lag",
    "Messages on a partition not yet consumed and committed by a loket consumer group",
    ["group", "topic", "partition"],
    registry=REGISTRY,
)
