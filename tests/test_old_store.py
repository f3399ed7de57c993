"""A store written by an earlier version still opens, replays and verifies.

tests/fixtures/store-bb6c269/ holds a store the loket of commit bb6c269 wrote (maak.sh says how):
every event type of that version, decisions stored as plain JSON objects, its own projections
(with the Top X label bug of that version in its caseload), a key store and a fixed master key.
With PostgreSQL as the event store the same stored events are loaded into a fresh database
through the loket's own recorder (which chains them anew) and the key store is copied beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from consumers.messages import outgoing
from consumers.topics import Topics
from events.intake import Ongeldig, parse
from events.melding import AfgewezenMelding, Melding
from events.melding import oude_melding_id as melding_id
from loket.bootstrap import Systeem, bootstrap, maak_loket
from loket.settings import Settings
from projections.audit import trail
from projections.bewaring import bewaarregels
from projections.caseload import afgewezen, tellingen, wachtrij
from projections.deadlines import open_deadlines
from projections.toegangslog import toegangslog
from projections.whatif import wat_als
from routing.decision import Beslissing
from tests.conftest import INTAKE_ROL, line
from tests.event_store import ON_POSTGRESQL, loket_env, loket_settings
from tests.test_cli import LOKET

FIXTURE = Path(__file__).parent / "fixtures" / "store-bb6c269"
MASTER_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # the fixture's, as maak.sh gives it
# Its keys are in the key store file it was written with, whatever LOKET_TEST_KEYSTORE says.
ENV = {"LOKET_MASTER_KEY": MASTER_KEY, "LOKET_USER": "tester", "LOKET_KEYSTORE_URL": ""}


def _stored_events() -> list[StoredEvent]:
    with closing(sqlite3.connect(f"file:{FIXTURE / 'store.sqlite'}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM stored_events ORDER BY rowid").fetchall()
    return [StoredEvent(UUID(i), v, topic, state) for i, v, topic, state in rows]


@pytest.fixture
def oud(tmp_path: Path) -> Settings:
    """Settings of a copy of the old store: the file itself, or its events in PostgreSQL."""
    db = tmp_path / "store.sqlite"
    shutil.copyfile(FIXTURE / "store.sqlite.keys", f"{db}.keys")
    settings = loket_settings(db, **ENV)
    if ON_POSTGRESQL:
        app = maak_loket(settings)
        app.recorder.insert_events(_stored_events())
        app.close()
    else:
        shutil.copyfile(FIXTURE / "store.sqlite", db)
    return settings


@pytest.fixture
def systeem(oud: Settings):
    s = bootstrap(oud)
    yield s
    s.close()


def _valid(raw: str) -> bool:
    try:
        parse(raw)
    except Ongeldig:
        return False
    return True


def _melding(systeem: Systeem, bron: str, kenmerk: str) -> Melding:
    m = systeem.app.melding(melding_id(bron, kenmerk))
    assert isinstance(m, Melding)
    return m


def test_every_aggregate_of_an_old_store_replays_with_its_decision_as_a_value(systeem):
    notifications = systeem.app.recorder.select_notifications(start=1, limit=1_000)
    assert len(notifications) == 45
    ids = {n.originator_id for n in notifications if n.topic.startswith("events.melding:")}
    meldingen = [systeem.app.melding(i) for i in ids]
    assert len(meldingen) == 18
    assert all(isinstance(m.beslissing, Beslissing) for m in meldingen)
    rejected = [m for m in meldingen if isinstance(m, AfgewezenMelding)]
    assert len(rejected) == 3 and all(m.beslissing.outcome == "rejected" and m.beslissing.errors for m in rejected)

    wvggz = _melding(systeem, "gemeente", "CASE-0013")
    assert (wvggz.status, wvggz.beslissing.zvh, wvggz.beslissing.product) == ("open", "westelijke-mijnstreek", "wvggz")
    assert wvggz.beslissing.deadline == date(2025, 3, 18)
    decided = _melding(systeem, "dji", "CASE-0003")  # routed, sent back, decided in triage
    assert (decided.status, decided.beslissing.zvh, decided.beslissing.product) == ("open", "parkstad", "nazorg")
    assert decided.beslissing.rules == ("handmatig.triage",)
    top_x = _melding(systeem, "zsm", "CASE-0015")
    assert top_x.labels == ("top-x",) and "lokale-driehoek" in top_x.beslissing.notify
    scaled_down = _melding(systeem, "gemeente", "CASE-0005")  # accepted, Top X on, then off
    assert (scaled_down.status, scaled_down.regisseur, scaled_down.labels) == ("in-behandeling", "Regisseur-A", ())
    assert _melding(systeem, "politie", "CASE-0009").status == "gesloten"
    assert _melding(systeem, "gemeente", "CASE-0006").status == "doorverwezen"
    assert _melding(systeem, "gemeente", "CASE-0007").beslissing.rules == ("handmatig.herrouteerd",)
    assert _melding(systeem, "dji", "CASE-0004").vernietigd


def test_the_projections_of_an_old_store_rebuild_from_its_events(systeem):
    for projection in systeem.projecties.projections:
        systeem.projecties.reset(projection, systeem.app.name)
    assert systeem.bij() == 45
    store = systeem.projecties
    assert tellingen(store) == {"open": 12, "in-behandeling": 1, "doorverwezen": 1, "gesloten": 1, "afgewezen": 3}
    assert len(afgewezen(store)) == 3
    parkstad = {r["kenmerk"]: r for r in wachtrij(store, "parkstad")}
    assert parkstad["CASE-0015"]["labels"] == ["top-x"]
    assert parkstad["CASE-0002"]["labels"] == ["rio"]
    deadlines = {(r["kenmerk"], r["soort"]): r["vervalt_op"] for r in open_deadlines(store, date(2025, 1, 1))}
    assert deadlines[("CASE-0013", "wvggz-termijn")] == "2025-03-18"
    assert ("CASE-0015", "top-x-review") in deadlines and ("CASE-0005", "top-x-review") not in deadlines
    audit = trail(store, str(melding_id("dji", "CASE-0003")))
    assert [r["gebeurtenis"] for r in audit] == [
        "MeldingOntvangen", "MeldingGerouteerd", "MeldingTeruggestuurd", "TriageBesloten"]
    assert audit[-1]["rules"] == ["handmatig.triage"] and audit[-1]["details"]["zvh"] == "parkstad"
    assert audit[1]["details"]["labels"] == [] and audit[1]["ruleset"].startswith("zl-routing@")
    reads = toegangslog(store, melding_id=str(melding_id("politie", "CASE-0001")))
    assert [(r["actor"], r["doel"], r["toegang"]) for r in reads] == [("fixture", "triage", "verleend")]
    shredded = str(melding_id("dji", "CASE-0004"))
    assert shredded not in {r["melding_id"] for r in bewaarregels(store)}


@pytest.mark.sqlite_only(reason="the fixture's own projections are in its SQLite file")
def test_an_old_store_opened_as_it_is_shows_the_top_x_label_in_the_house_queue(systeem):
    """Its caseload was written with the Top X label bug; the caseload's new version rebuilds it."""
    systeem.bij()
    parkstad = {r["kenmerk"]: r for r in wachtrij(systeem.projecties, "parkstad")}
    assert parkstad["CASE-0015"]["labels"] == ["top-x"]


def test_the_hash_chain_of_an_old_store_verifies(oud):
    result = subprocess.run([*LOKET, "verify", "--json"], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **loket_env(oud.db, **ENV)})
    assert result.returncode == 0, result.stderr
    verified = json.loads(result.stdout)
    assert verified["intact"] and verified["events"] == 45
    if not ON_POSTGRESQL:  # signed every 10 links when it was written (on PostgreSQL: chained anew)
        assert verified["anchors"] == 4


def test_personal_data_of_an_old_store_opens_with_its_master_key_and_stays_shredded(systeem):
    read = systeem.app.persoonsgegevens(melding_id("politie", "CASE-0001"), actor="tester", doel="triage",
                                        rol=INTAKE_ROL)
    assert read["persoon"]["naam"] == "Persoon 1" and read["toelichting"] == "synthetisch voorbeeld"
    gone = systeem.app.persoonsgegevens(melding_id("dji", "CASE-0004"), actor="tester", doel="triage", rol=INTAKE_ROL)
    assert gone["persoon"] == {"verwijderd": True}


def test_old_events_make_the_same_messages_and_decide_the_same_under_the_same_rules(systeem):
    events = [systeem.app.mapper.to_domain_event(n) for n in systeem.app.recorder.select_notifications(1, 1_000)]
    messages = [json.loads(m.value) for m in outgoing(events, Topics(""), lambda e: pytest.fail(str(e)))]
    [wvggz] = [m for m in messages if m["kenmerk"] == "CASE-0013" and m["event_type"] == "MeldingGerouteerd"]
    assert wvggz["beslissing"]["deadline"] == "2025-03-18" and wvggz["beslissing"]["labels"] == []
    assert wat_als(systeem.app, systeem.app.ruleset, systeem.app.ruleset).bekeken == 15


def test_a_melding_of_an_old_store_sent_again_is_a_duplicate_under_its_old_id(systeem):
    """Its meldingen were stored under the uuid5 of (bron, kenmerk), before the store kept (bron, kenmerk)
    beside the events: sent again, each is the melding it was, shredded or not, and nothing is stored."""
    lines = (FIXTURE / "meldingen.jsonl").read_text().splitlines()
    before = systeem.app.recorder.max_notification_id()
    again = systeem.app.ontvang_batch(lines)
    assert [r.status for r in again] == ["duplicaat"] * len(lines)
    valid = [(parse(raw), r.melding_id) for raw, r in zip(lines, again, strict=True) if _valid(raw)]
    by_kenmerk = {(m.bron, m.kenmerk): i for m, i in valid}
    assert len(by_kenmerk) == 15
    assert by_kenmerk[("dji", "CASE-0004")] == melding_id("dji", "CASE-0004")  # the shredded one too
    assert all(i == melding_id(*k) == systeem.app.melding_id_van(*k) for k, i in by_kenmerk.items())
    assert systeem.app.recorder.max_notification_id() == before


def test_a_new_melding_in_an_old_store_gets_a_time_ordered_id_and_stays_one_melding(oud):
    first = bootstrap(oud)
    try:
        nieuw = first.app.ontvang(line(bron="politie", kenmerk="CASE-0100"))
        assert nieuw.status == "nieuw" and nieuw.melding_id.version == 7
    finally:
        first.close()
    reopened = bootstrap(oud)
    try:
        resent = reopened.app.ontvang_batch([line(bron="politie", kenmerk="CASE-0100"),
                                             line(bron="politie", kenmerk="CASE-0001")])
        assert [(r.status, r.melding_id) for r in resent] == [
            ("duplicaat", nieuw.melding_id), ("duplicaat", melding_id("politie", "CASE-0001"))]
    finally:
        reopened.close()
    # Found by BRON:KENMERK, the old melding and the new one alike.
    for kenmerk, expected in (("CASE-0001", melding_id("politie", "CASE-0001")), ("CASE-0100", nieuw.melding_id)):
        result = subprocess.run([*LOKET, "audit", "--kenmerk", f"politie:{kenmerk}", "--json"], capture_output=True,
                                text=True, timeout=120, env={**os.environ, **loket_env(oud.db, **ENV)})
        assert result.returncode == 0, result.stderr
        assert {r["melding_id"] for r in json.loads(result.stdout)} == {str(expected)}
