"""The web pages in a real headless Chromium against a real `loket serve`: people at work.

Screenshots are kept in test-artifacts/screenshots/ to look at.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest

from tests.conftest import melding
from tests.web_fixtures import Server

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def csp_overtredingen(page) -> list[str]:
    """What the Content-Security-Policy blocked on this page, as Chromium reports it; filled as the page runs."""
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def log_in(browser, server: Server, token: str):
    """Log in by keyboard only: the token field has focus, Enter submits."""
    page = browser.new_context(viewport={"width": 1366, "height": 860}, locale="nl-NL").new_page()
    page.csp = csp_overtredingen(page)
    page.goto(server.url + "/web/inloggen")
    playwright.expect(page.get_by_label("Token")).to_be_focused()  # the field to type in has focus
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/web/inloggen" not in url)
    return page


def ontvang(server: Server, token: str, **overrides) -> str:
    answer = httpx2.post(server.url + "/meldingen", json=melding(**overrides),
                         headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
    return answer.json()["melding_id"]


def test_the_intake_team_works_a_triage_item_and_sees_it_leave_the_queue(browser, server):
    intake = server.token("anna", "intake")
    waiting = ontvang(server, intake, kenmerk="WEB-1", gemeente=None, ontvangen_op="2025-03-01T09:00:00+01:00")
    ontvang(server, intake, kenmerk="WEB-2", gemeente="Atlantis", ontvangen_op="2025-03-05T09:00:00+01:00")
    ontvang(server, intake, kenmerk="WEB-3")

    page = log_in(browser, server, intake)
    assert page.url.endswith("/web/triage")
    page.keyboard.press("Tab")  # the first stop for keyboard users skips the menu
    assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
    rows = page.locator("table.lijst tbody tr")
    assert rows.count() == 2
    assert "WEB-1" in rows.nth(0).inner_text()  # oldest first
    shot(page, "01-triage-wachtrij")

    page.get_by_role("link", name="Bekijken gemeente:WEB-1").click()
    page.wait_for_url(f"**/web/meldingen/{waiting}")
    assert "Waarom hier" in page.inner_text("main")
    assert "Er is geen gemeente opgegeven" in page.inner_text("main")
    page.get_by_label("Huis").first.select_option("westelijke-mijnstreek")
    page.get_by_label("Product").first.select_option("pga")
    page.get_by_label("Reden").first.fill("Na navraag bij de melder: woont in Stein.")
    shot(page, "02-melding-triagebesluit")
    page.get_by_role("button", name="Besluit vastleggen").click()

    page.wait_for_url("**/web/triage?gedaan=besloten*")
    assert "staat niet meer in de triagewachtrij" in page.inner_text("[role=status]")
    remaining = page.locator("table.lijst tbody tr")
    assert remaining.count() == 1 and "WEB-2" in remaining.first.inner_text()
    shot(page, "03-triage-na-besluit")

    page.goto(server.url + f"/web/meldingen/{waiting}")
    trail = page.inner_text("ol.audit")
    assert "Triage besloten door anna" in trail


def test_a_house_accepts_from_its_own_queue_and_returns_another(browser, server):
    intake = server.token("anna", "intake")
    parkstad = server.token("piet", "zvh", "parkstad")
    first = ontvang(server, intake, kenmerk="Q-1", ontvangen_op="2025-02-01T09:00:00+01:00")
    ontvang(server, intake, kenmerk="Q-2", ontvangen_op="2025-02-02T09:00:00+01:00")
    ontvang(server, intake, kenmerk="Q-3", gemeente="Maastricht")

    page = log_in(browser, server, parkstad)
    assert page.url.endswith("/web/wachtrij")
    assert "Q-3" not in page.inner_text("main")  # another house's melding is not shown
    page.get_by_label("Regisseur voor gemeente:Q-1").fill("A. Janssen")
    page.keyboard.press("Enter")
    page.wait_for_url("**/web/wachtrij?gedaan=geaccepteerd*")
    row = page.locator("tr", has_text="gemeente:Q-1")
    assert "In behandeling" in row.inner_text() and "A. Janssen" in row.inner_text()

    page.get_by_label("Reden om gemeente:Q-2 terug te sturen").fill("Hoort bij het lokaal veld.")
    page.get_by_label("Reden om gemeente:Q-2 terug te sturen").press("Enter")
    page.wait_for_url("**/web/wachtrij?gedaan=teruggestuurd*")
    assert "Q-2" not in page.inner_text("table.lijst")
    shot(page, "04-zvh-wachtrij")

    page.goto(server.url + f"/web/meldingen/{first}")
    assert "A. Janssen" in page.inner_text("dl.velden")
    assert "123456782" not in page.content()  # personal data only with a purpose
    page.get_by_label("Behandeling").check()
    page.get_by_label("Toelichting op het doel").fill("Huisbezoek voorbereiden")
    shot(page, "05a-zvh-melding-doel-kiezen")
    with page.expect_navigation():
        page.get_by_role("button", name="Toon persoonsgegevens").click()
    assert page.url.endswith(f"/web/meldingen/{first}/persoonsgegevens") and "doel" not in page.url
    assert "123456782" in page.inner_text("dl.persoon")
    assert "Ingezien met doel “Behandeling”" in page.inner_text("main")
    shot(page, "05-zvh-melding-met-persoonsgegevens")
    page.get_by_role("link", name="Verbergen").click()
    page.wait_for_url(f"**/web/meldingen/{first}")
    assert "123456782" not in page.content()
    other = page.goto(server.url + "/web/triage")
    assert other.status == 403
    page.go_back()  # to the melding page without personal data (reached by a GET)
    # The answer to the POST was not kept (no-store): the history has no copy of it to show again.
    with pytest.raises(playwright.Error, match="ERR_CACHE_MISS"):
        page.go_back()


def test_the_caseload_page_draws_each_house_over_time(browser, server):
    intake = server.token("anna", "intake")
    for i, (gemeente, maand) in enumerate([("Heerlen", "01"), ("Heerlen", "02"), ("Maastricht", "02"),
                                           ("Sittard-Geleen", "03"), ("Kerkrade", "03")]):
        ontvang(server, intake, kenmerk=f"CL-{i}", gemeente=gemeente, ontvangen_op=f"2025-{maand}-10T09:00:00+01:00")
    page = log_in(browser, server, intake)
    page.goto(server.url + "/web/caseload")
    svg = page.locator("svg.grafiek")
    assert svg.count() == 1
    assert svg.locator("polyline").count() == 3
    assert "Parkstad (3)" in svg.text_content()
    assert "Zorg- en Veiligheidshuis Parkstad: 3 lopend" in page.inner_text("main")
    # Each house's table keeps to its own column: none runs into the next, the page does not scroll sideways.
    vakken = [t.bounding_box() for t in page.locator(".tabellen table").all()]
    assert len(vakken) == 3
    for links, rechts in itertools.pairwise(vakken):
        assert links and rechts and (links["x"] + links["width"] <= rechts["x"] or links["y"] != rechts["y"])
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "06-caseload")


def test_an_auditor_looks_back_at_a_melding_as_it_stood(browser, server):
    intake = server.token("anna", "intake")
    auditor = server.token("olga", "auditor")
    mid = ontvang(server, intake, kenmerk="AU-1")
    moment = datetime.now(UTC).isoformat(timespec="microseconds")
    httpx2.post(server.url + f"/meldingen/{mid}/close", json={"resultaat": "Afgerond"},
                headers={"Authorization": f"Bearer {intake}"}).raise_for_status()

    page = log_in(browser, server, auditor)
    assert page.url.endswith("/web/audit")
    page.get_by_label("Stand op").fill(moment)
    page.get_by_label("Melding (id of bron:kenmerk)").fill("gemeente:AU-1")
    page.get_by_label("Melding (id of bron:kenmerk)").press("Enter")
    page.wait_for_url("**/web/audit?*")
    trail = page.inner_text("table.lijst >> nth=0")
    assert "Naar huis en product gerouteerd" in trail and "Gesloten" not in trail
    assert "Zorg- en Veiligheidshuis Parkstad: 1 lopend" in page.inner_text("main")
    shot(page, "07-auditor-terugkijken")
    # Read-only: the melding page offers no actions and no personal data to an auditor.
    page.goto(server.url + f"/web/meldingen/{mid}")
    assert page.locator("section.handeling").count() == 0
    assert page.get_by_role("button", name="Toon persoonsgegevens").count() == 0


def test_pages_need_a_login_and_a_wrong_token_says_so(browser, server):
    page = browser.new_context().new_page()
    page.goto(server.url + "/web/triage")
    assert page.url.endswith("/web/inloggen")
    page.fill("#token", "loket_verzonnen")
    page.keyboard.press("Enter")
    playwright.expect(page.get_by_role("alert")).to_contain_text("onbekend of ingetrokken")


def test_no_page_needs_anything_the_content_security_policy_blocks(browser, server):
    intake = server.token("anna", "intake")
    mid = ontvang(server, intake, kenmerk="CSP-1", gemeente=None)
    page = log_in(browser, server, intake)
    for path in ("/web/triage", f"/web/meldingen/{mid}", "/web/caseload", "/web/wachtrij", "/web/audit",
                 "/web/bestaat-niet"):
        page.goto(server.url + path)
    page.goto(server.url + f"/web/meldingen/{mid}")
    # A purpose outside the list (as a tampered form would send): the error at the field, in Dutch.
    page.locator("#doel-controle").evaluate("radio => { radio.value = 'nieuwsgierig'; radio.checked = true; }")
    with page.expect_navigation():
        page.get_by_role("button", name="Toon persoonsgegevens").click()
    assert "Er is een probleem" in page.inner_text(".foutoverzicht")
    assert page.inner_text("#doel-fout") == "Kies een doel uit de lijst." and "nieuwsgierig" not in page.content()
    assert "123456782" not in page.content()
    shot(page, "09-doel-niet-in-de-lijst")
    page.get_by_role("link", name="Kies een doel uit de lijst.").click()
    playwright.expect(page.locator("#doel-triage")).to_be_in_viewport()
    page.get_by_label("Controle").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Toon persoonsgegevens").click()
    assert "123456782" in page.inner_text("dl.persoon")
    page.get_by_role("button", name="Uitloggen").click()
    page.wait_for_url("**/web/inloggen")
    assert page.csp == []


def test_the_api_docs_work_with_no_other_origin_reachable(browser, server):
    page = browser.new_context(viewport={"width": 1366, "height": 860}).new_page()
    blocked = csp_overtredingen(page)
    elsewhere: list[str] = []

    def only_the_loket(route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:  # as in a government network without internet
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_loket)
    page.goto(server.url + "/docs")
    playwright.expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
    assert "Loket Zuid-Limburg" in page.inner_text(".info")
    assert page.locator(".opblock-summary-path", has_text="/meldingen/{melding_id}/persoonsgegevens").count() == 1
    shot(page, "08-api-docs-zonder-internet")
    assert elsewhere == [] and blocked == []
