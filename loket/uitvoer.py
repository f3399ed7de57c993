"""Figures and logs as tables people take away: CSV (one table) and XLSX (every table a sheet).

The pages, the API and the CLI download the same tables: Dutch column heads and the words of
routing/woorden.py for houses, products and streams (ids stay in the JSON). Which time a column
holds is in its head: "ontvangen" is business time, "vastgelegd" is recording time.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from events.logboek import doelen
from loket.service import Cijfers
from routing import woorden
from routing.tijd import NL

# The annual report's tables (projections/cijfers.py JAARVERSLAG) as its headings say them (seed 004).
TABELNAMEN = {"pga": "PGA", "radicalisering": "Radicalisering", "huisverbod": "WTH (tijdelijk huisverbod)",
              "detentie": "Detentiemeldingen"}


@dataclass(frozen=True, slots=True)
class Blad:
    """One table: its id (for a URL), its name (a sheet's), its column heads and rows."""

    id: str
    naam: str
    kolommen: tuple[str, ...]
    rijen: list[tuple[Any, ...]]


def vastgelegd(tijdstip: str | None) -> str:
    """A recorded UTC moment as Dutch time, dd-mm-jjjj uu:mm:ss."""
    if not tijdstip:
        return ""
    return datetime.fromisoformat(tijdstip).astimezone(NL).strftime("%d-%m-%Y %H:%M:%S")


def cijfer_bladen(c: Cijfers) -> list[Blad]:
    vorig, jaar = str(c.jaar - 1), str(c.jaar)
    return [
        Blad("jaarverslag", f"Jaarverslag {jaar}",
             ("Huis", "Tabel", "Gemeente", vorig, jaar),
             [(woorden.huis(r["zvh"]), TABELNAMEN.get(r["tabel"], r["tabel"]), r["gemeente"] or "onbekend",
               r["vorig_jaar"], r["dit_jaar"]) for r in c.jaartabellen]),
        Blad("per-product", "Per product en gemeente",
             ("Huis", "Product", "Gemeente", vorig, jaar, f"Gesloten van {jaar}"),
             [(woorden.huis(r["zvh"]), woorden.product(r["product"]), r["gemeente"] or "onbekend",
               r["vorig_jaar"], r["dit_jaar"], r["gesloten"]) for r in c.per_product]),
        Blad("per-maand", "Per maand",
             ("Huis", "Product", "Maand", "Instroom", "Lopend eind van de maand", "Te laat eind van de maand"),
             [(woorden.huis(r["zvh"]), woorden.product(r["product"]), r["maand"], r["instroom"], r["lopend"],
               r["te_laat"]) for r in c.maanden]),
        Blad("doorlooptijden", "Doorlooptijden",
             ("Huis", "Stroom", "Maand van ontvangst", "Meldingen", "Beslist",
              "Uren tot beslissing (mediaan)", "Uren tot beslissing (90e percentiel)", "Geaccepteerd",
              "Uren van beslissing tot acceptatie (mediaan)", "Uren van beslissing tot acceptatie (90e percentiel)",
              "Teruggestuurd of geherrouteerd", "Aandeel teruggestuurd of geherrouteerd"),
             [(woorden.huis(r["zvh"]) or "nog niet geplaatst", woorden.soort(r["soort"]), r["maand"], r["meldingen"],
               r["beslist"], r["beslissing_mediaan_uren"], r["beslissing_p90_uren"], r["geaccepteerd"],
               r["acceptatie_mediaan_uren"], r["acceptatie_p90_uren"], r["teruggestuurd_of_herrouteerd"],
               r["aandeel_terug_of_om"]) for r in c.doorlooptijden_per_maand]),
    ]


def toegangslog_blad(rows: list[dict[str, Any]]) -> Blad:
    namen = {code: d.naam for code, d in doelen().items()}
    return Blad("toegangslog", "Toegangslog",
                ("Vastgelegd", "Wie", "Rol", "Doel", "Melding", "Kanaal", "Toegang", "Weigering", "Handeling",
                 "Betrokkene (pseudoniem)", "Trace"),
                [(vastgelegd(r["begin"]), r["actor"], r["rol"], namen.get(r["doel"] or "", r["doel"]), r["melding_id"],
                  r["kanaal"], r["toegang"], r["weigering"], r["naam"],
                  r["betrokkene"], r["trace_id"]) for r in rows])


def csv_bytes(blad: Blad) -> bytes:
    """One table as CSV (UTF-8 with a byte order mark, so a spreadsheet reads the accents)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(blad.kolommen)
    writer.writerows(["" if v is None else v for v in row] for row in blad.rijen)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def xlsx_bytes(bladen: list[Blad]) -> bytes:
    """Every table a sheet, its heads bold and frozen."""
    boek = Workbook()
    boek.remove(boek.active)  # type: ignore[arg-type]
    for blad in bladen:
        sheet = boek.create_sheet(blad.naam[:31])  # a sheet name is at most 31 characters
        sheet.append(list(blad.kolommen))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in blad.rijen:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        for i, kop in enumerate(blad.kolommen, start=1):
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, min(40, len(str(kop)) + 2))
    out = io.BytesIO()
    boek.save(out)
    return out.getvalue()
