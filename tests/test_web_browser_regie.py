"""Regie and informeren in a real headless Chromium against a real `loket serve`, on a laptop and
on a phone (390 px): a Parkstad worker takes over a case and finds it in "mijn zaken"; an intake
worker switches Top X on, finds the driehoek on the worklist and records that it was told.

Screenshots are kept in test-artifacts/screenshots/ to look at.
"""

from __future__ import annotations

import httpx2
import pytest

from tests.test_web_browser import ARGS, CHROMIUM, csp_overtredingen, ontvang, shot
from tests.web_fixtures import Server

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow
BREEDTES = {"laptop": 1366, "telefoon": 390}


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def log_in(browser, server: Server, token: str, breedte: int):
    page = browser.new_context(viewport={"width": breedte, "height": 860}, locale="nl-NL").new_page()
    page.csp = csp_overtredingen(page)
    page.goto(server.url + "/web/inloggen")
    page.get_by_label("Token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/inloggen" not in url)
    return page


def past_in_breedte(page, breedte: int) -> None:
    """Nothing sticks out sideways: the page is no wider than the screen."""
    te_breed = page.evaluate("""b => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > b + 1)
        .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right))""",
                             breedte)
    assert page.evaluate("document.documentElement.scrollWidth") <= breedte, te_breed


def api(server: Server, token: str, pad: str, body: dict) -> None:
    httpx2.post(server.url + pad, json=body, headers={"Authorization": f"Bearer {token}"}).raise_for_status()


@pytest.mark.parametrize("scherm", BREEDTES)
def test_a_parkstad_worker_takes_over_a_case_and_finds_it_in_mijn_zaken(browser, server, scherm):
    breedte = BREEDTES[scherm]
    intake = server.token("anna", "intake")
    kees, piet = server.token("kees", "zvh", "parkstad"), server.token("piet", "zvh", "parkstad")
    mid = ontvang(server, intake, kenmerk="REGIE-1", gemeente="Kerkrade")
    ontvang(server, intake, kenmerk="REGIE-MH", gemeente="Maastricht")
    api(server, kees, f"/meldingen/{mid}/accept", {"regisseur": "kees"})

    page = log_in(browser, server, piet, breedte)
    page.get_by_role("link", name="Mijn zaken").click()
    page.wait_for_url("**/web/mijn-zaken")
    assert "U bent van geen lopende melding de regisseur." in page.inner_text("main")

    page.goto(server.url + f"/web/meldingen/{mid}")
    assert "REGIE-MH" not in page.content()
    veld = page.get_by_label("Nieuwe regisseur")
    playwright.expect(veld).to_be_visible()
    # An empty name is refused by the form itself; a name that is already the regisseur, by the service.
    veld.fill("kees")
    page.get_by_role("button", name="Regisseur toewijzen").click()
    playwright.expect(page.locator("p.fout[role=alert]")).to_contain_text("al toegewezen")
    page.get_by_label("Nieuwe regisseur").fill("piet")
    shot(page, f"regie-01-regisseur-toewijzen-{scherm}")
    page.get_by_role("button", name="Regisseur toewijzen").click()
    page.wait_for_url(f"**/web/meldingen/{mid}?gedaan=toegewezen*")
    playwright.expect(page.get_by_role("status")).to_contain_text("gemeente:REGIE-1 heeft een andere regisseur")
    assert "piet" in page.inner_text("dl.velden")

    page.get_by_role("link", name="Mijn zaken").click()
    page.wait_for_url("**/web/mijn-zaken")
    rij = page.locator("table.lijst tbody tr")
    assert rij.count() == 1 and "gemeente:REGIE-1" in rij.first.inner_text()
    assert "Kerkrade" in rij.first.inner_text() and "In behandeling" in rij.first.inner_text()
    shot(page, f"regie-02-mijn-zaken-{scherm}")
    past_in_breedte(page, breedte)

    # Closing asks first, on a page of its own, and is not the primary button.
    page.get_by_role("link", name="gemeente:REGIE-1").click()
    sluiten = page.get_by_role("link", name="Melding sluiten…")
    assert "tweede" in sluiten.get_attribute("class")
    sluiten.click()
    page.wait_for_url(f"**/web/meldingen/{mid}/bevestigen/close")
    assert "Dit kan niet ongedaan worden gemaakt." in page.inner_text("main")
    page.get_by_label("Resultaat").fill("Doelen bereikt, overgedragen aan het lokale veld.")
    shot(page, f"regie-03-sluiten-bevestigen-{scherm}")
    page.get_by_role("button", name="Ja, melding sluiten").click()
    page.wait_for_url(f"**/web/meldingen/{mid}")
    assert "Gesloten" in page.inner_text("h1")
    page.get_by_role("link", name="Mijn zaken").click()
    page.wait_for_url("**/web/mijn-zaken")
    assert "U bent van geen lopende melding de regisseur." in page.inner_text("main")
    assert page.csp == []


@pytest.mark.parametrize("scherm", BREEDTES)
def test_an_intake_worker_switches_top_x_on_and_records_the_driehoek_informed(browser, server, scherm):
    breedte = BREEDTES[scherm]
    intake = server.token("anna", "intake")
    mid = ontvang(server, intake, kenmerk="TOPX-1", gemeente="Heerlen")
    ontvang(server, intake, kenmerk="A18-1", bron="dji", soort="art18", gemeente="Brunssum",
            signalen={"delict": "zeden"})

    page = log_in(browser, server, intake, breedte)
    page.goto(server.url + f"/web/meldingen/{mid}")
    page.locator("#topx-aan-reden").fill("Onrust in de wijk na incidenten.")
    shot(page, f"regie-04-top-x-aanzetten-{scherm}")
    page.get_by_role("button", name="Top X toekennen").click()
    page.wait_for_url(f"**/web/meldingen/{mid}?gedaan=topx-aan*")
    playwright.expect(page.get_by_role("status")).to_contain_text("heeft het label Top X")
    assert "Lokale driehoek van Heerlen" in page.inner_text("section.regie")

    page.get_by_role("link", name="Informeren", exact=True).click()
    page.wait_for_url("**/web/informeren")
    rijen = page.locator("table.lijst tbody tr")
    assert rijen.count() == 2
    tekst = page.inner_text("table.lijst")
    assert "Lokale driehoek van Heerlen" in tekst and "Burgemeester van Brunssum" in tekst
    driehoek = page.locator("tr", has_text="gemeente:TOPX-1")
    assert "Top X aangezet" in driehoek.inner_text()
    shot(page, f"regie-05-werklijst-informeren-{scherm}")
    past_in_breedte(page, breedte)

    keuze = page.get_by_label("Hoe is Lokale driehoek van Heerlen geïnformeerd over gemeente:TOPX-1?")
    keuze.select_option("overleg")
    driehoek.get_by_role("button", name="Geïnformeerd").click()
    page.wait_for_url("**/web/informeren?gedaan=geinformeerd*")
    playwright.expect(page.get_by_role("status")).to_contain_text("gemeente:TOPX-1: vastgelegd wie is geïnformeerd")
    assert page.locator("table.lijst tbody tr").count() == 1
    assert "TOPX-1" not in page.inner_text("table.lijst")
    shot(page, f"regie-06-na-informeren-{scherm}")

    page.get_by_role("link", name="Ook wat al gedaan is").click()
    gedaan = page.locator("tr", has_text="gemeente:TOPX-1")
    assert "anna" in gedaan.inner_text() and "In een overleg" in gedaan.inner_text()
    past_in_breedte(page, breedte)
    assert page.csp == []
