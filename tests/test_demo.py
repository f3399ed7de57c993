"""`loket demo --year 2018`: a synthetic past that matches the record, recorded when it happened.

Seed 004 (Veiligheidshuis Westelijke Mijnstreek, jaarverslag 2018, "Cijfers 2017-2018 per
deelnemende gemeente") is the one published table we have: PGA 140, radicalisering 11, WTH 13
and 215 detentiemeldingen, for Sittard-Geleen, Stein, Beek and Schinnen. The demo's year is run
once, as a newcomer runs it (`make demo`: in the checkout, on its own store), and read back
with the commands an auditor uses.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from contextlib import closing
from datetime import date, datetime
from pathlib import Path

import pytest

from routing.gemeenten import default_register
from tests.test_cli import last_json

pytestmark = pytest.mark.sqlite_only(reason="`loket demo` always works on its own SQLite file (--db)")

LOKET = [sys.executable, "-m", "loket.cli"]
WM = "westelijke-mijnstreek"
SEED_004_WM_2018 = {"pga": 140, "radicalisering": 11, "huisverbod": 13, "detentiemeldingen": 215}


def _loket(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    # The demo as a newcomer runs it: no LOKET_* settings of the test run, only what is given here.
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    result = subprocess.run(LOKET + args, cwd=cwd, env={**clean, **env}, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """A directory the demo ran in (as `make demo` runs it in the checkout), for the year 2018."""
    directory = tmp_path_factory.mktemp("checkout")
    _loket(["demo", "--year", "2018"], directory)
    return directory


def rows(checkout: Path, sql: str, *params: object) -> list[tuple]:
    with closing(sqlite3.connect(checkout / "loket-demo.sqlite")) as conn:
        return conn.execute(sql, params).fetchall()


def stats(checkout: Path) -> list[dict]:
    """`loket stats --year 2018` as one who holds the radicalisering compartment reads it."""
    return last_json(_loket(["stats", "--year", "2018", "--json"], checkout, LOKET_DB="loket-demo.sqlite",
                            LOKET_COMPARTMENTS="radicalisering").stdout)


def test_the_demo_leaves_only_its_store_where_it_ran(checkout):
    left = {p.name for p in checkout.iterdir()} - {"loket-demo.sqlite-wal", "loket-demo.sqlite-shm"}
    # Ignored by the repository (*.sqlite, *.keys, *.master-key): no input lines, no lock file.
    assert left == {"loket-demo.sqlite", "loket-demo.sqlite.keys", "loket-demo.sqlite.keys.master-key"}


def test_westelijke_mijnstreek_in_2018_is_close_to_its_annual_report(checkout):
    per_product = Counter()
    for r in stats(checkout):
        if r["zvh"] == WM:
            per_product[r["product"]] += r["dit_jaar"]
    # Detentiemeldingen are what DJI reported (in, out and art. 18) about people of WM's gemeenten.
    [(detentie,)] = rows(checkout, "SELECT COUNT(*) FROM caseload_meldingen WHERE bron = 'dji' AND zvh = ? "
                                   "AND substr(datum, 1, 4) = '2018'", WM)
    found = {"pga": per_product["pga"], "radicalisering": per_product["radicalisering"],
             "huisverbod": per_product["huisverbod"], "detentiemeldingen": detentie}
    for name, expected in SEED_004_WM_2018.items():
        margin = max(5, 0.25 * expected) if expected < 50 else 0.25 * expected
        assert abs(found[name] - expected) <= margin, f"{name}: {found[name]}, seed 004 says {expected}"


def test_the_year_2018_has_the_gemeenten_of_2018_and_no_later_ones(checkout):
    gemeenten_2018 = default_register().gemeenten_op(date(2018, 6, 1))
    assert "Schinnen" in gemeenten_2018 and "Beekdaelen" not in gemeenten_2018
    # (A melding that named no gemeente is counted under none: the loket asked the melder, but a
    # decision records the house and the product, not what the melder answered.)
    per_huis = {(r["zvh"], r["gemeente"]) for r in stats(checkout) if r["dit_jaar"] and r["gemeente"]}
    assert {g for zvh, g in per_huis} == set(gemeenten_2018)
    assert {(zvh, g) for zvh, g in per_huis} == {(gemeenten_2018[g], g) for zvh, g in per_huis}
    wm = {r["gemeente"]: r["dit_jaar"] for r in stats(checkout) if r["zvh"] == WM and r["product"] == "pga"}
    assert set(wm) == {"Sittard-Geleen", "Stein", "Beek", "Schinnen"} and wm["Schinnen"] >= 1


def test_the_loket_decides_triage_items_to_the_house_that_serves_the_gemeente(checkout):
    # The house and product each melding went to by a person's decision at the loket (its audit trail).
    decided = rows(checkout, "SELECT m.gemeente, m.datum, json_extract(a.details, '$.zvh'), "
                             "json_extract(a.details, '$.product'), m.soort FROM audit_trail a "
                             "JOIN caseload_meldingen m USING (melding_id) WHERE a.gebeurtenis = 'TriageBesloten'")
    assert len(decided) > 20
    register = default_register()
    for gemeente, datum, zvh, product, soort in decided:
        uitslag = register.resolve(gemeente, date.fromisoformat(datum))
        if uitslag.kind == "zuid-limburg":  # else the worker asked the melder where the person lives
            assert zvh == uitslag.zvh, (gemeente, datum, zvh)
        # A product of the stream: no advice for a detainee, no PGA for a JPP melding.
        assert not (soort in ("detentie-in", "detentie-uit") and product == "pga"), (soort, product)
    assert len({p for *_, p, _ in decided}) >= 2, "every decision the same product is not how people decide"


def test_the_year_is_recorded_when_it_happened_and_can_be_looked_back_into(checkout):
    [(first, last)] = rows(checkout, "SELECT MIN(status_sinds), MAX(status_sinds) FROM caseload_meldingen")
    assert first.startswith("2018-") and last.startswith("2018-"), (first, last)
    # Nothing closes in the month the demo ran: the caseload chart stays in 2018.
    [(closed_later,)] = rows(checkout, "SELECT COUNT(*) FROM caseload_meldingen WHERE status = 'gesloten' "
                                       "AND status_sinds >= '2019'")
    assert closed_later == 0

    def caseload(as_of: str) -> int:
        out = _loket(["caseload", "--json", "--as-of", as_of], checkout, LOKET_DB="loket-demo.sqlite").stdout
        return sum(r["count"] for r in json.loads(out))

    midden, eind = caseload("2018-06-30"), caseload("2018-12-31")
    assert 100 < midden and 100 < eind
    assert caseload("2017-12-31") == 0
    title = _loket(["caseload", "--as-of", "2018-06-30"], checkout, LOKET_DB="loket-demo.sqlite").stdout
    assert "wat het systeem toen wist" in " ".join(title.split())

    verified = last_json(_loket(["verify", "--json"], checkout, LOKET_DB="loket-demo.sqlite").stdout)
    assert verified["intact"] is True
    assert datetime.fromisoformat(first).year == 2018


def test_a_year_before_the_gemeenten_the_synthetic_past_knows_is_a_clear_error_that_keeps_the_store(tmp_path):
    (tmp_path / "loket-demo.sqlite").write_bytes(b"the demo store of an earlier run")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    result = subprocess.run(LOKET + ["demo", "--year", "1975"], cwd=tmp_path, env=clean, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "--year 1975" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "loket-demo.sqlite").read_bytes() == b"the demo store of an earlier run"
