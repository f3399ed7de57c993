"""The list pages over HTTP: a house's queue, triage, the deadlines and the search, paged on the server,
filtered and sorted through the URL, in Dutch words, with errors at the field and error pages that
keep the menu. (In a real browser, at 1366 and 390 px: tests/test_web_browser.py.)"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from routing.tijd import NL, vandaag
from tests.conftest import line
from tests.web_fixtures import Loketten, formuliertoken


def dagen_geleden(n: int) -> str:
    return datetime.combine(date.fromordinal(vandaag().toordinal() - n), time(9), NL).isoformat()


def ontvang(loketten: Loketten, token: str, **overrides) -> str:
    answer = loketten.client.post("/meldingen", content=line(**overrides), headers=loketten.als(token))
    assert answer.status_code == 201, answer.text
    return answer.json()["melding_id"]


def rijen(page: str) -> list[str]:
    """The kenmerken of a list's rows, in order."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r'data-kop="Kenmerk">(?:<a [^>]*>)?[a-z-]+:(?:<wbr>)?([^<]+)<', body)


def test_a_house_queue_is_paged_by_50_with_links_and_a_count(loketten):
    intake = loketten.token("anna", "intake")
    for i in range(75):
        ontvang(loketten, intake, kenmerk=f"PGA-{i:03d}", ontvangen_op=dagen_geleden(100 - i))
    loketten.inloggen(loketten.token("piet", "zvh", "parkstad"))
    first = loketten.client.get("/web/wachtrij")
    assert first.status_code == 200
    assert rijen(first.text) == [f"PGA-{i:03d}" for i in range(50)]
    assert "1–50 van 75 meldingen (pagina 1 van 2)" in first.text
    assert 'href="/web/wachtrij?pagina=2" rel="next"' in first.text
    second = loketten.client.get("/web/wachtrij", params={"pagina": "2"})
    assert rijen(second.text) == [f"PGA-{i:03d}" for i in range(50, 75)]
    assert "Persoonsgerichte aanpak (PGA)" in second.text and ">pga<" not in second.text
    assert "<h1>Wachtrij Zorg- en Veiligheidshuis Parkstad</h1>" in second.text


def test_filters_and_sort_live_in_the_url_and_a_kenmerk_part_finds_its_rows(loketten):
    intake = loketten.token("anna", "intake")
    ontvang(loketten, intake, soort="wvggz", kenmerk="WVGGZ-LAAT", ontvangen_op=dagen_geleden(20))
    ontvang(loketten, intake, soort="wvggz", kenmerk="WVGGZ-NIEUW", ontvangen_op=dagen_geleden(1))
    ontvang(loketten, intake, kenmerk="PGA-1", ontvangen_op=dagen_geleden(30))
    loketten.inloggen(intake)
    overdue = loketten.client.get("/web/wachtrij", params={"zvh": "parkstad", "soort": "wvggz", "termijn": "verlopen"})
    assert rijen(overdue.text) == ["WVGGZ-LAAT"]
    assert "verlopen (6 dagen)" in overdue.text
    assert '<option value="wvggz" selected>' in overdue.text  # the form shows what the list is filtered by
    by_kenmerk = loketten.client.get("/web/wachtrij",
                                     params={"zvh": "parkstad", "sorteer": "kenmerk", "richting": "af"})
    assert rijen(by_kenmerk.text) == ["WVGGZ-NIEUW", "WVGGZ-LAAT", "PGA-1"]
    assert 'aria-sort="descending"' in by_kenmerk.text
    part = loketten.client.get("/web/wachtrij", params={"zvh": "parkstad", "zoek": "wvggz"})
    assert rijen(part.text) == ["WVGGZ-LAAT", "WVGGZ-NIEUW"]
    none = loketten.client.get("/web/wachtrij", params={"zvh": "parkstad", "zoek": "bestaat-niet"})
    assert "Geen meldingen die aan deze filters voldoen." in none.text


def test_a_filter_outside_the_list_is_an_error_at_its_field_in_dutch_never_repeated(loketten):
    loketten.inloggen(loketten.token("anna", "intake"))
    page = loketten.client.get("/web/wachtrij", params={"soort": "<script>x</script>"})
    assert page.status_code == 422
    assert "Er is een probleem" in page.text and 'href="#f-soort">Kies een soort uit de lijst.' in page.text
    assert 'id="f-soort-fout"' in page.text and "<script>x" not in page.text
    bad_page = loketten.client.get("/web/triage", params={"pagina": "nul"})
    assert bad_page.status_code == 422 and "Geef een paginanummer" in bad_page.text


def test_the_header_search_opens_one_melding_or_lists_the_kenmerken_that_hold_the_part(loketten):
    intake = loketten.token("anna", "intake")
    one = ontvang(loketten, intake, kenmerk="VIA-2025-000123")
    ontvang(loketten, intake, kenmerk="VIA-2025-000124")
    loketten.inloggen(intake)
    found = loketten.client.get("/web/zoek", params={"q": "000123"}, follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/web/meldingen/{one}"
    exact = loketten.client.get("/web/zoek", params={"q": "gemeente:VIA-2025-000123"}, follow_redirects=False)
    assert exact.headers["location"] == f"/web/meldingen/{one}"
    both = loketten.client.get("/web/zoek", params={"q": "via-2025"})
    assert both.status_code == 200 and sorted(rijen(both.text)) == ["VIA-2025-000123", "VIA-2025-000124"]
    empty = loketten.client.get("/web/zoek", params={"q": ""})
    assert empty.status_code == 422 and 'id="f-q-fout"' in empty.text


def test_the_deadlines_page_puts_overdue_first_and_a_house_sees_only_its_own(loketten):
    intake = loketten.token("anna", "intake")
    ontvang(loketten, intake, soort="wvggz", kenmerk="WVGGZ-STEIN", gemeente="Stein", ontvangen_op=dagen_geleden(20))
    ontvang(loketten, intake, soort="wvggz", kenmerk="WVGGZ-HEERLEN", ontvangen_op=dagen_geleden(2))
    loketten.inloggen(intake)
    page = loketten.client.get("/web/termijnen")
    assert rijen(page.text) == ["WVGGZ-STEIN", "WVGGZ-HEERLEN"]
    assert "Verkennend onderzoek Wvggz (14 dagen)" in page.text and "over 12 dagen" in page.text
    loketten.inloggen(loketten.token("wendy", "zvh", "westelijke-mijnstreek"))
    own = loketten.client.get("/web/termijnen", params={"zvh": "parkstad"})  # a house's own, whatever the URL says
    assert rijen(own.text) == ["WVGGZ-STEIN"]
    assert "<h1>Termijnen Zorg- en Veiligheidshuis Westelijke Mijnstreek</h1>" in own.text


def test_an_error_page_is_dutch_and_keeps_the_menu(loketten):
    loketten.inloggen(loketten.token("anna", "intake"))
    missing = loketten.client.get("/web/meldingen/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert "<h1>Niet gevonden</h1>" in missing.text and 'aria-label="Hoofdmenu"' in missing.text
    assert "no melding" not in missing.text
    nowhere = loketten.client.get("/web/bestaat-niet")
    assert nowhere.status_code == 404 and 'aria-label="Hoofdmenu"' in nowhere.text and "Not Found" not in nowhere.text


def test_a_dutch_date_is_a_moment_and_a_wrong_one_is_an_error_at_the_field(loketten):
    intake = loketten.token("anna", "intake")
    ontvang(loketten, intake, kenmerk="CL-1", ontvangen_op="2025-03-04T10:00:00+01:00")
    loketten.inloggen(loketten.token("olga", "auditor"))
    morgen = date.fromordinal(vandaag().toordinal() + 1)
    then = loketten.client.get("/web/caseload", params={"as_of": f"{morgen.day}-{morgen.month}-{morgen.year}"})
    assert then.status_code == 200 and f"op {morgen:%d-%m-%Y} 23:59" in then.text
    assert "Zorg- en Veiligheidshuis Parkstad: 1 lopend" in then.text
    wrong = loketten.client.get("/web/caseload", params={"as_of": "31-02-2025"})
    assert wrong.status_code == 422 and 'id="f-as_of-fout"' in wrong.text
    assert "Geef een datum als 30-06-2025" in wrong.text and 'value="31-02-2025"' in wrong.text  # the input kept
    audit = loketten.client.get("/web/audit", params={"as_of": f"{morgen:%d-%m-%Y} 12:00", "melding": "gemeente:CL-1"})
    assert audit.status_code == 200 and "Naar huis en product gerouteerd" in audit.text
    assert "Uitkomst: Gerouteerd" in audit.text and "Huis: Zorg- en Veiligheidshuis Parkstad" in audit.text
    assert "Wachtrij: Zorg- en Veiligheidshuis Parkstad — Persoonsgerichte aanpak (PGA)" in audit.text
    assert "outcome" not in audit.text and "04-03-2025 10:00" in audit.text


def test_an_action_without_its_field_is_an_error_at_that_field_in_dutch_with_the_input_kept(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="VELD-1")
    loketten.inloggen(loketten.token("root", "beheer"))
    page = loketten.client.get(f"/web/meldingen/{mid}")
    csrf = formuliertoken(page.text)
    blank = loketten.client.post(f"/web/meldingen/{mid}/reroute",
                                 data={"csrf": csrf, "zvh": "maastricht-heuvelland", "product": "pga", "reden": " ",
                                       "ander_huis": "ja"})  # another house than the gemeente's, knowingly
    assert blank.status_code == 422
    assert '<a href="#reroute-reden">Geef een reden.</a>' in blank.text
    assert 'id="reroute-reden-fout">Geef een reden.</p>' in blank.text and "is required" not in blank.text
    assert '<option value="maastricht-heuvelland" selected>' in blank.text  # what was chosen is kept
    loketten.client.post(f"/web/meldingen/{mid}/close", data={"csrf": csrf, "resultaat": "klaar"})
    again = loketten.client.post(f"/web/meldingen/{mid}/close", data={"csrf": csrf, "resultaat": "nog eens"})
    assert again.status_code == 409 and "de melding staat nu op “Gesloten”" in again.text


def test_the_api_takes_a_dutch_as_of_date_as_the_pages_and_the_cli_do(loketten):
    auditor = loketten.token("olga", "auditor")
    for as_of in ("30-06-2025", "30-6-2025 17:00", "2025-06-30"):
        answer = loketten.client.get("/caseload", params={"as_of": as_of}, headers=loketten.als(auditor))
        assert answer.status_code == 200, as_of
    wrong = loketten.client.get("/caseload", params={"as_of": "31-6-2025"}, headers=loketten.als(auditor))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "as_of"


def test_the_api_pages_the_same_lists_with_the_same_parameters(loketten):
    intake = loketten.token("anna", "intake")
    for i in range(60):
        ontvang(loketten, intake, kenmerk=f"API-{i:03d}", ontvangen_op=dagen_geleden(90 - i))
    ontvang(loketten, intake, soort="wvggz", kenmerk="API-WVGGZ", ontvangen_op=dagen_geleden(20))
    parkstad = loketten.als(loketten.token("piet", "zvh", "parkstad"))
    second = loketten.client.get("/lijsten/wachtrij", params={"pagina": "2"}, headers=parkstad).json()
    assert (second["totaal"], second["pagina"], second["paginas"], len(second["rijen"])) == (61, 2, 2, 11)
    overdue = loketten.client.get("/lijsten/wachtrij", params={"soort": "wvggz", "termijn": "verlopen"},
                                  headers=parkstad).json()
    assert [(r["kenmerk"], r["dagen"]) for r in overdue["rijen"]] == [("API-WVGGZ", -6)]
    found = loketten.client.get("/lijsten/zoek", params={"zoek": "api-05"}, headers=parkstad).json()
    assert found["totaal"] == 10
    deadlines = loketten.client.get("/lijsten/termijnen", params={"termijnsoort": "lokaal-veld-termijn"},
                                    headers=loketten.als(intake)).json()
    assert [r["kenmerk"] for r in deadlines["rijen"]] == ["API-WVGGZ"]
    bad = loketten.client.get("/lijsten/triage", params={"sorteer": "bsn"}, headers=loketten.als(intake))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "sorteer"
    assert loketten.client.get("/lijsten/triage", headers=parkstad).status_code == 403
