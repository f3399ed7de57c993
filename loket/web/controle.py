"""The auditors' pages: a year's figures (with CSV and XLSX), the access log (with CSV), which rules
were in force on a day, and the export of a melding's whole trail for a subject access request.

Every page calls the service layer (loket/service.py) and shows the words of routing/woorden.py and
events/status.py. Filters live in the address (bookmarkable); nothing here reads personal data on
a GET: the export for a subject access request is a form (POST), since for a role that reads
personal data it reads them, and that read is logged.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from events.logboek import doelen
from loket.service import LOGREGELS_PER_PAGINA, Cijfers, Dienst, OngeldigVeld
from loket.service import datum as lees_datum
from loket.service import moment as lees_moment
from loket.uitvoer import TABELNAMEN, cijfer_bladen, csv_bytes, toegangslog_blad, vastgelegd, xlsx_bytes
from loket.web import grafiek
from loket.web.auth import Diensten, csrf_klopt
from loket.web.pages import Wie, foutpagina, render, templates
from routing import woorden
from routing.tijd import vandaag

router = APIRouter()
templates.env.filters["vastgelegd"] = vastgelegd
templates.env.filters["huis"] = woorden.huis
templates.env.filters["product"] = woorden.product
templates.env.filters["stroom"] = woorden.soort

def duur(uren: float | None) -> str:
    """A lead time as people read it: hours under two days, days from there."""
    if uren is None:
        return "—"
    if uren < 48:
        return f"{uren:.1f} uur".replace(".", ",")
    return f"{uren / 24:.1f} dagen".replace(".", ",")


def aandeel(waarde: float | None) -> str:
    return "—" if waarde is None else f"{waarde * 100:.0f}%"


templates.env.filters["duur"] = duur
templates.env.filters["aandeel"] = aandeel
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def dag(text: str | None, field: str) -> date | None:
    """A day as people type it (service.datum: 30-06-2025 or 2025-06-30); empty is none."""
    text = (text or "").strip()
    return lees_datum(text, field) if text else None


def _download(body: bytes, naam: str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{naam}"'})


def _jaar(jaar: str | None) -> int:
    if not jaar:
        return vandaag().year
    if not jaar.isdigit() or not 1901 <= int(jaar) <= 9998:
        raise OngeldigVeld("jaar", "Geef een jaar, bijvoorbeeld 2025.")
    return int(jaar)


# Statistics --------------------------------------------------------------------------


def _reeksen(c: Cijfers, maat: str, product: str | None) -> dict[str, list[tuple[str, int]]]:
    """One line per house over the year's months (of one product, or all)."""
    per_huis: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in c.maanden:
        if product is None or r["product"] == product:
            # The chart names a line at its end, where the houses' short names fit.
            per_huis[woorden.huis(r["zvh"]).removeprefix("Zorg- en Veiligheidshuis ")][r["maand"]] += r[maat]
    months = [f"{c.jaar:04d}-{m:02d}" for m in range(1, 13)]
    return {huis: [(m, waarden.get(m, 0)) for m in months] for huis, waarden in sorted(per_huis.items())}


def _jaarverslag(c: Cijfers) -> dict[str, list[dict[str, Any]]]:
    """Per house its annual-report tables, each with its gemeenten as rows and a total."""
    per_huis: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for r in c.jaartabellen:
        per_huis[r["zvh"]][r["tabel"]].append(r)
    uit: dict[str, list[dict[str, Any]]] = {}
    for zvh in sorted(per_huis):
        uit[zvh] = [{"tabel": t, "naam": TABELNAMEN[t], "rijen": rijen,
                     "vorig": sum(r["vorig_jaar"] for r in rijen), "dit": sum(r["dit_jaar"] for r in rijen)}
                    for t, rijen in ((t, per_huis[zvh][t]) for t in TABELNAMEN) if rijen]
    return uit


def _per_product(c: Cijfers) -> dict[str, list[dict[str, Any]]]:
    per_huis: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    for r in c.per_product:
        tel = per_huis[r["zvh"]][r["product"]]
        tel[0] += r["vorig_jaar"]
        tel[1] += r["dit_jaar"]
    return {zvh: [{"product": p, "vorig": v, "dit": d} for p, (v, d) in sorted(rows.items())]
            for zvh, rows in sorted(per_huis.items())}


def _doorloop(c: Cijfers) -> dict[str, dict[str, Any]]:
    per_huis: dict[str, dict[str, Any]] = {}
    for r in c.doorlooptijden:
        per_huis.setdefault(r["zvh"] or "", {"jaar": [], "maanden": []})["jaar"].append(r)
    for r in c.doorlooptijden_per_maand:
        per_huis.setdefault(r["zvh"] or "", {"jaar": [], "maanden": []})["maanden"].append(r)
    return dict(sorted(per_huis.items(), key=lambda kv: (kv[0] == "", kv[0])))


def _statistiek(d: Dienst, wie: Any, jaar: int, stand: date | None = None) -> Cijfers:
    """A year's figures, live or as the loket had recorded them by the end of `stand` (from the
    projections' history)."""
    with d.overzicht(wie, lees_moment(stand.isoformat(), "stand") if stand else None) as o:
        return o.cijfers(jaar)


def _stand(wie: Any, stand: str | None) -> date | None:
    """The day an auditor looks back from; a role that may not look back gets the live figures."""
    op = dag(stand, "stand") if stand and wie.mag("als_op") else None
    if op is not None and not date(1901, 1, 1) <= op <= date(9999, 12, 30):
        raise OngeldigVeld("stand", "not a day within the calendar")
    return op


@router.get("/statistiek")
def statistiek(request: Request, wie: Wie, d: Diensten, jaar: str | None = None,
               product: str | None = None, stand: str | None = None) -> Response:
    fouten = {}
    try:
        year = _jaar(jaar)
    except OngeldigVeld as exc:
        fouten["jaar"] = exc.message
    try:
        op = _stand(wie, stand)
    except OngeldigVeld:
        fouten["stand"] = "Geef een datum als dd-mm-jjjj, bijvoorbeeld 30-06-2025."
    if fouten:
        return render(request, "statistiek.html", 422, wie=wie, jaar=jaar, stand=stand, veldfouten=fouten,
                      c=None, producten=[], product=None)
    c = _statistiek(d, wie, year, op)
    producten = sorted({r["product"] for r in c.maanden})
    gekozen = product if product in producten else None
    titel = f" — {woorden.product(gekozen)}" if gekozen else ""
    maten = (
        ("instroom", "Instroom per maand", f"Instroom per maand per huis{titel}"),
        ("lopend", "Lopend aan het eind van de maand", f"Lopende meldingen aan het eind van de maand per huis{titel}"),
        ("te_laat", "Te laat aan het eind van de maand",
         f"Termijnen verlopen en niet gehaald, eind van de maand{titel}"),
    )
    grafieken = [(maat, kop, grafiek.lijnen(_reeksen(c, maat, gekozen), titel=lang, naam=maat.replace("_", "-")))
                 for maat, kop, lang in maten]
    tabellen = {maat: _reeksen(c, maat, gekozen) for maat, _, _ in grafieken}
    return render(request, "statistiek.html", wie=wie, jaar=str(year), c=c, veldfouten={},
                  jaarverslag=_jaarverslag(c), per_product=_per_product(c), grafieken=grafieken, tabellen=tabellen,
                  doorloop=_doorloop(c), producten=producten, product=gekozen,
                  stand=op.strftime("%d-%m-%Y") if op else "", stand_query=f"&stand={op.isoformat()}" if op else "")


@router.get("/statistiek.csv")
def statistiek_csv(wie: Wie, d: Diensten, jaar: str | None = None, blad: str = "jaarverslag",
                   stand: str | None = None) -> Response:
    year = _jaar(jaar)
    bladen = {b.id: b for b in cijfer_bladen(_statistiek(d, wie, year, _stand(wie, stand)))}
    if blad not in bladen:
        raise OngeldigVeld("blad", f"one of {', '.join(bladen)}")
    return _download(csv_bytes(bladen[blad]), f"loket-{blad}-{year}.csv", "text/csv; charset=utf-8")


@router.get("/statistiek.xlsx")
def statistiek_xlsx(wie: Wie, d: Diensten, jaar: str | None = None, stand: str | None = None) -> Response:
    year = _jaar(jaar)
    bladen = cijfer_bladen(_statistiek(d, wie, year, _stand(wie, stand)))
    return _download(xlsx_bytes(bladen), f"loket-cijfers-{year}.xlsx", XLSX)


# The access log ----------------------------------------------------------------------


LOGFOUTEN = {
    "van": "Geef een datum als dd-mm-jjjj, bijvoorbeeld 30-06-2025.",
    "tot": "Geef een datum als dd-mm-jjjj, bijvoorbeeld 30-06-2025.",
    "betrokkene": "Geef het pseudoniem van de betrokkene: 64 tekens, cijfers en a tot en met f.",
}


def _logfilters(d: Dienst, melding: str | None, actor: str | None, van: str | None, tot: str | None,
                doel: str | None, betrokkene: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The filters of the access log from the address, and the Dutch error at each field that is wrong."""
    fouten: dict[str, str] = {}
    filters: dict[str, Any] = {"actor": (actor or "").strip() or None, "betrokkene": (betrokkene or "").strip() or None}
    try:
        filters["melding"] = d.melding_id_van(melding, "melding") if melding and melding.strip() else None
    except OngeldigVeld:
        fouten["melding"] = "Geef een melding-id of bron:kenmerk, bijvoorbeeld politie:VIA-2025-000123."
    for veld, tekst in (("van", van), ("tot", tot)):
        try:
            filters[veld] = dag(tekst, veld)
        except OngeldigVeld:
            fouten[veld] = LOGFOUTEN[veld]
    if filters.get("van") and filters.get("tot") and filters["van"] > filters["tot"]:
        fouten["tot"] = "De einddatum ligt voor de begindatum."
    if doel and doel not in doelen():
        fouten["doel"] = "Kies een doel uit de lijst."
    filters["doel"] = doel or None
    return filters, fouten


@router.get("/toegangslog")
def toegangslog(request: Request, wie: Wie, d: Diensten, melding: str | None = None, actor: str | None = None,
                van: str | None = None, tot: str | None = None, doel: str | None = None,
                betrokkene: str | None = None, pagina: int = 1) -> Response:
    d.vereist(wie, "toegangslog")
    filters, fouten = _logfilters(d, melding, actor, van, tot, doel, betrokkene)
    invoer = {"melding": melding or "", "actor": actor or "", "van": van or "", "tot": tot or "", "doel": doel or "",
              "betrokkene": betrokkene or ""}
    if fouten:
        return render(request, "toegangslog.html", 422, wie=wie, invoer=invoer, veldfouten=fouten, log=None,
                      doelen=doelen(), query="")
    try:
        log = d.toegangslog_pagina(wie, **filters, pagina=max(1, pagina), per_pagina=LOGREGELS_PER_PAGINA)
    except OngeldigVeld as exc:  # a day outside the calendar, a subject that is no pseudonym
        return render(request, "toegangslog.html", 422, wie=wie, invoer=invoer, doelen=doelen(), log=None, query="",
                      veldfouten={exc.field: LOGFOUTEN.get(exc.field, exc.message)})
    query = "&".join(f"{k}={v}" for k, v in request.query_params.items() if k != "pagina" and v)
    return render(request, "toegangslog.html", wie=wie, invoer=invoer, veldfouten={}, log=log, doelen=doelen(),
                  query=query, melding_id=filters["melding"])


@router.get("/toegangslog.csv")
def toegangslog_csv(wie: Wie, d: Diensten, melding: str | None = None, actor: str | None = None,
                    van: str | None = None, tot: str | None = None, doel: str | None = None,
                    betrokkene: str | None = None) -> Response:
    d.vereist(wie, "toegangslog")
    filters, fouten = _logfilters(d, melding, actor, van, tot, doel, betrokkene)
    if fouten:
        veld, tekst = next(iter(fouten.items()))
        raise OngeldigVeld(veld, tekst)
    rows = d.toegangslog(wie, **filters)
    return _download(csv_bytes(toegangslog_blad(rows)), "loket-toegangslog.csv", "text/csv; charset=utf-8")


# The rules in force on a day -----------------------------------------------------------


@router.get("/regels")
def regels(request: Request, wie: Wie, d: Diensten, datum: str | None = None, melding: str | None = None) -> Response:
    try:
        op = dag(datum, "datum") or vandaag()
        r = d.regels_op(wie, op)
    except OngeldigVeld:
        return render(request, "regels.html", 422, wie=wie, datum=datum, veldfouten={
            "datum": "Geef een datum als dd-mm-jjjj, bijvoorbeeld 30-06-2025."}, r=None, tabellen={}, uitleg=None)
    tabellen: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for regel in r.regels:
        tabellen[regel["tabel"]].append(regel)
    uitleg = None
    if melding:
        melding_id = d.melding_id_van(melding, "melding")
        found = d.uitleg(wie, melding_id)
        uitleg = {**found.gegevens, "tekst": found.trace.render() if found.trace else ""}
    return render(request, "regels.html", wie=wie, datum=op.strftime("%d-%m-%Y"), veldfouten={}, r=r,
                  tabellen=dict(tabellen), uitleg=uitleg)


@router.get("/regels/bestanden/{naam}")
def regelbestand(request: Request, naam: str, wie: Wie, d: Diensten) -> Response:
    """A rule file as data, as it is in the ruleset this loket runs (and ran, while the version is the same)."""
    versie, tekst = d.regelbestand(wie, naam)
    return render(request, "regelbestand.html", wie=wie, naam=naam, versie=versie, tekst=tekst)


# A subject access request ----------------------------------------------------------------


@router.post("/meldingen/{melding_id}/inzageverzoek")
def inzageverzoek(request: Request, melding_id: UUID, wie: Wie, d: Diensten,
                  csrf_token: Annotated[str, Form(alias="csrf")] = "") -> Response:
    """The whole trail of a melding as one JSON file (AVG art. 15); personal data only for a role
    that reads them, and then that read is in the access log."""
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    uit = d.inzageverzoek(wie, melding_id, kanaal="web")
    body = json.dumps(uit, ensure_ascii=False, indent=2).encode("utf-8")
    return _download(body, f"inzageverzoek-{melding_id}.json", "application/json")


@router.post("/inzageverzoek")
def inzageverzoek_betrokkene(request: Request, wie: Wie, d: Diensten,
                             csrf_token: Annotated[str, Form(alias="csrf")] = "",
                             betrokkene: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Every melding about one person and every read about them, as one JSON file (AVG art. 15)."""
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    uit = d.inzageverzoek_betrokkene(wie, betrokkene, kanaal="web")
    body = json.dumps(uit, ensure_ascii=False, indent=2).encode("utf-8")
    return _download(body, f"inzageverzoek-betrokkene-{uit['betrokkene'][:12]}.json", "application/json")
