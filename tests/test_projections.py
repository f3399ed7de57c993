"""Projections: rebuilt from zero they equal the incremental ones; killed mid catch-up they
resume without counting twice; replayed --as-of they equal what was there at that moment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from uuid import UUID

import pytest

from loket import synthetic
from loket.bootstrap import bootstrap
from loket.cli.demo import speel_jaar
from loket.service import Dienst
from projections import Projecties
from tests.conftest import handel
from tests.event_store import copy_store, last_position, loket_env, loket_settings, projection_sql

TABLES = {
    "caseload_meldingen": "melding_id",
    "deadlines": "melding_id, soort",
    "audit_trail": "melding_id, versie",
    "bewaring": "melding_id",
    "cijfers_stand": "melding_id",
    "cijfers_tellingen": "sleutel",
}
AS_OF_TABLES = ("caseload_meldingen", "deadlines", "audit_trail")


def snapshot(store: Projecties) -> dict[str, list[dict]]:
    # A row's `van` (the position its version holds from) depends on where pages ended: versions
    # recorded at one moment are one version within a page.
    return {table: [{c: v for c, v in r.items() if c != "van"}
                    for r in store.rows(f"SELECT * FROM {table} ORDER BY {key}")] for table, key in TABLES.items()}


def file_snapshot(db) -> dict[str, list[tuple]]:
    """The projections' rows as another process reads them (the SQLite file, or PostgreSQL), without
    the position a live row's version holds from (as in `snapshot`)."""
    out = {}
    with projection_sql(loket_settings(db)) as c:
        for t, k in TABLES.items():
            rows = c.connection.execute(f"SELECT * FROM {t} ORDER BY {k}")
            keep = [i for i, d in enumerate(rows.description) if d[0] != "van"]
            out[t] = [tuple(r[i] for i in keep) for r in rows.fetchall()]
    return out


@pytest.fixture(scope="module")
def worked_store(tmp_path_factory):
    """A store with a worked synthetic year: intake, routing and lifecycle events."""
    db = tmp_path_factory.mktemp("worked") / "loket.sqlite"
    klok = synthetic.Klok(datetime(2025, 1, 1, tzinfo=UTC))
    systeem = bootstrap(loket_settings(db), klok=klok)
    speel_jaar(Dienst(systeem), klok, list(synthetic.jaar(2025, seed=11, scale=0.3)), 2025, seed=11)
    systeem.bij()
    systeem.close()
    return db


def test_rebuild_from_zero_equals_incremental(worked_store, tmp_path):
    db = tmp_path / "copy.sqlite"
    copy_store(worked_store, db)
    systeem = bootstrap(loket_settings(db))
    incremental = snapshot(systeem.projecties)
    assert len(incremental["audit_trail"]) > 3_000
    for projection in systeem.projecties.projections:
        systeem.projecties.reset(projection, systeem.app.name)
    assert snapshot(systeem.projecties)["caseload_meldingen"] == []
    systeem.bij(page_size=333)
    assert snapshot(systeem.projecties) == incremental
    systeem.close()


def test_a_page_written_at_once_equals_its_events_applied_one_by_one(worked_store, tmp_path):
    """Catch-up folds a page: a melding received and routed in one page becomes one row insert,
    inserts run before updates. The rows must be those of every event's changes run in turn."""
    from eventsourcing.persistence import Tracking

    from events.datastore import Datastore

    systeem = bootstrap(loket_settings(worked_store))
    app = systeem.app
    notifications = app.recorder.select_notifications(start=1, limit=10**7)
    events = [app.mapper.to_domain_event(n) for n in notifications]
    assert {type(e).__name__ for e in events} >= {
        "MeldingOntvangen", "MeldingGerouteerd", "MeldingInTriage", "MeldingGeaccepteerd",
        "MeldingTeruggestuurd", "MeldingGesloten", "MeldingAfgewezen", "TopXAan", "TopXAf"}

    in_turn = Projecties(Datastore(db_name=str(tmp_path / "in-turn.sqlite")))
    in_turn.create_table()
    # Each event a page of its own, all in one transaction.
    in_turn.apply([
        (projection.statements([e], start=n.id), Tracking(projection.tracking_name(app.name), n.id))
        for projection in in_turn.projections for n, e in zip(notifications, events, strict=True)
    ])
    at_once = Projecties(Datastore(db_name=str(tmp_path / "at-once.sqlite")))
    at_once.create_table()
    from projections.runner import catch_up

    catch_up(app, at_once, page_size=len(notifications))
    assert snapshot(at_once) == snapshot(in_turn)
    assert len(snapshot(at_once)["caseload_meldingen"]) > 1_000
    systeem.close()


def test_the_caseload_labels_are_the_labels_of_each_melding_also_after_top_x(worked_store, tmp_path):
    db = tmp_path / "copy.sqlite"
    copy_store(worked_store, db)
    systeem = bootstrap(loket_settings(db))
    systeem.bij(page_size=97)
    rows = systeem.projecties.rows("SELECT melding_id, labels, top_x FROM caseload_meldingen WHERE zvh IS NOT NULL")
    top_x = [r for r in rows if r["top_x"]]
    assert top_x and len(top_x) < len(rows)
    for row in rows:
        labels = tuple(systeem.app.melding(UUID(row["melding_id"])).labels)
        assert (tuple(json.loads(row["labels"])), row["top_x"]) == (labels, int("top-x" in labels))
    systeem.close()


def test_a_follower_reads_each_event_of_its_topics_once_in_order_up_to_a_moment(worked_store):
    from eventsourcing.utils import get_topic

    from events.follower import Follower, lag
    from events.melding import Melding

    systeem = bootstrap(loket_settings(worked_store))
    app = systeem.app
    every = app.recorder.select_notifications(start=1, limit=10**7)
    last, moment = every[-1].id, app.mapper.to_domain_event(every[len(every) // 2]).timestamp
    topics = {get_topic(Melding.TopXAan), get_topic(Melding.MeldingGesloten)}
    pages = list(Follower(app, topics).pages(size=97))
    assert [at for page in pages for at, _ in page] == [n.id for n in every if n.topic in topics]
    assert [page.end for page in pages] == sorted({page.end for page in pages}) and pages[-1].end == last
    recorded = [e.timestamp for page in Follower(app, until=moment).pages(size=1_000) for _, e in page]
    assert recorded and max(recorded) == moment and len(recorded) < len(every)
    assert lag(app, {"new": 0, "done": last}) == {"new": last, "done": 0}
    systeem.close()


def _loket(args, db, **kwargs):
    env = {**os.environ, **loket_env(db)}
    return subprocess.Popen([sys.executable, "-m", "loket.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _position(db) -> int:
    with projection_sql(loket_settings(db)) as c:
        rows = c.execute("SELECT notification_id FROM tracking WHERE application_name = 'audit@Loket'")
    return rows[0][0] if rows else 0


@pytest.mark.slow
def test_a_projection_killed_mid_catch_up_resumes_and_ends_identical_to_a_clean_rebuild(worked_store, tmp_path):
    db = tmp_path / "killed.sqlite"
    copy_store(worked_store, db)
    expected = file_snapshot(db)
    last = last_position(loket_settings(db))

    rebuild = _loket(["projections", "rebuild", "--page-size", "50"], db)
    deadline = time.monotonic() + 60
    while not (0 < _position(db) < last) and time.monotonic() < deadline and rebuild.poll() is None:
        time.sleep(0.005)
    assert rebuild.poll() is None, "the rebuild finished before it could be killed"
    rebuild.send_signal(signal.SIGKILL)
    rebuild.wait()
    killed_at = _position(db)
    assert 0 < killed_at < last

    resumed = _loket(["projections", "catch-up", "--page-size", "50"], db)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["events"] <= last - killed_at
    assert file_snapshot(db) == expected


def test_as_of_equals_a_snapshot_taken_at_that_moment(tmp_path):
    from tests.conftest import line

    systeem = bootstrap(loket_settings(tmp_path / "t.sqlite"))
    app = systeem.app
    first = [app.ontvang(line(kenmerk=f"S-{i}", gemeente=g)).melding_id
             for i, g in enumerate(["Heerlen", "Stein", "Vaals", None])]
    handel(app, first[0], "accept", actor="a", regisseur="R")
    handel(app, first[1], "return", actor="b", reden="terug")
    systeem.bij()
    then_snapshot = snapshot(systeem.projecties)
    moment = datetime.now(UTC)
    time.sleep(0.01)

    handel(app, first[0], "close", actor="a", resultaat="klaar")
    handel(app, first[1], "reroute", actor="c", zvh="parkstad", product="c-en-a", reden="r")
    app.ontvang(line(kenmerk="S-later"))
    systeem.bij()
    now_snapshot = snapshot(systeem.projecties)
    assert now_snapshot != then_snapshot

    # As of the moment, the tables an as-of read reads are as they were (from their history), and a
    # replay into a fresh store (the oracle) has every table as it was.
    as_of = systeem.als_op(moment)
    assert {t: as_of.rows(f"SELECT * FROM {t} ORDER BY {TABLES[t]}") for t in AS_OF_TABLES} == {
        t: then_snapshot[t] for t in AS_OF_TABLES}
    replayed = systeem.herspeeld(moment)
    assert snapshot(replayed) == then_snapshot
    replayed.datastore.close()
    assert snapshot(systeem.projecties) == now_snapshot, "reading as of must not touch the live projections"
    systeem.close()
