"""As of a moment, from the projections' history, equals a replay of the log up to that moment.

A simulated year (intake, routing, triage, accepting, closing, sending back, rerouting, Top X on
and off, a new regisseur, parties to inform) is recorded on its own clock, so its events lie
across the year. At many moments — random ones, exactly an event's recording time and a
microsecond either side of it, before the first and after the last — every as-of read through the
service equals the same read of a replay of the log into a fresh store (projections/replay.py, the
oracle), and so do the history-keeping tables themselves. On the event store the suite runs on
(LOKET_TEST_EVENT_STORE).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from events.status import GESLOTEN, IN_BEHANDELING, OPEN
from events.toegang import Rol
from loket import synthetic
from loket.bootstrap import Systeem, bootstrap
from loket.cli.demo import speel_jaar
from loket.service import Dienst, Gebruiker, NietGevonden, Overzicht, Verboden
from projections import Projecties, cijfers
from projections.caseload import toegang
from projections.lijsten import Vraag
from projections.store import SQLITE, knoop
from projections.tijdlijn import positie_op
from routing.tijd import NL
from tests import cijfers_referentie
from tests.conftest import handel
from tests.event_store import loket_settings

JAAR = 2025
AUDITOR = Gebruiker("olga", Rol("auditor", compartimenten=frozenset({"radicalisering"})))
INTAKE = Gebruiker("anna", Rol("intake"))
PARKSTAD = Gebruiker("piet", Rol("zvh", "parkstad"))
TABELLEN = {
    "caseload_meldingen": "melding_id", "deadlines": "melding_id, soort", "audit_trail": "melding_id, versie",
    "informeren_taken": "taak",
}


@pytest.fixture(scope="module")
def jaar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Systeem]:
    """A store with a simulated year's history, its projections caught up."""
    db = tmp_path_factory.mktemp("als-op") / "loket.sqlite"
    klok = synthetic.Klok(datetime(JAAR, 1, 1, tzinfo=UTC))
    systeem = bootstrap(loket_settings(db), klok=klok)
    speel_jaar(Dienst(systeem), klok, list(synthetic.jaar(JAAR, seed=7, scale=0.04)), JAAR, seed=7)
    systeem.bij()
    # The simulated loket does not reroute: a few meldingen still open are, at the year's end,
    # some twice at one moment, and one is sent back after.
    open_ = [r["melding_id"] for r in systeem.projecties.rows(
        "SELECT melding_id FROM caseload_meldingen WHERE status IN ('open', 'in-behandeling') "
        "AND zvh != 'parkstad' AND compartiment IS NULL ORDER BY melding_id LIMIT 6")]
    assert len(open_) == 6
    for i, melding_id in enumerate(open_):
        klok.zet(klok() + timedelta(hours=1 + i % 2))
        handel(systeem.app, UUID(melding_id), "reroute", actor="loket", zvh="parkstad", product="c-en-a",
               reden="Hoort bij Parkstad.")
    klok.zet(klok() + timedelta(hours=3))
    handel(systeem.app, UUID(open_[0]), "return", actor="medewerker", reden="Toch niet.")
    systeem.bij()
    yield systeem
    systeem.close()


def tijdstippen(s: Systeem) -> list[datetime]:
    rows = s.projecties.rows("SELECT DISTINCT tijdstip FROM tijdlijn ORDER BY tijdstip")
    return [datetime.strptime(r["tijdstip"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC) for r in rows]


def momenten(s: Systeem, n: int = 14) -> list[datetime]:
    """Before the first, after the last, exactly at recorded times and a microsecond either side,
    and random moments in between."""
    rng = random.Random(JAAR)
    tijden = tijdstippen(s)
    eerste, laatste = tijden[0], tijden[-1]
    gekozen = [eerste - timedelta(days=1), eerste - timedelta(microseconds=1), eerste, laatste,
               laatste + timedelta(days=1)]
    for t in rng.sample(tijden, n):
        gekozen += [t - timedelta(microseconds=1), t, t + timedelta(microseconds=1)]
    span = (laatste - eerste).total_seconds()
    gekozen += [eerste + timedelta(seconds=rng.uniform(0, span)) for _ in range(n)]
    return gekozen


def lezingen(o: Overzicht, wie: Gebruiker, meldingen: list[UUID]) -> dict[str, Any]:
    """Every as-of read of the service, as this user may read them."""
    uit: dict[str, Any] = {
        "caseload": o.caseload(), "statistiek": o.statistiek(JAAR), "verloop": o.verloop(),
        "cijfers": o.cijfers(JAAR), "deadlines": o.deadlines(), "te_laat": o.deadlines(overdue=True),
        "afgewezen": o.afgewezen(), "mijn_zaken": o.mijn_zaken(per_pagina=75).as_dict(),
        "termijnen": o.termijnen(Vraag(per_pagina=75)).as_dict(),
        "termijnen_verlopen": o.termijnen(Vraag(termijn="verlopen", sorteer="kenmerk")).as_dict(),
        "termijn_soorten": o.termijn_soorten(), "gemeenten": o.keuzes("gemeente"),
        "regisseurs": o.keuzes("regisseur", statussen=(OPEN, IN_BEHANDELING)),
        "zoek": o.zoek(Vraag(zoek="-1", per_pagina=75)).as_dict(),
        "zoek_2": o.zoek(Vraag(zoek="-", pagina=2, sorteer="termijn")).as_dict(),
        "zoek_gesloten": o.zoek(Vraag(zoek="0", status=GESLOTEN, sorteer="sinds", aflopend=True)).as_dict(),
    }
    if wie.soort != "zvh":
        uit |= {"triage": o.triage(), "triage_pagina": o.triage_pagina(Vraag(per_pagina=75)).as_dict(),
                "informeren": o.informeren(open_only=False, per_pagina=75).as_dict(),
                "informeren_open": o.informeren(per_pagina=75).as_dict()}
        for huis in sorted(o.dienst.huizen):
            uit[f"wachtrij {huis}"] = o.wachtrij(huis)
            uit[f"wachtrij_pagina {huis}"] = o.wachtrij_pagina(huis, Vraag(per_pagina=75)).as_dict()
    else:
        uit["wachtrij"] = o.wachtrij(None)
        uit["wachtrij_pagina"] = o.wachtrij_pagina(None, Vraag(sorteer="termijn")).as_dict()
    for melding_id in meldingen:
        uit[f"audit {melding_id}"] = poging(o.audit, melding_id)
        if wie.soort != "zvh":
            uit[f"informeren {melding_id}"] = poging(o.informeren_van, melding_id)
    return uit


def poging(lees: Callable[[UUID], Any], melding_id: UUID) -> Any:
    """A read of one melding, or the name of its refusal (the same refusal on both sides is the point)."""
    try:
        return lees(melding_id)
    except (NietGevonden, Verboden) as exc:
        return type(exc).__name__


def tabellen(store: Projecties) -> dict[str, list[dict[str, Any]]]:
    # A live row's `van` (the position its version holds from) is left out: as of, it is the version's.
    return {t: [{c: v for c, v in r.items() if c != "van"} for r in store.rows(f"SELECT * FROM {t} ORDER BY {k}")]
            for t, k in TABELLEN.items()}


def test_every_as_of_read_equals_a_replay_of_the_log_up_to_that_moment(jaar):
    dienst = Dienst(jaar)
    rng = random.Random(1)
    ids = [r["melding_id"] for r in jaar.projecties.rows("SELECT melding_id FROM caseload_meldingen")]
    assert len(ids) > 100
    soorten = {r["gebeurtenis"] for r in jaar.projecties.rows("SELECT DISTINCT gebeurtenis FROM audit_trail")}
    # The year went through the whole lifecycle, so the history has something to keep.
    assert {"MeldingGerouteerd", "MeldingInTriage", "TriageBesloten", "MeldingGeaccepteerd", "MeldingGesloten",
            "MeldingTeruggestuurd", "MeldingHergerouteerd", "TopXAan", "TopXAf", "RegisseurToegewezen",
            "InformerenGevraagd", "PartijGeinformeerd", "MeldingAfgewezen"} <= soorten, soorten
    getoetst = 0
    for moment in momenten(jaar):
        replay = jaar.herspeeld(moment)
        try:
            assert tabellen(jaar.als_op(moment)) == tabellen(replay), moment
            meldingen = [UUID(i) for i in rng.sample(ids, 6)]
            for wie in (AUDITOR, INTAKE):
                with dienst.overzicht(wie, moment) as o:
                    historie = lezingen(o, wie, meldingen)
                oracle = lezingen(Overzicht(dienst, wie, replay, moment.astimezone(NL).date()), wie, meldingen)
                for naam in oracle:
                    assert historie[naam] == oracle[naam], (moment, wie.naam, naam)
                getoetst += 1
        finally:
            replay.datastore.close()
    assert getoetst > 50


def test_the_counted_figures_equal_a_count_of_the_meldingen_one_by_one(jaar):
    """The figures read from the counts equal those computed from the caseload rows, the deadlines and
    the audit trail as they were before they were counted, live and as of moments, for every reader's
    compartments, this year and the next (whose year before is this one); and so does the flow per
    month of the caseload page."""
    getoetst = 0
    for moment in [None, *momenten(jaar, n=4)]:
        store = jaar.projecties if moment is None else jaar.als_op(moment)
        for held in (None, frozenset(), frozenset({"radicalisering"})):
            verloop = cijfers_referentie.verloop(store, held)
            assert cijfers.verloop(store, held) == verloop, (moment, held, "verloop")
            getoetst += bool(verloop)
            for jaar_ in (JAAR, JAAR + 1):
                for naam in ("statistiek", "jaartabellen", "maandreeksen", "doorlooptijden"):
                    geteld = getattr(cijfers, naam)(store, jaar_, held)
                    referentie = getattr(cijfers_referentie, naam)(store, jaar_, held)
                    assert geteld == referentie, (moment, held, jaar_, naam)
                    getoetst += bool(referentie and referentie != ([], []))
    assert getoetst > 50


def test_a_house_sees_as_of_the_same_as_in_a_replay(jaar):
    """A house's staff may not read as of (the role model); the same reads on the view equal the
    replay's all the same, through a house's eyes (its queue, its deadlines)."""
    dienst = Dienst(jaar)
    for moment in momenten(jaar, n=4):
        replay = jaar.herspeeld(moment)
        try:
            op = moment.astimezone(NL).date()
            historie = lezingen(Overzicht(dienst, PARKSTAD, jaar.als_op(moment), op), PARKSTAD, [])
            assert historie == lezingen(Overzicht(dienst, PARKSTAD, replay, op), PARKSTAD, []), moment
        finally:
            replay.datastore.close()


def test_a_moment_is_the_last_position_recorded_at_or_before_it(jaar):
    tijden = tijdstippen(jaar)
    assert positie_op(jaar.projecties, tijden[0] - timedelta(microseconds=1)) == 0
    last = jaar.app.recorder.max_notification_id()
    assert positie_op(jaar.projecties, tijden[-1]) == last
    for t in tijden[:: max(1, len(tijden) // 50)]:
        p = positie_op(jaar.projecties, t)
        [rij] = jaar.projecties.rows("SELECT tijdstip FROM tijdlijn WHERE positie = :p", {"p": p})
        assert rij["tijdstip"] <= t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        later = jaar.projecties.rows("SELECT MIN(positie) AS p FROM tijdlijn WHERE positie > :p", {"p": p})
        if later[0]["p"] is not None:
            [volgende] = jaar.projecties.rows("SELECT tijdstip FROM tijdlijn WHERE positie = :p", later[0])
            assert volgende["tijdstip"] > t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_each_history_version_is_found_by_its_tree_node(jaar):
    """Every version's `knoop` is the one its positions give, holding versions too (so the index
    ranges of an as-of read find each version exactly where it held)."""
    for tabel in ("caseload_meldingen_historie", "deadlines_historie", "informeren_taken_historie"):
        rows = jaar.projecties.rows(f"SELECT van, tot, knoop FROM {tabel}")
        assert rows
        assert all(r["van"] < r["tot"] and r["knoop"] == knoop(r["van"], r["tot"]) for r in rows), tabel


def test_as_of_reads_do_not_depend_on_how_catch_up_paged_the_log(jaar, tmp_path):
    """A page keeps one version of a row per moment and one time-line row per moment; pages of
    any size give the same reads as of every moment."""
    from events.datastore import Datastore
    from projections.runner import catch_up

    klein = Projecties(Datastore(db_name=str(tmp_path / "klein.sqlite")))
    klein.create_table()
    catch_up(jaar.app, klein, page_size=13)
    try:
        for moment in momenten(jaar, n=10):
            assert tabellen(klein.als_op(moment, app_name=jaar.app.name)) == tabellen(jaar.als_op(moment)), moment
        assert tabellen(klein) == tabellen(jaar.projecties)
    finally:
        klein.datastore.close()


def test_the_interval_tree_finds_exactly_the_versions_holding_at_a_position():
    """`knoop` (Python) and `knoop_sql` (SQL) agree, and `geldig_op` keeps exactly the versions with
    van <= P < tot, at random positions and at every interval's edges, holding versions included."""
    import sqlite3

    from projections.store import TOP, geldig_op, knoop_sql

    rng = random.Random(18)
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE h (id INTEGER, van INTEGER, tot INTEGER, knoop INTEGER)")
    versies = []
    for i in range(2_000):
        van = rng.randint(1, 5_000)
        tot = TOP if rng.random() < 0.3 else rng.randint(van + 1, van + rng.choice((2, 50, 3_000)))
        versies.append((i, van, tot))
        c.execute("INSERT INTO h VALUES (?, ?, ?, ?)", (i, van, tot, knoop(van, tot)))
        [(in_sql,)] = c.execute(f"SELECT {knoop_sql(':van', ':hoog')}", {"van": van, "hoog": tot - 1})
        assert in_sql == knoop(van, tot)
    randen = {p for _, van, tot in versies for p in (van - 1, van, tot - 1, tot) if tot < TOP}
    for p in sorted(randen | {rng.randint(0, 9_000) for _ in range(200)} | {0, TOP - 1}):
        gevonden = sorted(i for (i,) in c.execute(f"SELECT id FROM h WHERE {geldig_op(p)}"))
        assert gevonden == sorted(i for i, van, tot in versies if van <= p < tot), p


def plannen(store: Projecties, monkeypatch: pytest.MonkeyPatch, lees: Callable[[], Any], tabel: str
            ) -> list[tuple[str, list[str]]]:
    """SQLite's plan of each query `lees` runs on the as-of view `store` that reads `tabel`'s history."""
    gelezen: list[tuple[str, Any]] = []
    rows = type(store).rows

    def opgeschreven(self: Projecties, sql: str, params: Any = (), *,
                     per_sleutel: bool = False) -> list[dict[str, Any]]:
        if self.positie is not None:
            gelezen.append((self.historisch(sql, self.positie, per_sleutel=per_sleutel), params))
        return rows(self, sql, params, per_sleutel=per_sleutel)

    monkeypatch.setattr(type(store), "rows", opgeschreven)
    lees()
    monkeypatch.undo()
    uit = []
    for sql, params in gelezen:
        if f"{tabel}_historie" not in sql:
            continue
        with store.datastore.transaction(commit=False) as c:
            c.execute("EXPLAIN QUERY PLAN " + store.dialect.sql(sql), params)
            uit.append((sql, [row[3] for row in c.fetchall()]))
    return uit


def midden(s: Systeem) -> Projecties:
    store = s.als_op(tijdstippen(s)[len(tijdstippen(s)) // 2])
    if store.dialect is not SQLITE:
        pytest.skip("the plans checked are SQLite's")
    return store


def test_the_figures_as_of_a_moment_read_only_the_versions_holding_then_and_from_the_index_alone(jaar, monkeypatch):
    """At each node of the interval tree's path, an as-of read of the figures seeks a range bounded by
    the position (`tot` above it below the position, `van` up to it above), and takes what it needs
    from that index: without the bound (a range on the year ahead of the position) it reads every
    version at the node, more the longer the history; outside the index, one table page per version.
    The plans of SQLite, where the suite's projections are kept there."""
    store = midden(jaar)

    def lees() -> None:
        for jaar_ in (JAAR, JAAR + 1):
            for naam in ("statistiek", "jaartabellen", "maandreeksen", "doorlooptijden"):
                getattr(cijfers, naam)(store, jaar_, None)
        cijfers.verloop(store, None)

    gelezen = plannen(store, monkeypatch, lees, "cijfers_tellingen")
    assert len(gelezen) >= 8
    for sql, plan in gelezen:
        zoeken = [stap for stap in plan if "_historie" in stap]
        assert zoeken, plan
        for stap in zoeken:
            assert "COVERING INDEX" in stap and ("tot>?" in stap or "van<?" in stap), (stap, sql[:120])


def test_the_access_check_as_of_a_moment_seeks_each_melding_by_its_key_and_position(jaar, monkeypatch):
    """The access check of a list as of a moment (what each melding's house, product and compartment
    were then) seeks each melding's versions by its key and the position: through the interval tree,
    a few hundred meldingen read every version at the nodes near its root, which hold every
    long-lived one (a house's queue took 80 ms as of the middle of a 1M-event store that way, 7 ms
    this way). Both ways find the same rows."""
    store = midden(jaar)
    ids = [r["melding_id"] for r in store.rows("SELECT melding_id FROM caseload_meldingen ORDER BY melding_id")]
    assert len(ids) > 100
    gevonden: dict[str, Any] = {}
    gelezen = plannen(store, monkeypatch, lambda: gevonden.update(toegang(store, ids)), "caseload_meldingen")
    assert gelezen
    for _, plan in gelezen:
        assert [stap for stap in plan if "_historie" in stap] == [
            "SEARCH caseload_meldingen_historie USING INDEX sqlite_autoindex_caseload_meldingen_historie_1 "
            "(melding_id=? AND van<?)"], plan
    marks = ", ".join("?" * len(ids))
    boom = store.rows(f"SELECT melding_id, soort, product, zvh, queue, status, compartiment FROM caseload_meldingen "
                      f"WHERE melding_id IN ({marks})", ids)
    assert gevonden == {r["melding_id"]: r for r in boom}
