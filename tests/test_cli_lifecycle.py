"""Lifecycle and read commands as a user runs them, with LOKET_USER as the actor."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime

from projections import Projecties
from tests.conftest import line
from tests.event_store import loket_env
from tests.test_cli import run


def ingest(db, *lines):
    run(["ontvang", "-"], db, stdin="\n".join(lines) + "\n")


def test_a_melding_worked_through_the_cli_shows_in_audit_with_the_user_as_actor(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="K-1"))
    ref = "gemeente:K-1"
    out = json.loads(run(["return", ref, "--reason", "Hoort bij lokaal veld", "--json"], db).stdout)
    assert out["status"] == "triage"
    assert [r["kenmerk"] for r in json.loads(run(["triage", "--json"], db).stdout)] == ["K-1"]
    run(["decide", ref, "--zvh", "parkstad", "--product", "lokaal-veld", "--reason", "Overleg"], db)
    run(["reroute", ref, "--zvh", "parkstad", "--product", "pga", "--reason", "Toch PGA"], db)
    run(["accept", ref, "--regisseur", "A. Janssen"], db)
    run(["topx", ref, "on", "--reason", "Onrust"], db)
    closed = json.loads(run(["close", ref, "--result", "Afgerond", "--json"], db).stdout)
    assert closed["status"] == "gesloten"

    trail = json.loads(run(["audit", "--kenmerk", ref, "--json"], db).stdout)
    assert [e["gebeurtenis"] for e in trail][2:] == [
        "MeldingTeruggestuurd", "TriageBesloten", "MeldingHergerouteerd", "MeldingGeaccepteerd",
        "TopXAan", "InformerenGevraagd", "MeldingGesloten",
    ]
    assert {e["actor"] for e in trail[2:]} == {"tester"}
    assert len({e["melding_id"] for e in trail}) == 1
    by_id = json.loads(run(["audit", trail[0]["melding_id"], "--json"], db).stdout)
    assert by_id == trail


def test_regie_and_informing_through_the_cli(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="K-R"), line(kenmerk="K-B", bron="dji", soort="art18", gemeente="Brunssum",
                                         signalen={"delict": "zeden"}))
    run(["accept", "gemeente:K-R", "--regisseur", "iemand"], db)
    assert json.loads(run(["my-cases", "--json"], db).stdout)["totaal"] == 0
    assigned = json.loads(run(["assign", "gemeente:K-R", "--regisseur", "tester", "--json"], db).stdout)
    assert assigned["regisseur"] == "tester"
    [zaak] = json.loads(run(["my-cases", "--json"], db).stdout)["rijen"]
    assert zaak["kenmerk"] == "K-R"

    [taak] = json.loads(run(["notices", "--json"], db).stdout)["rijen"]
    assert (taak["kenmerk"], taak["partij"], taak["gemeente"]) == ("K-B", "burgemeester", "Brunssum")
    wrong = run(["inform", "dji:K-B", "--task", taak["taak"], "--channel", "postduif"], db, check=False)
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    run(["inform", "dji:K-B", "--task", taak["taak"], "--channel", "brief"], db)
    assert json.loads(run(["notices", "--json"], db).stdout)["totaal"] == 0
    [gedaan] = json.loads(run(["notices", "--all", "--json"], db).stdout)["rijen"]
    assert (gedaan["kanaal"], gedaan["gedaan_door"]) == ("brief", "tester")
    assert "Informeren op" in run(["notices", "--all"], db).stdout


def test_an_illegal_transition_is_a_clear_error_without_traceback(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="K-2"))
    run(["close", "gemeente:K-2", "--result", "klaar"], db)
    result = run(["accept", "gemeente:K-2", "--regisseur", "R"], db, check=False)
    assert result.returncode == 2
    assert "gesloten" in result.stderr and "Traceback" not in result.stderr
    unknown = run(["accept", "gemeente:BESTAAT-NIET", "--regisseur", "R"], db, check=False)
    assert unknown.returncode == 2 and "no melding" in unknown.stderr


def test_caseload_as_of_shows_what_was_recorded_then(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="K-3"))
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    ingest(db, line(kenmerk="K-4", gemeente="Vaals"))
    run(["accept", "gemeente:K-3", "--regisseur", "R"], db)
    then = json.loads(run(["caseload", "--json", "--as-of", moment], db).stdout)
    now = json.loads(run(["caseload", "--json"], db).stdout)
    assert [(r["gemeente"], r["status"]) for r in then] == [("Heerlen", "open")]
    assert sorted((r["gemeente"], r["status"]) for r in now) == [("Heerlen", "in-behandeling"), ("Vaals", "open")]
    assert json.loads(run(["caseload", "--json", "--as-of", "2020-01-01"], db).stdout) == []


def test_a_bad_as_of_is_a_clear_error(tmp_path):
    result = run(["caseload", "--as-of", "gisteren"], tmp_path / "l.sqlite", check=False)
    assert result.returncode == 2 and "not a date or date-time" in result.stderr and "30-06-2025" in result.stderr


def test_stats_per_product_and_gemeente_as_csv(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(
        db,
        line(kenmerk="Y-1", ontvangen_op="2024-05-01T10:00:00+02:00", gemeente="Stein"),
        line(kenmerk="Y-2", ontvangen_op="2025-05-01T10:00:00+02:00", gemeente="Stein"),
        line(kenmerk="Y-3", ontvangen_op="2025-06-01T10:00:00+02:00", gemeente="Stein"),
        line(kenmerk="Y-4", ontvangen_op="2025-06-01T10:00:00+02:00", gemeente="Geleen"),
    )
    rows = list(csv.DictReader(io.StringIO(run(["stats", "--year", "2025", "--csv"], db).stdout)))
    assert rows == [
        {"zvh": "westelijke-mijnstreek", "product": "pga", "gemeente": "Sittard-Geleen", "2024": "0", "2025": "1",
         "gesloten 2025": "0"},
        {"zvh": "westelijke-mijnstreek", "product": "pga", "gemeente": "Stein", "2024": "1", "2025": "2",
         "gesloten 2025": "0"},
    ]
    table = run(["stats", "--year", "2025"], db).stdout
    assert "Cijfers pga" in table and "Totaal" in table


def test_deadlines_flag_what_is_overdue(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="W-1", soort="wvggz", gemeente="Beek", ontvangen_op="2025-03-04T10:00:00+01:00"))
    rows = json.loads(run(["deadlines", "--json", "--as-of", "2026-01-01"], db).stdout)
    # Recorded today: in 2026-01 nothing of it existed yet.
    assert rows == []
    rows = json.loads(run(["deadlines", "--json", "--overdue"], db).stdout)
    assert [(r["kenmerk"], r["vervalt_op"], r["te_laat"]) for r in rows] == [("W-1", "2025-03-18", True)]


def test_projections_rebuild_reports_what_it_did(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="R-1"), line(kenmerk="R-2"))
    before = run(["caseload", "--json"], db).stdout
    out = json.loads(run(["projections", "rebuild"], db).stdout.splitlines()[-1])
    # Every projection the store keeps, in its order (the figures' counts among them).
    assert out == {"rebuilt": [p.name for p in Projecties.projections], "events": 4}
    assert {"caseload", "audit", "toegangslog", "cijfers"} <= set(out["rebuilt"])
    assert run(["caseload", "--json"], db).stdout == before


def test_the_projection_worker_follows_new_meldingen_until_sigterm(tmp_path):
    import os
    import signal
    import subprocess

    from tests.test_cli import LOKET

    db = tmp_path / "l.sqlite"
    ingest(db, line(kenmerk="P-1"))
    env = {**os.environ, **loket_env(db)}
    worker = subprocess.Popen(LOKET + ["projections", "catch-up", "--follow", "--interval", "0.1"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        from loket.bootstrap import bootstrap
        from loket.settings import Settings

        systeem = bootstrap(Settings.from_env(env))
        systeem.app.ontvang(line(kenmerk="P-2"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = systeem.projecties.rows("SELECT kenmerk FROM caseload_meldingen ORDER BY kenmerk")
            if [r["kenmerk"] for r in rows] == ["P-1", "P-2"]:
                break
            time.sleep(0.1)
        assert [r["kenmerk"] for r in rows] == ["P-1", "P-2"]
        systeem.close()
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["events"] >= 2  # P-2 received and routed, by the worker
