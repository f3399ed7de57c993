"""The HTTP API: the intake contract in, decisions, caseloads and audit trails out.

Every route answers for one user (a bearer token, see auth.py); what they may not
see answers 404 like an id never used. Personal data only comes out of
`GET /meldingen/{id}?doel=...` and `POST /meldingen/{id}/persoonsgegevens`, through
`Loket.persoonsgegevens`, which checks the purpose against the register and records the read.
The GET serves systems that name a purpose code (no personal data in the URL); a purpose
with a toelichting in words goes in a POST body, since free text never belongs in a URL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from events.handelingen import Gebruiker
from events.informeren import KANALEN, PARTIJEN
from events.intake import MAX_MELDING_BYTES, MeldingIn, TeGroot, VeldFout
from events.logboek import MAX_TOELICHTING, doelen
from events.melding import AfgewezenMelding, Melding
from loket.service import MAX_WACHT, Dienst, lijstvraag
from loket.service import moment as lees_moment
from loket.web.auth import Diensten, api_gebruiker
from projections.lijsten import MAX_PER_PAGINA, PER_PAGINA, SORTEERBAAR, TERMIJNEN_SORTEERBAAR, Pagina, Vraag
from routing.tijd import vandaag

MAX_BODY = MAX_MELDING_BYTES  # the limit of every entry point

router = APIRouter()
Wie = Annotated[Gebruiker, Depends(api_gebruiker)]


def als_moment(text: str) -> datetime:
    """An as-of moment as `loket --as-of` reads it; the error does not repeat what was sent."""
    return lees_moment(text, "as_of")


async def moment(
    as_of: Annotated[str | None, Query(
        description="As it stood then, by recording time: what the system knew at that moment (not by a "
                    "melding's ontvangen_op); a date (its end, Dutch time) or date-time, ISO or Dutch (30-06-2025, "
                    "30-06-2025 17:00); read from the projections' history, writes nothing",
        examples=["2025-06-30", "2025-06-30T17:00:00+02:00", "30-06-2025"], max_length=40,
    )] = None,
) -> datetime | None:
    if as_of is None:
        return None
    return als_moment(as_of)


AsOf = Annotated[datetime | None, Depends(moment)]
Wacht = Annotated[float | None, Query(
    ge=0, le=MAX_WACHT,
    description="read-your-writes: wait at most this many seconds until the projections (caseload, queues, "
    "audit) hold this write; the answer says whether they do (X-Loket-Wacht: bijgewerkt or verlopen) and "
    "is the same either way",
)]


def wacht_op_schrijven(d: Dienst, wacht: float | None) -> dict[str, str]:
    """After a write: with `wacht`, wait for the projections to reach its position (bounded; a late
    worker is said in a header, never an error). The headers that tell it."""
    if wacht is None:
        return {}
    positie = d.positie()
    bereikt = d.wacht_op(positie, wacht)
    return {"X-Loket-Positie": str(positie), "X-Loket-Wacht": "bijgewerkt" if bereikt else "verlopen"}


# Models -------------------------------------------------------------------------


class FoutAntwoord(BaseModel):
    detail: str
    errors: list[VeldFout] = []


class Ontvangen(BaseModel):
    melding_id: UUID
    status: Literal["nieuw", "duplicaat", "afgewezen"]
    beslissing: dict[str, Any] | None = Field(
        description="the decision contract (docs/messages.md, `beslissing`); null when the melding lies "
        "outside what this user may read (another house's, or a restricted compartment's): it is stored all the same")


class Afgewezen(Ontvangen):
    detail: str
    errors: list[VeldFout]


class MeldingUit(BaseModel):
    melding_id: UUID
    status: str
    bron: str | None
    kenmerk: str | None
    soort: str | None = None
    gemeente: str | None = None
    ontvangen_op: str | None = None
    beslissing: dict[str, Any]
    regisseur: str | None = None
    gesloten: bool = Field(False, description="closed; the result is free text, read with ?doel= (notities)")
    versie: int
    errors: list[VeldFout] | None = Field(None, description="only for a rejected melding")
    persoonsgegevens: dict[str, Any] | None = Field(
        None, description="only when asked for with a purpose (doel); the read is recorded"
    )


class Strikt(BaseModel):
    model_config = ConfigDict(extra="forbid")


Tekst = Annotated[str, Field(min_length=1, max_length=2000, pattern=r"\S")]
DOELEN = list(doelen())
DOEL_UITLEG = "why personal data is read: a purpose of the register (" + ", ".join(DOELEN) + "); the read is recorded"


class Inzage(Strikt):
    # Checked by Loket.persoonsgegevens against the register, like the CLI's and the pages' purposes;
    # the schema only tells clients what it will take.
    doel: Annotated[str, Field(description=DOEL_UITLEG, json_schema_extra={"enum": DOELEN})]
    toelichting: Annotated[str | None, Field(
        description=f"optional, at most {MAX_TOELICHTING} characters: sealed in the access log, "
                    "never kept in the clear",
    )] = None


class Accepteer(Strikt):
    regisseur: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


class Retour(Strikt):
    reden: Tekst


class Handmatig(Strikt):
    zvh: Annotated[str, Field(max_length=100)]
    product: Annotated[str, Field(max_length=100)]
    reden: Tekst


class TopX(Strikt):
    aan: bool
    reden: Tekst


class Sluit(Strikt):
    resultaat: Tekst


class Toewijzing(Strikt):
    regisseur: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]


class Geinformeerd(Strikt):
    taak: Annotated[str, Field(min_length=1, max_length=100, description="the task's id (GET /informeren)")]
    kanaal: Annotated[str, Field(description="how the party was told", json_schema_extra={"enum": list(KANALEN)})]


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A model's JSON schema with its definitions written out in place (no $defs to resolve)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


# Intake -------------------------------------------------------------------------


async def _body(request: Request) -> bytes | TeGroot:
    """The body, or what is kept of it once it passes the limit (the rest is not read)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        chunks.append(chunk)
        if size > MAX_BODY:
            return TeGroot.van(b"".join(chunks))
    return b"".join(chunks)


@router.post(
    "/meldingen",
    tags=["intake"],
    summary="Receive one melding (the intake contract)",
    status_code=201,
    responses={
        200: {"model": Ontvangen, "description": "already received: the existing melding"},
        201: {"model": Ontvangen, "description": "new: stored and decided"},
        413: {"model": Afgewezen, "description": "over the size limit: recorded as rejected (its beginning)"},
        422: {"model": Afgewezen, "description": "breaks the contract: recorded as rejected, every bad field named"},
    },
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": inline_schema(MeldingIn)}
    }}},
)
async def ontvang(request: Request, wie: Wie, d: Diensten, wacht: Wacht = None) -> Response:
    raw = await _body(request)
    o = await run_in_threadpool(d.ontvang, wie, raw)
    gewacht = await run_in_threadpool(wacht_op_schrijven, d, wacht)
    body = {"melding_id": str(o.melding_id), "status": o.status,
            "beslissing": o.beslissing.as_contract() if o.beslissing is not None else None}
    if o.beslissing is not None and o.beslissing.outcome == "rejected":
        errors = [{"field": e["field"], "message": e["message"]} for e in o.beslissing.errors]
        if isinstance(raw, TeGroot):
            return JSONResponse({**body, "detail": f"a melding is at most {MAX_BODY} bytes; its beginning is "
                                 "recorded as rejected", "errors": errors}, status_code=413, headers=gewacht)
        return JSONResponse({**body, "detail": "the melding breaks the intake contract; it is recorded "
                             "as rejected", "errors": errors}, status_code=422, headers=gewacht)
    headers = {"Location": f"/meldingen/{o.melding_id}", **gewacht}
    return JSONResponse(body, status_code=201 if o.status == "nieuw" else 200, headers=headers)


# One melding --------------------------------------------------------------------


def melding_uit(m: Melding | AfgewezenMelding) -> dict[str, Any]:
    if isinstance(m, AfgewezenMelding):
        return {"melding_id": m.id, "status": m.status, "bron": m.bron, "kenmerk": m.kenmerk,
                "beslissing": m.beslissing.as_contract(), "versie": m.version,
                "errors": [{"field": e["field"], "message": e["message"]} for e in m.errors]}
    return {"melding_id": m.id, "status": m.status, "bron": m.bron, "kenmerk": m.kenmerk, "soort": m.soort,
            "gemeente": m.gemeente, "ontvangen_op": m.ontvangen_op,
            "beslissing": m.beslissing.as_contract() if m.beslissing else {},
            "regisseur": m.regisseur, "gesloten": m.resultaat is not None, "versie": m.version}


# FastAPI's `responses`: per status code, the model and description of the answer.
Antwoorden = dict[int | str, dict[str, Any]]
NIET_GEVONDEN: Antwoorden = {
    404: {"model": FoutAntwoord, "description": "no such melding, or not one this user may see"}}
VERBODEN: Antwoorden = {403: {"model": FoutAntwoord, "description": "the user's role does not allow this"}}
ONGELDIG: Antwoorden = {422: {"model": FoutAntwoord, "description": "a bad parameter or body field, each named"}}


@router.get("/meldingen/{melding_id}", tags=["meldingen"], response_model=MeldingUit,
            responses={**NIET_GEVONDEN, **VERBODEN, **ONGELDIG},
            summary="A melding's decision and status; its personal data only with a purpose (?doel=)")
async def lees(
    melding_id: UUID, wie: Wie, d: Diensten,
    doel: Annotated[str | None, Query(description=DOEL_UITLEG, json_schema_extra={"enum": DOELEN})] = None,
) -> dict[str, Any]:
    # Reading one melding is a few indexed reads, cheaper on the event loop than the hand-off to a
    # worker thread and back. Reading personal data writes the access log: that waits in a thread.
    uit = melding_uit(d.melding(wie, melding_id))
    if doel is not None:
        uit["persoonsgegevens"] = await run_in_threadpool(d.persoonsgegevens, wie, melding_id, doel, kanaal="api")
    return uit


@router.post("/meldingen/{melding_id}/persoonsgegevens", tags=["meldingen"], response_model=MeldingUit,
             responses={**NIET_GEVONDEN, **VERBODEN, **ONGELDIG},
             summary="A melding with its personal data, for a purpose with a toelichting (sealed in the access log)")
def lees_met_toelichting(melding_id: UUID, body: Inzage, wie: Wie, d: Diensten) -> dict[str, Any]:
    uit = melding_uit(d.melding(wie, melding_id))
    uit["persoonsgegevens"] = d.persoonsgegevens(wie, melding_id, body.doel, kanaal="api", toelichting=body.toelichting)
    return uit


@router.get("/meldingen/{melding_id}/audit", tags=["meldingen"], responses={**NIET_GEVONDEN, **ONGELDIG},
            summary="Every event of a melding: time, actor, ruleset, rules (as_of: as recorded then)")
def audit(melding_id: UUID, wie: Wie, d: Diensten, as_of: AsOf) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.audit(melding_id)


@router.get("/meldingen/{melding_id}/explain", tags=["meldingen"], responses={**NIET_GEVONDEN},
            summary="Why the rules decide what they decide for this melding (every rule, every condition)")
def explain(melding_id: UUID, wie: Wie, d: Diensten) -> dict[str, Any]:
    uitleg = d.uitleg(wie, melding_id)
    if uitleg.trace is None:
        return uitleg.gegevens
    return {**uitleg.gegevens, "tekst": uitleg.trace.render()}


LIFECYCLE: Antwoorden = {**NIET_GEVONDEN, **VERBODEN, **ONGELDIG,
             409: {"model": FoutAntwoord, "description": "not allowed in the melding's present state"}}


@router.post("/meldingen/{melding_id}/accept", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="The house accepts a routed melding and names its regisseur")
def accept(melding_id: UUID, body: Accepteer, wie: Wie, d: Diensten, response: Response,
           wacht: Wacht = None) -> dict[str, Any]:
    uit = melding_uit(d.handel(wie, "accept", melding_id, regisseur=body.regisseur))
    response.headers.update(wacht_op_schrijven(d, wacht))
    return uit


@router.post("/meldingen/{melding_id}/return", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="The house sends a melding back to the loket's triage queue, with a reason")
def retour(melding_id: UUID, body: Retour, wie: Wie, d: Diensten, response: Response,
           wacht: Wacht = None) -> dict[str, Any]:
    uit = melding_uit(d.handel(wie, "return", melding_id, reden=body.reden))
    response.headers.update(wacht_op_schrijven(d, wacht))
    return uit


@router.post("/meldingen/{melding_id}/reroute", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="The intake team routes a melding by hand, overriding the rules")
def reroute(melding_id: UUID, body: Handmatig, wie: Wie, d: Diensten, response: Response,
            wacht: Wacht = None) -> dict[str, Any]:
    uit = melding_uit(d.handel(wie, "reroute", melding_id, zvh=body.zvh, product=body.product, reden=body.reden))
    response.headers.update(wacht_op_schrijven(d, wacht))
    return uit


@router.post("/meldingen/{melding_id}/decide", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="Decide a melding waiting in the triage queue")
def decide(melding_id: UUID, body: Handmatig, wie: Wie, d: Diensten, response: Response,
           wacht: Wacht = None) -> dict[str, Any]:
    uit = melding_uit(d.handel(wie, "decide", melding_id, zvh=body.zvh, product=body.product, reden=body.reden))
    response.headers.update(wacht_op_schrijven(d, wacht))
    return uit


@router.post("/meldingen/{melding_id}/topx", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="Give a PGA case the Top X label, or scale it down through the weegtafel")
def topx(melding_id: UUID, body: TopX, wie: Wie, d: Diensten, response: Response,
         wacht: Wacht = None) -> dict[str, Any]:
    uit = melding_uit(d.handel(wie, "topx-aan" if body.aan else "topx-af", melding_id, reden=body.reden))
    response.headers.update(wacht_op_schrijven(d, wacht))
    return uit


@router.post("/meldingen/{melding_id}/assign", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="The house assigns another regisseur to a melding it works on")
def assign(melding_id: UUID, body: Toewijzing, wie: Wie, d: Diensten) -> dict[str, Any]:
    return melding_uit(d.handel(wie, "assign", melding_id, regisseur=body.regisseur))


@router.post("/meldingen/{melding_id}/inform", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="Record that a party a decision names (notify) was informed, and how")
def inform(melding_id: UUID, body: Geinformeerd, wie: Wie, d: Diensten) -> dict[str, Any]:
    return melding_uit(d.handel(wie, "inform", melding_id, taak=body.taak, kanaal=body.kanaal))


@router.post("/meldingen/{melding_id}/close", tags=["lifecycle"], response_model=MeldingUit, responses=LIFECYCLE,
             summary="Close a melding with its result")
def close(melding_id: UUID, body: Sluit, wie: Wie, d: Diensten, response: Response,
          wacht: Wacht = None) -> dict[str, Any]:
    uit = melding_uit(d.handel(wie, "close", melding_id, resultaat=body.resultaat))
    response.headers.update(wacht_op_schrijven(d, wacht))
    return uit


# Lists --------------------------------------------------------------------------


@router.get("/caseload", tags=["overzichten"], responses={**ONGELDIG},
            summary="Open meldingen per zvh, product, gemeente and status, with their age")
def caseload(wie: Wie, d: Diensten, as_of: AsOf) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.caseload()


@router.get("/caseload/verloop", tags=["overzichten"], responses={**ONGELDIG},
            summary="Instroom and uitstroom per house, product and month (the caseload over time)")
def caseload_verloop(wie: Wie, d: Diensten, as_of: AsOf) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.verloop()


@router.get("/triage", tags=["overzichten"], responses={**VERBODEN, **ONGELDIG},
            summary="The triage queue: what waits for a person at the loket, oldest first")
def triage(wie: Wie, d: Diensten, as_of: AsOf) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.triage()


@router.get("/deadlines", tags=["overzichten"], responses={**ONGELDIG},
            summary="Open deadlines (Wvggz, huisverbod, Top X review), overdue ones flagged")
def deadlines(wie: Wie, d: Diensten, as_of: AsOf, overdue: bool = False) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.deadlines(overdue=overdue)


@router.get("/stats", tags=["overzichten"], responses={**ONGELDIG},
            summary="Routed meldingen per product and gemeente, a year and the one before")
def stats(wie: Wie, d: Diensten, as_of: AsOf,
          year: Annotated[int | None, Query(ge=1900, le=9999, description="default: this year")] = None,
          ) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.statistiek(year or vandaag().year)


@router.get("/wachtrij", tags=["overzichten"], responses={**ONGELDIG},
            summary="A house's own queue: routed to it, to accept first, then in behandeling")
def queue(wie: Wie, d: Diensten, as_of: AsOf,
          zvh: Annotated[str | None, Query(max_length=100, description="the house (a zvh user gets their own)")] = None,
          ) -> list[dict[str, Any]]:
    with d.overzicht(wie, as_of) as o:
        return o.wachtrij(zvh)


# Paged lists: the pages' lists, with the same parameters ----------------------------


class Lijst(BaseModel):
    totaal: int = Field(description="rows in the whole list as filtered (only those this user may see)")
    pagina: int
    per_pagina: int
    paginas: int
    rijen: list[dict[str, Any]]


def _lijst(p: Pagina) -> dict[str, Any]:
    return p.as_dict()


SORTEER_UITLEG = (f"a column: {', '.join(SORTEERBAAR)} (deadlines: {', '.join(TERMIJNEN_SORTEERBAAR)}); "
                  "default: the list's own order")


def _vraag(sorteerbaar: Any) -> Any:
    async def vraag(
        product: Annotated[str | None, Query(max_length=100, description="a product id")] = None,
        soort: Annotated[str | None, Query(max_length=100, description="the melding's soort")] = None,
        gemeente: Annotated[str | None, Query(max_length=100)] = None,
        status: Annotated[str | None, Query(max_length=100)] = None,
        regisseur: Annotated[str | None, Query(max_length=200, description="a part of the regisseur's name")] = None,
        termijn: Annotated[str | None, Query(max_length=20, description="verlopen, or week (due in 7 days)")] = None,
        zoek: Annotated[str | None, Query(max_length=100, description="a kenmerk, a part, or BRON:KENMERK")] = None,
        sorteer: Annotated[str | None, Query(max_length=20, description=SORTEER_UITLEG)] = None,
        richting: Annotated[str | None, Query(max_length=2, description="op (default) or af")] = None,
        pagina: Annotated[str | None, Query(max_length=12, description="from 1")] = None,
        per_pagina: Annotated[str | None, Query(
            max_length=4, description=f"default {PER_PAGINA}, at most {MAX_PER_PAGINA}")] = None,
    ) -> Vraag:
        return lijstvraag(product=product, soort=soort, gemeente=gemeente, status=status, regisseur=regisseur,
                          termijn=termijn, zoek=zoek, sorteer=sorteer, richting=richting, pagina=pagina,
                          per_pagina=per_pagina, sorteerbaar=sorteerbaar)

    return vraag


LijstVraag = Annotated[Vraag, Depends(_vraag(SORTEERBAAR))]
TermijnVraag = Annotated[Vraag, Depends(_vraag(TERMIJNEN_SORTEERBAAR))]
Huis = Annotated[str | None, Query(max_length=100, description="a house (a zvh user gets their own)")]


@router.get("/lijsten/wachtrij", tags=["overzichten"], responses={**ONGELDIG},
            summary="A page of a house's queue, filtered and sorted (as the queue page)")
def lijst_wachtrij(wie: Wie, d: Diensten, vraag: LijstVraag, zvh: Huis = None) -> Lijst:
    with d.overzicht(wie) as o:
        return Lijst(**_lijst(o.wachtrij_pagina(zvh, vraag)))


@router.get("/lijsten/triage", tags=["overzichten"], responses={**VERBODEN, **ONGELDIG},
            summary="A page of the triage queue, filtered and sorted (as the triage page)")
def lijst_triage(wie: Wie, d: Diensten, vraag: LijstVraag, zvh: Huis = None) -> Lijst:
    with d.overzicht(wie) as o:
        return Lijst(**_lijst(o.triage_pagina(lijstvraag_met(vraag, zvh))))


@router.get("/lijsten/termijnen", tags=["overzichten"], responses={**ONGELDIG},
            summary="A page of the open deadlines, overdue first (as the deadlines page)")
def lijst_termijnen(
    wie: Wie, d: Diensten, vraag: TermijnVraag, zvh: Huis = None,
    termijnsoort: Annotated[str | None, Query(max_length=60, description="e.g. wvggz-termijn, top-x-review")] = None,
) -> Lijst:
    with d.overzicht(wie) as o:
        return Lijst(**_lijst(o.termijnen(lijstvraag_met(vraag, zvh), soort=termijnsoort or None)))


@router.get("/lijsten/zoek", tags=["overzichten"], responses={**ONGELDIG},
            summary="Every melding this user may see whose kenmerk holds `zoek`, newest first")
def lijst_zoek(wie: Wie, d: Diensten, vraag: LijstVraag) -> Lijst:
    with d.overzicht(wie) as o:
        return Lijst(**_lijst(o.zoek(vraag)))


def lijstvraag_met(vraag: Vraag, zvh: str | None) -> Vraag:
    return replace(vraag, zvh=zvh.strip() if zvh and zvh.strip() else None)


PaginaNummer = Annotated[int, Query(ge=1, le=1_000_000, description="which page")]
PerPaginaAantal = Annotated[int, Query(ge=1, le=MAX_PER_PAGINA, description="rows per page")]


@router.get("/informeren", tags=["overzichten"], responses={**VERBODEN, **ONGELDIG},
            summary="Parties to inform (a decision's notify, every Top X case): open ones, most urgent first")
def informeren(wie: Wie, d: Diensten, as_of: AsOf, page: PaginaNummer = 1, per_page: PerPaginaAantal = PER_PAGINA,
               alles: Annotated[bool, Query(alias="all", description="done ones too, the latest first")] = False,
               partij: Annotated[str | None, Query(max_length=40, description="one party: " + ", ".join(PARTIJEN),
                                                   json_schema_extra={"enum": list(PARTIJEN)})] = None,
               gemeente: Annotated[str | None, Query(max_length=100, description="one gemeente's")] = None,
               overdue: Annotated[bool, Query(description="only those past their term")] = False,
               ) -> Lijst:
    with d.overzicht(wie, as_of) as o:
        blad = o.informeren(open_only=not alles, partij=partij, gemeente=gemeente, verlopen=overdue, pagina=page,
                            per_pagina=per_page)
        return Lijst(**blad.as_dict())


@router.get("/mijn-zaken", tags=["overzichten"], responses={**ONGELDIG},
            summary="The open meldingen whose regisseur is the caller")
def mijn_zaken(wie: Wie, d: Diensten, as_of: AsOf, page: PaginaNummer = 1,
               per_page: PerPaginaAantal = PER_PAGINA) -> Lijst:
    with d.overzicht(wie, as_of) as o:
        return Lijst(**o.mijn_zaken(pagina=page, per_pagina=per_page).as_dict())


@router.get("/ik", tags=["toegang"], summary="Who this token belongs to, and what it may do")
def ik(wie: Wie) -> dict[str, Any]:
    return wie.as_dict()
