"""The lists people page through (projections/lijsten.py through the service): a house's queue, triage,
a search by kenmerk and the deadlines, paged, filtered and sorted in SQL, and never showing a melding
the one access check (events.toegang.weigering) would refuse. Dutch dates in every date field."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from uuid import UUID

import pytest

from events.handelingen import Gebruiker
from events.toegang import Kenmerken, Rol, weigering
from loket.service import Dienst, OngeldigVeld, datum, lijstvraag, moment
from routing.tijd import NL, vandaag
from tests.conftest import melding

INTAKE = Gebruiker("anna", Rol("intake"))
WEEGPLOEG = Gebruiker("wim", Rol("intake", compartimenten=frozenset({"radicalisering"})))
PARKSTAD = Gebruiker("piet", Rol("zvh", "parkstad"))
WM = Gebruiker("wendy", Rol("zvh", "westelijke-mijnstreek"))
AUDITOR = Gebruiker("olga", Rol("auditor"))


def ontvang(d: Dienst, **overrides) -> UUID:
    [o] = d.ontvang_batch(WEEGPLOEG, [json.dumps(melding(**overrides)).encode()])
    return o.melding_id


def dagen_geleden(n: int) -> str:
    return datetime.combine(date.fromordinal(vandaag().toordinal() - n), time(9), NL).isoformat()


@pytest.fixture
def dienst(systeem) -> Dienst:
    return Dienst(systeem)


def test_a_house_queue_of_120_is_paged_by_50_with_its_count(dienst):
    for i in range(120):
        ontvang(dienst, kenmerk=f"PGA-{i:03d}", ontvangen_op=dagen_geleden(200 - i))
    ontvang(dienst, kenmerk="ANDER-HUIS", gemeente="Maastricht")
    with dienst.overzicht(PARKSTAD) as o:
        pages = [o.wachtrij_pagina(None, lijstvraag(pagina=str(n))) for n in (1, 2, 3)]
        past_the_end = o.wachtrij_pagina(None, lijstvraag(pagina="9"))
    assert [len(p.rijen) for p in pages] == [50, 50, 20]
    assert {p.totaal for p in pages} == {120} and pages[0].paginas == 3
    kenmerken = [r["kenmerk"] for p in pages for r in p.rijen]
    assert kenmerken == [f"PGA-{i:03d}" for i in range(120)]  # oldest first, none twice, none missed
    assert (pages[2].eerste, pages[2].laatste) == (101, 120)
    assert past_the_end.vraag.pagina == 3 and len(past_the_end.rijen) == 20


def test_search_by_a_part_of_a_kenmerk_or_bron_and_kenmerk(dienst):
    for kenmerk in ("VIA-2025-000123", "VIA-2025-000124", "ZSM-77"):
        ontvang(dienst, kenmerk=kenmerk)
    with dienst.overzicht(INTAKE) as o:
        def found(zoek: str) -> list[str]:
            return sorted(r["kenmerk"] for r in o.zoek(lijstvraag(zoek=zoek)).rijen)

        assert found("00012") == ["VIA-2025-000123", "VIA-2025-000124"]
        assert found("via-2025-000123") == ["VIA-2025-000123"]  # any case
        assert found("gemeente:ZSM") == ["ZSM-77"]
        assert found("politie:ZSM") == []
        assert found("%") == [] and found("_") == []  # the wildcards of LIKE are plain characters
        with pytest.raises(OngeldigVeld):
            o.zoek(lijstvraag(zoek=" "))


def test_a_house_queue_filtered_to_overdue_wvggz_and_sorted_by_any_column(dienst):
    late = ontvang(dienst, soort="wvggz", kenmerk="WVGGZ-LAAT", ontvangen_op=dagen_geleden(20))
    ontvang(dienst, soort="wvggz", kenmerk="WVGGZ-OP-TIJD", ontvangen_op=dagen_geleden(10))
    ontvang(dienst, kenmerk="PGA-OUD", ontvangen_op=dagen_geleden(40))
    with dienst.overzicht(PARKSTAD) as o:
        overdue = o.wachtrij_pagina(None, lijstvraag(soort="wvggz", termijn="verlopen"))
        this_week = o.wachtrij_pagina(None, lijstvraag(termijn="week"))
        by_deadline = o.wachtrij_pagina(None, lijstvraag(sorteer="termijn"))
        by_kenmerk_desc = o.wachtrij_pagina(None, lijstvraag(sorteer="kenmerk", richting="af"))
    assert [r["melding_id"] for r in overdue.rijen] == [str(late)]
    assert overdue.rijen[0]["dagen"] == 14 - 20  # six days overdue
    assert [r["kenmerk"] for r in this_week.rijen] == ["WVGGZ-OP-TIJD"]
    assert [r["kenmerk"] for r in by_deadline.rijen] == ["WVGGZ-LAAT", "WVGGZ-OP-TIJD", "PGA-OUD"]  # none last
    assert [r["kenmerk"] for r in by_kenmerk_desc.rijen] == ["WVGGZ-OP-TIJD", "WVGGZ-LAAT", "PGA-OUD"]


def test_filters_that_are_not_in_the_vocabulary_are_refused_by_field():
    for veld, waarde in (("soort", "onbekend"), ("termijn", "morgen"), ("sorteer", "bsn"), ("pagina", "nul"),
                         ("per_pagina", "76"), ("status", "weg")):
        with pytest.raises(OngeldigVeld) as refused:
            lijstvraag(**{veld: waarde})
        assert refused.value.field == veld and waarde not in str(refused.value)


def test_the_deadlines_list_puts_overdue_first_and_a_house_sees_its_own(dienst):
    ontvang(dienst, soort="wvggz", kenmerk="WVGGZ-PARKSTAD", ontvangen_op=dagen_geleden(3))
    ontvang(dienst, soort="wvggz", kenmerk="WVGGZ-WM", gemeente="Stein", ontvangen_op=dagen_geleden(30))
    with dienst.overzicht(INTAKE) as o:
        alles = o.termijnen()
        verlopen = o.termijnen(lijstvraag(termijn="verlopen"))
    with dienst.overzicht(WM) as o:
        eigen = o.termijnen()
    assert [r["kenmerk"] for r in alles.rijen] == ["WVGGZ-WM", "WVGGZ-PARKSTAD"]
    assert alles.rijen[0]["dagen"] < 0 <= alles.rijen[1]["dagen"]
    assert [r["kenmerk"] for r in verlopen.rijen] == ["WVGGZ-WM"]
    assert [r["kenmerk"] for r in eigen.rijen] == ["WVGGZ-WM"]
    assert {r["termijn_soort"] for r in eigen.rijen} == {"wvggz-termijn"}


def test_what_a_list_shows_each_role_is_what_the_one_access_check_allows(dienst):
    """The WHERE of the lists against weigering, over meldingen in every state, house and compartment."""
    for i, extra in enumerate([
        {}, {"gemeente": "Maastricht"}, {"gemeente": "Stein"}, {"soort": "via", "bron": "politie"},
        {"soort": "radicalisering", "bron": "politie"}, {"gemeente": None}, {"gemeente": "Venlo"},
        {"soort": "wvggz"}, {"soort": "huisverbod"}, {"soort": "detentie-uit", "bron": "dji"},
    ]):
        ontvang(dienst, kenmerk=f"ALLE-{i}", **extra)
    closed = ontvang(dienst, kenmerk="ALLE-DICHT")
    dienst.handel(WEEGPLOEG, "close", closed, resultaat="klaar")
    dienst.bij()
    everything = dienst.systeem.projecties.rows("SELECT * FROM caseload_meldingen")
    assert len(everything) == 11
    for wie in (INTAKE, WEEGPLOEG, PARKSTAD, WM, AUDITOR, Gebruiker("m", Rol("zvh", "maastricht-heuvelland"))):
        allowed = {r["kenmerk"] for r in everything if weigering(wie.rol, Kenmerken.uit_rij(r)) is None}
        with dienst.overzicht(wie) as o:
            shown = {r["kenmerk"] for r in o.zoek(lijstvraag(zoek="ALLE", per_pagina="75")).rijen}
        assert shown == allowed, wie.rol
        assert ("ALLE-4" in shown) == (wie is WEEGPLOEG)  # the compartment, only for those who hold it


@pytest.mark.parametrize(("tekst", "verwacht"), [
    ("30-06-2025", datetime.combine(date(2025, 6, 30), time.max, NL)),
    ("30-6-2025", datetime.combine(date(2025, 6, 30), time.max, NL)),
    ("3-6-2025 17:00", datetime(2025, 6, 3, 17, 0, tzinfo=NL)),
    ("2025-06-30", datetime.combine(date(2025, 6, 30), time.max, NL)),
    ("2025-06-30T17:00:00+02:00", datetime.fromisoformat("2025-06-30T17:00:00+02:00")),
])
def test_a_moment_reads_dutch_and_iso_dates(tekst, verwacht):
    assert moment(tekst) == verwacht


@pytest.mark.parametrize("tekst", ["31-02-2025", "30-06-25", "2025/06/30", "gisteren", "30-13-2025 10:00"])
def test_a_date_outside_the_calendar_or_in_words_is_refused_naming_the_field(tekst):
    with pytest.raises(OngeldigVeld) as refused:
        moment(tekst, "as_of")
    assert refused.value.field == "as_of"
    with pytest.raises(OngeldigVeld):
        datum(tekst, "geboortedatum")


def test_a_birth_date_reads_dutch_and_iso():
    assert datum("6-5-1990") == datum("06-05-1990") == datum("1990-05-06") == date(1990, 5, 6)
