"""The one metrics registry. Series carry ids, counts and codes; never personal data.

Serve it with `prometheus_client.generate_latest(REGISTRY)` (e.g. on /metrics).
Label values come from closed sets (the contract's bronnen and soorten, the
ruleset's houses and products, the contract's field names, route templates), so
a sender cannot create series, nor smuggle a value into one.
"""

from __future__ import annotations

import collections
import json
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from events.intake import BRONNEN, SOORTEN, veilig_veld, veldpaden
from events.toegang import compartiment_van
from routing import Beslissing, Feiten, Ruleset

REGISTRY = CollectorRegistry()

CONSUMER_LAG = Gauge(
    "loket_consumer_lag",
    "Messages on a partition not yet consumed and committed by a loket consumer group",
    ["group", "topic", "partition"],
    registry=REGISTRY,
)

MELDINGEN_ONTVANGEN = Counter(
    "loket_meldingen_ontvangen",
    "Meldingen received, new ones only (a resend is a duplicate), by bron and soort",
    ["bron", "soort"],
    registry=REGISTRY,
)
DUPLICATEN = Counter(
    "loket_meldingen_duplicaat",
    "Meldingen received again under a (bron, kenmerk) or payload already recorded",
    registry=REGISTRY,
)
BESLISSINGEN = Counter(
    "loket_beslissingen",
    "Routing decisions, made by the rules at intake or by a person (door=regels|handmatig)",
    ["zvh", "product", "outcome", "door"],
    registry=REGISTRY,
)
AFGEWEZEN = Counter(
    "loket_meldingen_afgewezen",
    "Validation errors of rejected meldingen, by the field at fault (never its value)",
    ["reden"],
    registry=REGISTRY,
)
HANDELINGEN = Counter(
    "loket_handelingen",
    "Lifecycle commands carried out (accept, return, reroute, decide, topx, close)",
    ["handeling"],
    registry=REGISTRY,
)
ROUTING_SECONDS = Histogram(
    "loket_routing_seconds",
    "Time the ruleset takes to decide one melding",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25),
    registry=REGISTRY,
)
PROJECTIE_ACHTERSTAND = Gauge(
    "loket_projectie_achterstand",
    "Events in the notification log that a projection has not processed yet",
    ["projectie"],
    registry=REGISTRY,
)
HTTP_REQUESTS = Counter(
    "loket_http_requests",
    "HTTP requests, by method, route template and status code",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "loket_http_request_seconds",
    "HTTP request duration, by route template",
    ["route"],
    registry=REGISTRY,
)

ONGELDIG = "ongeldig"
ONBEKEND_VELD = "onbekend-veld"
_VELDPADEN = veldpaden()


def _bekend(value: Any, known: tuple[str, ...]) -> str:
    return value if isinstance(value, str) and value in known else ONGELDIG


def afwijzingsreden(field: str) -> str:
    """The contract field an error is about, from a closed set: list positions become `*`, and a
    key the contract does not know (or anything past it) becomes one label."""
    path = ".".join("*" if part.isdigit() else part for part in veilig_veld(field).split("."))
    return path if path in _VELDPADEN and "(" not in path else ONBEKEND_VELD


def ontvangsten(batch: Iterable[tuple[bytes, str, Beslissing]]) -> None:
    """Count meldingen taken in (one, or a batch): received, decided or rejected; one increment per
    distinct set of labels, as a batch from Kafka is hundreds of meldingen over a handful of labels."""
    duplicaten = 0
    afgewezen: collections.Counter[str] = collections.Counter()
    ontvangen: collections.Counter[tuple[str, str]] = collections.Counter()
    beslist: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for raw, status, beslissing in batch:
        if status == "duplicaat":
            duplicaten += 1
            continue
        if beslissing.outcome == "rejected":
            afgewezen.update({afwijzingsreden(e.get("field", "")) for e in beslissing.errors})
            continue
        try:
            data = json.loads(raw)
        except ValueError:  # cannot happen for an accepted melding; counted all the same
            data = {}
        soort = data.get("soort")
        if in_compartiment(soort, beslissing):
            continue
        ontvangen[_bekend(data.get("bron"), BRONNEN), _bekend(soort, SOORTEN)] += 1
        beslist[beslissing.zvh or "-", beslissing.product or "-", beslissing.outcome] += 1
    if duplicaten:
        DUPLICATEN.inc(duplicaten)
    for reden, n in sorted(afgewezen.items()):
        AFGEWEZEN.labels(reden=reden).inc(n)
    for (bron, soort), n in ontvangen.items():
        MELDINGEN_ONTVANGEN.labels(bron=bron, soort=soort).inc(n)
    for (zvh, product, outcome), n in beslist.items():
        BESLISSINGEN.labels(zvh=zvh, product=product, outcome=outcome, door="regels").inc(n)


def in_compartiment(soort: Any, beslissing: Beslissing) -> bool:
    """Meldingen of a restricted compartment are counted nowhere here: /metrics is read without a
    token, and the radicalisering casuïstiek is shared only under its own convenant (seed 003)."""
    return compartiment_van(soort if isinstance(soort, str) else None, beslissing.product) is not None


def beslissing_geteld(beslissing: Beslissing, *, door: str, compartiment: str | None = None) -> None:
    if compartiment is not None or in_compartiment(None, beslissing):
        return
    BESLISSINGEN.labels(
        zvh=beslissing.zvh or "-",
        product=beslissing.product or "-",
        outcome=beslissing.outcome,
        door=door,
    ).inc()


class GemetenRuleset(Ruleset):
    """A ruleset whose decisions are timed into `loket_routing_seconds`; otherwise the same."""

    def decide(self, feiten: Feiten) -> Beslissing:
        started = time.perf_counter()
        try:
            return super().decide(feiten)
        finally:
            ROUTING_SECONDS.observe(time.perf_counter() - started)

# Expensive reads (as-of reads, a year's figures, exports) share a few places (loket/service.py, Rem).
ZWARE_LEZINGEN_BEZIG = Gauge(
    "loket_zware_lezingen_bezig",
    "Expensive reads (as-of, statistics, exports) running now",
    registry=REGISTRY,
)
ZWARE_LEZINGEN_GEWEIGERD = Counter(
    "loket_zware_lezingen_geweigerd",
    "Expensive reads refused because every place was taken and the queue was full or the wait too long",
    registry=REGISTRY,
)
