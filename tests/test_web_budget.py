"""The budgets of the list pages on a store of demo size, in a real headless Chromium against a real
`loket serve`: every list page is at most 150 KB of HTML and loads in at most 1 s.

The store holds the synthetic year the demo uses (loket/synthetic.py: about 6,900 lines, 6,785
meldingen), taken in by `loket ontvang` and not worked: every routed melding waits in its house's
queue with both actions in its row, the heaviest a queue page gets. The Westelijke Mijnstreek
queue (its own caseload and the VIA team's work for the whole region) then holds about 4,700
meldingen. What was measured is written to test-artifacts/web-budget.json (bench/RESULTS.md, "Web pages").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loket import synthetic
from tests import test_web_browser
from tests.event_store import ON_POSTGRESQL, loket_env
from tests.test_web_browser import SCREENSHOTS, log_in
from tests.web_fixtures import Server, serve

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(ON_POSTGRESQL, reason="the pages' budget is measured once, on the default store")]
browser = test_web_browser.browser
MAX_BYTES = 150 * 1024
MAX_SECONDS = 1.0
FIGURES = Path(__file__).resolve().parent.parent / "test-artifacts" / "web-budget.json"

# The list pages, for the house that holds the longest queue and for the loket's intake team.
PAGINAS = {
    "westelijke-mijnstreek": [
        "/web/wachtrij", "/web/wachtrij?pagina=50", "/web/wachtrij?per_pagina=75",
        "/web/wachtrij?sorteer=termijn&richting=af", "/web/wachtrij?soort=wvggz&termijn=verlopen",
        "/web/wachtrij?zoek=2025-00", "/web/termijnen", "/web/zoek?q=VIA-2025", "/web/caseload",
    ],
    "intake": [
        "/web/triage", "/web/wachtrij?zvh=parkstad", "/web/wachtrij?zvh=westelijke-mijnstreek&sorteer=gemeente",
        "/web/termijnen", "/web/termijnen?termijn=verlopen", "/web/zoek?q=2025", "/web/caseload",
    ],
}


@pytest.fixture(scope="module")
def demojaar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("demojaar")
    source = directory / "jaar.jsonl"
    source.write_text("\n".join(synthetic.jaar(2025, 2025, 1.0)) + "\n", encoding="utf-8")
    env = {**os.environ, **loket_env(directory / "loket.sqlite", LOKET_USER="beheer")}
    subprocess.run([sys.executable, "-m", "loket.cli", "ontvang", str(source)], env=env, check=True,
                   capture_output=True, timeout=600)
    with serve(directory) as server:
        yield server


def test_every_list_page_of_a_demo_year_is_at_most_150_kb_and_loads_within_a_second(browser, demojaar):
    tokens = {"westelijke-mijnstreek": demojaar.token("wendy", "zvh", "westelijke-mijnstreek"),
              "intake": demojaar.token("anna", "intake")}
    figures = []
    for wie, paden in PAGINAS.items():
        page = log_in(browser, demojaar, tokens[wie])
        page.goto(demojaar.url + paden[0])  # the first page after logging in warms nothing the others need
        for pad in paden:
            started = time.perf_counter()
            response = page.goto(demojaar.url + pad, wait_until="load")
            seconds = time.perf_counter() - started
            assert response is not None and response.status == 200, pad
            size = len(response.body())
            rows = page.locator("table.lijst tbody tr").count()
            telling = page.locator("#telling").inner_text() if page.locator("#telling").count() else ""
            figures.append({"wie": wie, "pagina": pad, "bytes": size, "seconden": round(seconds, 3), "rijen": rows,
                            "telling": telling})
        # How the longest queue looks on a laptop and on a phone (the screen's first view).
        for breedte, (width, height) in {"breed": (1366, 860), "telefoon": (390, 844)}.items():
            page.set_viewport_size({"width": width, "height": height})
            page.goto(demojaar.url + paden[1])
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"40-demojaar-{wie}-{breedte}.png"))
            # The whole row, its actions too, in view without scrolling sideways (in the page or the table's box).
            vak = page.evaluate("(() => { const v = document.querySelector('.tabelvak'); "
                                "return [v.scrollWidth, v.clientWidth, document.documentElement.scrollWidth]; })()")
            assert vak[0] <= vak[1] and vak[2] <= width, (wie, breedte, vak)
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")
    queue = next(f for f in figures if f["pagina"] == "/web/wachtrij")
    assert int(queue["telling"].split(" van ")[1].split()[0]) > 1_000  # a queue of demo size, really paged
    too_big = [(f["pagina"], f["bytes"]) for f in figures if f["bytes"] > MAX_BYTES]
    too_slow = [(f["pagina"], f["seconden"]) for f in figures if f["seconden"] > MAX_SECONDS]
    assert too_big == [] and too_slow == [], figures
