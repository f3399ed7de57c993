"""Where the projections are kept: the SQLite file LOKET_DB, or, with the events in PostgreSQL,
a schema of the events' database; either way a page's rows and the projections' positions are
written in one transaction."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from loket.bootstrap import bootstrap, projectie_schema
from loket.settings import postgres_env
from projections import Caseload, Projecties
from tests.conftest import line
from tests.event_store import ON_POSTGRESQL, loket_settings, projection_sql


def _projectie_bestanden(directory: Path) -> list[Path]:
    """SQLite files under `directory` that hold projection tables or tracking positions."""
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm")):
            continue
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                continue
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
            tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables & {"tracking", "caseload_meldingen", "projection_versions"}:
            found.append(path)
    return found


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the projections in PostgreSQL (LOKET_TEST_EVENT_STORE=postgresql)")
def test_with_the_events_in_postgresql_the_projections_are_there_too_and_in_no_file(tmp_path):
    settings = loket_settings(tmp_path / "loket.sqlite")
    systeem = bootstrap(settings)
    try:
        systeem.app.ontvang(line(kenmerk="PG-1"))
        systeem.bij()
        assert systeem.projecties.dialect.naam == "postgresql"
        assert [r["kenmerk"] for r in systeem.projecties.rows("SELECT kenmerk FROM caseload_meldingen")] == ["PG-1"]
    finally:
        systeem.close()
    assert _projectie_bestanden(tmp_path) == []
    assert not settings.db.exists()
    schema = projectie_schema(postgres_env(settings.database_url or "").get("POSTGRES_SCHEMA"))
    with psycopg.connect(settings.database_url or "", autocommit=True) as conn:
        tables = {t for (t,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,))}
        [(position,)] = conn.execute(
            f'SELECT notification_id FROM "{schema}".tracking WHERE application_name = %s', ("caseload@Loket",))
        [(events,)] = conn.execute("SELECT MAX(notification_id) FROM loket_events")
    assert {"caseload_meldingen", "caseload_meldingen_historie", "deadlines", "audit_trail", "tijdlijn",
            "toegangslog", "bewaring", "informeren_taken", "tracking", "projection_versions"} <= tables
    assert position == events  # the position tracked beside the rows, in PostgreSQL


def test_a_failure_after_the_rows_are_written_leaves_no_row_and_no_position_moved(tmp_path, monkeypatch):
    """Rows and positions are one transaction: the tracking write fails after every projection's
    rows of the page were written, and neither the rows nor any position stay."""
    import projections.store

    settings = loket_settings(tmp_path / "loket.sqlite")
    systeem = bootstrap(settings)
    try:
        systeem.app.ontvang(line(kenmerk="EEN"))
        systeem.bij()
        voor = systeem.projecties.positions(systeem.app.name)
        systeem.app.ontvang(line(kenmerk="TWEE"))

        echte = projections.store.schrijf_tracking
        geschreven: list[str] = []

        def faalt_na_de_rijen(recorder, cursor, tracking):
            geschreven.append(tracking.application_name)
            if len(geschreven) == len(Projecties.projections):  # every projection's rows are in
                raise RuntimeError("the disk is full")
            echte(recorder, cursor, tracking)

        monkeypatch.setattr(projections.store, "schrijf_tracking", faalt_na_de_rijen)
        with pytest.raises(RuntimeError, match="the disk is full"):
            systeem.bij()
        assert len(geschreven) == len(Projecties.projections)
        assert systeem.projecties.positions(systeem.app.name) == voor
        with projection_sql(settings) as sql:  # as another process reads it
            assert sql.execute("SELECT kenmerk FROM caseload_meldingen ORDER BY kenmerk") == [("EEN",)]
            assert sql.execute("SELECT notification_id FROM tracking WHERE application_name = ?",
                               (Caseload.tracking_name(systeem.app.name),)) == [(voor["caseload"],)]

        monkeypatch.setattr(projections.store, "schrijf_tracking", echte)
        systeem.bij()
        kenmerken = systeem.projecties.rows("SELECT kenmerk FROM caseload_meldingen ORDER BY kenmerk")
        assert [r["kenmerk"] for r in kenmerken] == ["EEN", "TWEE"]
        assert systeem.projecties.positions(systeem.app.name)["caseload"] > voor["caseload"]
    finally:
        systeem.close()
