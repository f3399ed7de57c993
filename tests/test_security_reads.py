"""Security and robustness of the read side (docs/security.md): out-of-range moments, the
restricted compartment in every list, and catch-ups that meet each other. Each failed before its fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from projections import Projecties
from projections.caseload import tellingen
from projections.runner import catch_up
from tests.conftest import line
from tests.event_store import loket_env
from tests.web_fixtures import Loketten

LOKET = [sys.executable, "-m", "loket.cli"]
BUITEN_KALENDER = ["9999-12-31T23:30:00Z", "0001-01-01T00:10:00+01:00", "9999-12-31T23:59:59-05:00"]


def post(loketten: Loketten, token: str, **overrides):
    return loketten.client.post("/meldingen", content=line(**overrides), headers=loketten.als(token))


# 4. A moment outside the calendar is a clear refusal, before any replay ------------------------


@pytest.mark.parametrize("moment", BUITEN_KALENDER)
def test_an_as_of_moment_outside_the_calendar_is_a_422_naming_as_of(loketten, moment):
    auditor = loketten.token("olga", "auditor")
    for path in ("/caseload", "/triage", "/deadlines", "/stats"):
        answer = loketten.client.get(path, params={"as_of": moment}, headers=loketten.als(auditor))
        assert answer.status_code == 422, (path, answer.text)
        assert answer.json()["errors"][0]["field"] == "as_of"


@pytest.mark.parametrize("moment", BUITEN_KALENDER[:1])
def test_an_as_of_moment_outside_the_calendar_is_an_html_page_on_the_web(loketten, moment):
    auditor = loketten.token("olga", "auditor")
    loketten.inloggen(auditor)
    page = loketten.client.get("/web/caseload", params={"as_of": moment})
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text and 'lang="nl"' in page.text


def test_an_as_of_moment_outside_the_calendar_is_one_line_from_the_cli(tmp_path):
    env = {**os.environ, **loket_env(tmp_path / "loket.sqlite", LOKET_USER="tester")}
    subprocess.run(LOKET + ["ontvang", "-"], input=line().encode(), env=env, check=True, capture_output=True)
    result = subprocess.run(LOKET + ["caseload", "--as-of", BUITEN_KALENDER[0]], env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--as-of" in result.stderr


# 8. Once in the compartment, in it everywhere -------------------------------------------------


def test_a_melding_rerouted_out_of_the_compartment_stays_out_of_every_list_of_those_outside_it(loketten):
    weegploeg = loketten.token("wim", "intake", compartimenten=("radicalisering",))
    intake = loketten.token("anna", "intake")
    admin = loketten.token("root", "admin")
    parkstad = loketten.token("piet", "zvh", zvh="parkstad")

    def parkstad_pga(token: str) -> int:
        rows = loketten.client.get("/caseload", headers=loketten.als(token)).json()
        return sum(r["count"] for r in rows if (r["zvh"], r["product"]) == ("parkstad", "pga"))

    before = {t: parkstad_pga(t) for t in (intake, admin, parkstad, weegploeg)}
    mid = post(loketten, weegploeg, kenmerk="IN-UIT-1").json()["melding_id"]  # an aanmelding: parkstad/pga
    readers = (intake, admin, parkstad)
    assert {t: parkstad_pga(t) for t in readers} == {t: before[t] + 1 for t in readers}
    for zvh, product in (("parkstad", "radicalisering"), ("parkstad", "pga")):
        moved = loketten.client.post(f"/meldingen/{mid}/reroute", headers=loketten.als(weegploeg),
                                     json={"zvh": zvh, "product": product, "reden": "weegploeg"})
        assert moved.status_code == 200, moved.text

    # Routed out again to parkstad/pga: those outside the compartment see it nowhere, as the detail page.
    for token in (intake, admin, parkstad):
        assert loketten.client.get(f"/meldingen/{mid}", headers=loketten.als(token)).status_code == 404
        assert parkstad_pga(token) == before[token]
        queue = loketten.client.get("/wachtrij", params={"zvh": "parkstad"}, headers=loketten.als(token)).json()
        assert mid not in {r["melding_id"] for r in queue}
        stats = loketten.client.get("/stats", params={"year": 2025}, headers=loketten.als(token)).json()
        assert sum(r["dit_jaar"] for r in stats if (r["zvh"], r["product"]) == ("parkstad", "pga")) == before[token]
    assert parkstad_pga(weegploeg) == before[weegploeg] + 1
    queue = loketten.client.get("/wachtrij", params={"zvh": "parkstad"}, headers=loketten.als(weegploeg)).json()
    assert mid in {r["melding_id"] for r in queue}


# 13. Catch-ups that meet each other step aside -------------------------------------------------


def test_a_catch_up_that_meets_another_goes_on_from_where_that_one_left_off(systeem):
    systeem.app.ontvang_batch([line(kenmerk=f"SAMEN-{i}") for i in range(30)])
    other = Projecties(systeem.projecties.datastore)
    apply = systeem.projecties.apply
    met = []

    def the_other_writes_first(writes):
        if not met:
            met.append(catch_up(systeem.app, other))  # another process catches up the same store meanwhile
        return apply(writes)

    systeem.projecties.apply = the_other_writes_first  # type: ignore[method-assign]
    catch_up(systeem.app, systeem.projecties, page_size=10)
    assert met == [60]
    assert tellingen(systeem.projecties) == {"open": 30}


def test_two_ontvang_of_the_same_file_at_once_both_finish_and_nothing_is_lost_or_doubled(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(line(kenmerk=f"TWEE-{i}") + "\n" for i in range(1500)))
    env = {**os.environ, **loket_env(tmp_path / "loket.sqlite", LOKET_USER="tester")}
    subprocess.run(LOKET + ["ontvang", "-"], input=line(kenmerk="EERST").encode(), env=env, check=True,
                   capture_output=True)  # the store exists, so both start on it at once
    runs = [subprocess.Popen(LOKET + ["ontvang", str(source)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outcomes = [(p.wait(timeout=600), p.stdout.read(), p.stderr.read()) for p in runs]
    for code, _out, err in outcomes:
        assert code == 0, err[-2000:]
        assert "Traceback" not in err
    summaries = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in outcomes]
    assert sum(s["new"] for s in summaries) == 1500
    assert all(s["new"] + s["duplicates"] == 1500 for s in summaries)
    caseload = subprocess.run(LOKET + ["caseload", "--json"], env=env, capture_output=True, text=True, check=True)
    assert sum(r["count"] for r in json.loads(caseload.stdout)) == 1501
