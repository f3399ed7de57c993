"""The lists people work from, in a real headless Chromium against a real `loket serve`, on a laptop
(1366 px) and on a phone (390 px): a house worker filters the queue to overdue Wvggz, pages through it,
searches by a part of a kenmerk and accepts from the row; the deadlines page; and every page, for
every role, with no violation axe-core finds and nothing wider than the screen.

Screenshots are kept in test-artifacts/screenshots/ to look at.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

import pytest

from routing.tijd import NL, vandaag
from tests import test_web_browser
from tests.test_web_browser import log_in, ontvang, shot
from tests.web_fixtures import Server

browser = test_web_browser.browser  # the same Chromium fixture (flags, module scope)

playwright = pytest.importorskip("playwright.sync_api")
axe = pytest.importorskip("axe_playwright_python.sync_playwright")

pytestmark = pytest.mark.slow
BREEDTES = {"breed": (1366, 860), "telefoon": (390, 844)}
AXE = axe.Axe()


def dagen_geleden(n: int) -> str:
    return datetime.combine(date.fromordinal(vandaag().toordinal() - n), time(9), NL).isoformat()


def op_breedte(page, breedte: str):
    width, height = BREEDTES[breedte]
    page.set_viewport_size({"width": width, "height": height})
    return page


def toegankelijk(page, naam: str) -> None:
    """axe-core finds no violation (WCAG 2.1 AA and its best practices) on the page as it is now."""
    results = AXE.run(page)
    assert results.violations_count == 0, f"{naam}:\n{results.generate_report()}"


def past_op_het_scherm(page, naam: str) -> None:
    """Nothing makes the page itself scroll sideways: a wide table scrolls in its own box or stacks."""
    breed = page.evaluate("document.documentElement.scrollWidth")
    te_breed = page.evaluate("""w => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > w + 1)
        .slice(0, 5).map(e => `${e.tagName.toLowerCase()}.${e.className}#${e.id}`)""", page.viewport_size["width"])
    assert breed <= page.viewport_size["width"], (
        f"{naam}: {breed} px wide at {page.viewport_size['width']} px ({', '.join(te_breed)})")


def een_pagina(page, naam: str) -> None:
    """What every page keeps: Dutch, one h1 and a title, fits the screen, nothing axe finds."""
    assert page.get_attribute("html", "lang") == "nl"
    assert page.locator("h1").count() == 1 and page.title().endswith("Loket Zuid-Limburg")
    past_op_het_scherm(page, naam)
    toegankelijk(page, naam)


@pytest.fixture
def parkstad_queue(server: Server) -> dict[str, str]:
    """A Parkstad queue of 63: 60 PGA cases, two Wvggz meldingen past their 14 days and one within them."""
    intake = server.token("anna", "intake")
    for i in range(60):
        ontvang(server, intake, kenmerk=f"PGA-{i:03d}", ontvangen_op=dagen_geleden(90 - i))
    for kenmerk, dagen in (("WVGGZ-LAAT-1", 25), ("WVGGZ-LAAT-2", 18), ("WVGGZ-OP-TIJD", 3)):
        ontvang(server, intake, soort="wvggz", kenmerk=kenmerk, ontvangen_op=dagen_geleden(dagen))
    ontvang(server, intake, soort="wvggz", kenmerk="WVGGZ-STEIN", gemeente="Stein", ontvangen_op=dagen_geleden(30))
    return {"intake": intake, "parkstad": server.token("piet", "zvh", "parkstad")}


@pytest.mark.parametrize("breedte", BREEDTES)
def test_a_house_worker_filters_to_overdue_wvggz_pages_and_searches(browser, server, parkstad_queue, breedte):
    page = op_breedte(log_in(browser, server, parkstad_queue["parkstad"]), breedte)
    page.reload()
    assert page.url.endswith("/web/wachtrij")
    playwright.expect(page.locator("#telling")).to_have_text("1–50 van 63 meldingen (pagina 1 van 2)")
    assert page.locator("table.lijst tbody tr").count() == 50
    een_pagina(page, f"wachtrij {breedte}")
    shot(page, f"20-wachtrij-{breedte}")

    # Overdue Wvggz: two filters in the form, the list in the URL (a bookmark gives it again).
    page.get_by_label("Soort", exact=True).select_option(label="Wvggz-melding")
    page.get_by_label("Termijn", exact=True).select_option(label="Verlopen")
    page.get_by_role("button", name="Filteren").click()
    page.wait_for_url("**/web/wachtrij?*termijn=verlopen*")
    assert "soort=wvggz" in page.url
    rows = page.locator("table.lijst tbody tr")
    assert rows.count() == 2
    assert "WVGGZ-LAAT-1" in rows.nth(0).inner_text() and "verlopen (11 dagen)" in rows.nth(0).inner_text()
    assert "WVGGZ-STEIN" not in page.inner_text("main")  # another house's
    een_pagina(page, f"wachtrij verlopen wvggz {breedte}")
    shot(page, f"21-wachtrij-verlopen-wvggz-{breedte}")
    bookmark = page.url
    page.goto(server.url + "/web/wachtrij")
    page.goto(bookmark)
    assert page.locator("table.lijst tbody tr").count() == 2

    # Page through: the next page, and the count says where we are.
    page.get_by_role("link", name="Filters wissen").click()
    page.get_by_role("link", name="Volgende pagina").click()
    page.wait_for_url("**/web/wachtrij?pagina=2")
    playwright.expect(page.locator("#telling")).to_have_text("51–63 van 63 meldingen (pagina 2 van 2)")
    playwright.expect(page.get_by_role("link", name="Pagina 2")).to_have_attribute("aria-current", "page")
    shot(page, f"22-wachtrij-pagina-2-{breedte}")

    # Sorted by deadline: the most overdue first, those without a deadline last; by a column's head on a
    # laptop, by the form on a phone (where the heads stand beside each value).
    page.goto(server.url + "/web/wachtrij")
    if breedte == "breed":
        page.get_by_role("link", name=re.compile(r"^Termijn\b.*sorteer oplopend$")).click()
    else:
        page.get_by_label("Sorteren op").select_option(label="Termijn")
        page.get_by_role("button", name="Filteren").click()
    page.wait_for_url("**sorteer=termijn*")
    assert "WVGGZ-LAAT-1" in page.locator("table.lijst tbody tr").first.inner_text()
    page.get_by_label("Volgorde").select_option(label="Aflopend")
    page.get_by_role("button", name="Filteren").click()
    page.wait_for_url("**richting=af*")
    assert "WVGGZ-OP-TIJD" in page.locator("table.lijst tbody tr").first.inner_text()

    # A part of a kenmerk, in the list's own field and in the header's search.
    page.get_by_label("Kenmerk", exact=True).fill("pga-00")
    page.get_by_label("Kenmerk", exact=True).press("Enter")
    page.wait_for_url("**zoek=pga-00*")
    assert page.locator("table.lijst tbody tr").count() == 10
    shot(page, f"23-wachtrij-zoek-deel-kenmerk-{breedte}")
    page.get_by_label("Melding zoeken").fill("OP-TIJD")
    page.get_by_label("Melding zoeken").press("Enter")
    page.wait_for_url("**/web/meldingen/*")
    assert "WVGGZ-OP-TIJD" in page.inner_text("h1")
    assert "over 11 dagen" in page.inner_text("dl.velden")
    een_pagina(page, f"melding {breedte}")
    shot(page, f"24-melding-via-zoeken-{breedte}")

    # The action column is reachable on a phone too: accept the first row from the keyboard.
    page.goto(server.url + "/web/wachtrij")
    regisseur = page.get_by_label("Regisseur voor gemeente:PGA-000")
    regisseur.scroll_into_view_if_needed()
    playwright.expect(regisseur).to_be_in_viewport()
    for knop in ("Terugsturen", "Accepteren"):  # whole, not cut off by the screen's edge
        page.get_by_role("button", name=knop).first.scroll_into_view_if_needed()
        playwright.expect(page.get_by_role("button", name=knop).first).to_be_in_viewport(ratio=1)
    regisseur.fill("A. Janssen")
    regisseur.press("Enter")
    page.wait_for_url("**/web/wachtrij?gedaan=geaccepteerd*")
    assert "PGA-000 is geaccepteerd" in page.inner_text("[role=status]")
    assert page.csp == []


@pytest.mark.parametrize("breedte", BREEDTES)
def test_the_deadlines_page_shows_overdue_first_per_house(browser, server, parkstad_queue, breedte):
    page = op_breedte(log_in(browser, server, parkstad_queue["intake"]), breedte)
    page.goto(server.url + "/web/termijnen")
    rows = page.locator("table.lijst tbody tr")
    assert rows.count() == 4
    assert [rows.nth(i).locator("a").first.inner_text() for i in range(4)] == [
        "gemeente:WVGGZ-STEIN", "gemeente:WVGGZ-LAAT-1", "gemeente:WVGGZ-LAAT-2", "gemeente:WVGGZ-OP-TIJD"]
    assert "verlopen (16 dagen)" in rows.first.inner_text()
    een_pagina(page, f"termijnen {breedte}")
    shot(page, f"25-termijnen-intake-{breedte}")
    page.get_by_label("Huis").select_option(label="Zorg- en Veiligheidshuis Parkstad")
    page.get_by_label("Wanneer").select_option(label="Verlopen")
    page.get_by_role("button", name="Filteren").click()
    page.wait_for_url("**/web/termijnen?*")
    assert page.locator("table.lijst tbody tr").count() == 2

    house = op_breedte(log_in(browser, server, parkstad_queue["parkstad"]), breedte)
    house.get_by_role("link", name="Termijnen").click()
    house.wait_for_url("**/web/termijnen")
    assert house.locator("table.lijst tbody tr").count() == 3  # its own: not Stein's
    assert "WVGGZ-STEIN" not in house.inner_text("main")
    een_pagina(house, f"termijnen huis {breedte}")
    shot(house, f"26-termijnen-parkstad-{breedte}")


@pytest.mark.parametrize("breedte", BREEDTES)
def test_every_page_for_every_role_fits_the_screen_and_axe_finds_nothing(browser, server, breedte):
    intake = server.token("anna", "intake")
    mid = ontvang(server, intake, kenmerk="AXE-1", gemeente=None)
    ontvang(server, intake, kenmerk="AXE-2", soort="wvggz", ontvangen_op=dagen_geleden(20))
    ontvang(server, intake, kenmerk="AXE-3")
    rollen = {
        "intake": intake, "huis": server.token("piet", "zvh", "parkstad"),
        "auditor": server.token("olga", "auditor"), "beheer": server.token("root", "beheer"),
    }
    login = op_breedte(browser.new_context(locale="nl-NL").new_page(), breedte)
    login.goto(server.url + "/web/inloggen")
    een_pagina(login, f"inloggen {breedte}")
    shot(login, f"30-inloggen-{breedte}")
    morgen = date.fromordinal(vandaag().toordinal() + 1).strftime("%d-%m-%Y")
    for rol, token in rollen.items():
        page = op_breedte(log_in(browser, server, token), breedte)
        paden = ["/web/wachtrij?zvh=parkstad", "/web/termijnen", "/web/caseload", "/web/audit",
                 f"/web/audit?melding=gemeente:AXE-2&as_of={morgen}", "/web/zoek?q=AXE",
                 "/web/wachtrij?soort=onbekend", "/web/bestaat-niet", "/web/help", "/web/informeren",
                 "/web/statistiek", "/web/regels"]
        if rol != "huis":
            paden += ["/web/triage", f"/web/meldingen/{mid}"]
        if rol == "huis":
            paden += ["/web/mijn-zaken"]
        if rol == "intake":
            paden += ["/web/meldingen/nieuw", "/web/afgewezen"]
        if rol in ("auditor", "beheer"):
            paden += ["/web/toegangslog"]
        for n, pad in enumerate(paden):
            page.goto(server.url + pad)
            een_pagina(page, f"{rol} {pad} {breedte}")
            naam = "melding" if pad.startswith("/web/meldingen/") else pad.strip("/").replace("/", "-").split("?")[0]
            shot(page, f"3{n}-{rol}-{naam}-{n}-{breedte}")
        if rol == "intake":  # the melding page with personal data shown, and an action's error at its field
            page.goto(server.url + f"/web/meldingen/{mid}")
            page.get_by_label("Triage", exact=True).check()
            with page.expect_navigation():
                page.get_by_role("button", name="Toon persoonsgegevens").click()
            een_pagina(page, f"persoonsgegevens {breedte}")
            page.locator("#decide-reden").evaluate("veld => { veld.required = false; }")
            with page.expect_navigation():
                page.get_by_role("button", name="Besluit vastleggen").click()
            assert page.inner_text("#decide-reden-fout") == "Geef een reden."
            een_pagina(page, f"triagebesluit zonder reden {breedte}")
            shot(page, f"39-intake-besluit-zonder-reden-{breedte}")
        assert page.csp == [], rol
