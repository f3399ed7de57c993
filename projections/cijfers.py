"""The figures of a year: the houses' annual-report tables, the months' flow, and the loket's own
measure of how fast a melding lands "op de juiste plek".

All read the counts of projections/tellingen.py (cells per year or month, product, gemeente,
house, stream), never the meldingen one by one: a year's figures cost the same on a store of any
length, live and as of a moment. Meldingen are counted by their routing date (`datum`: the day of
`ontvangen_op` in the Netherlands, business time); closing, acceptance and decisions by the time
they were recorded (recording time). The meldingen of compartments a reader does not hold are
never counted (`compartimenten`, as in the caseload). Lead times are counted in buckets
(`projections.tellingen.bak`: 0.1 hour below 48 hours, 1 hour up to 30 days, 1 day up to 90
days, 30 days beyond), so their median and 90th percentile are exact to the resolution of the
bucket they fall in.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from projections.caseload import _gehouden
from projections.store import ProjectionStore

# The tables of the annual report (seed 004, "Cijfers 2017-2018 per deelnemende gemeente"): what
# each counts. A product table counts meldingen routed to that product; detentiemeldingen are
# meldingen of DJI's soorten, whatever they were routed to.
JAARVERSLAG: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("pga", "PGA", "product", ("pga",)),
    ("radicalisering", "Radicalisering", "product", ("radicalisering",)),
    ("huisverbod", "WTH (tijdelijk huisverbod)", "product", ("huisverbod",)),
    ("detentie", "Detentiemeldingen", "soort", ("detentie-in", "detentie-uit", "art18")),
)
# The compartment a table of the annual report lies in: only a reader holding it sees the table.
COMPARTIMENT_VAN_TABEL = {"radicalisering": "radicalisering"}


def maanden(year: int) -> list[str]:
    return [f"{year:04d}-{m:02d}" for m in range(1, 13)]


def _binnen(compartimenten: frozenset[str] | None) -> str:
    """The condition that keeps the cells of compartments the reader does not hold out of a count
    (None: every cell; a cell outside any compartment has '')."""
    if compartimenten is None:
        return "1 = 1"
    marks = ", ".join(f":compartiment_{i}" for i in range(len(compartimenten)))
    return f"(compartiment = '' OR compartiment IN ({marks}))" if compartimenten else "compartiment = ''"


def _leeg(row: dict[str, Any], *kolommen: str) -> dict[str, Any]:
    """A cell's '' (no value) as None, as the meldingen have it."""
    for k in kolommen:
        row[k] = row[k] or None
    return row


def statistiek(store: ProjectionStore, year: int, compartimenten: frozenset[str] | None = None
               ) -> list[dict[str, Any]]:
    """Routed meldingen per product and gemeente, this year and the year before.

    The shape of the annual reports (seed 004: "Cijfers PGA uitgesplitst per gemeente,
    2017 2018"), for every product of every house. Closed meldingen count too.
    """
    rows = store.rows(
        "SELECT zvh, product, gemeente, "
        "CAST(SUM(CASE WHEN jaar = :prev THEN n ELSE 0 END) AS BIGINT) AS vorig_jaar, "
        "CAST(SUM(CASE WHEN jaar = :year THEN n ELSE 0 END) AS BIGINT) AS dit_jaar, "
        "CAST(SUM(CASE WHEN jaar = :year AND status = 'gesloten' THEN n ELSE 0 END) AS BIGINT) AS gesloten "
        "FROM cijfers_tellingen WHERE maat = 'jaar' AND jaar IN (:prev, :year) AND outcome = 'routed' "
        f"AND {_binnen(compartimenten)} GROUP BY zvh, product, gemeente HAVING SUM(n) > 0 "
        "ORDER BY zvh, product, gemeente",
        {"year": str(year), "prev": str(year - 1), **_gehouden(compartimenten)},
    )
    return [_leeg(r, "zvh", "product", "gemeente") for r in rows]


def jaartabellen(store: ProjectionStore, year: int,
                 compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Per house, table of the annual report and gemeente: meldingen in `year - 1` and in `year`
    (those placed at a house: open, in behandeling or closed)."""
    params = {"year": str(year), "prev": str(year - 1), **_gehouden(compartimenten)}
    out: list[dict[str, Any]] = []
    for tabel, _, kolom, waarden in JAARVERSLAG:
        marks = ", ".join(f":w{i}" for i in range(len(waarden)))
        rows = store.rows(
            "SELECT zvh, gemeente, "
            "CAST(SUM(CASE WHEN jaar = :prev THEN n ELSE 0 END) AS BIGINT) AS vorig_jaar, "
            "CAST(SUM(CASE WHEN jaar = :year THEN n ELSE 0 END) AS BIGINT) AS dit_jaar "
            "FROM cijfers_tellingen WHERE maat = 'jaar' AND jaar IN (:prev, :year) "
            f"AND {kolom} IN ({marks}) AND zvh != '' AND status IN ('lopend', 'gesloten') "
            f"AND {_binnen(compartimenten)} GROUP BY zvh, gemeente HAVING SUM(n) > 0 ORDER BY zvh, gemeente",
            {**params, **{f"w{i}": w for i, w in enumerate(waarden)}},
        )
        out.extend({"tabel": tabel, **_leeg(r, "gemeente")} for r in rows)
    return out


def _jaren(store: ProjectionStore, tot: int | None = None) -> dict[str, str]:
    """The years that have month cells (up to `tot`), as parameters `jaar_0`, `jaar_1`, …, from the
    live cells (a cell, once there, stays). A read names them one by one (`_in_jaren`), so that as
    of a moment it seeks each year's versions holding then through the index (node, kind, year,
    position); a range on the year would leave the position unbounded and read every version of
    those years at each node of the path, more the longer the history."""
    tot_en_met = "" if tot is None else " AND jaar <= :tot"
    rows = store.levend().rows(
        f"SELECT DISTINCT jaar FROM cijfers_tellingen WHERE maat = 'maand'{tot_en_met} ORDER BY jaar",
        {"tot": str(tot)})
    return {f"jaar_{i}": r["jaar"] for i, r in enumerate(rows)}


def _in_jaren(jaren: dict[str, str]) -> str:
    return f"jaar IN ({', '.join(f':{k}' for k in jaren)})"


def _maandcellen(store: ProjectionStore, jaren: dict[str, str], compartimenten: frozenset[str] | None
                 ) -> list[dict[str, Any]]:
    """The month cells of these years (`_jaren`) with a count: meldingen placed at a house, per
    month of routing, house, product, state and month closed."""
    return store.rows(
        "SELECT zvh, product, maand, status, gesloten, CAST(SUM(n) AS BIGINT) AS n FROM cijfers_tellingen "
        f"WHERE maat = 'maand' AND {_in_jaren(jaren)} AND {_binnen(compartimenten)} "
        "GROUP BY zvh, product, maand, status, gesloten HAVING SUM(n) > 0",
        {**jaren, **_gehouden(compartimenten)})


def verloop(store: ProjectionStore, compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Flow per house and product per month: meldingen placed at a house by their routing month
    (instroom), closed ones by the month they were closed (uitstroom, recording time, UTC).
    Meldingen sent back to the loket count at the house they went to next, or not at all while they
    wait in triage. From the months' cells of every year, so it costs the same on a store of any
    length, live and as of a moment."""
    jaren = _jaren(store)
    if not jaren:
        return []
    flow: dict[tuple[str, str, str], dict[str, Any]] = {}

    def entry(zvh: str, product: str, maand: str) -> dict[str, Any]:
        return flow.setdefault((zvh, product, maand), {
            "zvh": zvh, "product": product or None, "maand": maand, "instroom": 0, "uitstroom": 0})

    for r in _maandcellen(store, jaren, compartimenten):
        entry(r["zvh"], r["product"], r["maand"])["instroom"] += r["n"]
        if r["status"] == "gesloten":
            entry(r["zvh"], r["product"], r["gesloten"])["uitstroom"] += r["n"]
    return [flow[k] for k in sorted(flow)]


def maandreeksen(store: ProjectionStore, year: int,
                 compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Per house, product and month of `year`: instroom (routed that month), lopend (open at the
    month's end) and te_laat (deadlines passed and not met at the month's end). Meldingen sent
    back to the loket count at the house they went to next, or not at all while they wait."""
    binnen, gehouden = _binnen(compartimenten), _gehouden(compartimenten)
    reeks: dict[tuple[str, str, str], dict[str, Any]] = {}

    def entry(zvh: str, product: str | None, maand: str) -> dict[str, Any]:
        return reeks.setdefault((zvh, product or "", maand), {
            "zvh": zvh, "product": product, "maand": maand, "instroom": 0, "lopend": 0, "te_laat": 0})

    # A melding routed in one year may be open in a later one: the cells of every year up to this one.
    jaren = _jaren(store, year)
    if not jaren:
        return []
    # Two reads of the cells up to the year's end; each month is summed from them here.
    cellen = _maandcellen(store, jaren, compartimenten)
    termijnen = store.rows(
        "SELECT zvh, product, maand, status, gesloten, waarde, CAST(SUM(n) AS BIGINT) AS n FROM cijfers_tellingen "
        f"WHERE maat = 'termijn' AND {_in_jaren(jaren)} AND vlag = 1 AND zvh != '' AND waarde <= :laatste "
        f"AND {binnen} GROUP BY zvh, product, maand, status, gesloten, waarde HAVING SUM(n) > 0",
        {**gehouden, **jaren, "laatste": maanden(year)[-1]})
    for maand in maanden(year):
        per: dict[tuple[str, str], list[int]] = {}
        for r in cellen:
            if r["maand"] <= maand:
                som = per.setdefault((r["zvh"], r["product"]), [0, 0])
                som[0] += r["n"] if r["maand"] == maand else 0
                som[1] += r["n"] if r["status"] != "gesloten" or r["gesloten"] > maand else 0
        for (zvh, product), (instroom, lopend) in per.items():
            e = entry(zvh, product or None, maand)
            e["instroom"], e["lopend"] = instroom, lopend
        laat: dict[tuple[str, str], int] = {}
        for r in termijnen:
            if r["maand"] <= maand and r["waarde"] <= maand and (r["status"] != "gesloten" or r["gesloten"] > maand):
                laat[(r["zvh"], r["product"])] = laat.get((r["zvh"], r["product"]), 0) + r["n"]
        for (zvh, product), n in laat.items():
            entry(zvh, product or None, maand)["te_laat"] = n
    return [reeks[k] for k in sorted(reeks)]


def percentiel(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _percentiel(histogram: dict[float, int], p: float) -> float | None:
    """`percentiel` of the values counted in a histogram (value: how many)."""
    totaal = sum(histogram.values())
    if not totaal:
        return None
    rang = max(0, math.ceil(p / 100 * totaal) - 1)
    gezien = 0
    for waarde in sorted(histogram):
        gezien += histogram[waarde]
        if gezien > rang:
            return waarde
    return None  # pragma: no cover (the ranks lie within the total)


def doorlooptijden(store: ProjectionStore, year: int, compartimenten: frozenset[str] | None = None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """How fast meldingen of `year` landed "op de juiste plek", per stream (soort) and house, for the
    whole year and per month of receipt: hours from receipt (`ontvangen_op`) to the first decision
    that placed it (routed, decided from triage, rerouted, referred), hours from that decision to
    the house's acceptance, and the share that was sent back or rerouted; median and 90th
    percentile, exact to the resolution of the lead time's bucket."""
    params = {"year": str(year), **_gehouden(compartimenten)}
    binnen = _binnen(compartimenten)
    groepen: dict[tuple[str, str, str], dict[str, Any]] = {}

    def groep(soort: str, zvh: str, maand: str) -> dict[str, Any]:
        return groepen.setdefault((soort, zvh, maand), {
            "meldingen": 0, "terug": 0, "besluit": defaultdict(int), "acceptatie": defaultdict(int)})

    for r in store.rows(
        "SELECT maat, maand, soort, zvh, vlag, waarde, CAST(SUM(n) AS BIGINT) AS n FROM cijfers_tellingen "
        f"WHERE maat IN ('doorloop', 'acceptatie') AND jaar = :year AND {binnen} "
        "GROUP BY maat, maand, soort, zvh, vlag, waarde HAVING SUM(n) > 0", params,
    ):
        for g in (groep(r["soort"], r["zvh"], r["maand"]), groep(r["soort"], r["zvh"], str(year))):
            if r["maat"] == "acceptatie":
                g["acceptatie"][float(r["waarde"])] += r["n"]
                continue
            g["meldingen"] += r["n"]
            g["terug"] += r["n"] if r["vlag"] else 0
            if r["waarde"]:
                g["besluit"][float(r["waarde"])] += r["n"]
    per_jaar = [_regel(k, g) for k, g in sorted(groepen.items()) if k[2] == str(year)]
    per_maand = [_regel(k, g) for k, g in sorted(groepen.items()) if k[2] != str(year)]
    return per_jaar, per_maand


def _regel(sleutel: tuple[str, str, str], g: dict[str, Any]) -> dict[str, Any]:
    soort, zvh, maand = sleutel
    beslist, geaccepteerd = sum(g["besluit"].values()), sum(g["acceptatie"].values())
    return {
        "soort": soort, "zvh": zvh or None, "maand": maand, "meldingen": g["meldingen"], "beslist": beslist,
        "beslissing_mediaan_uren": _rond(_percentiel(g["besluit"], 50)),
        "beslissing_p90_uren": _rond(_percentiel(g["besluit"], 90)),
        "geaccepteerd": geaccepteerd,
        "acceptatie_mediaan_uren": _rond(_percentiel(g["acceptatie"], 50)),
        "acceptatie_p90_uren": _rond(_percentiel(g["acceptatie"], 90)),
        "teruggestuurd_of_herrouteerd": g["terug"],
        "aandeel_terug_of_om": round(g["terug"] / beslist, 3) if beslist else None,
    }


def _rond(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
