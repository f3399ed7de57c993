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


def test_a_page_of_many_new_rows_lands_as_if_each_was_inserted_in_turn(tmp_path):
    """A page's long runs of inserts go to PostgreSQL by COPY (projections/store.py, PostgresSchrijver),
    and must land as the statements one by one would: the first of two rows with one key kept (ON
    CONFLICT DO NOTHING), awkward text intact, an update after the inserts seeing them, a run of the
    same insert twice in one page, a page that reads what the pages before it wrote, and the next
    transaction starting empty."""
    from eventsourcing.persistence import Tracking

    systeem = bootstrap(loket_settings(tmp_path / "loket.sqlite"))
    store = systeem.projecties
    try:
        with store.datastore.transaction(commit=True) as c:
            c.execute("CREATE TABLE proef (sleutel TEXT PRIMARY KEY, waarde TEXT, aantal INTEGER NOT NULL)")
            c.execute("CREATE TABLE proef_log (sleutel TEXT NOT NULL, tekst TEXT)")
        insert = "INSERT INTO proef (sleutel, waarde, aantal) VALUES (?, ?, ?) ON CONFLICT (sleutel) DO NOTHING"
        log = "INSERT INTO proef_log (sleutel, tekst) VALUES (:sleutel, :tekst)"
        lastig = "tab\there, new\nline, back\\slash, 'quote', \"dubbel\", 50% ëñ €, \\N"
        eerste = [(insert, (f"a{i:03}", lastig if i == 7 else None if i == 8 else f"w{i}", i)) for i in range(100)]
        dubbel = [(insert, ("a005", "later", 999))]
        ophoging = [("UPDATE proef SET aantal = aantal + 1000 WHERE sleutel = ?", (f"a{i:03}",)) for i in (0, 99)]
        tweede = [(insert, (f"b{i:03}", f"v{i}", i)) for i in range(60)]
        regels = [(log, {"tekst": f"t{i}", "sleutel": f"a{i:03}"}) for i in range(70)]

        def na_lezen(lees):
            [rij] = lees("SELECT COUNT(*) AS n, SUM(aantal) AS som FROM proef WHERE aantal >= ?", (0,))
            return [(log, {"sleutel": "telling", "tekst": f"{rij['n']}/{rij['som']}"})] * 55

        store.apply([(eerste + dubbel + ophoging + tweede + regels, Tracking("proef@Loket", 1)),
                     (na_lezen, Tracking("proef_telling@Loket", 1))])
        store.apply([([(insert, (f"c{i:03}", "c", i)) for i in range(80)], Tracking("proef@Loket", 2))])

        rijen = {r["sleutel"]: (r["waarde"], r["aantal"]) for r in store.rows("SELECT * FROM proef")}
        assert len(rijen) == 100 + 60 + 80
        assert rijen["a005"] == ("w5", 5)  # the first of the two kept
        assert rijen["a007"] == (lastig, 7)
        assert rijen["a008"] == (None, 8)
        assert rijen["a000"] == ("w0", 1000) and rijen["a099"] == ("w99", 1099)  # updated after their insert
        assert rijen["b059"] == ("v59", 59) and rijen["c079"] == ("c", 79)
        som = sum(range(100)) + 2000 + sum(range(60))
        telling = store.rows("SELECT tekst, COUNT(*) AS n FROM proef_log WHERE sleutel = 'telling' GROUP BY tekst")
        assert telling == [{"tekst": f"160/{som}", "n": 55}]  # read after the first page's rows were in
        regels_in = store.rows("SELECT sleutel, tekst FROM proef_log WHERE sleutel != 'telling' ORDER BY tekst")
        assert len(regels_in) == 70 and regels_in[0] == {"sleutel": "a000", "tekst": "t0"}
        assert store.max_tracking_id("proef@Loket") == 2
    finally:
        systeem.close()


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the projections in PostgreSQL (LOKET_TEST_EVENT_STORE=postgresql)")
def test_a_role_that_may_not_make_temporary_tables_still_writes_every_row(tmp_path):
    """deploy/postgres-init revokes TEMPORARY from PUBLIC: a projections' role that is not the database's
    owner then may not make the temporary table a long run of inserts with ON CONFLICT is copied into;
    those run as statements, and catch-up writes every row all the same."""
    from uuid import uuid4

    from events.datastore import projectie_datastore
    from projections.runner import catch_up

    settings = loket_settings(tmp_path / "loket.sqlite")
    systeem = bootstrap(settings)
    try:
        systeem.app.ontvang_batch([line(kenmerk=f"ZONDER-{i}") for i in range(120)])
        url = settings.database_url or ""
        rol = f"zonder_temp_{uuid4().hex[:8]}"
        with psycopg.connect(url, autocommit=True) as admin:
            db = admin.info.dbname
            admin.execute(f"CREATE ROLE {rol} LOGIN")
            admin.execute(f'GRANT CONNECT, CREATE ON DATABASE "{db}" TO {rol}')
            admin.execute(f'REVOKE TEMPORARY ON DATABASE "{db}" FROM PUBLIC')
        store = Projecties(projectie_datastore({**postgres_env(url), "POSTGRES_USER": rol}, f"{rol}_projecties"))
        try:
            store.create_table()
            catch_up(systeem.app, store, page_size=500)
            kenmerken = store.rows("SELECT kenmerk FROM caseload_meldingen")
            assert sorted(r["kenmerk"] for r in kenmerken) == sorted(f"ZONDER-{i}" for i in range(120))
            assert store.rows("SELECT COUNT(*) AS n FROM audit_trail") == [{"n": 240}]
        finally:
            store.datastore.close()
    finally:
        systeem.close()
