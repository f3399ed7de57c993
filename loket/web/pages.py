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

from events.foutteksten import per_veld, veldlabel
from events.handelingen import LEVENSLOOP, Gebruiker
from events.logboek import MAX_TOELICHTING, doelen
from events.melding import AfgewezenMelding, OngeldigeOvergang
from events.status import IN_BEHANDELING, OPEN, TRIAGE
from loket.service import LEES_WACHT, Dienst, NietGevonden, OngeldigVeld, lijstvraag
from loket.service import moment as lees_moment
from loket.web import grafiek, weergave
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
from projections.lijsten import ALLES, MAX_PER_PAGINA, SORTEERBAAR, TERMIJNEN_SORTEERBAAR, Pagina, Vraag
from routing import woorden
from routing.tijd import vandaag

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


templates.env.filters.update(weergave.FILTERS)
templates.env.globals["adres"] = weergave.adres
router = APIRouter()
Wie = Annotated[Gebruiker, Depends(pagina_gebruiker)]

# The actions a page offers as forms: the lifecycle rows of the action table, but those whose
# forms come with the regie pages (loket/web/regie.py: regisseur, Top X, informed).
FORMULIEREN = {h.id: h for h in LEVENSLOOP if h.id not in ("assign", "topx-aan", "topx-af", "inform")}
BERICHTEN = {h.klaar: h.bericht for h in LEVENSLOOP}

# The purpose form's errors, at the field, in Dutch (the service says them in English for the API).
VELDFOUTEN = {
    "doel": "Kies een doel uit de lijst.",
    "toelichting": f"De toelichting is te lang: ten hoogste {MAX_TOELICHTING} tekens.",
}
# The errors of an action's fields, at the field, in Dutch.
HANDELINGFOUTEN = {
    "reden": "Geef een reden.",
    "regisseur": "Geef de naam van de regisseur.",
    "resultaat": "Geef het resultaat.",
    "zvh": "Kies een huis uit de lijst.",
    "product": "Kies een product uit de lijst.",
}
# The errors of a list's filters and of a date field, at the field, in Dutch.
DATUMFOUT = "Geef een datum als 30-06-2025, of een datum met tijd als 30-06-2025 17:00."
LIJSTFOUTEN = {
    "zvh": "Kies een huis uit de lijst.",
    "product": "Kies een product uit de lijst.",
    "soort": "Kies een soort uit de lijst.",
    "status": "Kies een status uit de lijst.",
    "gemeente": "Een gemeente heeft ten hoogste 100 tekens.",
    "regisseur": "Een regisseur heeft ten hoogste 200 tekens.",
    "termijn": "Kies een termijn uit de lijst.",
    "zoek": "Geef een kenmerk of een deel ervan, ten hoogste 100 tekens.",
    "sorteer": "Op die kolom kan deze lijst niet gesorteerd worden.",
    "richting": "Sorteer oplopend of aflopend.",
    "pagina": "Geef een paginanummer: 1 of hoger.",
    "per_pagina": f"Geef een aantal per pagina van 1 tot en met {MAX_PER_PAGINA}.",
    "as_of": DATUMFOUT,
}
LIJST_PARAMS = ("zvh", "product", "soort", "gemeente", "status", "regisseur", "termijn", "zoek", "sorteer",
                "richting", "pagina", "per_pagina")
TERMIJN_KEUZES = [("verlopen", "Verlopen"), ("week", "Verloopt binnen een week")]


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, {"csrf": csrf(request), **context}, status_code=status)


# Error pages in Dutch; what went wrong in the engine's words (English, for the API) stays in the logs.
FOUTPAGINAS = {
    401: ("Niet ingelogd", "Log in om deze pagina te zien."),
    403: ("Geen toegang", "U hebt geen toegang tot deze pagina of handeling."),
    404: ("Niet gevonden", "Deze pagina of melding bestaat niet, of u hebt er geen toegang toe."),
    405: ("Niet mogelijk", "Deze pagina kan zo niet worden opgevraagd."),
    409: ("Niet mogelijk", "Dit kan niet in de stand waarin de melding nu is."),
    413: ("Te groot", "Wat u stuurde is te groot."),
    422: ("Onjuiste invoer", "Het adres of het formulier bevat een waarde die niet gebruikt kan worden."),
    500: ("Er ging iets mis", "Er ging iets mis aan onze kant. Probeer het later opnieuw; het verzoeknummer "
          "staat in de logboeken."),
}


def _ingelogd(request: Request) -> Gebruiker | None:
    """Who is logged in, for an error page's menu; nobody when the session is gone."""
    sessie = request.cookies.get(COOKIE)
    return request.app.state.authenticator.sessie(sessie) if sessie else None


def foutpagina(request: Request, status: int, detail: str | None = None, *, menu: bool = True) -> HTMLResponse:
    """An error as a page in Dutch, with the menu of whoever is logged in. `detail` is a Dutch
    sentence of the page that knows more; without it, the status's own."""
    titel, tekst = FOUTPAGINAS.get(status, ("Fout", "Dit verzoek kon niet worden uitgevoerd."))
    return render(request, "fout.html", status, titel=titel, detail=detail or tekst,
                  wie=_ingelogd(request) if menu else None)


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


def _lijst_params(request: Request) -> dict[str, str]:
    """A list's filters, search, sort and page as the URL holds them (so a list can be bookmarked)."""
    return {k: v.strip() for k in LIJST_PARAMS if (v := request.query_params.get(k, "")).strip()}


def _vraag(params: dict[str, str], sorteerbaar: Any = SORTEERBAAR) -> tuple[Vraag, dict[str, str]]:
    """What the URL asks of a list, and the errors of its fields in Dutch (then: the whole list)."""
    try:
        return lijstvraag(**params, sorteerbaar=sorteerbaar), {}
    except OngeldigVeld as exc:
        return ALLES, {exc.field: LIJSTFOUTEN.get(exc.field, "Deze waarde kan niet gebruikt worden.")}


def _opties(waarden: Any, woord: Any) -> list[tuple[str, str]]:
    return sorted(((w, woord(w)) for w in waarden), key=lambda paar: paar[1].lower())


def _lijst(request: Request, template: str, pagina: Pagina | None, params: dict[str, str],
           veldfouten: dict[str, str], **context: Any) -> Response:
    """A list page: a bad filter is a page with the error at its field (422) and no rows."""
    return render(request, template, 422 if veldfouten else 200, pagina=pagina, params=params,
                  veldfouten=veldfouten, termijn_keuzes=TERMIJN_KEUZES, **context)


@router.get("/triage")
def triage(request: Request, wie: Wie, d: Diensten,
           gedaan: str | None = None, melding: str | None = None) -> Response:
    params = _lijst_params(request)
    vraag, veldfouten = _vraag(params)
    pagina = None
    with d.overzicht(wie) as o:
        if not veldfouten:
            try:
                pagina = o.triage_pagina(vraag)
            except OngeldigVeld as exc:
                veldfouten = {exc.field: LIJSTFOUTEN.get(exc.field, "Deze waarde kan niet gebruikt worden.")}
        soorten = o.keuzes("soort", statussen=(TRIAGE,))
        gemeenten = o.keuzes("gemeente", statussen=(TRIAGE,))
    return _lijst(request, "triage.html", pagina, params, veldfouten, wie=wie,
                  bericht=_bericht(d, wie, gedaan, melding), soorten=_opties(soorten, woorden.soort),
                  gemeenten=[(g, g) for g in gemeenten],
                  huizen=_opties(d.huizen, woorden.huis))


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


def _terug(audit: list[dict[str, Any]], persoonsgegevens: dict[str, Any] | None) -> dict[str, Any] | None:
    """Why a melding came back to triage: who sent it back, when, from which house (in the clear),
    and the reason they wrote, which is sealed: read only with the personal data, for a purpose."""
    terug = next((e for e in reversed(audit) if e["gebeurtenis"] == "MeldingTeruggestuurd"), None)
    if terug is None:
        return None
    notities = (persoonsgegevens or {}).get("notities") or []
    reden = next((n.get("reden") for n in reversed(notities)
                  if n.get("gebeurtenis") == "MeldingTeruggestuurd" and n.get("versie") == terug["versie"]), None)
    return {"actor": terug["actor"], "tijdstip": terug["tijdstip"], "zvh": terug["details"].get("zvh"),
            "reden": reden, "gelezen": persoonsgegevens is not None}


def _melding_pagina(
    request: Request, melding_id: UUID, wie: Gebruiker, d: Dienst, *, status: int = 200, fout: str | None = None,
    persoonsgegevens: dict[str, Any] | None = None, doel: Any = None, veldfouten: dict[str, str] | None = None,
    toelichting: str = "", invoer: dict[str, str] | None = None, invoer_van: str | None = None,
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
    # Routing by hand proposes the house that serves the gemeente, not the one it came back from.
    voorstel = d.voorstel(wie, melding_id) if any(n in ("decide", "reroute") for n, _ in mogelijk) else None
    return render(
        request, "melding.html", status, wie=wie, m=m, afgewezen=afgewezen, uitleg=uitleg_dict, audit=audit,
        voorstel=voorstel, terug=_terug(audit, persoonsgegevens) if m.status == "triage" else None,
        woorden=woorden, veldlabel=veldlabel,
        fouten_nl=per_veld(m.errors) if isinstance(m, AfgewezenMelding) else {},
        handelingen=mogelijk, huizen=sorted(d.huizen), producten=sorted(d.producten),
        doelen=list(doelen().values()), doel=doel, persoonsgegevens=persoonsgegevens, fout=fout,
        veldfouten=veldfouten or {}, toelichting=toelichting, max_toelichting=MAX_TOELICHTING,
        mag_persoonsgegevens=wie.mag("persoonsgegevens"), laatste_reden=laatste_reden,
        termijn_dagen=_termijn_dagen(m), invoer=invoer or {}, invoer_van=invoer_van,
        tijdlijn=d.tijdlijn(wie, melding_id),
    )


def _termijn_dagen(m: Any) -> int | None:
    """Days to the deadline of a melding still being worked (negative: overdue); None without one."""
    deadline = getattr(getattr(m, "beslissing", None), "deadline", None)
    if deadline is None or m.status not in (OPEN, IN_BEHANDELING):
        return None
    return int((deadline - vandaag()).days)


@router.post("/meldingen/{melding_id}/{handeling}")
def handel(
    request: Request, melding_id: UUID, handeling: str, wie: Wie, d: Diensten,
    csrf_token: Annotated[str, Form(alias="csrf")] = "",
    zvh: Annotated[str, Form(max_length=100)] = "", product: Annotated[str, Form(max_length=100)] = "",
    reden: Annotated[str, Form(max_length=2000)] = "", regisseur: Annotated[str, Form(max_length=200)] = "",
    resultaat: Annotated[str, Form(max_length=2000)] = "", terug: Annotated[str, Form(max_length=20)] = "",
    ander_huis: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if handeling not in FORMULIEREN:
        raise NietGevonden(f"no such action: {handeling}")
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    values = {"zvh": zvh, "product": product, "reden": reden, "regisseur": regisseur, "resultaat": resultaat}
    kwargs = {veld: values[veld] for veld in FORMULIEREN[handeling].velden}
    if "zvh" in kwargs and not ander_huis:
        voorstel = d.voorstel(wie, melding_id)
        if voorstel.zvh and zvh != voorstel.zvh:
            # Another house than the one serving the gemeente: asked again, the input kept.
            tekst = (f"{woorden.huis(zvh) or 'Dit huis'} bedient {voorstel.gemeente} niet; dat doet "
                     f"{woorden.huis(voorstel.zvh)}. Kies dat huis, of vink aan dat u bewust een ander huis kiest.")
            return _melding_pagina(request, melding_id, wie, d, status=422, veldfouten={f"{handeling}-zvh": tekst},
                                   invoer=kwargs, invoer_van=handeling)
    try:
        d.handel(wie, handeling, melding_id, **kwargs)
    except OngeldigVeld as exc:
        return _melding_pagina(request, melding_id, wie, d, status=422, invoer=kwargs, invoer_van=handeling,
                               veldfouten={f"{handeling}-{exc.field}": HANDELINGFOUTEN.get(
                                   exc.field, "Deze waarde kan niet gebruikt worden.")})
    except OngeldigeOvergang:
        nu = d.melding(wie, melding_id)
        return _melding_pagina(request, melding_id, wie, d, status=409, fout=(
            f"Dit kan niet (meer): de melding staat nu op “{weergave.status(nu.status)}”. "
            "Hieronder staat wat nu wel kan."))
    # The list the person goes back to shows what they just did (read-your-writes, bounded).
    d.wacht_op(d.positie(), LEES_WACHT)
    klaar = FORMULIEREN[handeling].klaar
    if terug == "triage":
        return RedirectResponse(f"/web/triage?gedaan={klaar}&melding={melding_id}", status_code=303)
    if terug == "wachtrij":
        return RedirectResponse(f"/web/wachtrij?gedaan={klaar}&melding={melding_id}", status_code=303)
    return RedirectResponse(f"/web/meldingen/{melding_id}", status_code=303)


@router.get("/zoek")
def zoek(request: Request, wie: Wie, d: Diensten, q: str = "") -> Response:
    """A melding by its id or BRON:KENMERK, or every melding whose kenmerk holds what was typed:
    one found opens at once, more are a list to choose from."""
    q = q.strip()
    params = {k: v for k, v in _lijst_params(request).items() if k in ("pagina", "per_pagina", "sorteer", "richting")}
    veldfouten: dict[str, str] = {}
    pagina = None
    if not q or len(q) > 100:
        veldfouten = {"q": "Geef een kenmerk, een deel ervan, of bron:kenmerk."}
    else:
        try:
            gevonden = d.melding(wie, d.melding_id_van(q, "q"))
            return RedirectResponse(f"/web/meldingen/{gevonden.id}", status_code=303)
        except (OngeldigVeld, NietGevonden):
            pass
        vraag, veldfouten = _vraag({**params, "zoek": q})
        if not veldfouten:
            with d.overzicht(wie) as o:
                pagina = o.zoek(vraag)
            if pagina.totaal == 1:
                return RedirectResponse(f"/web/meldingen/{pagina.rijen[0]['melding_id']}", status_code=303)
    return _lijst(request, "zoeken.html", pagina, {**params, "q": q}, veldfouten, wie=wie, q=q)


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


def _as_of(as_of: str | None) -> tuple[datetime | None, dict[str, str]]:
    """The moment of a page's "stand op" field, or its error at the field, in Dutch."""
    try:
        return _moment(as_of.strip() if as_of else None), {}
    except OngeldigVeld:
        return None, {"as_of": DATUMFOUT}


@router.get("/caseload")
def caseload_pagina(request: Request, wie: Wie, d: Diensten,
                    as_of: str | None = None) -> Response:
    moment, veldfouten = _as_of(as_of)
    if veldfouten:
        return render(request, "caseload.html", 422, wie=wie, huizen={}, grafiek=None, as_of=as_of,
                      veldfouten=veldfouten, moment_tekst=None)
    with d.overzicht(wie, moment) as o:
        rows, flow, on = o.caseload(), o.verloop(), o.on
    series = {woorden.huis_kort(zvh): punten for zvh, punten in _lopend_per_maand(flow, on).items()}
    svg = grafiek.lijnen(series, titel="Lopende meldingen per huis, eind van de maand")
    return render(request, "caseload.html", wie=wie, huizen=_per_huis(rows), grafiek=svg, as_of=as_of,
                  veldfouten={}, moment_tekst=weergave.lokaal(moment) if moment else None)


@router.get("/wachtrij")
def wachtrij_pagina(request: Request, wie: Wie, d: Diensten,
                    gedaan: str | None = None, melding: str | None = None) -> Response:
    params = _lijst_params(request)
    huis = wie.zvh if wie.soort == "zvh" else params.get("zvh") or sorted(d.huizen)[0]
    if huis not in d.huizen:
        huis = sorted(d.huizen)[0]
        veldfouten = {"zvh": LIJSTFOUTEN["zvh"]}
        vraag = ALLES
    else:
        vraag, veldfouten = _vraag({k: v for k, v in params.items() if k != "zvh"})
    pagina = None
    statussen = (OPEN, IN_BEHANDELING)
    with d.overzicht(wie) as o:
        if not veldfouten:
            try:
                pagina = o.wachtrij_pagina(huis, vraag)
            except OngeldigVeld as exc:
                veldfouten = {exc.field: LIJSTFOUTEN.get(exc.field, "Deze waarde kan niet gebruikt worden.")}
        keuzes = {kolom: o.keuzes(kolom, zvh=huis, statussen=statussen) for kolom in ("product", "soort", "gemeente")}
    return _lijst(
        request, "wachtrij.html", pagina, params, veldfouten, wie=wie, huis=huis,
        huizen=_opties(d.huizen, woorden.huis), bericht=_bericht(d, wie, gedaan, melding),
        producten=_opties(keuzes["product"], woorden.product), soorten=_opties(keuzes["soort"], woorden.soort),
        gemeenten=[(g, g) for g in keuzes["gemeente"]],
        statussen=[(s, weergave.status(s)) for s in statussen],
    )


@router.get("/termijnen")
def termijnen_pagina(request: Request, wie: Wie, d: Diensten) -> Response:
    """Open deadlines (Wvggz 14 days, huisverbod, Top X review), overdue first; a house sees its own."""
    params = _lijst_params(request)
    if wie.soort == "zvh":
        params.pop("zvh", None)
    soort = params.pop("soort", None)
    vraag, veldfouten = _vraag(params, TERMIJNEN_SORTEERBAAR)
    pagina = None
    with d.overzicht(wie) as o:
        if not veldfouten:
            try:
                pagina = o.termijnen(vraag, soort=soort)
            except OngeldigVeld as exc:
                veldfouten = {exc.field: LIJSTFOUTEN.get(exc.field, "Deze waarde kan niet gebruikt worden.")}
        soorten = o.termijn_soorten()
    if soort:
        params["soort"] = soort
    return _lijst(request, "termijnen.html", pagina, params, veldfouten, wie=wie,
                  huizen=_opties(d.huizen, woorden.huis), soorten=_opties(soorten, woorden.termijn))


# The auditor's view -----------------------------------------------------------------


@router.get("/audit")
def audit_pagina(request: Request, wie: Wie, d: Diensten,
                 as_of: str | None = None, melding: str | None = None) -> Response:
    moment, veldfouten = _as_of(as_of)
    trail: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    triage: Pagina | None = None
    melding_id: UUID | None = None
    if veldfouten:
        return render(request, "audit.html", 422, veldfouten=veldfouten, wie=wie, as_of=as_of, moment=None,
                      moment_tekst=None, melding=melding, melding_id=None, trail=[], huizen={}, triage=None)
    with d.overzicht(wie, moment) as o:
        if moment is not None:
            rows = o.caseload()
            triage = o.triage_pagina() if wie.mag("triage") else None
        if melding and melding.strip():
            try:
                melding_id = d.melding_id_van(melding, "melding")
                trail = o.audit(melding_id)
            except OngeldigVeld:
                veldfouten["melding"] = "Geef een melding-id of bron:kenmerk, zoals politie:VIA-2025-000123."
            except NietGevonden:
                veldfouten["melding"] = "Geen melding gevonden" + (" op dat moment." if moment else ".")
    return render(request, "audit.html", 422 if veldfouten else 200, veldfouten=veldfouten, wie=wie, as_of=as_of,
                  moment=moment, moment_tekst=weergave.lokaal(moment) if moment else None, melding=melding,
                  melding_id=melding_id, trail=trail, huizen=_per_huis(rows), triage=triage)
