"""An auditor at work in a real headless Chromium against a real `loket serve`: the year's figures
with their downloads, the access log filtered and exported, a melding's time line, and the rules
in force on a day; at 1366 and 390 px. A house gets no access log and no compartment figures.

Screenshots are kept in test-artifacts/screenshots/ to look at.
"""

from __future__ import annotations

import csv
import io
import json

import httpx2
import pytest
from openpyxl import load_workbook

from tests.conftest import melding
from tests.test_web_browser import ARGS, CHROMIUM, csp_overtredingen, shot
from tests.web_fixtures import Server

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def log_in(browser, server: Server, token: str, breedte: int = 1366):
    page = browser.new_context(viewport={"width": breedte, "height": 860}, locale="nl-NL",
                               accept_downloads=True).new_page()
    page.csp = csp_overtredingen(page)
    page.goto(server.url + "/web/inloggen")
    page.get_by_label("Token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/inloggen" not in url)
    return page


def _api(server: Server, token: str, method: str, path: str, **kwargs) -> httpx2.Response:
    return httpx2.request(method, server.url + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.fixture
def jaar(server):
    """Meldingen of 2024 and 2025 in two houses, one in the compartment; a house read one."""
    intake = server.token("anna", "intake")
    ids = {}
    for i, (dag, gemeente) in enumerate([("2024-04-02", "Sittard-Geleen"), ("2025-01-15", "Sittard-Geleen"),
                                         ("2025-02-20", "Stein"), ("2025-03-04", "Heerlen")]):
        answer = _api(server, intake, "POST", "/meldingen", json=melding(
            kenmerk=f"PGA-{i}", gemeente=gemeente, ontvangen_op=f"{dag}T10:00:00+01:00"))
        ids[f"PGA-{i}"] = answer.json()["melding_id"]
    _api(server, intake, "POST", "/meldingen", json=melding(
        kenmerk="WTH-1", bron="politie", soort="huisverbod", gemeente="Stein",
        ontvangen_op="2025-04-01T10:00:00+02:00"))
    weegploeg = server.token("wim", "intake", compartimenten=("radicalisering",))
    _api(server, weegploeg, "POST", "/meldingen", json=melding(
        kenmerk="RAD-1", bron="politie", soort="radicalisering", gemeente="Stein",
        ontvangen_op="2025-05-01T10:00:00+02:00"))
    house = server.token("wendy", "zvh", "westelijke-mijnstreek")
    assert _api(server, house, "GET", f"/meldingen/{ids['PGA-1']}?doel=behandeling").status_code == 200
    assert _api(server, intake, "GET", f"/meldingen/{ids['PGA-2']}?doel=triage").status_code == 200
    return {"ids": ids, "house": house, "auditor": server.token("olga", "auditor")}


def _past(page, breedte: int, binnen: str = "main") -> None:
    """Nothing in `binnen` is wider than the screen: wide tables scroll in their own box. (The
    page's header is the base layout's, checked with it.)"""
    breder = page.evaluate("""([b, sel]) => [...document.querySelectorAll(sel + ' *')]
        .filter(e => e.getBoundingClientRect().right > b + 1 && !e.closest('.scroll'))
        .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""",
                           [breedte, binnen])
    assert breder == []


def test_an_auditor_reads_the_year_and_takes_the_figures_away(browser, server, jaar, tmp_path):
    page = log_in(browser, server, jaar["auditor"])
    page.get_by_role("link", name="Cijfers en controle").click()
    page.wait_for_url("**/web/statistiek")
    page.get_by_label("Jaar").fill("2025")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_url("**/web/statistiek?jaar=2025*")
    pga = page.locator("table", has=page.locator("caption", has_text="Cijfers PGA: uitgesplitst per gemeente"))
    assert pga.count() == 2  # Parkstad and Westelijke Mijnstreek
    wm = pga.nth(1).inner_text()
    assert "Sittard-Geleen\t1\t1" in wm and "Stein\t0\t1" in wm and "Totaal\t1\t2" in wm
    assert "Cijfers WTH (tijdelijk huisverbod)" in page.inner_text("main")
    assert "Radicalisering" not in page.inner_text("main")  # not in this auditor's compartments
    assert page.locator("svg.grafiek").count() == 3
    assert "Op de juiste plek" in page.inner_text("main")
    shot(page, "20-auditor-statistiek")

    with page.expect_download() as info:
        page.get_by_role("link", name="Alle tabellen (XLSX)").click()
    boek = load_workbook(io.BytesIO(info.value.path().read_bytes()))
    assert ("Zorg- en Veiligheidshuis Westelijke Mijnstreek", "PGA", "Stein", 0, 1) in list(
        boek["Jaarverslag 2025"].iter_rows(values_only=True))
    with page.expect_download() as info:
        page.get_by_role("link", name="Doorlooptijden (CSV)").click()
    assert info.value.suggested_filename == "loket-doorlooptijden-2025.csv"
    rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8-sig").read())))
    assert rows[0][:3] == ["Huis", "Stroom", "Maand van ontvangst"] and len(rows) > 1

    page.get_by_label("Product in de grafieken").select_option("huisverbod")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_url("**product=huisverbod*")
    assert "Per maand: Tijdelijk huisverbod (WTH)" in page.inner_text("main")
    assert page.csp == []


def test_an_auditor_filters_the_access_log_and_exports_it(browser, server, jaar):
    page = log_in(browser, server, jaar["auditor"])
    page.goto(server.url + "/web/statistiek")
    page.get_by_role("link", name="Toegangslog").click()
    page.wait_for_url("**/web/toegangslog")
    assert "2 regels" in page.inner_text("h1")
    page.get_by_label("Van (datum)").fill("gisteren")
    page.get_by_role("button", name="Filter").click()
    assert "Geef een datum als dd-mm-jjjj" in page.inner_text(".foutoverzicht")
    assert page.get_by_label("Van (datum)").get_attribute("aria-invalid") == "true"
    shot(page, "21-auditor-toegangslog-fout")

    page.get_by_label("Van (datum)").fill("")
    page.get_by_label("Wie").fill("wendy")
    page.get_by_label("Doel").select_option(label="Behandeling")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**actor=wendy*")
    rows = page.locator("table.lijst tbody tr")
    assert rows.count() == 1 and "zvh:westelijke-mijnstreek" in rows.first.inner_text()
    shot(page, "22-auditor-toegangslog")
    with page.expect_download() as info:
        page.get_by_role("link", name="Deze selectie als CSV").click()
    lines = open(info.value.path(), encoding="utf-8-sig").read().strip().splitlines()
    assert len(lines) == 2 and ",wendy,zvh:westelijke-mijnstreek,Behandeling," in lines[1]

    # Every read about this person, over all their meldingen, and their subject access export.
    rows.first.locator("a[title='Alle regels over deze betrokkene']").click()
    page.wait_for_url("**betrokkene=*")
    assert page.locator("table.lijst tbody tr").count() == 2  # wendy's and anna's: the same person
    shot(page, "22b-auditor-toegangslog-betrokkene")
    with page.expect_download() as info:
        page.get_by_role("button", name="Exporteren voor inzageverzoek van deze betrokkene").click()
    export = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert len(export["meldingen"]) == 5 and len(export["inzagen"]) == 2  # the compartment's melding is not there
    assert page.csp == []


def test_an_auditor_reads_a_time_line_and_explains_a_decision_as_it_was_then(browser, server, jaar):
    page = log_in(browser, server, jaar["auditor"])
    page.goto(server.url + f"/web/meldingen/{jaar['ids']['PGA-1']}")
    lijn = page.locator("ol.tijdlijn li")
    assert lijn.count() == 3
    assert "Melding ontvangen" in lijn.nth(0).inner_text()
    assert "Naar huis en product gerouteerd" in lijn.nth(1).inner_text() and "zl-routing@" in lijn.nth(1).inner_text()
    assert "Persoonsgegevens ingezien door wendy" in lijn.nth(2).inner_text()
    assert "doel: Behandeling" in lijn.nth(2).inner_text()
    page.locator("#kop-tijdlijn").scroll_into_view_if_needed()
    shot(page, "23-auditor-tijdlijn")

    with page.expect_download() as info:
        page.get_by_role("button", name="Exporteren voor inzageverzoek").click()
    export = json.loads(open(info.value.path(), encoding="utf-8").read())
    assert export["persoonsgegevens"] is None and [r["actor"] for r in export["inzagen"]] == ["wendy"]
    assert export["besluiten"][0]["ruleset"].startswith("zl-routing@")

    page.get_by_role("link", name="Uitleg zoals toen").click()
    page.wait_for_url("**/web/regels?datum=*")
    main = page.inner_text("main")
    assert "Het loket besliste op" in main and "Uitleg van melding gemeente:PGA-1 zoals toen" in main
    shot(page, "24-auditor-uitleg-zoals-toen")
    page.get_by_role("link", name="aanmelding.yaml").click()
    page.wait_for_url("**/web/regels/bestanden/aanmelding.yaml")
    assert "id: aanmelding.pga" in page.inner_text("pre")
    shot(page, "24b-auditor-regels-als-gegevens")


def test_the_ruleset_in_force_on_a_day_before_the_loket_decided_anything(browser, server, jaar):
    page = log_in(browser, server, jaar["auditor"])
    page.goto(server.url + "/web/regels")
    page.get_by_label("Datum").fill("01-06-2018")
    page.get_by_role("button", name="Toon").click()
    page.wait_for_url("**datum=01-06-2018*")
    main = page.inner_text("main")
    assert "nog geen besluit vastgelegd" in main
    assert "rio.hic" not in main  # RIO is funded for 2025 and 2026 only
    shot(page, "25-auditor-regels-2018")


@pytest.mark.parametrize("pad", ["statistiek?jaar=2025", "toegangslog", "regels?datum=01-06-2025", "melding"])
def test_the_auditors_pages_fit_a_phone(browser, server, jaar, pad):
    page = log_in(browser, server, jaar["auditor"], breedte=390)
    page.goto(server.url + "/web/" + (f"meldingen/{jaar['ids']['PGA-1']}" if pad == "melding" else pad))
    shot(page, f"26-auditor-390-{pad.split('?')[0]}")
    _past(page, 390, "section[aria-labelledby=kop-tijdlijn]" if pad == "melding" else "main")
    assert page.csp == []


def test_a_house_gets_no_access_log_and_no_compartment_figures(browser, server, jaar):
    page = log_in(browser, server, jaar["house"])
    page.goto(server.url + "/web/statistiek?jaar=2025")
    main = page.inner_text("main")
    assert "Radicalisering" not in main and "Parkstad" not in main
    assert page.get_by_role("link", name="Toegangslog").count() == 0
    shot(page, "27-zvh-statistiek")
    answer = page.goto(server.url + "/web/toegangslog")
    assert answer.status == 403 and "Geen toegang" in page.inner_text("main")
    assert page.goto(server.url + "/web/toegangslog.csv").status == 403
    page.goto(server.url + f"/web/meldingen/{jaar['ids']['PGA-1']}")
    assert "Persoonsgegevens ingezien" not in page.inner_text("ol.tijdlijn")
    shot(page, "28-zvh-melding-tijdlijn-zonder-inzagen")


@pytest.mark.parametrize("breedte", [1366, 390])
def test_axe_finds_nothing_on_the_auditors_pages(browser, server, jaar, breedte):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    page = log_in(browser, server, jaar["auditor"], breedte=breedte)
    for pad in ("statistiek?jaar=2025", "toegangslog", "toegangslog?van=gisteren", "regels?datum=01-06-2025",
                f"regels?datum=01-06-2025&melding={jaar['ids']['PGA-1']}", f"meldingen/{jaar['ids']['PGA-1']}",
                "regels/bestanden/aanmelding.yaml"):
        page.goto(server.url + "/web/" + pad)
        results = axe.Axe().run(page)
        assert results.violations_count == 0, f"{pad}:\n{results.generate_report()}"
