"""Personal data at rest: sealed under per-subject keys, opened only through the one read path.

Secrets in these tests are distinctive strings, so finding them in a raw file
means they were stored in the clear.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
import stat
import time
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from events.application import Loket
from events.logboek import INZAGE, OngeldigDoel, verwerkingsactiviteiten
from events.toegang import ROLSOORTEN, GeenToegang, OngeldigeRol, Rol
from loket.bootstrap import bootstrap, maak_kluis
from loket.settings import Settings
from privacy.keystore import CompartimentGesloten
from privacy.kluis import Kluis
from privacy.masterkey import SleutelFout
from projections.audit import trail
from projections.caseload import caseload
from projections.cijfers import statistiek
from projections.toegangslog import toegangslog
from tests.conftest import BEHEER_ROL, handel, line, melding, run_together
from tests.event_store import event_sql, key_sql, loket_settings, projection_sql

BSN = "111222333"
NAAM = "Wilhelmina Geheimhouder"
GEBOREN = "1987-11-23"
TOELICHTING = "vertrouwelijke toelichting xyzzy"
REDEN = "reden-met-persoonsgegevens plugh"
RESULTAAT = "resultaat-over-de-persoon frobozz"
PAYLOAD_GEHEIM = "afgewezen-geheim-qwerty"
SECRETS = (BSN, NAAM, "Geheimhouder", GEBOREN, TOELICHTING, REDEN, RESULTAAT, PAYLOAD_GEHEIM)


def persoonlijk(kenmerk: str, bsn: str = BSN, **overrides) -> str:
    return line(kenmerk=kenmerk, persoon={"bsn": bsn, "naam": NAAM, "geboortedatum": GEBOREN},
                toelichting=TOELICHTING, **overrides)


def raw_files(directory: Path) -> dict[str, bytes]:
    """Every file the store wrote, except the development master key itself."""
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and not p.name.endswith(".master-key")}


def lees(app: Loket, melding_id, *, actor: str = "tester", doel: str = "controle", rol: str = "intake",
         compartimenten: frozenset[str] = frozenset(), **kwargs):
    return app.persoonsgegevens(melding_id, actor=actor, doel=doel, rol=Rol.uit_tekst(rol, compartimenten), **kwargs)


def test_no_sqlite_file_holds_a_bsn_name_birth_date_or_free_text_in_the_clear(systeem, tmp_path):
    app = systeem.app
    valid = app.ontvang(persoonlijk("P-1")).melding_id
    rejected = app.ontvang(json.dumps({**melding(kenmerk="P-2", ontvangen_op="gisteren"),
                                       "persoon": {"bsn": BSN}, "toelichting": PAYLOAD_GEHEIM})).melding_id
    handel(app, valid, "return", actor="zvh-parkstad", reden=REDEN)
    handel(app, valid, "decide", actor="intake", zvh="parkstad", product="pga", reden=REDEN)
    handel(app, valid, "close", actor="zvh-parkstad", resultaat=RESULTAAT)
    systeem.bij()
    files = raw_files(tmp_path)
    if systeem.settings.database_url is None:  # else the events and projections are in PostgreSQL (below)
        assert {"loket.sqlite", "loket.sqlite-wal"} <= set(files)
    if systeem.settings.keystore_url is None:  # else in PostgreSQL (tests/test_keystore_postgres.py)
        assert {"loket.sqlite.keys", "loket.sqlite.keys-wal"} <= set(files)
    for name, data in files.items():
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret!r} in the clear in {name}"
    with event_sql(systeem.settings) as sql:  # the events, wherever the event store keeps them
        for position, topic, state in sql.execute(f"SELECT {sql.position}, topic, state FROM {sql.events}"):
            for secret in SECRETS:
                assert secret.encode() not in bytes(state), f"{secret!r} in the clear in event {position} ({topic})"
    with projection_sql(systeem.settings) as sql:  # the projections, wherever they are kept
        for table in (t for p in systeem.projecties.projections for t in p.tables):
            for row in sql.execute(f"SELECT * FROM {table}"):
                for secret in SECRETS:
                    assert secret not in repr(row), f"{secret!r} in the clear in the projection table {table}"
    # ... and all of it comes back through the read path.
    opened = lees(app, valid)
    assert opened["persoon"] == {"bsn": BSN, "naam": NAAM, "geboortedatum": GEBOREN}
    assert opened["toelichting"] == TOELICHTING
    assert [n.get("reden") or n.get("resultaat") for n in opened["notities"]] == [REDEN, REDEN, RESULTAAT]
    assert PAYLOAD_GEHEIM in lees(app, rejected)["payload"]


def test_the_subject_is_a_keyed_pseudonym_not_the_bsn(systeem, tmp_path):
    a = systeem.app.melding(systeem.app.ontvang(persoonlijk("P-3")).melding_id)
    b = systeem.app.melding(systeem.app.ontvang(persoonlijk("P-4")).melding_id)
    assert a.betrokkene == b.betrokkene and a.betrokkene_soort == "bsn"
    assert BSN not in a.betrokkene and len(a.betrokkene) == 64
    other = bootstrap(loket_settings(tmp_path / "other.sqlite"))
    try:  # another master key, another pseudonym: it cannot be recomputed from the BSN alone
        assert other.app.betrokkene_met_bsn(BSN) != a.betrokkene
    finally:
        other.close()


def test_without_a_bsn_the_subject_is_the_normalised_name_and_birth_date(systeem):
    app = systeem.app
    first = app.ontvang(line(kenmerk="N-1", persoon={"naam": "José  Öztürk-Smit", "geboortedatum": GEBOREN}))
    second = app.ontvang(line(kenmerk="N-2", persoon={"naam": "jose ozturk smit", "geboortedatum": GEBOREN}))
    name_only = app.ontvang(line(kenmerk="N-3", persoon={"naam": "José Öztürk-Smit"}))
    a, b, c = (app.melding(o.melding_id) for o in (first, second, name_only))
    assert a.betrokkene == b.betrokkene == app.betrokkene_met_naam("Jose Ozturk Smit", GEBOREN)
    assert a.betrokkene_soort == "naam-geboortedatum"
    # A name alone could be someone else: that melding is a subject of its own.
    assert c.betrokkene_soort == "melding" and c.betrokkene != a.betrokkene


def test_a_stored_melding_is_decided_again_from_its_facts_without_opening_personal_data(systeem):
    stored = systeem.app.melding(systeem.app.ontvang(persoonlijk("F-1", soort="detentie-uit", bron="dji",
                                                                 gemeente="Heerlen")).melding_id)
    assert stored.leeftijd == 37  # born 1987-11-23, received 2025-03-04
    assert systeem.app.ruleset.decide(stored.feiten()) == stored.beslissing
    assert stored.intake().persoon.bsn is None  # the routing facts only, without the person


def shredded_store(systeem):
    """Two meldingen about one person (worked through the lifecycle), one about another; then shred the first."""
    app = systeem.app
    first, second = (app.ontvang(persoonlijk(k)).melding_id for k in ("S-1", "S-2"))
    other = app.ontvang(persoonlijk("S-3", bsn="123456782")).melding_id
    handel(app, first, "return", actor="zvh-parkstad", reden=REDEN)
    handel(app, second, "accept", actor="zvh-parkstad", regisseur="A. Janssen")
    handel(app, second, "close", actor="zvh-parkstad", resultaat=RESULTAAT)
    systeem.bij()
    return first, second, other


def test_shredding_makes_a_persons_data_unreadable_everywhere_while_every_event_and_count_stays(systeem, tmp_path):
    app = systeem.app
    first, second, other = shredded_store(systeem)
    on = date(2025, 12, 31)
    counts_before = (caseload(systeem.projecties, on), statistiek(systeem.projecties, 2025))
    events_before = {m: len(app.recorder.select_events(m)) for m in (first, second, other)}
    with key_sql(systeem.settings) as keys:
        wrapped = [bytes(r[0]) for r in keys.execute("SELECT wrapped FROM data_keys WHERE subject = ?",
                                                     (app.betrokkene_met_bsn(BSN),))]
    assert wrapped

    done = app.vernietig(app.betrokkene_met_bsn(BSN), actor="fg", reden="verzoek art. 17 AVG", rol=BEHEER_ROL)
    systeem.bij()

    assert set(done.meldingen) == {first, second}
    for m in (first, second):
        opened = lees(app, m)
        assert opened["persoon"] == opened["toelichting"] == {"verwijderd": True}
        assert all(v == {"verwijderd": True}
                   for n in opened["notities"] for k, v in n.items() if k in ("reden", "resultaat"))
        assert len(app.recorder.select_events(m)) == events_before[m] + 1  # every event stays, one is added
    assert lees(app, other)["toelichting"] == TOELICHTING  # someone else's data is untouched
    # Counts and statistics stay, now and after rebuilding every projection from the events.
    assert (caseload(systeem.projecties, on), statistiek(systeem.projecties, 2025)) == counts_before
    for projection in systeem.projecties.projections:
        systeem.projecties.reset(projection, app.name)
    systeem.bij()
    assert (caseload(systeem.projecties, on), statistiek(systeem.projecties, 2025)) == counts_before
    # The audit trail shows who shredded and why, and what was sealed before now reads as removed.
    entries = trail(systeem.projecties, str(first))
    assert (entries[-1]["gebeurtenis"], entries[-1]["actor"]) == ("PersoonsgegevensVernietigd", "fg")
    assert entries[-1]["details"]["reden"] == "verzoek art. 17 AVG"
    assert entries[0]["details"]["persoonsgegevens"] == {"verwijderd": True}
    assert entries[2]["details"]["reden"] == {"verwijderd": True}
    # The wrapped keys are gone from the key store's bytes, not just unlinked (in PostgreSQL: from
    # its table; what a server's files keep of deleted rows is in docs/privacy.md).
    with key_sql(systeem.settings) as keys:
        assert keys.execute("SELECT count(*) FROM data_keys WHERE subject = ?", (app.betrokkene_met_bsn(BSN),)) == [
            (0,)]
    for name, data in raw_files(tmp_path).items():
        for key in wrapped:
            assert key not in data, f"a destroyed key is still in {name}"
    # Routing facts survive: the melding can still be explained.
    assert app.ruleset.decide(app.melding(first).feiten()).as_contract()["product"] == "pga"


def test_shredding_twice_does_nothing_the_second_time_and_new_data_gets_a_new_key(systeem):
    app = systeem.app
    first, _, _ = shredded_store(systeem)
    subject = app.betrokkene_met_bsn(BSN)
    app.vernietig(subject, actor="fg", reden="verzoek", rol=BEHEER_ROL)
    again = app.vernietig(subject, actor="fg", reden="verzoek", rol=BEHEER_ROL)
    assert again.meldingen == () and again.sleutels == ()
    later = app.ontvang(persoonlijk("S-9")).melding_id
    assert lees(app, later)["toelichting"] == TOELICHTING
    assert lees(app, first)["toelichting"] == {"verwijderd": True}


def test_one_person_keeps_one_data_key_per_compartment_within_a_batch_and_across_batches(systeem, tmp_path):
    app = systeem.app
    first = app.ontvang_batch([persoonlijk("K-1"), persoonlijk("K-2"), persoonlijk("K-3", bsn="123456782")])
    later = app.ontvang_batch([persoonlijk("K-4"), persoonlijk("K-5", soort="radicalisering", bron="politie")])
    with key_sql(systeem.settings) as keys:
        per_compartment = dict(keys.execute(
            "SELECT compartment, count(*) FROM data_keys WHERE subject = ? GROUP BY compartment",
            (app.betrokkene_met_bsn(BSN),),
        ))
    assert per_compartment == {"": 1, "radicalisering": 1}
    for ontvangst in [*first, later[0]]:
        assert lees(app, ontvangst.melding_id)["toelichting"] == TOELICHTING


@pytest.mark.sqlite_keystore_only(reason="key_usage was only ever written by SQLite key stores")
def test_shredding_finds_meldingen_that_a_key_store_recorded_by_subject_before_key_meldingen(systeem, tmp_path):
    """Key stores written before `key_meldingen` recorded usage by subject in `key_usage` only."""
    app = systeem.app
    first = app.ontvang(persoonlijk("O-1")).melding_id
    second = app.ontvang(persoonlijk("O-2")).melding_id
    subject = app.betrokkene_met_bsn(BSN)
    keys = sqlite3.connect(tmp_path / "loket.sqlite.keys")
    with keys:  # as an older key store left it: the first melding known by subject only
        keys.execute("DELETE FROM key_meldingen WHERE melding_id = ?", (str(first),))
        keys.execute("INSERT INTO key_usage VALUES (?, ?)", (subject, str(first)))
    keys.close()
    shredded = app.vernietig(subject, actor="fg", reden="verzoek", rol=BEHEER_ROL)
    assert set(shredded.meldingen) == {first, second}
    assert lees(app, first)["toelichting"] == {"verwijderd": True}


def test_data_key_ids_grow_with_time_so_new_keys_land_at_the_end_of_the_index():
    from privacy.keystore import new_key_id

    earlier = new_key_id()
    time.sleep(0.002)
    later = [new_key_id() for _ in range(100)]
    assert all(earlier < k for k in later)
    assert len(set(later)) == 100 and all(len(k) == 32 and int(k, 16) >= 0 for k in later)


def radicalisering(app: Loket, kenmerk: str = "R-1"):
    return app.ontvang(persoonlijk(kenmerk, soort="radicalisering", bron="politie")).melding_id


def test_the_radicalisering_compartment_holds_against_every_role(systeem):
    app = systeem.app
    restricted = radicalisering(app)
    assert app.melding(restricted).compartiment == "radicalisering"
    for rol in [*(s for s in ROLSOORTEN if s != "zvh"), *(f"zvh:{z}" for z in sorted(app.ruleset.zvh_ids))]:
        with pytest.raises(GeenToegang, match="restricted compartment") as refused:
            lees(app, restricted, rol=rol)
        for secret in SECRETS:
            assert secret not in str(refused.value)
    opened = lees(app, restricted, rol="intake", compartimenten=frozenset({"radicalisering"}))
    assert opened["toelichting"] == TOELICHTING
    # The key store holds too: a compartment's data key is not handed out without the compartment.
    key_id = app.melding(restricted).persoonsgegevens["sleutel"]
    with pytest.raises(CompartimentGesloten):
        app.kluis.keystore.key(key_id, compartimenten=frozenset())
    # Everyone sees that it exists, where counts are kept.
    systeem.bij()
    assert sum(r["count"] for r in caseload(systeem.projecties, date(2025, 12, 31))) == 1


def test_moving_a_melding_into_radicalisering_restricts_it_and_seals_its_reason_there(systeem):
    app = systeem.app
    ordinary = app.ontvang(persoonlijk("R-2")).melding_id
    handel(app, ordinary, "reroute", actor="intake", zvh="parkstad", product="radicalisering", reden=REDEN)
    with pytest.raises(GeenToegang):
        lees(app, ordinary)
    notities = lees(app, ordinary, compartimenten=frozenset({"radicalisering"}))["notities"]
    assert notities[0]["reden"] == REDEN
    assert app.kluis.keystore.live_key_ids(app.melding(ordinary).betrokkene)  # ordinary and compartment key


def test_a_rejected_radicalisering_payload_is_sealed_in_the_compartment(systeem):
    app = systeem.app
    rejected = app.ontvang(json.dumps({**melding(kenmerk="R-3", soort="radicalisering", ontvangen_op="gisteren"),
                                       "toelichting": PAYLOAD_GEHEIM})).melding_id
    assert app.melding(rejected).compartiment == "radicalisering"
    with pytest.raises(GeenToegang):
        lees(app, rejected)


def test_roles_outside_the_compartment_read_what_their_role_allows(systeem):
    app = systeem.app
    routed = app.ontvang(persoonlijk("T-1")).melding_id  # an aanmelding from Heerlen: parkstad
    assert lees(app, routed, rol="zvh:parkstad")["toelichting"] == TOELICHTING
    for rol in ("zvh:maastricht-heuvelland", "auditor", "beheer"):
        with pytest.raises(GeenToegang):
            lees(app, routed, rol=rol)
    with pytest.raises(OngeldigeRol):  # a role that does not exist cannot even be made
        lees(app, routed, rol="iemand")
    for doel in (" ", "nieuwsgierig"):  # a purpose of the register, or no read (doelbinding)
        with pytest.raises(OngeldigDoel, match="purpose"):
            lees(app, routed, doel=doel)


def test_every_read_through_the_api_hook_is_in_the_access_log_granted_or_refused(systeem):
    app = systeem.app
    ordinary, restricted = app.ontvang(persoonlijk("A-1")).melding_id, radicalisering(app, "A-2")
    app.persoonsgegevens(ordinary, actor="web:j.jansen", doel="triage", rol=Rol.uit_tekst("intake"), kanaal="api",
                         trace="4bf92f3577b34da6a3ce929d0e0e4736", parent_span="00f067aa0ba902b7")
    with pytest.raises(GeenToegang):
        app.persoonsgegevens(restricted, actor="web:j.jansen", doel="behandeling", rol=Rol.uit_tekst("zvh:parkstad"))
    systeem.bij()
    granted, refused = toegangslog(systeem.projecties, actor="web:j.jansen")
    assert (granted["melding_id"], granted["toegang"], granted["status"]) == (
        str(ordinary), "verleend", "STATUS_CODE_OK")
    assert (granted["trace_id"], granted["parent_span_id"]) == ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")
    assert len(bytes.fromhex(granted["span_id"])) == 8
    assert (granted["rol"], granted["doel"], granted["kanaal"]) == ("intake", "triage", "api")
    assert granted["verwerkingsactiviteit"] == INZAGE and INZAGE in verwerkingsactiviteiten()
    assert granted["betrokkene"] == app.betrokkene_met_bsn(BSN) and granted["betrokkene_type"] == "loket-pseudoniem:bsn"
    assert (refused["melding_id"], refused["toegang"], refused["status"]) == (
        str(restricted), "geweigerd", "STATUS_CODE_UNSET")
    assert "compartment" in refused["weigering"]
    assert toegangslog(systeem.projecties, melding_id=str(restricted)) == [refused]


def test_shredding_is_in_the_access_log_as_a_processing_of_its_own(systeem):
    app = systeem.app
    first, second, _ = shredded_store(systeem)
    app.vernietig(app.betrokkene_met_bsn(BSN), actor="fg", reden="bewaartermijn verstreken", rol=BEHEER_ROL)
    systeem.bij()
    lines = toegangslog(systeem.projecties, actor="fg")
    assert {r["melding_id"] for r in lines} == {str(first), str(second)}
    assert {r["naam"] for r in lines} == {"persoonsgegevens vernietigen"}
    assert len({r["trace_id"] for r in lines}) == 1  # one processing, a line per melding


def test_a_wrong_master_key_does_not_open_the_key_store_and_says_so_without_the_key(tmp_path):
    db = tmp_path / "l.sqlite"
    key = base64.b64encode(os.urandom(32)).decode()
    first = bootstrap(loket_settings(db, LOKET_MASTER_KEY=key))
    first.app.ontvang(persoonlijk("K-1"))
    first.close()
    wrong = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(SleutelFout, match="does not open the key store") as exc:
        bootstrap(loket_settings(db, LOKET_MASTER_KEY=wrong))
    assert wrong not in str(exc.value)
    with pytest.raises(SleutelFout, match="32 bytes"):
        bootstrap(loket_settings(db, LOKET_MASTER_KEY=base64.b64encode(b"short").decode()))


def test_a_master_key_file_must_be_private_and_a_generated_one_is(tmp_path):
    # The development key goes with a key store file (beside a key store on a server it is refused, below).
    s = bootstrap(loket_settings(tmp_path / "l.sqlite", LOKET_KEYSTORE_URL=""))
    s.close()
    generated = tmp_path / "l.sqlite.keys.master-key"
    assert stat.S_IMODE(generated.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "l.sqlite.keys").stat().st_mode) == 0o600
    generated.chmod(0o644)
    with pytest.raises(SleutelFout, match="readable by others"):
        bootstrap(loket_settings(tmp_path / "l.sqlite", LOKET_KEYSTORE_URL=""))


def test_a_key_store_on_a_server_wants_a_master_key_given_and_writes_no_development_key(tmp_path, postgres):
    """Several hosts share the key store on a server: a development key in a file of one of them
    would open it for that host alone. Refused at the start, naming the settings; no file written."""
    keys = postgres.new_database("zonder_hoofdsleutel", owner="loket_keys")
    settings = Settings(db=tmp_path / "l.sqlite", database_url=None, user="tester", kafka="", kafka_topic_prefix="",
                        log_format="console", keystore_url=keys)
    with pytest.raises(SleutelFout, match="LOKET_KEYSTORE_URL needs LOKET_MASTER_KEY or LOKET_MASTER_KEY_FILE"):
        maak_kluis(settings)
    assert list(tmp_path.iterdir()) == []



def test_processes_starting_together_on_a_fresh_directory_share_one_development_master_key(tmp_path):
    keystore = tmp_path / "l.sqlite.keys"
    # Each opens the key store (generating the development master key when it finds
    # none) and seals a value; what any of them sealed must open for all.
    setup = ("import json, os, uuid\nfrom pathlib import Path\nfrom privacy.kluis import Kluis\n"
             f"keystore = Path({str(keystore)!r})")
    work = f"""
kluis = Kluis.openen(keystore)
sessie = kluis.sessie()
melding_id = uuid.uuid4()
envelope = sessie.verzegel(f"betrokkene-{{os.getpid()}}", None, melding_id, "toelichting", {TOELICHTING!r})
sessie.bewaar()
print(json.dumps({{"melding_id": str(melding_id), "envelope": envelope}}))
"""
    done = run_together(setup, work, {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}, processes=8)
    assert [p.stderr.strip().splitlines()[-1] for p in done if p.returncode != 0] == []

    kluis = Kluis.openen(keystore)
    try:
        for sealed in (json.loads(p.stdout) for p in done):
            opened = kluis.open(sealed["envelope"], melding_id=UUID(sealed["melding_id"]), veld="toelichting",
                                compartimenten=frozenset())
            assert opened == TOELICHTING
    finally:
        kluis.keystore.close()
