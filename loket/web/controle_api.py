"""The auditors' routes of the JSON API: a year's figures (JSON, CSV, XLSX), the access log (paged
JSON, CSV), a melding's time line and its export for a subject access request, and which ruleset
was in force on a day. The same use cases as the pages (loket/web/controle.py) and the CLI."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from loket.service import LOGREGELS_PER_PAGINA, MAX_LOGREGELS_PER_PAGINA, Dienst
from loket.uitvoer import cijfer_bladen, csv_bytes, toegangslog_blad, xlsx_bytes
from loket.web.api import NIET_GEVONDEN, ONGELDIG, VERBODEN, AsOf, Wie
from loket.web.auth import Diensten
from routing.tijd import vandaag

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Jaar = Annotated[int | None, Query(ge=1901, le=9998, description="default: this year")]
Blad = Literal["jaarverslag", "per-product", "per-maand", "doorlooptijden"]


def _download(body: bytes, naam: str, media_type: str) -> Response:
    return Response(body, media_type=media_type, headers={"content-disposition": f'attachment; filename="{naam}"'})


@router.get("/statistiek", tags=["controle"], responses={**ONGELDIG},
            summary="A year's figures beside the year before: per product and gemeente, the annual report's tables, "
                    "per month (instroom, lopend, te laat), and the loket's lead times per stream and house")
def statistiek(wie: Wie, d: Diensten, as_of: AsOf, jaar: Jaar = None) -> dict[str, Any]:
    with d.overzicht(wie, as_of) as o:
        return asdict(o.cijfers(jaar or vandaag().year))


@router.get("/statistiek.csv", tags=["controle"], responses={**ONGELDIG}, response_class=Response,
            summary="One table of a year's figures as CSV, with Dutch column heads and words")
def statistiek_csv(wie: Wie, d: Diensten, as_of: AsOf, jaar: Jaar = None, blad: Blad = "jaarverslag") -> Response:
    year = jaar or vandaag().year
    with d.overzicht(wie, as_of) as o:
        bladen = {b.id: b for b in cijfer_bladen(o.cijfers(year))}
    return _download(csv_bytes(bladen[blad]), f"loket-{blad}-{year}.csv", "text/csv; charset=utf-8")


@router.get("/statistiek.xlsx", tags=["controle"], responses={**ONGELDIG}, response_class=Response,
            summary="A year's figures as a spreadsheet, every table a sheet")
def statistiek_xlsx(wie: Wie, d: Diensten, as_of: AsOf, jaar: Jaar = None) -> Response:
    year = jaar or vandaag().year
    with d.overzicht(wie, as_of) as o:
        body = xlsx_bytes(cijfer_bladen(o.cijfers(year)))
    return _download(body, f"loket-cijfers-{year}.xlsx", XLSX)


def _melding(d: Dienst, melding: str | None) -> UUID | None:
    return d.melding_id_van(melding, "melding") if melding else None


Filter = Annotated[str | None, Query(max_length=200)]
Dag = Annotated[date | None, Query(description="a whole Dutch day, ISO (2025-06-30)")]


@router.get("/toegangslog", tags=["controle"], responses={**VERBODEN, **ONGELDIG},
            summary="Who read or destroyed which personal data, when, in which role, for which purpose (paged); "
                    "betrokkene: every line about one subject, by pseudonym")
def toegangslog(wie: Wie, d: Diensten, melding: Filter = None, actor: Filter = None, van: Dag = None,
                tot: Dag = None, doel: Filter = None, betrokkene: Filter = None,
                pagina: Annotated[int, Query(ge=1)] = 1,
                per_pagina: Annotated[int, Query(ge=1, le=MAX_LOGREGELS_PER_PAGINA)] = LOGREGELS_PER_PAGINA,
                ) -> dict[str, Any]:
    log = d.toegangslog_pagina(wie, melding=_melding(d, melding), actor=actor, van=van, tot=tot, doel=doel,
                               betrokkene=betrokkene, pagina=pagina, per_pagina=per_pagina)
    return {"totaal": log.totaal, "pagina": log.nummer, "per_pagina": log.grootte, "paginas": log.paginas,
            "regels": log.rijen}


@router.get("/toegangslog.csv", tags=["controle"], responses={**VERBODEN, **ONGELDIG}, response_class=Response,
            summary="Every line of the access log that matches, as CSV")
def toegangslog_csv(wie: Wie, d: Diensten, melding: Filter = None, actor: Filter = None, van: Dag = None,
                    tot: Dag = None, doel: Filter = None, betrokkene: Filter = None) -> Response:
    rows = d.toegangslog(wie, melding=_melding(d, melding), actor=actor, van=van, tot=tot, doel=doel,
                         betrokkene=betrokkene)
    return _download(csv_bytes(toegangslog_blad(rows)), "loket-toegangslog.csv", "text/csv; charset=utf-8")


@router.get("/meldingen/{melding_id}/tijdlijn", tags=["controle"], responses={**NIET_GEVONDEN},
            summary="A melding's events and (for a role that reads the access log) the reads of its personal data, "
                    "in one time line, each decision with its ruleset version")
def tijdlijn(melding_id: UUID, wie: Wie, d: Diensten) -> list[dict[str, Any]]:
    return d.tijdlijn(wie, melding_id)


@router.post("/meldingen/{melding_id}/inzageverzoek", tags=["controle"], responses={**NIET_GEVONDEN, **VERBODEN},
             summary="A melding's whole trail as one document for a subject access request (AVG art. 15); its "
                     "personal data only for a role that reads them, and that read is recorded")
def inzageverzoek(melding_id: UUID, wie: Wie, d: Diensten) -> dict[str, Any]:
    return d.inzageverzoek(wie, melding_id, kanaal="api")


class Betrokkene(BaseModel):
    model_config = ConfigDict(extra="forbid")
    betrokkene: Annotated[str, Field(max_length=64, description="the subject's pseudonym, as the access log shows it")]


@router.post("/inzageverzoek", tags=["controle"], responses={**VERBODEN, **ONGELDIG},
             summary="A subject access request for one person (by pseudonym): every melding about them this user may "
                     "see, with its trail, and every read about them (for a role that reads the access log)")
def inzageverzoek_betrokkene(body: Betrokkene, wie: Wie, d: Diensten) -> dict[str, Any]:
    return d.inzageverzoek_betrokkene(wie, body.betrokkene, kanaal="api")


@router.get("/regels", tags=["controle"], responses={**ONGELDIG},
            summary="Which ruleset was in force on a day: the version the loket decided with, every version, "
                    "and the rows of the rules valid that day")
def regels(wie: Wie, d: Diensten, datum: Annotated[date | None, Query(description="default: today")] = None,
           ) -> dict[str, Any]:
    r = d.regels_op(wie, datum or vandaag())
    return {**asdict(r), "datum": r.datum.isoformat(), "zelfde": r.zelfde}
