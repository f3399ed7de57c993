"""The regie pages: who has regie ("mijn zaken", assigning a regisseur), Top X on a PGA case,
closing with a confirmation first, and the worklist of parties to inform (`/web/informeren`).

The forms on a melding's page come from `_regie.html`, which the melding page includes; what
it shows for a melding (the actions this user may do now, the tasks to inform) is asked of the
service by `regie_van`, a function of the templates, so the melding page itself needs no part
of it. Every action is a row of the action table, done through `Dienst.handel` as the CLI and
the API do it; the errors are said in Dutch at the field that caused them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from events.handelingen import HANDELINGEN, LEVENSLOOP, Gebruiker
from events.informeren import AANLEIDINGEN, KANALEN, PARTIJEN
from events.melding import AfgewezenMelding, Melding, OngeldigeOvergang
from events.status import LABELS
from loket.service import NietGevonden, OngeldigVeld
from loket.web.auth import Diensten, csrf_klopt
from loket.web.pages import Wie, _bericht, _melding_pagina, foutpagina, render, templates
from routing import woorden
from routing.gemeenten import default_register
from routing.tijd import vandaag

router = APIRouter()

# The actions whose forms are here (pages.py leaves them out of the melding page's own forms).
REGIE = ("assign", "topx-aan", "topx-af", "inform")
TERUG = {"informeren": "/web/informeren", "mijn-zaken": "/web/mijn-zaken"}

# What went wrong, in Dutch, by field (the service says it in English for the API and the CLI).
VELDFOUTEN = {
    "regisseur": "Vul de naam van de regisseur in.",
    "reden": "Vul een reden in.",
    "kanaal": "Kies hoe de partij is geïnformeerd.",
    "taak": "Deze taak bestaat niet (meer); laad de werklijst opnieuw.",
}


def wie_informeren(partij: str, gemeente: str | None) -> str:
    """The party as a sentence names it: "Burgemeester van Brunssum", "Gemeente Maastricht"."""
    woord = woorden.partij(partij)
    if not gemeente:
        return woord
    return f"Gemeente {gemeente}" if partij == "gemeente" else f"{woord} van {gemeente}"


def regie_van(request: Request, m: Melding | AfgewezenMelding, wie: Gebruiker) -> dict[str, Any]:
    """What the melding page shows of regie for this user: the actions they may do now, the
    actions that end something (behind a confirmation), and the tasks to inform a party."""
    if isinstance(m, AfgewezenMelding):
        return {"handelingen": {}, "bevestigen": [], "taken": [], "invoer": {}, "bericht": None}
    d = request.app.state.dienst
    kan = {h.id: h for h in LEVENSLOOP if h.id in REGIE and h.id != "inform" and wie.mag(h.id) and h.kan(m.status)}
    b = m.beslissing
    topx = b is not None and b.product == "pga"
    kan = {k: h for k, h in kan.items()
           if not k.startswith("topx-") or (topx and (k == "topx-af") == ("top-x" in m.labels))}
    taken: list[dict[str, Any]] = []
    if wie.mag("informeren"):
        with d.overzicht(wie) as o:
            taken = o.informeren_van(m.id)
    return {
        "handelingen": kan,
        "bevestigen": [h for h in LEVENSLOOP if h.bevestigen and wie.mag(h.id) and h.kan(m.status)],
        "taken": taken,
        "mag_informeren": wie.mag("inform") and HANDELINGEN["inform"].kan(m.status),
        "invoer": getattr(request.state, "regie_invoer", {}),
        "bericht": _gedaan(request, m),
    }


def _gedaan(request: Request, m: Melding) -> str | None:
    """The banner after a regie action on this melding (a fixed text per action; nothing from the URL)."""
    klaar = request.query_params.get("gedaan")
    if request.query_params.get("melding") != str(m.id):
        return None
    for h in LEVENSLOOP:
        if h.id in REGIE and h.klaar == klaar:
            return h.bericht.format(melding=f"Melding {m.bron}:{m.kenmerk}")
    return None


templates.env.filters["wie_informeren"] = wie_informeren  # the date and id words: loket/web/weergave.py
templates.env.globals.update(regie_van=regie_van, KANALEN=KANALEN, AANLEIDINGEN=AANLEIDINGEN, STATUSSEN=LABELS)


def _pagina(tekst: str | None) -> int:
    """A page number from the address; anything else is the first page."""
    return int(tekst) if tekst and tekst.isdigit() and 0 < int(tekst) < 1_000_000 else 1


# Mijn zaken ---------------------------------------------------------------------------


@router.get("/mijn-zaken")
def mijn_zaken(request: Request, wie: Wie, d: Diensten, pagina: str | None = None,
               gedaan: str | None = None, melding: str | None = None) -> Response:
    with d.overzicht(wie) as o:
        blad = o.mijn_zaken(pagina=_pagina(pagina))
    return render(request, "mijn_zaken.html", wie=wie, blad=blad, actief="mijn-zaken",
                  bericht=_bericht(d, wie, gedaan, melding))


# The worklist of parties to inform -------------------------------------------------------


@cache
def gemeenten_nu() -> tuple[str, ...]:
    """The Zuid-Limburg gemeenten of today (the filter's choices; the register keeps older ones too)."""
    register = default_register()
    return tuple(sorted({register.resolve(naam, vandaag()).gemeente or naam
                         for naam in register.zuid_limburg_gemeenten()}))


@dataclass(frozen=True, slots=True)
class Filter:
    """The worklist's filters, as the address holds them (a bookmark keeps them); values that are
    not among the choices count as not given."""

    alle: bool = False
    partij: str | None = None
    gemeente: str | None = None
    verlopen: bool = False

    @classmethod
    def uit(cls, alle: str | None, partij: str | None, gemeente: str | None, verlopen: str | None) -> Filter:
        return cls(alle == "1", partij if partij in PARTIJEN else None,
                   gemeente if gemeente in gemeenten_nu() else None, verlopen == "1")

    @property
    def adres(self) -> str:
        """The list's address with these filters (the pages' links add `pagina`)."""
        query = urlencode({k: v for k, v in (("alle", "1" if self.alle else None), ("partij", self.partij),
                                               ("gemeente", self.gemeente),
                                               ("verlopen", "1" if self.verlopen else None)) if v})
        return "/web/informeren" + (f"?{query}" if query else "")

    @property
    def open_adres(self) -> str:
        """The same filters, the open tasks only."""
        return replace(self, alle=False).adres

    @property
    def alle_adres(self) -> str:
        """The same filters, the done tasks too."""
        return replace(self, alle=True).adres


@router.get("/informeren")
def informeren(request: Request, wie: Wie, d: Diensten, pagina: str | None = None, alle: str | None = None,
               partij: str | None = None, gemeente: str | None = None, verlopen: str | None = None,
               gedaan: str | None = None, melding: str | None = None) -> Response:
    return _werklijst(request, wie, d, Filter.uit(alle, partij, gemeente, verlopen), pagina=_pagina(pagina),
                      bericht=_bericht(d, wie, gedaan, melding))


def _werklijst(request: Request, wie: Gebruiker, d: Any, filters: Filter, *, pagina: int = 1,
               bericht: str | None = None, status: int = 200, fouten: dict[str, str] | None = None) -> Response:
    with d.overzicht(wie) as o:
        blad = o.informeren(open_only=not filters.alle, partij=filters.partij, gemeente=filters.gemeente,
                            verlopen=filters.verlopen, pagina=pagina)
    return render(request, "informeren.html", status, wie=wie, blad=blad, filter=filters, alle=filters.alle,
                  actief="informeren", bericht=bericht, fouten=fouten or {}, mag_informeren=wie.mag("inform"),
                  partijen=PARTIJEN, gemeenten=gemeenten_nu())


# Acting: assign, Top X, informed -------------------------------------------------------------


@router.post("/meldingen/{melding_id}/regie/{handeling}")
def regie_handel(
    request: Request, melding_id: UUID, handeling: str, wie: Wie, d: Diensten,
    csrf_token: Annotated[str, Form(alias="csrf")] = "",
    regisseur: Annotated[str, Form(max_length=200)] = "", reden: Annotated[str, Form(max_length=2000)] = "",
    taak: Annotated[str, Form(max_length=100)] = "", kanaal: Annotated[str, Form(max_length=40)] = "",
    terug: Annotated[str, Form(max_length=20)] = "", pagina: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if handeling not in REGIE:
        raise NietGevonden(f"no such action: {handeling}")
    if not csrf_klopt(request, csrf_token):
        return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")
    values = {"regisseur": regisseur, "reden": reden, "taak": taak, "kanaal": kanaal}
    row = HANDELINGEN[handeling]
    try:
        d.handel(wie, handeling, melding_id, **{veld: values[veld] for veld in row.velden})
    except OngeldigVeld as exc:
        return _terug_met_fout(request, melding_id, wie, d, handeling, terug, pagina, 422,
                               {exc.field: VELDFOUTEN.get(exc.field, "Dit veld is niet goed ingevuld.")}, values)
    except OngeldigeOvergang:
        return _terug_met_fout(request, melding_id, wie, d, handeling, terug, pagina, 409,
                               {"": _niet_mogelijk(handeling)}, values)
    adres = TERUG.get(terug)
    if adres:
        return RedirectResponse(f"{adres}?gedaan={row.klaar}&melding={melding_id}", status_code=303)
    return RedirectResponse(f"/web/meldingen/{melding_id}?gedaan={row.klaar}&melding={melding_id}", status_code=303)


def _niet_mogelijk(handeling: str) -> str:
    return {
        "assign": "Deze regisseur is al toegewezen, of de melding is niet (meer) in behandeling.",
        "inform": "Deze partij is al geïnformeerd (misschien door een collega); de lijst is bijgewerkt.",
        "topx-aan": "Top X kan alleen op een lopende PGA-casus die nog geen Top X is.",
        "topx-af": "Deze melding is geen Top X (meer).",
    }[handeling]


def _terug_met_fout(request: Request, melding_id: UUID, wie: Gebruiker, d: Any, handeling: str, terug: str,
                    pagina: str, status: int, fouten: dict[str, str], invoer: dict[str, str]) -> Response:
    """The page the form was on, again: the error at the field (or above the form), the input kept."""
    if terug == "informeren":
        return _werklijst(request, wie, d, Filter(), pagina=_pagina(pagina), status=status,
                          fouten={f"{invoer['taak']}-{veld or 'taak'}": tekst for veld, tekst in fouten.items()})
    request.state.regie_invoer = {"handeling": handeling, **invoer}
    algemeen = fouten.pop("", None)
    return _melding_pagina(request, melding_id, wie, d, status=status, fout=algemeen,
                           veldfouten={f"{handeling}-{veld}": tekst for veld, tekst in fouten.items()})


# Closing (and whatever else ends something): a page that asks first ----------------------------


@router.get("/meldingen/{melding_id}/bevestigen/{handeling}")
def bevestigen(request: Request, melding_id: UUID, handeling: str, wie: Wie, d: Diensten) -> Response:
    row = HANDELINGEN.get(handeling)
    if row is None or not row.bevestigen:
        raise NietGevonden(f"no such action: {handeling}")
    m = d.melding(wie, melding_id)
    if isinstance(m, AfgewezenMelding) or not (wie.mag(handeling) and row.kan(m.status)):
        return foutpagina(request, 409, f"Niet mogelijk: {row.naam} kan bij deze melding nu niet.")
    return render(request, "bevestigen.html", wie=wie, m=m, h=row)
