"""Privacy and integrity commands as a user runs them: show, access-log, shred, retention, verify."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import date, timedelta
from pathlib import Path

from tests.conftest import line
from tests.event_store import event_sql, loket_env, loket_settings
from tests.test_cli import LOKET

BSN = "111222333"
GEHEIM = "toelichting-die-niemand-mag-zien"


def loket(args: list[str], db: Path, *, stdin: str | None = None, code: int = 0, **env: str):
    full = {**os.environ, **loket_env(db, **{"LOKET_USER": "tester", **env})}
    result = subprocess.run(LOKET + args, input=stdin, capture_output=True, text=True, env=full, timeout=300)
    assert result.returncode == code, result.stderr
    if code == 2:  # a clear error: one line (argparse puts its usage line above it), no traceback
        assert result.stderr.strip().splitlines()[-1].startswith("loket") and "Traceback" not in result.stderr
    return result


def ingest(db: Path) -> None:
    lines = [
        line(kenmerk="V-1", persoon={"bsn": BSN, "naam": "Geheime Naam", "geboortedatum": "1980-01-01"},
             toelichting=GEHEIM),
        line(kenmerk="V-2", soort="radicalisering", bron="politie", toelichting=GEHEIM),
    ]
    loket(["ontvang", "-"], db, stdin="\n".join(lines) + "\n")


def test_reading_personal_data_through_the_cli_is_recorded_and_the_compartment_holds(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db)
    shown = json.loads(loket(["show", "gemeente:V-1", "--purpose", "triage", "--json"], db, LOKET_ROLE="intake").stdout)
    assert (shown["persoon"]["bsn"], shown["toelichting"]) == (BSN, GEHEIM)

    refused = loket(["show", "politie:V-2", "--purpose", "controle"], db, LOKET_ROLE="intake", code=2)
    # Outside the compartment the melding does not exist for the reader; the refusal is in the log all the same.
    assert "no melding" in refused.stderr and GEHEIM not in refused.stdout + refused.stderr
    allowed = loket(["show", "politie:V-2", "--purpose", "triage", "--json"], db, LOKET_ROLE="intake",
                    LOKET_USER="weger", LOKET_COMPARTMENTS="radicalisering")
    assert json.loads(allowed.stdout)["toelichting"] == GEHEIM

    log = json.loads(loket(["access-log", "--json"], db).stdout)
    assert [(r["actor"], r["rol"], r["doel"], r["kanaal"], r["toegang"]) for r in log] == [
        ("tester", "intake", "triage", "cli", "verleend"),
        ("tester", "intake", "controle", "cli", "geweigerd"),
        ("weger", "intake", "triage", "cli", "verleend"),
    ]
    assert json.loads(loket(["access-log", "--actor", "weger", "--json"], db).stdout) == log[2:]
    assert len(json.loads(loket(["access-log", "--melding", "politie:V-2", "--json"], db).stdout)) == 2


def test_shredding_by_bsn_leaves_the_events_reads_as_removed_and_never_writes_the_bsn(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db)
    bad = loket(["shred", "--bsn", "123456789", "--reason", "verzoek-betrokkene"], db, code=2)
    assert "123456789" not in bad.stderr

    done = loket(["shred", "--bsn", "-", "--reason", "verzoek-betrokkene"], db, stdin=BSN + "\n")
    out = json.loads(done.stdout)
    assert len(out["meldingen"]) == 1 and out["sleutels"] == 1 and BSN not in done.stdout + done.stderr

    shown = json.loads(loket(["show", "gemeente:V-1", "--purpose", "controle", "--json"], db,
                             LOKET_ROLE="intake").stdout)
    assert shown["persoon"] == shown["toelichting"] == {"verwijderd": True}
    trail = json.loads(loket(["audit", "--kenmerk", "gemeente:V-1", "--json"], db).stdout)
    assert [e["gebeurtenis"] for e in trail] == ["MeldingOntvangen", "MeldingGerouteerd", "PersoonsgegevensVernietigd"]
    assert (trail[-1]["actor"], trail[-1]["details"]["reden"]) == ("tester", "verzoek-betrokkene")
    assert json.loads(loket(["caseload", "--json"], db).stdout)[0]["count"] == 1  # still counted
    again = loket(["shred", "--subject", out["betrokkene"], "--reason", "verzoek-betrokkene"], db)
    assert json.loads(again.stdout)["sleutels"] == 0 and "nothing to destroy" in again.stderr
    for path in tmp_path.iterdir():
        assert BSN.encode() not in path.read_bytes(), path.name
    with event_sql(loket_settings(db)) as sql:  # the events themselves, on either event store
        for topic, state in sql.execute(f"SELECT topic, state FROM {sql.events}"):
            assert BSN.encode() not in bytes(state), topic


def test_retention_lists_who_is_due_and_apply_shreds_them(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db)
    loket(["close", "gemeente:V-1", "--result", "afgerond"], db)
    later = (date.today() + timedelta(days=5 * 366)).isoformat()
    assert json.loads(loket(["retention", "--json"], db).stdout)["verlopen"] == []
    due = json.loads(loket(["retention", "--as-of", later, "--json"], db).stdout)["verlopen"]
    assert [(r["meldingen"], r["product"], r["termijn"]) for r in due] == [(1, "pga", "5 jaar")]
    applied = json.loads(loket(["retention", "--as-of", later, "--apply", "--json"], db).stdout)
    assert applied["vernietigd"] == 1
    assert json.loads(loket(["retention", "--as-of", later, "--json"], db).stdout)["verlopen"] == []
    shown = json.loads(loket(["show", "gemeente:V-1", "--purpose", "controle", "--json"], db,
                             LOKET_ROLE="intake").stdout)
    assert shown["toelichting"] == {"verwijderd": True}
    loket(["retention", "--as-of", "gisteren"], db, code=2)


def test_verify_passes_an_untouched_store_and_names_the_position_of_a_tampered_event(tmp_path):
    db = tmp_path / "l.sqlite"
    ingest(db)
    ok = loket(["verify"], db)
    assert ok.stdout.startswith("intact: 4 events")
    with event_sql(loket_settings(db)) as sql:
        sql.execute(f"UPDATE {sql.events} SET topic = topic || ' ' WHERE {sql.position} = 3")
    broken = loket(["verify", "--json"], db, code=1)
    assert json.loads(broken.stdout)["broken_at"] == 3
    assert "BROKEN at position 3" in broken.stderr
