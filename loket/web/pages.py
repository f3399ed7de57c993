"""The pages for people: log in, the triage queue, one melding, caseloads, a house's queue, as-of.

Plain HTML forms posted back to the server (Post/Redirect/Get), so every page works
with the keyboard alone and without scripts. Forms carry a form token (auth.csrf, and
for the login form auth.inlog_csrf) and the cookies are SameSite=Strict: another site
cannot post here. Personal data is shown in answer to a POST of the purpose form, never
to a GET: a link, a reload or the browser's history reads nothing. Success banners are
fixed messages per action, naming the melding by what the store holds, never by the URL.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from events.handelingen import LEVENSLOOP, Gebruiker
from events.logboek import MAX_TOELICHTING, doelen
from events.melding import AfgewezenMelding, OngeldigeOvergang
from loket.service import LEES_WACHT, Dienst, NietGevonden, OngeldigVeld, melding_id_van
from loket.service import moment as lees_moment
from loket.web import grafiek
from loket.web.auth import (
    COOKIE,
    PAD,
    VOOR_COOKIE,
    Diensten,
    csrf,
    csrf_klopt,
    inlog_csrf,
    inlog_csrf_klopt,
    pagina_gebruiker,
    voorsessie,
    zet_cookie,
)
from routing.tijd import NL

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def lokale_tijd(tijdstip: str) -> str:
    """A recorded UTC timestamp as Dutch local time, as people read it (and type it for as-of)."""
    return datetime.fromisoformat(tijdstip).astimezone(NL).strftime("%Y-%m-%d %H:%M:%S")


def waarde(value: Any) -> str:
    """An audit detail as people read it: sealed free text says so, never shows an envelope."""
    if isinstance(value, dict):
        if value.get("verwijderd"):
            return "(verwijderd)"
        if value.get("versleuteld"):
            return "(versleuteld)"
    if isinstance(value, (list, tuple)):
        return "; ".join(waarde(v) for v in value)
    return "" if value is None else str(value)


templates.env.filters["lokaal"] = lokale_tijd
templates.env.filters["waarde"] = waarde
router = APIRouter()
Wie = Annotated[Gebruiker, Depends(pagina_gebruiker)]

# The actions a page offers as forms: the lifecycle rows of the action table, but Top X (its
# own control comes with the regie pages).
FORMULIEREN = {h.id: h for h in LEVENSLOOP if not h.id.startswith("topx-")}
BERICHTEN = {h.klaar: h.bericht for h in LEVENSLOOP}

# The purpose form's errors, at the field, in Dutch (the service says them in English for the API).
VELDFOUTEN = {
    "doel": "Kies een doel uit de lijst.",
    "toelichting": f"De toelichting is te lang: ten hoogste {MAX_TOELICHTING} tekens.",
}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"csrf": csrf(request), **context}, status_code=status)


def foutpagina(request: Request, status: int, detail: str) -> HTMLResponse:
    titels = {403: "Geen toegang", 404: "Niet gevonden", 409: "Niet mogelijk", 422: "Onjuiste invoer"}
    return render(request, "fout.html", status, titel=titels.get(status, "Fout"), detail=detail, wie=None)


def _moment(text: str | None) -> datetime | None:
    return lees_moment(text, "as_of") if text else None


def _thuis(wie: Gebruiker) -> str:
    return {"zvh": "/web/wachtrij", "auditor": "/web/audit"}.get(wie.soort, "/web/triage")


# Logging in -------------------------------------------------------------------------


# Before web sessions, the cookie held the API token itself: it is cleared wherever it still is.
OUDE_COOKIE = "loket_token"


def _inlogpagina(request: Request, status: int = 200, fout: str | None = None) -> Response:
    voor = voorsessie(request)
    response = render(request, "inloggen.html", status, wie=None, fout=fout, csrf=inlog_csrf(voor))
    zet_cookie(request, response, VOOR_COOKIE, voor)
    return response


@router.get("/inloggen")
def inloggen(request: Request) -> Response:
    return _inlogpagina(request)


@router.post("/inloggen")
def inloggen_post(request: Request, token: Annotated[str, Form(max_length=300)] = "",
                  csrf_token: Annotated[str, Form(alias="csrf")] = "") -> Response:
    if not inlog_csrf_klopt(request, csrf_token):
        return _inlogpagina(request, 403, "Het formulier is verlopen; log opnieuw in.")
    authenticator = request.app.state.authenticator
    sessie = authenticator.open_sessie(token.strip())
    wie = authenticator.sessie(sessie) if sessie else None
    if wie is None:
        return _inlogpagina(request, 401, "Dit token is onbekend of ingetrokken.")
    response = RedirectResponse(_thuis(wie), status_code=303)
    zet_cookie(request, response, COOKIE, sessie)
    response.delete_cookie(VOOR_COOKIE, path=PAD)
    response.delete_cookie(OUDE_COOKIE, path="/")
    return response


@router.post("/uitloggen")
def uitloggen(request: Request, csrf_token: Annotated[str, Form(alias="csrf")] = "") -> Response:
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    request.app.state.authenticator.sluit_sessie(request.cookies[COOKIE])
    response = RedirectResponse("/web/inloggen", status_code=303)
    response.delete_cookie(COOKIE, path=PAD)
    response.delete_cookie(OUDE_COOKIE, path="/")
    return response


@router.get("/")
def thuis(wie: Wie) -> Response:
    return RedirectResponse(_thuis(wie), status_code=303)


# The triage queue and one melding ----------------------------------------------------


def _bericht(d: Dienst, wie: Gebruiker, gedaan: str | None, melding: str | None) -> str | None:
    """The success banner after an action: a fixed message for a known key, the melding named by
    its stored bron:kenmerk when this user may see it. Nothing from the URL is printed."""
    bericht = BERICHTEN.get(gedaan or "")
    if bericht is None:
        return None
    try:
        melding_id = UUID(melding or "")
    except ValueError:
        return None
    try:
        m = d.melding(wie, melding_id)
    except NietGevonden:
        # Returned to the loket, a melding leaves a house's sight: the banner names no melding then.
        return bericht.format(melding="De melding")
    return bericht.format(melding=f"Melding {m.bron}:{m.kenmerk}")


@router.get("/triage")
def triage(request: Request, wie: Wie, d: Diensten,
           gedaan: str | None = None, melding: str | None = None) -> Response:
    with d.overzicht(wie) as o:
        rows = o.triage()
    return render(request, "triage.html", wie=wie, rows=rows, bericht=_bericht(d, wie, gedaan, melding))


@router.get("/meldingen/{melding_id}")
def melding(request: Request, melding_id: UUID, wie: Wie, d: Diensten) -> Response:
    return _melding_pagina(request, melding_id, wie, d)


@router.post("/meldingen/{melding_id}/persoonsgegevens")
def persoonsgegevens(
    request: Request, melding_id: UUID, wie: Wie, d: Diensten,
    csrf_token: Annotated[str, Form(alias="csrf")] = "", doel: Annotated[str, Form()] = "",
    toelichting: Annotated[str, Form()] = "",
) -> Response:
    """Personal data in answer to the purpose form: a POST, so no link, reload or history repeats it."""
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    try:
        gegevens = d.persoonsgegevens(wie, melding_id, doel, kanaal="web", toelichting=toelichting or None)
    except OngeldigVeld as exc:
        return _melding_pagina(request, melding_id, wie, d, status=422, veldfouten={exc.field: VELDFOUTEN[exc.field]},
                               toelichting=toelichting)
    return _melding_pagina(request, melding_id, wie, d, persoonsgegevens=gegevens, doel=doelen()[doel.strip()])


def _melding_pagina(
    request: Request, melding_id: UUID, wie: Gebruiker, d: Dienst, *, status: int = 200, fout: str | None = None,
    persoonsgegevens: dict[str, Any] | None = None, doel: Any = None, veldfouten: dict[str, str] | None = None,
    toelichting: str = "",
) -> Response:
    m = d.melding(wie, melding_id)
    uitleg = d.uitleg(wie, melding_id)
    uitleg_dict = {**uitleg.gegevens, "tekst": uitleg.trace.render()} if uitleg.trace else uitleg.gegevens
    with d.overzicht(wie) as o:
        audit = o.audit(melding_id)
    afgewezen = isinstance(m, AfgewezenMelding)
    mogelijk = [] if afgewezen else [
        (naam, h) for naam, h in FORMULIEREN.items()
        if wie.mag(naam) and h.kan(m.status)
        # In triage the decision is the one routing by hand that is asked for.
        and not (naam == "reroute" and m.status == "triage")
    ]
    laatste_reden = next((e["details"]["reden"] for e in reversed(audit)
                          if isinstance(e["details"].get("reden"), str)), None)
    return render(
        request, "melding.html", status, wie=wie, m=m, afgewezen=afgewezen, uitleg=uitleg_dict, audit=audit,
        handelingen=mogelijk, huizen=sorted(d.huizen), producten=sorted(d.producten),
        doelen=list(doelen().values()), doel=doel, persoonsgegevens=persoonsgegevens, fout=fout,
        veldfouten=veldfouten or {}, toelichting=toelichting, max_toelichting=MAX_TOELICHTING,
        mag_persoonsgegevens=wie.mag("persoonsgegevens"), laatste_reden=laatste_reden,
    )


@router.post("/meldingen/{melding_id}/{handeling}")
def handel(
    request: Request, melding_id: UUID, handeling: str, wie: Wie, d: Diensten,
    csrf_token: Annotated[str, Form(alias="csrf")] = "",
    zvh: Annotated[str, Form(max_length=100)] = "", product: Annotated[str, Form(max_length=100)] = "",
    reden: Annotated[str, Form(max_length=2000)] = "", regisseur: Annotated[str, Form(max_length=200)] = "",
    resultaat: Annotated[str, Form(max_length=2000)] = "", terug: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    if handeling not in FORMULIEREN:
        raise NietGevonden(f"no such action: {handeling}")
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    values = {"zvh": zvh, "product": product, "reden": reden, "regisseur": regisseur, "resultaat": resultaat}
    kwargs = {veld: values[veld] for veld in FORMULIEREN[handeling].velden}
    try:
        d.handel(wie, handeling, melding_id, **kwargs)
    except (OngeldigeOvergang, OngeldigVeld) as exc:
        return _melding_pagina(request, melding_id, wie, d, fout=str(exc), status=409 if isinstance(
            exc, OngeldigeOvergang) else 422)
    # The list the person goes back to shows what they just did (read-your-writes, bounded).
    d.wacht_op(d.positie(), LEES_WACHT)
    klaar = FORMULIEREN[handeling].klaar
    if terug == "triage":
        return RedirectResponse(f"/web/triage?gedaan={klaar}&melding={melding_id}", status_code=303)
    if terug == "wachtrij":
        return RedirectResponse(f"/web/wachtrij?gedaan={klaar}&melding={melding_id}", status_code=303)
    return RedirectResponse(f"/web/meldingen/{melding_id}", status_code=303)


@router.get("/zoek")
def zoek(wie: Wie, q: str = "") -> Response:
    """A melding by its id, or by BRON:KENMERK as the source knows it."""
    found = melding_id_van(q, "q")
    return RedirectResponse(f"/web/meldingen/{found}", status_code=303)


# Caseload and a house's queue -------------------------------------------------------


def _per_huis(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    huizen: dict[str, dict[str, Any]] = {}
    for r in rows:
        huis = huizen.setdefault(r["zvh"] or "onbekend", {"producten": {}, "totaal": Counter()})
        huis["producten"].setdefault(r["product"], Counter())[r["status"]] += r["count"]
        huis["totaal"][r["status"]] += r["count"]
    return dict(sorted(huizen.items()))


def _maanden(tot: date, aantal: int) -> list[str]:
    """The `aantal` months up to and including the month of `tot` (YYYY-MM), oldest first."""
    index = tot.year * 12 + tot.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(max(0, index - aantal + 1), index + 1)]


def _lopend_per_maand(flow: list[dict[str, Any]], tot: date, aantal: int = 36) -> dict[str, list[tuple[str, int]]]:
    """Open caseload at the end of each month up to `tot`, per house, from monthly in- and outflow."""
    eerste = min((r["maand"] for r in flow if r["maand"]), default="9999-99")
    maanden = [m for m in _maanden(tot, aantal) if m >= eerste]
    series: dict[str, list[tuple[str, int]]] = {}
    if not maanden:
        return series
    for zvh in sorted({r["zvh"] for r in flow}):
        delta: Counter[str] = Counter()
        for r in flow:
            if r["zvh"] == zvh and r["maand"]:
                delta[r["maand"]] += r["instroom"] - r["uitstroom"]
        lopend = sum(n for maand, n in delta.items() if maand < maanden[0])
        punten = []
        for maand in maanden:
            lopend += delta[maand]
            punten.append((maand, lopend))
        series[zvh] = punten
    return series


@router.get("/caseload")
def caseload_pagina(request: Request, wie: Wie, d: Diensten,
                    as_of: str | None = None) -> Response:
    moment = _moment(as_of)
    with d.overzicht(wie, moment) as o:
        rows, flow, on = o.caseload(), o.verloop(), o.on
    series = _lopend_per_maand(flow, on)
    svg = grafiek.lijnen(series, titel="Lopende meldingen per huis, eind van de maand")
    return render(request, "caseload.html", wie=wie, huizen=_per_huis(rows), grafiek=svg, as_of=as_of)


@router.get("/wachtrij")
def wachtrij_pagina(request: Request, wie: Wie, d: Diensten,
                    zvh: str | None = None, gedaan: str | None = None, melding: str | None = None) -> Response:
    huis = wie.zvh if wie.soort == "zvh" else (zvh or sorted(d.huizen)[0])
    with d.overzicht(wie) as o:
        rows = o.wachtrij(huis)
    return render(request, "wachtrij.html", wie=wie, rows=rows, huis=huis, huizen=sorted(d.huizen),
                  bericht=_bericht(d, wie, gedaan, melding))


# The auditor's view -----------------------------------------------------------------


@router.get("/audit")
def audit_pagina(request: Request, wie: Wie, d: Diensten,
                 as_of: str | None = None, melding: str | None = None) -> Response:
    moment = _moment(as_of)
    trail: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    triage: list[dict[str, Any]] = []
    melding_id: UUID | None = None
    fout = None
    with d.overzicht(wie, moment) as o:
        if moment is not None:
            rows = o.caseload()
            triage = o.triage() if wie.mag("triage") else []
        if melding:
            try:
                melding_id = melding_id_van(melding, "melding")
                trail = o.audit(melding_id)
            except OngeldigVeld:
                fout = "Geef een melding-id of BRON:KENMERK."
            except NietGevonden:
                fout = "Geen melding gevonden" + (" op dat moment." if moment else ".")
    moment_tekst = lokale_tijd(moment.isoformat()) if moment else None
    return render(request, "audit.html", wie=wie, as_of=as_of, moment=moment, moment_tekst=moment_tekst,
                  melding=melding, melding_id=melding_id, trail=trail, fout=fout, huizen=_per_huis(rows),
                  triage=triage)
