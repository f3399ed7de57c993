"""The intake team's pages for entering meldingen: by hand, and correcting rejected ones.

A melding entered by hand goes through the same contract, the same rules and the same store
as one from a partner: the form is turned into the contract's JSON, the service checks it and
explains what the rules will decide (`Dienst.voorbeeld`), and only on confirmation stores it
(`Dienst.ontvang`, or `Dienst.herstel` for a correction). The confirmation posts back the very
bytes that were shown, sealed to the session (`zegel`): what is stored is what was checked.

Errors are the contract validator's, in Dutch (events/foutteksten.py), next to their field;
what was typed stays in the form. Dates are typed as people write them (dd-mm-jjjj, uu:mm in
Dutch time) and sent on in the contract's ISO form.

A rejected melding is corrected from its raw payload, which is personal data: it is opened in
answer to the purpose form (a POST, written to the access log), never to a GET.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from events.foutteksten import per_veld, veldlabel
from events.handelingen import Gebruiker
from events.intake import BRONNEN, SOORTEN, VOCABULAIRES, VeldFout
from events.logboek import MAX_TOELICHTING, doelen
from events.melding import AfgewezenMelding, OngeldigeOvergang
from loket.service import Dienst, NietGevonden, OngeldigVeld
from loket.web.auth import COOKIE, Diensten, csrf_klopt
from loket.web.pages import VELDFOUTEN, Wie, foutpagina, render
from projections.lijsten import PER_PAGINA
from routing import woorden
from routing.gemeenten import default_register
from routing.tijd import NL

router = APIRouter()

VLAGGEN = (
    ("dwang_drang", "Dwang en drang", "Minstens één keten werkt met dwang of drang (strafrecht, zorgmachtiging, "
     "jeugdbescherming); hoort bij de landelijke criteria."),
    ("impact_omgeving", "Impact op de omgeving", "De problemen raken het systeem of de omgeving van de persoon; "
     "hoort bij de landelijke criteria."),
    ("ernstig_veiligheidsprobleem", "Ernstig veiligheidsprobleem", "Een ernstig lokaal of gebiedsgebonden "
     "veiligheidsprobleem: ook zonder de andere criteria een zaak voor het huis."),
    ("maatschappelijke_onrust", "Maatschappelijke onrust", "Openbare orde of onrust in de wijk: reden om Top X te "
     "overwegen."),
    ("hic", "High impact crime (HIC)", "Woninginbraak, overval, straatroof of geweld: telt voor RIO (Parkstad, "
     "18 tot 27) en Preventie met Gezag."),
    ("veelpleger", "Veelpleger", "De persoon pleegt veel delicten: RIO's tweede doelgroep, met problemen op meer "
     "dan één leefgebied."),
    ("kinderen_betrokken", "Kinderen betrokken", "Er zijn kinderen bij betrokken: een aanmelding die de criteria "
     "mist gaat dan naar een medewerker."),
    ("verzoek_beschermingstafel", "Verzoek beschermingstafel", "De betrokken hulpverlener vraagt om de "
     "beschermingstafel."),
)
# The contract's fields that have their own place on the form; an error of any other (the melding
# as a whole, a field outside the contract) is shown at the top of the form.
VELDEN = frozenset({
    "soort", "bron", "kenmerk", "ontvangen_op", "gemeente", "persoon.bsn", "persoon.naam", "persoon.geboortedatum",
    "signalen.leefgebieden", "signalen.ketens", "signalen.bollenmodel", "signalen.delict", "toelichting",
    *(f"signalen.{naam}" for naam, _, _ in VLAGGEN),
})
BERICHTEN = {
    "opgeslagen": "{melding} is opgeslagen.",
    "hersteld": "{melding} is hersteld en opgeslagen; de afgewezen melding is gemarkeerd als hersteld.",
}
_DATUM = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\s*$")
_MOMENT = re.compile(r"^\s*(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})(?:[ T,]+(\d{1,2})[:.](\d{2}))?\s*$")


# Dates as people type them ----------------------------------------------------------


def nl_datum(tekst: str) -> str:
    """dd-mm-jjjj (or d-m-jjjj, with / or .) as the contract's ISO date; anything else as typed,
    for the contract to refuse at its field."""
    found = _DATUM.match(tekst)
    if not found:
        return tekst.strip()
    try:
        return date(int(found[3]), int(found[2]), int(found[1])).isoformat()
    except ValueError:
        return tekst.strip()


def nl_moment(tekst: str) -> str:
    """dd-mm-jjjj uu:mm (or a date alone: its start) in Dutch time, or an ISO date-time without a
    zone (Dutch time), as the contract's ISO date-time with offset; anything else as typed."""
    tekst = tekst.strip()
    found = _MOMENT.match(tekst)
    try:
        if found:
            dag = date(int(found[3]), int(found[2]), int(found[1]))
            klok = time(int(found[4] or 0), int(found[5] or 0))
            return datetime.combine(dag, klok, NL).isoformat()
        if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", tekst):
            parsed = datetime.fromisoformat(tekst)
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=NL)).isoformat()
    except ValueError:
        pass
    return tekst


def als_nl_moment(iso: str) -> str:
    """An ISO date-time as a person reads and types it (dd-mm-jjjj uu:mm, Dutch time)."""
    try:
        return datetime.fromisoformat(iso).astimezone(NL).strftime("%d-%m-%Y %H:%M")
    except (ValueError, TypeError, OverflowError):
        return iso


def als_nl_datum(iso: str) -> str:
    try:
        return date.fromisoformat(iso).strftime("%d-%m-%Y")
    except (ValueError, TypeError):
        return iso


# The form and the contract -----------------------------------------------------------


@dataclass
class Invoer:
    """What the form holds, as typed: kept whole when the contract refuses it."""

    soort: str = ""
    bron: str = ""
    kenmerk: str = ""
    ontvangen_op: str = ""
    gemeente: str = ""
    bsn: str = ""
    naam: str = ""
    geboortedatum: str = ""
    leefgebieden: list[str] = field(default_factory=list)
    ketens: list[str] = field(default_factory=list)
    bollenmodel: str = ""
    delict: str = ""
    vlaggen: set[str] = field(default_factory=set)
    toelichting: str = ""

    @classmethod
    def uit_formulier(cls, form: FormData) -> Invoer:
        tekst = {k: str(form.get(k) or "") for k in (
            "soort", "bron", "kenmerk", "ontvangen_op", "gemeente", "bsn", "naam", "geboortedatum", "bollenmodel",
            "delict", "toelichting")}
        return cls(**tekst, leefgebieden=[str(v) for v in form.getlist("leefgebieden")],
                   ketens=[str(v) for v in form.getlist("ketens")],
                   vlaggen={naam for naam, _, _ in VLAGGEN if form.get(naam)})

    @classmethod
    def uit_payload(cls, data: dict[str, Any]) -> Invoer:
        """A melding of the contract (a payload as received, perhaps broken) in the form's fields:
        what the form cannot hold (unknown words, fields outside the contract) is left out; the
        worker sees the original beside the form."""
        def tekst(value: Any) -> str:
            return value if isinstance(value, str) else ""

        persoon: dict[str, Any] = data["persoon"] if isinstance(data.get("persoon"), dict) else {}
        signalen: dict[str, Any] = data["signalen"] if isinstance(data.get("signalen"), dict) else {}

        def ids(naam: str) -> list[str]:
            lijst = signalen.get(naam)
            if not isinstance(lijst, list):
                return []
            gelezen = [VOCABULAIRES[naam].lees(v) for v in lijst if isinstance(v, str)]
            return [i for i in dict.fromkeys(gelezen) if i]

        delict = signalen.get("delict")
        return cls(
            soort=tekst(data.get("soort")), bron=tekst(data.get("bron")), kenmerk=tekst(data.get("kenmerk")),
            ontvangen_op=als_nl_moment(tekst(data.get("ontvangen_op"))), gemeente=tekst(data.get("gemeente")),
            bsn=tekst(persoon.get("bsn")), naam=tekst(persoon.get("naam")),
            geboortedatum=als_nl_datum(tekst(persoon.get("geboortedatum"))),
            leefgebieden=ids("leefgebieden"), ketens=ids("ketens"),
            bollenmodel=tekst(signalen.get("bollenmodel")),
            delict=(VOCABULAIRES.delict.lees(delict) or "") if isinstance(delict, str) else "",
            vlaggen={naam for naam, _, _ in VLAGGEN if signalen.get(naam) is True},
            toelichting=tekst(data.get("toelichting")),
        )

    def payload(self) -> bytes:
        """The contract's JSON: empty fields left out, dates in ISO form where they could be read."""
        persoon = {k: v for k, v in (("bsn", self.bsn.strip()), ("naam", self.naam.strip()),
                                     ("geboortedatum", nl_datum(self.geboortedatum))) if v}
        signalen: dict[str, Any] = {"leefgebieden": self.leefgebieden, "ketens": self.ketens}
        signalen.update({naam: True for naam, _, _ in VLAGGEN if naam in self.vlaggen})
        if self.bollenmodel:
            signalen["bollenmodel"] = self.bollenmodel
        if self.delict:
            signalen["delict"] = self.delict
        data: dict[str, Any] = {"bron": self.bron, "soort": self.soort, "kenmerk": self.kenmerk.strip(),
                                "ontvangen_op": nl_moment(self.ontvangen_op)}
        for veld in ("bron", "soort"):
            if not data[veld]:
                del data[veld]  # the contract says it is missing
        if self.gemeente.strip():
            data["gemeente"] = self.gemeente.strip()
        if persoon:
            data["persoon"] = persoon
        data["signalen"] = signalen
        if self.toelichting.strip():
            data["toelichting"] = self.toelichting
        return json.dumps(data, ensure_ascii=False).encode()


def _keuzes() -> dict[str, Any]:
    """The closed vocabularies the form offers, with the words people read."""
    register = default_register()
    return {
        "soorten": [(s, woorden.soort(s)) for s in SOORTEN],
        "bronnen": [(b, woorden.bron(b)) for b in BRONNEN],
        "leefgebieden": [(w.id, w.label) for w in VOCABULAIRES.leefgebieden.waarden],
        "ketens": [(w.id, w.label) for w in VOCABULAIRES.ketens.waarden],
        "delicten": [(w.id, w.label) for w in VOCABULAIRES.delict.waarden],
        "vlaggen": VLAGGEN,
        "gemeenten": sorted(register.zuid_limburg_gemeenten()),
        "velden": VELDEN,
    }


def _zegel(request: Request, payload: str, hersteld_van: str) -> str:
    """The seal of the checked payload, bound to this session: the confirmation stores these bytes."""
    sleutel = request.cookies.get(COOKIE, "")
    return hmac.new(sleutel.encode(), f"loket-invoer\n{hersteld_van}\n{payload}".encode(), hashlib.sha256).hexdigest()


def _zegel_klopt(request: Request, payload: str, hersteld_van: str, zegel: str) -> bool:
    return bool(request.cookies.get(COOKIE)) and hmac.compare_digest(_zegel(request, payload, hersteld_van), zegel)


def _fouten(errors: list[VeldFout] | tuple[VeldFout, ...] | list[dict[str, str]]) -> dict[str, list[str]]:
    return per_veld(errors)


def _formulier(request: Request, wie: Gebruiker, invoer: Invoer, *, status: int = 200,
               fouten: dict[str, list[str]] | None = None, afgewezen: AfgewezenMelding | None = None,
               origineel: str | None = None, bericht: str | None = None, nieuw_id: UUID | None = None) -> Response:
    return render(request, "invoer.html", status, wie=wie, actief="invoer", f=invoer, fouten=fouten or {},
                  afgewezen=afgewezen, origineel=origineel, bericht=bericht, nieuw_id=nieuw_id, **_keuzes())


def _mag_invoeren(request: Request, wie: Gebruiker) -> Response | None:
    # Entering a melding means typing personal data: the intake team's work (the role that reads it).
    if not (wie.mag("ontvangen") and wie.mag("persoonsgegevens")):
        return foutpagina(request, 403, "Alleen het intaketeam kan meldingen invoeren en herstellen.")
    return None


def _verlopen(request: Request) -> Response:
    return foutpagina(request, 403, "Het formulier is verlopen; laad de pagina opnieuw.")


def _naam(d: Dienst, wie: Gebruiker, melding_id: UUID) -> str:
    try:
        m = d.melding(wie, melding_id)
    except NietGevonden:
        return "De melding"
    return f"Melding {m.bron}:{m.kenmerk}"


def _bericht(d: Dienst, wie: Gebruiker, gedaan: str | None, melding: str | None) -> tuple[str | None, UUID | None]:
    """A fixed banner per key, naming the melding by its stored bron:kenmerk; nothing of the URL printed."""
    tekst = BERICHTEN.get(gedaan or "")
    try:
        melding_id = UUID(melding or "")
    except ValueError:
        return None, None
    if tekst is None:
        return None, None
    return tekst.format(melding=_naam(d, wie, melding_id)), melding_id


# Entering a melding by hand ------------------------------------------------------------


@router.get("/meldingen/nieuw")
def nieuw(request: Request, wie: Wie, d: Diensten, gedaan: str | None = None, melding: str | None = None) -> Response:
    if (geweigerd := _mag_invoeren(request, wie)) is not None:
        return geweigerd
    bericht, nieuw_id = _bericht(d, wie, gedaan, melding)
    invoer = Invoer(ontvangen_op=datetime.now(NL).strftime("%d-%m-%Y %H:%M"))
    return _formulier(request, wie, invoer, bericht=bericht, nieuw_id=nieuw_id)


@router.post("/meldingen/nieuw")
async def nieuw_post(request: Request, wie: Wie, d: Diensten) -> Response:
    if (geweigerd := _mag_invoeren(request, wie)) is not None:
        return geweigerd
    form = await request.form()
    # Checking, storing and reading write to the store and wait for its lock: off the event loop.
    return await run_in_threadpool(_verwerk, request, wie, d, form)


def _verwerk(request: Request, wie: Gebruiker, d: Dienst, form: FormData) -> Response:
    if not csrf_klopt(request, str(form.get("csrf") or "")):
        return _verlopen(request)
    actie = str(form.get("actie") or "controleren")
    hersteld_van = str(form.get("hersteld_van") or "")
    try:
        afgewezen = _afgewezen(d, wie, hersteld_van) if hersteld_van else None
    except GeenAfgewezen:
        return _niet_gevonden(request)
    if actie == "controleren":
        return _controleer(request, wie, d, Invoer.uit_formulier(form), afgewezen)
    if actie not in ("opslaan", "wijzigen"):
        return foutpagina(request, 422, "Dit formulier kent die knop niet; laad de pagina opnieuw.")
    payload = str(form.get("payload") or "")
    if not _zegel_klopt(request, payload, hersteld_van, str(form.get("zegel") or "")):
        return _verlopen(request)
    invoer = Invoer.uit_payload(json.loads(payload))
    if actie == "wijzigen":
        return _formulier(request, wie, invoer, afgewezen=afgewezen)
    return _sla_op(request, wie, d, invoer, payload.encode(), afgewezen)


def _controleer(request: Request, wie: Gebruiker, d: Dienst, invoer: Invoer,
                afgewezen: AfgewezenMelding | None) -> Response:
    """The contract checked, the rules asked; the form again with the errors, or the preview."""
    payload = invoer.payload()
    voorbeeld = d.voorbeeld(wie, payload)
    if voorbeeld.fouten:
        return _formulier(request, wie, invoer, status=422, fouten=_fouten(voorbeeld.fouten), afgewezen=afgewezen)
    if voorbeeld.bestaand is not None:
        return _formulier(request, wie, invoer, status=422, afgewezen=afgewezen, fouten={"kenmerk": [
            "Er is al een melding met deze bron en dit kenmerk; opnieuw opslaan verandert niets. Kies het "
            "kenmerk dat de bron gaf, of zoek de bestaande melding op."]})
    assert voorbeeld.trace is not None and voorbeeld.melding is not None
    tekst = payload.decode()
    hersteld_van = str(afgewezen.id) if afgewezen else ""
    return render(request, "invoer_controle.html", wie=wie, actief="invoer", f=invoer, m=voorbeeld.melding,
                  trace=voorbeeld.trace, b=voorbeeld.trace.beslissing, payload=tekst, hersteld_van=hersteld_van,
                  zegel=_zegel(request, tekst, hersteld_van), afgewezen=afgewezen, vlaggen=VLAGGEN,
                  woorden=woorden, nl=NL, signaalwoorden={w.id: w.label for naam in ("leefgebieden", "ketens", "delict")
                                                           for w in VOCABULAIRES[naam].waarden})


def _sla_op(request: Request, wie: Gebruiker, d: Dienst, invoer: Invoer, payload: bytes,
            afgewezen: AfgewezenMelding | None) -> Response:
    try:
        ontvangst = d.herstel(wie, afgewezen.id, payload) if afgewezen else d.ontvang(wie, payload)
    except OngeldigeOvergang:
        return foutpagina(request, 409, "Deze afgewezen melding is al hersteld.")
    if ontvangst.status == "afgewezen":
        fouten = ontvangst.beslissing.errors if ontvangst.beslissing else ()
        return _formulier(request, wie, invoer, status=422, fouten=_fouten(list(fouten)), afgewezen=afgewezen)
    if ontvangst.status == "duplicaat":
        return _formulier(request, wie, invoer, status=422, afgewezen=afgewezen, fouten={"kenmerk": [
            "Er is al een melding met deze bron en dit kenmerk; er is niets opgeslagen."]})
    if afgewezen:
        return RedirectResponse(f"/web/afgewezen?gedaan=hersteld&melding={ontvangst.melding_id}", status_code=303)
    return RedirectResponse(f"/web/meldingen/nieuw?gedaan=opgeslagen&melding={ontvangst.melding_id}", status_code=303)


# Rejected meldingen ----------------------------------------------------------------------


class GeenAfgewezen(LookupError):
    """No rejected melding by this id that this user may see."""


def _afgewezen(d: Dienst, wie: Gebruiker, tekst: str) -> AfgewezenMelding:
    try:
        found = d.melding(wie, UUID(tekst))
    except (ValueError, NietGevonden):
        raise GeenAfgewezen() from None
    if not isinstance(found, AfgewezenMelding):
        raise GeenAfgewezen()
    return found


def _niet_gevonden(request: Request) -> Response:
    return foutpagina(request, 404, "Deze afgewezen melding bestaat niet, of u mag haar niet inzien.")


@router.get("/afgewezen")
def afgewezen_lijst(request: Request, wie: Wie, d: Diensten, pagina: str = "1",
                    gedaan: str | None = None, melding: str | None = None) -> Response:
    if not wie.mag("triage"):
        return foutpagina(request, 403, "Afgewezen meldingen zijn er voor het intaketeam.")
    # A page number from a bookmark or a hand-edited address: anything unreadable is the first page.
    nummer = max(int(pagina), 1) if pagina.isdigit() and len(pagina) < 7 else 1
    with d.overzicht(wie) as o:
        blad = o.afgewezen_pagina(nummer, PER_PAGINA)
        if not blad.rijen and blad.totaal:  # past the last page: the last page
            nummer = blad.paginas
            blad = o.afgewezen_pagina(nummer, PER_PAGINA)
    rows, totaal = blad.rijen, blad.totaal
    for r in rows:
        r["fouten"] = per_veld(r["errors"])
        r["ontvangen_nl"] = als_nl_moment(r["ontvangen"])
    bericht, nieuw_id = _bericht(d, wie, gedaan, melding)
    return render(request, "afgewezen.html", wie=wie, actief="afgewezen", rows=rows, totaal=totaal,
                  pagina=blad.nummer, paginas=blad.paginas, bericht=bericht, nieuw_id=nieuw_id,
                  veldlabel=veldlabel, per_pagina=PER_PAGINA)


def _afgewezen_pagina(request: Request, wie: Gebruiker, m: AfgewezenMelding, *, status: int = 200,
                      veldfouten: dict[str, str] | None = None, toelichting: str = "") -> Response:
    return render(request, "afgewezen_melding.html", status, wie=wie, actief="afgewezen", m=m,
                  fouten=per_veld(m.errors), veldlabel=veldlabel, doelen=list(doelen().values()),
                  veldfouten=veldfouten or {},
                  toelichting=toelichting, max_toelichting=MAX_TOELICHTING,
                  mag_herstellen=wie.mag("ontvangen") and wie.mag("persoonsgegevens"))


@router.get("/afgewezen/{melding_id}")
def afgewezen_melding(request: Request, melding_id: UUID, wie: Wie, d: Diensten) -> Response:
    try:
        m = _afgewezen(d, wie, str(melding_id))
    except GeenAfgewezen:
        return _niet_gevonden(request)
    return _afgewezen_pagina(request, wie, m)


@router.post("/afgewezen/{melding_id}/herstellen")
def herstellen(
    request: Request, melding_id: UUID, wie: Wie, d: Diensten,
    csrf_token: Annotated[str, Form(alias="csrf")] = "", doel: Annotated[str, Form()] = "",
    toelichting: Annotated[str, Form()] = "",
) -> Response:
    """The rejected payload opened for a purpose (logged), in the intake form to correct it."""
    if (geweigerd := _mag_invoeren(request, wie)) is not None:
        return geweigerd
    if not csrf_klopt(request, csrf_token):
        return _verlopen(request)
    try:
        m = _afgewezen(d, wie, str(melding_id))
    except GeenAfgewezen:
        return _niet_gevonden(request)
    if m.hersteld_als is not None:
        return foutpagina(request, 409, "Deze afgewezen melding is al hersteld.")
    try:
        gegevens = d.persoonsgegevens(wie, melding_id, doel, kanaal="web", toelichting=toelichting or None)
    except OngeldigVeld as exc:
        return _afgewezen_pagina(request, wie, m, status=422, veldfouten={exc.field: VELDFOUTEN[exc.field]},
                                 toelichting=toelichting)
    origineel = gegevens.get("payload")
    tekst = origineel if isinstance(origineel, str) else ""
    try:
        data = json.loads(tekst)
    except ValueError:
        data = None
    invoer = Invoer.uit_payload(data) if isinstance(data, dict) else Invoer()
    return _formulier(request, wie, invoer, fouten=per_veld(m.errors), afgewezen=m,
                      origineel=tekst if tekst else "(verwijderd)")
