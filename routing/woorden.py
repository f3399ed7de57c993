"""The words people read for the routing vocabulary's ids: houses, products, labels, soorten, parties,
queues and kinds of deadline.

One place for them (`data/woorden.yaml`, the houses' names from the gemeente register); the pages,
exports and help texts show these words, the API and the events keep the ids. An id without a word
is shown as itself, so a new product in the rules is never hidden, and tests/test_woorden.py
fails until it has its word.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import yaml

from routing.gemeenten import default_register

PAD = Path(__file__).parent / "data" / "woorden.yaml"
SOORTEN_WOORD = ("producten", "labels", "soorten", "informeren", "wachtrijen", "bronnen", "termijnen")


@cache
def woorden() -> dict[str, dict[str, str]]:
    """Every kind of id with its words; `huizen` from the register."""
    data = yaml.safe_load(PAD.read_text(encoding="utf-8")) or {}
    uit = {soort: {str(k): str(v) for k, v in (data.get(soort) or {}).items()} for soort in SOORTEN_WOORD}
    uit["huizen"] = dict(default_register().zvh_namen)
    return uit


def huis(zvh: str | None) -> str:
    return _woord("huizen", zvh)


def huis_kort(zvh: str | None) -> str:
    """A house by the part of its name the houses do not share (Parkstad), where space is short."""
    naam = huis(zvh)
    return naam.removeprefix(_gedeeld_begin()) or naam


@cache
def _gedeeld_begin() -> str:
    """The words every house's name begins with ("Zorg- en Veiligheidshuis ")."""
    namen = list(woorden()["huizen"].values())
    begin = os.path.commonprefix(namen) if len(namen) > 1 else ""
    return begin[: begin.rfind(" ") + 1]


def product(product_id: str | None) -> str:
    return _woord("producten", product_id)


def label(label_id: str | None) -> str:
    return _woord("labels", label_id)


def soort(soort_id: str | None) -> str:
    return _woord("soorten", soort_id)


def bron(bron_id: str | None) -> str:
    return _woord("bronnen", bron_id)


def partij(partij_id: str | None) -> str:
    return _woord("informeren", partij_id)


def termijn(soort_id: str | None) -> str:
    """A kind of deadline (projections/deadlines.py): its words, or a product's deadline by its product."""
    if not soort_id:
        return ""
    vast = woorden()["termijnen"].get(soort_id)
    if vast:
        return vast
    product_id, _, rest = soort_id.rpartition("-termijn")
    return f"Termijn {product(product_id)}" if product_id and not rest else soort_id


def wachtrij(queue: str | None) -> str:
    """A queue as people read it: `parkstad` → the house, `parkstad/zoco` → house — product."""
    if not queue:
        return ""
    vast = woorden()["wachtrijen"].get(queue)
    if vast:
        return vast
    zvh, _, rest = queue.partition("/")
    return f"{huis(zvh)} — {product(rest)}" if rest else huis(zvh)


def _woord(soort_woord: str, key: str | None) -> str:
    if not key:
        return ""
    return woorden()[soort_woord].get(key, key)
