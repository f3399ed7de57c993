"""The intake team entering meldingen by hand, correcting rejected ones and deciding triage items
with the house that serves the gemeente proposed: in a real headless Chromium against a real
`loket serve`, on a laptop and on a phone (390 px). Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import json

import httpx2
import pytest

from tests.test_web_browser import browser, csp_overtredingen, ontvang, playwright, shot  # noqa: F401
from tests.web_fixtures import Server

pytestmark = pytest.mark.slow
BREEDTES = [pytest.param(1366, id="laptop"), pytest.param(390, id="telefoon")]


def log_in(browser, server: Server, token: str, breedte: int):  # noqa: F811
    context = browser.new_context(viewport={"width": breedte, "height": 860}, locale="nl-NL")
    page = context.new_page()
    page.csp = csp_overtredingen(page)
    page.goto(server.url + "/web/inloggen")
    page.get_by_label("Token").fill(token)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/inloggen" not in url)
    return page


def past_op_het_scherm(page, breedte: int) -> None:
    """Nothing wider than the screen: no sideways scrolling to reach a field or a button."""
    te_breed = page.evaluate("""breedte => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > breedte + 1)
        .map(e => e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className)""", breedte)
    assert te_breed == []


def vul_in(page, **velden: str) -> None:
    for label, waarde in velden.items():
        page.get_by_label(label, exact=True).fill(waarde)


@pytest.mark.parametrize("breedte", BREEDTES)
def test_an_intake_worker_enters_a_melding_by_hand_sees_the_decision_confirms_and_finds_it(browser, server, breedte):  # noqa: F811
    intake = server.token("anna", "intake")
    page = log_in(browser, server, intake, breedte)
    page.get_by_role("link", name="Melding invoeren").click()
    page.wait_for_url("**/web/meldingen/nieuw")
    assert page.title().startswith("Melding invoeren") and page.locator("h1").count() == 1
    page.get_by_label("Soort melding").select_option(label="Aanmelding door partner")
    page.get_by_label("Bron", exact=True).select_option(label="Gemeente")
    vul_in(page, Kenmerk=f"HAND-{breedte}", **{"Ontvangen op": "30-06-2025 10:15"})
    page.get_by_label("Gemeente", exact=True).fill("Heerlen")
    vul_in(page, BSN="123456782", Naam="Jan Testpersoon", Geboortedatum="06-05-1990")
    for woord in ("Wonen en onderdak", "Psychische gezondheid", "Dwang en drang", "Impact op de omgeving"):
        page.get_by_label(woord).check()
    page.get_by_label("Zorg (GGZ, verslavingszorg, forensische zorg)").check()
    page.get_by_label("Straf (OM, reclassering, justitiële inrichtingen)").check()
    past_op_het_scherm(page, breedte)
    shot(page, f"invoer-01-formulier-{breedte}")
    page.get_by_role("button", name="Controleren").click()

    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Controleer de melding"
    voorspelling = page.inner_text("section.voorspelling")
    assert "Naar Zorg- en Veiligheidshuis Parkstad, product Persoonsgerichte aanpak (PGA)." in voorspelling
    assert "regels die afgaan" in voorspelling and "Heerlen" in voorspelling
    page.get_by_text("regels die afgaan, met hun bron").click()
    assert "aanmelding.pga" in page.inner_text("section.voorspelling ul.regels")
    assert "30-06-2025 10:15" in page.inner_text("dl.samenvatting")
    past_op_het_scherm(page, breedte)
    shot(page, f"invoer-02-wat-de-regels-beslissen-{breedte}")
    # Nothing is stored before the confirmation.
    stored = httpx2.get(server.url + "/lijsten/zoek", params={"zoek": f"gemeente:HAND-{breedte}"},
                        headers={"Authorization": f"Bearer {intake}"})
    assert stored.status_code == 200 and stored.json()["totaal"] == 0
    page.get_by_role("button", name="Melding opslaan").click()

    page.wait_for_url("**/web/meldingen/nieuw?gedaan=opgeslagen*")
    banner = page.inner_text("[role=status]")
    assert f"Melding gemeente:HAND-{breedte} is opgeslagen." in banner
    shot(page, f"invoer-03-opgeslagen-{breedte}")
    page.get_by_role("link", name="Bekijk de melding").click()
    page.wait_for_url("**/web/meldingen/*")
    assert f"gemeente:HAND-{breedte}" in page.locator("h1").inner_text()
    assert "Zorg- en Veiligheidshuis Parkstad" in page.inner_text("dl.velden")
    assert page.csp == []


@pytest.mark.parametrize("breedte", BREEDTES)
def test_a_wrong_field_is_named_in_dutch_at_the_field_and_what_was_typed_stays(browser, server, breedte):  # noqa: F811
    page = log_in(browser, server, server.token("anna", "intake"), breedte)
    page.goto(server.url + "/web/meldingen/nieuw")
    page.get_by_label("Soort melding").select_option("via")
    page.get_by_label("Bron", exact=True).select_option("politie")
    vul_in(page, Kenmerk="VIA-FOUT-1", **{"Ontvangen op": "31-02-2025 09:00"})
    vul_in(page, BSN="123456789", Naam="Piet Voorbeeld")
    with page.expect_navigation():
        page.get_by_role("button", name="Controleren").click()

    summary = page.locator(".foutoverzicht")
    assert "Er is een probleem" in summary.inner_text()
    playwright.expect(summary).to_be_focused()  # read first, as GOV.UK's error summary is
    bsn = page.locator("#veld-persoon-bsn")
    assert bsn.get_attribute("aria-invalid") == "true"
    assert bsn.input_value() == "123456789"  # the input is kept
    assert "elfproef" in page.inner_text("#veld-persoon-bsn-fout")
    datum = page.locator("#veld-ontvangen-op")
    assert datum.get_attribute("aria-invalid") == "true" and datum.input_value() == "31-02-2025 09:00"
    assert page.inner_text("#veld-ontvangen-op-fout").endswith(
        "Vul de datum en tijd van ontvangst in als dd-mm-jjjj uu:mm, bijvoorbeeld 04-03-2025 09:12.")
    assert page.get_by_label("Naam", exact=True).input_value() == "Piet Voorbeeld"
    assert page.get_by_label("Soort melding").input_value() == "via"
    assert "Input should" not in page.content() and "must be" not in page.content()
    past_op_het_scherm(page, breedte)
    shot(page, f"invoer-04-fout-bij-het-veld-{breedte}")
    summary.get_by_role("link", name="Dit BSN bestaat niet").click()
    playwright.expect(bsn).to_be_in_viewport()


@pytest.mark.parametrize("breedte", BREEDTES)
def test_a_rejected_melding_is_corrected_and_resent_under_its_kenmerk(browser, server, breedte):  # noqa: F811
    intake = server.token("anna", "intake")
    kenmerk = f"VIA-AF-{breedte}"
    broken = {"bron": "politie", "soort": "via", "kenmerk": kenmerk, "ontvangen_op": "30-06-2025",
              "gemeente": "Kerkrade", "persoon": {"bsn": "123456782", "naam": "Jan Testpersoon"},
              "signalen": {"leefgebieden": ["Wonen", "onzin"], "ketens": ["zorg"]}}
    answer = httpx2.post(server.url + "/meldingen", content=json.dumps(broken),
                         headers={"Authorization": f"Bearer {intake}"})
    assert answer.status_code == 422
    rejected = answer.json()["melding_id"]

    page = log_in(browser, server, intake, breedte)
    page.get_by_role("link", name="Afgewezen", exact=True).click()
    page.wait_for_url("**/web/afgewezen")
    item = page.locator("ul.afgewezen-lijst > li", has_text=kenmerk)
    assert "Vul de datum en tijd van ontvangst in" in item.inner_text()
    assert "Leefgebieden" in item.inner_text() and "woord 2 is onbekend" in item.inner_text()
    assert "Jan" not in page.content()  # personal data only with a purpose
    past_op_het_scherm(page, breedte)
    shot(page, f"invoer-05-afgewezen-lijst-{breedte}")
    item.get_by_role("link").click()
    page.wait_for_url(f"**/web/afgewezen/{rejected}")
    assert "Jan" not in page.content()
    page.get_by_label("Triage").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Openen en herstellen").click()

    assert page.locator("h1").inner_text() == "Afgewezen melding herstellen"
    assert page.get_by_label("Kenmerk").input_value() == kenmerk
    assert page.get_by_label("Naam", exact=True).input_value() == "Jan Testpersoon"
    assert page.get_by_label("Wonen en onderdak").is_checked()
    assert page.locator("#veld-ontvangen-op").get_attribute("aria-invalid") == "true"
    shot(page, f"invoer-06-herstellen-{breedte}")
    vul_in(page, **{"Ontvangen op": "30-06-2025 08:30"})
    page.get_by_label("Psychische gezondheid").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Controleren").click()
    assert "afgewezen melding gemarkeerd als hersteld" in page.inner_text("main")
    page.get_by_role("button", name="Melding opslaan").click()

    page.wait_for_url("**/web/afgewezen?gedaan=hersteld*")
    assert f"Melding politie:{kenmerk} is hersteld en opgeslagen" in page.inner_text("[role=status]")
    assert page.locator("ul.afgewezen-lijst > li", has_text=kenmerk).count() == 0
    shot(page, f"invoer-07-hersteld-{breedte}")
    page.goto(server.url + f"/web/afgewezen/{rejected}")
    assert "Deze melding is hersteld en opnieuw ingediend" in page.inner_text("main")
    page.get_by_role("link", name="Bekijk de herstelde melding").click()
    page.wait_for_url("**/web/meldingen/*")
    assert f"politie:{kenmerk}" in page.locator("h1").inner_text()
    assert page.csp == []


def _api(server: Server, token: str, pad: str, **body: str) -> None:
    answer = httpx2.post(server.url + pad, json=body, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("breedte", BREEDTES)
def test_a_triage_decision_shows_why_it_came_back_proposes_the_gemeentes_house_and_warns(browser, server, breedte):  # noqa: F811
    intake = server.token("anna", "intake")
    maastricht = server.token("mia", "zvh", "maastricht-heuvelland")
    kenmerk = f"TR-{breedte}"
    mid = ontvang(server, intake, kenmerk=kenmerk, gemeente="Heerlen")
    # Routed by hand to a house that does not serve Heerlen, which sends it back.
    _api(server, intake, f"/meldingen/{mid}/reroute", zvh="maastricht-heuvelland", product="pga", reden="Op verzoek")
    _api(server, maastricht, f"/meldingen/{mid}/return", reden="Woont in Heerlen, niet bij ons")

    page = log_in(browser, server, intake, breedte)
    page.get_by_role("link", name=f"Bekijken gemeente:{kenmerk}").click()
    page.wait_for_url(f"**/web/meldingen/{mid}")
    waarom = page.locator(".waarom-terug")
    assert "Teruggestuurd door mia (Zorg- en Veiligheidshuis Maastricht-Heuvelland)" in waarom.inner_text()
    assert "Woont in Heerlen" not in page.content()  # sealed: only with a purpose
    page.get_by_label("Triage", exact=True).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Toon persoonsgegevens").click()
    assert "Reden: Woont in Heerlen, niet bij ons" in waarom.inner_text()

    huis = page.locator("#decide-zvh")
    assert huis.input_value() == "parkstad"  # the house of Heerlen, not the one it came back from
    voorstel = page.inner_text("#decide-zvh-voorstel")
    assert voorstel == "Voorgesteld: Zorg- en Veiligheidshuis Parkstad, het huis van Heerlen."
    waarschuwing = page.locator("#decide-zvh-waarschuwing")
    assert waarschuwing.is_hidden()
    huis.select_option("maastricht-heuvelland")
    playwright.expect(waarschuwing).to_be_visible()
    assert "bedient Heerlen niet" in waarschuwing.inner_text()
    page.get_by_label("Product").first.select_option("pga")
    page.locator("#decide-reden").fill("Toch Maastricht: daar loopt al een zaak")
    shot(page, f"triage-01-voorstel-en-waarschuwing-{breedte}")
    with page.expect_navigation():
        page.get_by_role("button", name="Besluit vastleggen").click()
    # Not confirmed: asked again at the field, the input kept.
    assert page.locator("#decide-zvh").get_attribute("aria-invalid") == "true"
    assert "bedient Heerlen niet" in page.inner_text("#decide-zvh-fout")
    assert page.locator("#decide-zvh").input_value() == "maastricht-heuvelland"
    assert page.locator("#decide-reden").input_value() == "Toch Maastricht: daar loopt al een zaak"
    shot(page, f"triage-02-ander-huis-bevestigen-{breedte}")
    page.get_by_label("Ik kies bewust een ander huis dan het voorgestelde").check()
    page.get_by_role("button", name="Besluit vastleggen").click()

    page.wait_for_url("**/web/triage?gedaan=besloten*")
    banner = page.inner_text("[role=status]")
    assert f"Melding gemeente:{kenmerk} is besloten" in banner and mid not in banner
    shot(page, f"triage-03-besloten-{breedte}")
    assert page.csp == []
