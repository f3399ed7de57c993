"""The figures of a year as they were computed before they were counted (projections/tellingen.py): from
the caseload rows, the deadlines and the audit trail, one melding at a time; the reference the counts
must equal. Lead times are put in the counts' buckets before their percentiles are taken.

The figures of a year: the houses' annual-report tables, the months' flow, and the loket's own
measure of how fast a melding lands "op de juiste plek".

All read the caseload rows (projections/caseload.py), the deadlines and the audit trail; none
keeps a table of its own. Meldingen are counted by their routing date (`datum`: the day of
`ontvangen_op` in the Netherlands, business time); closing, acceptance and decisions by the time
they were recorded (`tijdstip`, `status_sinds`: recording time). The meldingen of compartments a
reader does not hold are never counted (`compartimenten`, as in the caseload).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from events.status import GESLOTEN, IN_BEHANDELING, OPEN
from projections.caseload import _binnen, _gehouden
from projections.cijfers import JAARVERSLAG, maanden
from projections.store import ProjectionStore
from projections.tellingen import BESLUITEN, TERUG_OF_OM, bak
from routing.tijd import NL

# What the figures count is said once (projections/cijfers.py, projections/tellingen.py); the
# reference computes the same figures another way, from the meldingen one by one.


def _met_c(binnen: str) -> str:
    """The compartment condition on the caseload rows joined as `c` (its parameters unchanged)."""
    return re.sub(r"(?<!:)\bcompartiment\b", "c.compartiment", binnen)


def _maand_einde(maand: str) -> str:
    """The last moment of a month as an ISO prefix comparable with dates and UTC timestamps."""
    year, month = int(maand[:4]), int(maand[5:7])
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt.isoformat()


def jaartabellen(store: ProjectionStore, year: int,
                 compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Per house, table of the annual report and gemeente: meldingen in `year - 1` and in `year`."""
    binnen, gehouden = _binnen(compartimenten), _gehouden(compartimenten)
    params = {"year": str(year), "prev": str(year - 1), **gehouden}
    out: list[dict[str, Any]] = []
    for tabel, _, kolom, waarden in JAARVERSLAG:
        marks = ", ".join(f":w{i}" for i in range(len(waarden)))
        rows = store.rows(
            "SELECT zvh, gemeente, "
            "SUM(CASE WHEN substr(datum, 1, 4) = :prev THEN 1 ELSE 0 END) AS vorig_jaar, "
            "SUM(CASE WHEN substr(datum, 1, 4) = :year THEN 1 ELSE 0 END) AS dit_jaar "
            f"FROM caseload_meldingen WHERE {kolom} IN ({marks}) AND zvh IS NOT NULL "
            "AND status IN (:open, :behandeling, :gesloten) "
            f"AND substr(datum, 1, 4) IN (:prev, :year) AND {binnen} GROUP BY zvh, gemeente "
            "ORDER BY zvh NULLS FIRST, gemeente NULLS FIRST",
            {**params, **{f"w{i}": w for i, w in enumerate(waarden)},
             "open": OPEN, "behandeling": IN_BEHANDELING, "gesloten": GESLOTEN},
        )
        out.extend({"tabel": tabel, **r} for r in rows)
    return out


def maandreeksen(store: ProjectionStore, year: int,
                 compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Per house, product and month of `year`: instroom (routed that month), lopend (open at the
    month's end) and te_laat (deadlines passed and not met at the month's end)."""
    binnen, gehouden = _binnen(compartimenten), _gehouden(compartimenten)
    reeks: dict[tuple[str, str, str], dict[str, Any]] = {}

    def entry(zvh: str, product: str, maand: str) -> dict[str, Any]:
        return reeks.setdefault((zvh, product, maand), {
            "zvh": zvh, "product": product, "maand": maand, "instroom": 0, "lopend": 0, "te_laat": 0})

    gezien = {"open": OPEN, "behandeling": IN_BEHANDELING, "gesloten": GESLOTEN, **gehouden}
    for maand in maanden(year):
        einde = _maand_einde(maand)
        for r in store.rows(
            "SELECT zvh, product, "
            "SUM(CASE WHEN substr(datum, 1, 7) = :maand THEN 1 ELSE 0 END) AS instroom, "
            "SUM(CASE WHEN status != :gesloten OR status_sinds >= :einde THEN 1 ELSE 0 END) AS lopend "
            "FROM caseload_meldingen WHERE zvh IS NOT NULL AND status IN (:open, :behandeling, :gesloten) "
            f"AND datum < :einde AND {binnen} GROUP BY zvh, product",
            {**gezien, "maand": maand, "einde": einde},
        ):
            e = entry(r["zvh"], r["product"], maand)
            e["instroom"], e["lopend"] = r["instroom"], r["lopend"]
        for r in store.rows(
            "SELECT COALESCE(d.zvh, c.zvh) AS zvh, COALESCE(d.product, c.product) AS product, COUNT(*) AS n "
            "FROM deadlines d JOIN caseload_meldingen c ON c.melding_id = d.melding_id "
            "WHERE d.vervalt_op < :einde AND c.datum < :einde "
            "AND (c.status != :gesloten OR c.status_sinds >= :einde) AND (d.afgehandeld = 0 OR c.status = :gesloten) "
            f"AND c.status IN (:open, :behandeling, :gesloten) AND {_met_c(binnen)} "
            "GROUP BY 1, 2",
            {**gezien, "einde": einde},
        ):
            if r["zvh"]:
                entry(r["zvh"], r["product"], maand)["te_laat"] = r["n"]
    return [reeks[k] for k in sorted(reeks)]


def _uren(van: datetime, tot: datetime) -> float:
    return max(0.0, (tot - van).total_seconds() / 3600)


def _moment(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=NL)


def percentiel(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def doorlooptijden(store: ProjectionStore, year: int, compartimenten: frozenset[str] | None = None
                   ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """How fast meldingen of `year` landed "op de juiste plek", per stream (soort) and house, for the
    whole year and per month of receipt: hours from receipt (`ontvangen_op`) to the first decision
    that placed it (routed, decided from triage, rerouted, referred), hours from that decision to
    the house's acceptance, and the share that was sent back or rerouted; median and 90th
    percentile. One read of the trail for both."""
    binnen = _met_c(_binnen(compartimenten))
    rows = store.rows(
        "SELECT c.melding_id, c.soort, c.zvh, c.datum, c.ontvangen_op, a.gebeurtenis, a.tijdstip "
        "FROM caseload_meldingen c JOIN audit_trail a ON a.melding_id = c.melding_id "
        f"WHERE substr(c.datum, 1, 4) = :year AND c.soort IS NOT NULL AND {binnen} ORDER BY c.melding_id, a.versie",
        {"year": str(year), **_gehouden(compartimenten)},
    )
    per_melding: dict[str, dict[str, Any]] = {}
    for r in rows:
        m = per_melding.get(r["melding_id"])
        if m is None:
            m = per_melding[r["melding_id"]] = {
                "soort": r["soort"], "zvh": r["zvh"] or "", "maand": r["datum"][:7],
                "ontvangen": _moment(r["ontvangen_op"]), "beslist": None, "geaccepteerd": None, "terug": False}
        if r["gebeurtenis"] in BESLUITEN and m["beslist"] is None:
            m["beslist"] = datetime.fromisoformat(r["tijdstip"])
        elif r["gebeurtenis"] == "MeldingGeaccepteerd" and m["beslist"] is not None and m["geaccepteerd"] is None:
            m["geaccepteerd"] = datetime.fromisoformat(r["tijdstip"])
        if r["gebeurtenis"] in TERUG_OF_OM:
            m["terug"] = True
    for m in per_melding.values():
        m["tot_besluit"] = _uren(m["ontvangen"], m["beslist"]) if m["beslist"] else None
        m["tot_acceptatie"] = _uren(m["beslist"], m["geaccepteerd"]) if m["geaccepteerd"] else None
    return _groepen(per_melding.values(), str(year), per_maand=False), _groepen(per_melding.values(), str(year))


def _groepen(meldingen: Any, jaar: str, *, per_maand: bool = True) -> list[dict[str, Any]]:
    groepen: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for m in meldingen:
        groepen[(m["soort"], m["zvh"], m["maand"] if per_maand else jaar)].append(m)
    out = []
    for (soort, zvh, maand), ms in sorted(groepen.items()):
        beslissing = [bak(m["tot_besluit"]) for m in ms if m["tot_besluit"] is not None]
        acceptatie = [bak(m["tot_acceptatie"]) for m in ms if m["tot_acceptatie"] is not None]
        terug = sum(1 for m in ms if m["terug"])
        out.append({
            "soort": soort, "zvh": zvh or None, "maand": maand, "meldingen": len(ms), "beslist": len(beslissing),
            "beslissing_mediaan_uren": _rond(percentiel(beslissing, 50)),
            "beslissing_p90_uren": _rond(percentiel(beslissing, 90)),
            "geaccepteerd": len(acceptatie),
            "acceptatie_mediaan_uren": _rond(percentiel(acceptatie, 50)),
            "acceptatie_p90_uren": _rond(percentiel(acceptatie, 90)),
            "teruggestuurd_of_herrouteerd": terug,
            "aandeel_terug_of_om": round(terug / len(beslissing), 3) if beslissing else None,
        })
    return out


def _rond(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def statistiek(store: ProjectionStore, year: int, compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT zvh, product, gemeente, "
        "SUM(CASE WHEN substr(datum, 1, 4) = :prev THEN 1 ELSE 0 END) AS vorig_jaar, "
        "SUM(CASE WHEN substr(datum, 1, 4) = :year THEN 1 ELSE 0 END) AS dit_jaar, "
        "SUM(CASE WHEN substr(datum, 1, 4) = :year AND status = :gesloten THEN 1 ELSE 0 END) AS gesloten "
        "FROM caseload_meldingen WHERE outcome = 'routed' AND substr(datum, 1, 4) IN (:prev, :year) "
        f"AND {_binnen(compartimenten)} GROUP BY zvh, product, gemeente "
        "ORDER BY zvh NULLS FIRST, product NULLS FIRST, gemeente NULLS FIRST",
        {"year": str(year), "prev": str(year - 1), "gesloten": GESLOTEN, **_gehouden(compartimenten)},
    )


def verloop(store: ProjectionStore, compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Flow per house and product per month: routed meldingen by their routing month (instroom),
    closed ones by the month they were closed (uitstroom). Meldingen sent back to the loket
    are counted at the house they went to next, or not at all while they wait in triage."""
    binnen, gehouden = _binnen(compartimenten), _gehouden(compartimenten)
    instroom = store.rows(
        "SELECT zvh, product, substr(datum, 1, 7) AS maand, COUNT(*) AS n FROM caseload_meldingen "
        f"WHERE zvh IS NOT NULL AND status IN (:open, :behandeling, :gesloten) AND {binnen} "
        "GROUP BY zvh, product, maand",
        {"open": OPEN, "behandeling": IN_BEHANDELING, "gesloten": GESLOTEN, **gehouden},
    )
    uitstroom = store.rows(
        "SELECT zvh, product, substr(status_sinds, 1, 7) AS maand, COUNT(*) AS n FROM caseload_meldingen "
        f"WHERE zvh IS NOT NULL AND status = :gesloten AND {binnen} GROUP BY zvh, product, maand",
        {"gesloten": GESLOTEN, **gehouden},
    )
    flow: dict[tuple[str, str, str], dict[str, Any]] = {}
    for rows, key in ((instroom, "instroom"), (uitstroom, "uitstroom")):
        for r in rows:
            entry = flow.setdefault((r["zvh"], r["product"], r["maand"]), {
                "zvh": r["zvh"], "product": r["product"], "maand": r["maand"], "instroom": 0, "uitstroom": 0,
            })
            entry[key] = r["n"]
    return [flow[k] for k in sorted(flow)]
