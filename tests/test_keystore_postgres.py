"""The key store in PostgreSQL (LOKET_KEYSTORE_URL): apart from the events, under a role of its own.

Every test here runs on a real server with two roles that log in with a password: the
events' role and the keys' role, each owning its own database (or, in the one-database
layout, its own schema), so that each can be shown to be refused the other's table.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient

from loket.bootstrap import bootstrap, maak_kluis
from loket.service import Dienst
from loket.settings import OngeldigeInstelling, Settings
from loket.web.app import maak_app
from privacy.keystore import new_key_id
from privacy.masterkey import SleutelFout
from tests.conftest import BEHEER_ROL, INTAKE_ROL, line, run_together
from tests.event_store import loket_settings
from tests.pgserver import PostgresServer
from tests.test_cli import LOKET

BSN = "111222333"
NAAM = "Wilhelmina Sleutelbewaarder"
TOELICHTING = "toelichting-in-de-kluis-xyzzy"
PERSOON = {"bsn": BSN, "naam": NAAM, "geboortedatum": "1987-11-23"}
MASTER_KEY = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="  # base64 of 32 bytes, for the tests only


@dataclass
class Gescheiden:
    """An events role and a keys role, each with its own database or schema, and their URLs."""

    server: PostgresServer
    layout: str
    events_url: str
    keys_url: str
    events_role: str
    keys_role: str
    password: str
    events_table: str  # as the keys role would name it
    keys_table: str  # as the events role would name it

    def env(self, tmp_path: Path, **extra: str) -> dict[str, str]:
        return {"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester", "LOKET_MASTER_KEY": MASTER_KEY,
                "LOKET_DATABASE_URL": self.events_url, "LOKET_KEYSTORE_URL": self.keys_url, **extra}

    def settings(self, tmp_path: Path, **extra: str) -> Settings:
        return Settings.from_env(self.env(tmp_path, **extra))


_count = 0


@pytest.fixture(params=["database", "schema"])
def gescheiden(request: pytest.FixtureRequest, postgres: PostgresServer) -> Iterator[Gescheiden]:
    """Two roles with passwords; their own databases (`database`) or their own schemas of one (`schema`)."""
    global _count
    _count += 1
    n, password = _count, f"wachtwoord-{os.urandom(6).hex()}"
    events_role, keys_role = f"events_{n}", f"keys_{n}"
    base = f"127.0.0.1:{postgres.port}"
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        for role in (events_role, keys_role):
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        if request.param == "database":
            for role in (events_role, keys_role):
                admin.execute(f"CREATE DATABASE {role} OWNER {role}")
                admin.execute(f"REVOKE CONNECT, TEMPORARY ON DATABASE {role} FROM PUBLIC")
            urls = (f"postgresql://{events_role}:{password}@{base}/{events_role}",
                    f"postgresql://{keys_role}:{password}@{base}/{keys_role}")
            tables = ("loket_events", "data_keys")
            dbnames = [events_role, keys_role]
        else:
            db = f"gedeeld_{n}"
            admin.execute(f"CREATE DATABASE {db}")
            dbnames = [db]
        if request.param == "schema":
            with psycopg.connect(postgres.url(db), autocommit=True) as inside:
                inside.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
                inside.execute(f"CREATE SCHEMA events AUTHORIZATION {events_role}")
                # The projections' schema beside it (loket/bootstrap.py `projectie_schema`), made by
                # the administrator as the events' is: the events' role may not create schemas here.
                inside.execute(f"CREATE SCHEMA events_projecties AUTHORIZATION {events_role}")
                inside.execute(f"CREATE SCHEMA keys AUTHORIZATION {keys_role}")
            urls = (f"postgresql://{events_role}:{password}@{base}/{db}?schema=events",
                    f"postgresql://{keys_role}:{password}@{base}/{db}?schema=keys")
            tables = ("events.loket_events", "keys.data_keys")
    postgres.password_login(events_role, keys_role)
    yield Gescheiden(postgres, request.param, urls[0], urls[1], events_role, keys_role, password,
                     events_table=tables[0], keys_table=tables[1])
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        for name in dbnames:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for role in (events_role, keys_role):
            admin.execute(f"DROP ROLE IF EXISTS {role}")


def _url_and_options(url: str) -> tuple[str, dict[str, str]]:
    base, _, query = url.partition("?schema=")
    return base, ({"options": f"-c search_path={query}"} if query else {})


def as_role(url: str) -> psycopg.Connection:
    base, options = _url_and_options(url)
    return psycopg.connect(base, autocommit=True, **options)


def loket(env: dict[str, str], args: list[str], *, stdin: str | None = None, code: int = 0,
          **extra: str) -> subprocess.CompletedProcess:
    result = subprocess.run(LOKET + args, input=stdin, capture_output=True, text=True,
                            env={**os.environ, **env, **extra}, timeout=300)
    assert result.returncode == code, result.stderr
    return result


# The whole path, end to end ---------------------------------------------------------------------


def test_intake_reading_and_shredding_work_with_the_keys_in_postgresql(gescheiden, tmp_path):
    env = gescheiden.env(tmp_path)
    loket(env, ["ontvang", "-"], stdin=line(kenmerk="K-1", persoon=PERSOON, toelichting=TOELICHTING) + "\n")
    shown = json.loads(loket(env, ["show", "gemeente:K-1", "--purpose", "triage", "--json"],
                             LOKET_ROLE="intake").stdout)
    assert shown["persoon"]["naam"] == NAAM and shown["toelichting"] == TOELICHTING
    with as_role(gescheiden.keys_url) as keys:
        [(subject, wrapped)] = keys.execute("SELECT subject, wrapped FROM data_keys").fetchall()
    assert NAAM.encode() not in bytes(wrapped)

    # Exit 0: VACUUM reported no row version of the destroyed key left in the table's pages.
    done = json.loads(loket(env, ["shred", "--bsn", "-", "--reason", "verzoek-betrokkene"], stdin=BSN).stdout)
    assert done["sleutels"] == 1 and len(done["meldingen"]) == 1

    shown = json.loads(loket(env, ["show", "gemeente:K-1", "--purpose", "triage", "--json"],
                             LOKET_ROLE="intake").stdout)
    assert shown["persoon"] == {"verwijderd": True} and shown["toelichting"] == {"verwijderd": True}
    with as_role(gescheiden.keys_url) as keys:
        assert keys.execute("SELECT count(*) FROM data_keys").fetchone() == (0,)  # the row is gone
        assert keys.execute("SELECT subject, reason FROM destroyed_keys").fetchall() == [
            (subject, "verzoek-betrokkene")]
    # The chain's head is kept in the key store, apart from the events, and the chain holds.
    assert json.loads(loket(env, ["verify", "--json"]).stdout)["intact"] is True
    # Nothing of the keys went to a local file.
    assert not any(p.name.endswith((".keys", ".keys-wal")) for p in tmp_path.iterdir())


def test_the_events_role_is_refused_the_keys_and_the_keys_role_the_events(gescheiden, tmp_path):
    s = bootstrap(gescheiden.settings(tmp_path))
    try:
        s.app.ontvang(line(kenmerk="K-2", persoon=PERSOON))
    finally:
        s.close()
    with as_role(gescheiden.keys_url) as keys:
        assert keys.execute("SELECT count(*) FROM data_keys").fetchone() == (1,)  # there to be read
    with as_role(gescheiden.events_url) as events:
        assert events.execute("SELECT count(*) FROM loket_events").fetchone()[0] > 0

    # Each role tries the other's table: in the other's database, or in the other's schema.
    attempts = [(gescheiden.events_url, gescheiden.keys_url, gescheiden.keys_table),
                (gescheiden.keys_url, gescheiden.events_url, gescheiden.events_table)]
    for own_url, other_url, table in attempts:
        own_role_on_other_place = own_url.split("@")[0] + "@" + other_url.split("@")[1]
        with pytest.raises(psycopg.Error) as refused:
            with as_role(own_role_on_other_place) as conn:
                conn.execute(f"SELECT * FROM {table}")
        assert "permission denied" in str(refused.value), str(refused.value)


SAME_PEOPLE = ("import json, os\nfrom loket.bootstrap import bootstrap\ns = bootstrap()\n"
               "lines = [json.dumps({'bron': 'gemeente', 'soort': 'aanmelding', 'kenmerk': f'P{os.getpid()}-{i}', "
               "'ontvangen_op': '2025-03-04T10:00:00+01:00', 'gemeente': 'Heerlen', "
               "'persoon': {'naam': f'Persoon {i}', 'geboortedatum': '1990-05-06'}, "
               "'toelichting': f'toelichting {i}'}) for i in range(40)]")
TAKE_IN = "results = s.app.ontvang_batch(lines)\nprint(sum(r.status == 'nieuw' for r in results))\ns.close()"


def take_in_the_same_people_at_once(settings: Settings, env: dict[str, str]) -> None:
    """Two API processes and a consumer take in meldingen about the same 40 new people at the same moment;
    then each person has one key, and every melding of every process opens under it."""
    bootstrap(settings).close()  # the tables exist; the race is about the keys
    done = run_together(SAME_PEOPLE, TAKE_IN, {**os.environ, **env}, processes=3)
    assert [(p.returncode, p.stdout.strip()) for p in done] == [(0, "40")] * 3, [p.stderr[-2000:] for p in done]
    s = bootstrap(settings)
    try:
        subjects = [s.app.betrokkene_met_naam(f"Persoon {i}", "1990-05-06") for i in range(40)]
        assert [len(s.app.kluis.keystore.live_key_ids(subject)) for subject in subjects] == [1] * 40
        opened = [s.app.persoonsgegevens(UUID(m), actor="t", doel="controle", rol=INTAKE_ROL)["toelichting"]
                  for m in s.app.kluis.keystore.meldingen(subjects[7])]
        assert opened == ["toelichting 7"] * 3
    finally:
        s.close()


def test_processes_claiming_the_same_new_subjects_at_once_end_with_one_key_each(gescheiden, tmp_path):
    take_in_the_same_people_at_once(gescheiden.settings(tmp_path), gescheiden.env(tmp_path))
    with as_role(gescheiden.keys_url) as keys:
        assert keys.execute("SELECT count(*), count(DISTINCT subject) FROM data_keys").fetchone() == (40, 40)


@pytest.mark.sqlite_only  # the SQLite key store beside SQLite events: the embedded setup, on purpose
def test_processes_claiming_the_same_new_subjects_at_once_in_the_sqlite_key_store_end_with_one_key_each(tmp_path):
    env = {"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester", "LOKET_MASTER_KEY": MASTER_KEY}
    take_in_the_same_people_at_once(Settings.from_env(env), env)


def test_a_transaction_that_still_sees_a_destroyed_key_delays_its_removal_and_shredding_says_so(gescheiden, tmp_path):
    s = bootstrap(gescheiden.settings(tmp_path))
    try:
        s.app.ontvang(line(kenmerk="K-3", persoon=PERSOON, toelichting=TOELICHTING))
        subject = s.app.betrokkene_met_bsn(BSN)
        keystore = s.app.kluis.keystore
        keystore.log_wait = 0.5
        # A long transaction of the events' database does not hold the key table back.
        with as_role(gescheiden.events_url) as events, events.transaction():
            events.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            events.execute("SELECT count(*) FROM loket_events").fetchone()
            s.app.vernietig(subject, actor="fg", reden="verzoek-betrokkene", rol=BEHEER_ROL)
            if gescheiden.layout == "database":
                assert keystore.log_emptied is True
        s.app.ontvang(line(kenmerk="K-4", persoon=PERSOON, toelichting=TOELICHTING))  # a new key
        # One of the key database (a backup, an administrator's psql) does.
        with as_role(gescheiden.keys_url) as reader, reader.transaction():
            reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            reader.execute("SELECT count(*) FROM data_keys").fetchone()
            s.app.vernietig(subject, actor="fg", reden="verzoek-betrokkene", rol=BEHEER_ROL)
            assert keystore.log_emptied is False  # said, not silently left
        assert keystore.empty_log() is True
    finally:
        s.close()


def test_a_restarted_server_costs_the_key_store_a_reconnect_not_a_failure(gescheiden, tmp_path):
    s = bootstrap(gescheiden.settings(tmp_path))
    try:
        first = s.app.ontvang(line(kenmerk="K-6", persoon=PERSOON, toelichting=TOELICHTING)).melding_id
        gescheiden.server.restart()  # every connection of this process is cut
        later = s.app.ontvang(line(kenmerk="K-7", persoon=PERSOON, toelichting=TOELICHTING)).melding_id
        assert [s.app.persoonsgegevens(m, actor="t", doel="controle", rol=INTAKE_ROL)["toelichting"]
                for m in (first, later)] == [TOELICHTING] * 2
        gescheiden.server.restart()
        done = s.app.vernietig(s.app.betrokkene_met_bsn(BSN), actor="fg", reden="verzoek-betrokkene", rol=BEHEER_ROL)
        assert set(done.meldingen) == {first, later} and s.app.kluis.keystore.log_emptied is True
    finally:
        s.close()


def test_the_compose_init_script_makes_two_roles_each_alone_in_its_database_and_the_loket_runs_on_them(tmp_path):
    """deploy/postgres-init/10-roles.sh as the postgres image runs it, then the URLs of deploy/compose.yaml."""
    with PostgresServer(superuser="postgres") as pg:
        made = subprocess.run(
            ["sh", str(Path(__file__).parent.parent / "deploy" / "postgres-init" / "10-roles.sh")],
            env={**os.environ, "PATH": f"{pg.bindir}:{os.environ['PATH']}", "PGHOST": "127.0.0.1",
                 "PGPORT": str(pg.port), "POSTGRES_USER": "postgres", "POSTGRES_DB": "postgres",
                 "LOKET_DATABASE_PASSWORD": "events-pw", "LOKET_KEYSTORE_PASSWORD": "keys-pw"},
            capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        pg.password_login("loket", "loket_keys")
        events = f"postgresql://loket:events-pw@127.0.0.1:{pg.port}/loket"
        keys = f"postgresql://loket_keys:keys-pw@127.0.0.1:{pg.port}/loket_keys"
        for role_url, other in ((events, "loket_keys"), (keys, "loket")):
            with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
                psycopg.connect(role_url.rsplit("/", 1)[0] + "/" + other).close()
        env = {"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester", "LOKET_MASTER_KEY": MASTER_KEY,
               "LOKET_DATABASE_URL": events, "LOKET_KEYSTORE_URL": keys}
        loket(env, ["ontvang", "-"], stdin=line(kenmerk="K-8", persoon=PERSOON, toelichting=TOELICHTING) + "\n")
        shown = json.loads(loket(env, ["show", "gemeente:K-8", "--purpose", "triage", "--json"],
                                 LOKET_ROLE="intake").stdout)
        assert shown["toelichting"] == TOELICHTING


def test_shreds_recorded_with_the_events_are_applied_again_to_a_key_store_that_still_holds_the_keys(
        gescheiden, tmp_path):
    """What a start does after the key store came back from a backup older than a shred."""
    kluis = maak_kluis(gescheiden.settings(tmp_path))
    keys = kluis.keystore
    try:
        named, unnamed, other = (keys.claim_keys([s], "")[s][0] for s in ("a" * 64, "b" * 64, "c" * 64))
        op = "9999-12-31T00:00:00+00:00"  # every key above was made before it
        shreds = [SimpleNamespace(betrokkene="a" * 64, sleutels=(named,), op=op, reden="verzoek-betrokkene"),
                  SimpleNamespace(betrokkene="b" * 64, sleutels=None, op=op, reden="bewaartermijn")]
        assert sorted(keys.herhaal_vernietigingen(shreds, 40)) == sorted([named, unnamed])
        assert keys.key(named, compartimenten=frozenset()) is None and keys.live_key_ids("b" * 64) == []
        assert keys.live_key_ids("c" * 64) == [other] and keys.vernietigingen_tot() == 40
        assert keys.herhaal_vernietigingen(shreds, 30) == [] and keys.vernietigingen_tot() == 40  # never back
    finally:
        kluis.close()


def test_a_key_store_file_is_moved_into_postgresql_before_the_first_start_there(gescheiden, tmp_path):
    in_file = {k: v for k, v in gescheiden.env(tmp_path).items() if k != "LOKET_KEYSTORE_URL"}
    loket(in_file, ["ontvang", "-"], stdin="\n".join([
        line(kenmerk="M-1", persoon=PERSOON, toelichting=TOELICHTING),
        line(kenmerk="M-2", persoon={"bsn": "123456782", "naam": "Ander", "geboortedatum": "1970-01-01"}),
    ]) + "\n")
    loket(in_file, ["shred", "--bsn", "-", "--reason", "verzoek-betrokkene"], stdin="123456782")
    kluis = maak_kluis(Settings.from_env(in_file))
    try:  # a second key of one person, as processes made them before keys were claimed
        subject = kluis.pseudoniemen.bsn(BSN).id
        [older] = kluis.keystore.live_key_ids(subject)
        kluis.keystore.add([(new_key_id(), subject, "", os.urandom(32))], ())
    finally:
        kluis.close()
    env = gescheiden.env(tmp_path)
    refused = loket(env, ["caseload"], code=4)  # starting on an empty key store would orphan the file's keys
    assert "loket keystore import" in refused.stderr.strip().splitlines()[-1]

    moved = json.loads(loket(env, ["keystore", "import", str(tmp_path / "loket.sqlite.keys")]).stdout)
    assert (moved["data_keys"], moved["destroyed_keys"], moved["chain_head"]) == (2, 1, 1)
    again = loket(env, ["keystore", "import", str(tmp_path / "loket.sqlite.keys")], code=4)
    assert "is not empty" in again.stderr  # once
    shown = json.loads(loket(env, ["show", "gemeente:M-1", "--purpose", "triage", "--json"],
                             LOKET_ROLE="intake").stdout)
    assert shown["toelichting"] == TOELICHTING  # sealed under the older key, opened after the move
    assert json.loads(loket(env, ["verify", "--json"]).stdout)["intact"] is True  # the head came along
    loket(env, ["ontvang", "-"], stdin=line(kenmerk="M-3", persoon=PERSOON) + "\n")
    with as_role(gescheiden.keys_url) as keys:
        current = keys.execute("SELECT key_id FROM data_keys WHERE subject = %s AND current", (subject,)).fetchall()
        assert len(current) == 1 and current[0][0] != older
    done = json.loads(loket(env, ["shred", "--bsn", "-", "--reason", "verzoek-betrokkene"], stdin=BSN).stdout)
    assert done["sleutels"] == 2 and len(done["meldingen"]) == 2


def test_moving_a_key_store_file_into_one_that_holds_keys_is_refused(gescheiden, tmp_path):
    in_file = {k: v for k, v in gescheiden.env(tmp_path).items() if k != "LOKET_KEYSTORE_URL"}
    loket(in_file, ["ontvang", "-"], stdin=line(kenmerk="M-4", persoon=PERSOON) + "\n")
    other = tmp_path / "elders"
    other.mkdir()
    loket(gescheiden.env(other), ["ontvang", "-"], stdin=line(kenmerk="M-5", persoon=PERSOON) + "\n")
    refused = loket(gescheiden.env(tmp_path), ["keystore", "import", str(tmp_path / "loket.sqlite.keys")], code=4)
    assert "is not empty" in refused.stderr and "nothing was moved" in refused.stderr


def test_a_key_store_lost_while_running_is_an_error_naming_the_setting_never_the_password(
        gescheiden, tmp_path, monkeypatch):
    monkeypatch.setattr("privacy.keystore_postgres.RECONNECT_SECONDS", 1.0)
    s = bootstrap(gescheiden.settings(tmp_path))
    try:
        melding = s.app.ontvang(line(kenmerk="K-9", persoon=PERSOON, toelichting=TOELICHTING)).melding_id
        with psycopg.connect(gescheiden.server.url(), autocommit=True) as admin:  # its login taken away
            admin.execute(f"ALTER ROLE {gescheiden.keys_role} NOLOGIN")
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                          (gescheiden.keys_role,))
        with pytest.raises(SleutelFout) as lost:
            s.app.persoonsgegevens(melding, actor="t", doel="controle", rol=INTAKE_ROL)
        message = str(lost.value)
        assert message.startswith("LOKET_KEYSTORE_URL: the key store at") and "not permitted to log in" in message
        assert gescheiden.password not in message and NAAM not in message
    finally:
        s.close()


# Settings and errors: one line, the setting named, never the password ----------------------------


def test_an_events_role_that_may_not_make_the_projections_schema_is_told_what_to_do(gescheiden, tmp_path):
    """The administrator made the events' schema but not the projections' beside it, and the events'
    role may not create schemas: one line naming the setting, the schema and the remedy, exit 2 (a
    setting that cannot be used)."""
    if gescheiden.layout != "schema":
        pytest.skip("the events' role owns its database, and may create schemas in it")
    with psycopg.connect(gescheiden.server.url(gescheiden.events_url.rsplit("/", 1)[1].split("?")[0]),
                         autocommit=True) as admin:
        admin.execute("DROP SCHEMA events_projecties CASCADE")
    result = loket(gescheiden.env(tmp_path), ["caseload"], code=2)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("loket: LOKET_DATABASE_URL") and "events_projecties" in last and "grant" in last
    assert gescheiden.password not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_a_wrong_password_for_the_key_store_is_one_line_exit_4_without_the_password(gescheiden, tmp_path):
    wrong = gescheiden.keys_url.replace(gescheiden.password, "verkeerd-wachtwoord-plugh")
    result = loket(gescheiden.env(tmp_path, LOKET_KEYSTORE_URL=wrong), ["caseload"], code=4)
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("loket: LOKET_KEYSTORE_URL") and "password authentication failed" in last
    assert "verkeerd-wachtwoord-plugh" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    assert gescheiden.password not in result.stderr + result.stdout


def test_a_key_store_that_cannot_be_reached_is_one_line_exit_4(gescheiden, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    away = gescheiden.keys_url.replace(f":{gescheiden.server.port}/", f":{port}/")
    result = loket(gescheiden.env(tmp_path, LOKET_KEYSTORE_URL=away), ["caseload"], code=4)
    assert result.stderr.strip().splitlines()[-1].startswith("loket: LOKET_KEYSTORE_URL: the key store at")
    assert gescheiden.password not in result.stderr and "Traceback" not in result.stderr


def test_the_key_store_may_not_use_the_events_role(gescheiden, tmp_path):
    same = gescheiden.env(tmp_path, LOKET_KEYSTORE_URL=gescheiden.events_url)
    with pytest.raises(OngeldigeInstelling, match="role of its own"):
        maak_kluis(Settings.from_env(same))
    result = loket(same, ["caseload"], code=2)
    assert "role of its own" in result.stderr and gescheiden.password not in result.stderr


def test_events_in_postgresql_with_the_keys_in_a_file_works_and_warns(gescheiden, tmp_path):
    env = {k: v for k, v in gescheiden.env(tmp_path).items() if k != "LOKET_KEYSTORE_URL"}
    result = loket(env, ["ontvang", "-"], stdin=line(kenmerk="K-5", persoon=PERSOON) + "\n")
    assert "set LOKET_KEYSTORE_URL" in result.stderr
    assert (tmp_path / "loket.sqlite.keys").exists()


def test_the_settings_never_show_the_key_stores_password():
    settings = Settings.from_env({"LOKET_KEYSTORE_URL": "postgresql://keys:geheim-wachtwoord@db/keys"})
    assert "geheim-wachtwoord" not in repr(settings) + repr(settings.keystore_server())
    assert settings.keystore_server().where == "keys@db:5432/keys"


def test_a_key_file_and_a_key_store_url_together_are_refused():
    with pytest.raises(OngeldigeInstelling, match="LOKET_KEYSTORE and LOKET_KEYSTORE_URL are both set"):
        Settings.from_env({"LOKET_KEYSTORE": "/var/lib/loket/keys.sqlite",
                           "LOKET_KEYSTORE_URL": "postgresql://keys@db/keys"}).keystore_server()


def test_a_key_store_url_that_is_not_postgresql_is_refused_naming_the_setting():
    with pytest.raises(OngeldigeInstelling, match="LOKET_KEYSTORE_URL must start with postgresql://"):
        Settings.from_env({"LOKET_KEYSTORE_URL": "mysql://keys@db/keys"}).keystore_server()




def test_health_says_within_seconds_when_the_key_store_cannot_be_reached_or_hangs_and_recovers_with_it(tmp_path):
    """The key store on a server of its own, beside the events. Stopped while the API runs, /health
    answers 503 within seconds (not after the key store's wait for a restarting server, 15 s);
    started again, 200. A server that takes the question and never answers (its backend stopped)
    is told apart as soon, and the other requests are answered meanwhile."""
    with PostgresServer() as keys_server:
        settings = loket_settings(tmp_path / "loket.sqlite", LOKET_MASTER_KEY=MASTER_KEY,
                                  LOKET_KEYSTORE_URL=keys_server.new_database("keys", owner="loket_keys"))
        systeem = bootstrap(settings)
        try:
            with TestClient(maak_app(Dienst(systeem), systeem.tokens)) as client:
                def health() -> tuple[int, str, float]:
                    begin = time.monotonic()
                    answer = client.get("/health")
                    return answer.status_code, answer.json()["sleutelopslag"], time.monotonic() - begin

                assert health()[:2] == (200, "ok")

                keys_server.shut_down()
                code, sleutels, took = health()
                assert (code, sleutels) == (503, "onbereikbaar") and took < 5, took
                keys_server.start_again()
                assert health()[:2] == (200, "ok")

                probe = systeem.app.kluis.keystore._probe
                assert probe is not None
                backend = probe.info.backend_pid
                os.kill(backend, signal.SIGSTOP)
                try:
                    with ThreadPoolExecutor(2) as pool:
                        hanging = pool.submit(health)
                        time.sleep(0.5)
                        assert client.get("/docs").status_code == 200  # served meanwhile
                        code, sleutels, took = hanging.result(timeout=30)
                        assert (code, sleutels) == (503, "onbereikbaar") and took < 5, took
                        code, sleutels, took = health()  # the first question still waits: no second one
                        assert (code, sleutels) == (503, "onbereikbaar") and took < 5, took
                finally:
                    os.kill(backend, signal.SIGCONT)
        finally:
            systeem.close()


def test_health_says_within_seconds_when_the_event_store_cannot_be_reached_and_recovers_with_it(tmp_path):
    """The events on a server of their own, the keys on another. The event store stopped while the
    API runs, /health answers 503 within seconds and says which part failed (a load balancer then
    sends it no meldingen), and other answers go out meanwhile without waiting for the store (the
    projections' lag they carry is measured once at a time, and not waited for long); started again,
    200. The key store's answer is not mixed up with it."""
    with PostgresServer() as events_server, PostgresServer() as keys_server:
        settings = loket_settings(tmp_path / "loket.sqlite", LOKET_MASTER_KEY=MASTER_KEY,
                                  LOKET_DATABASE_URL=events_server.new_database("events", owner="loket"),
                                  LOKET_KEYSTORE_URL=keys_server.new_database("keys", owner="loket_keys"))
        systeem = bootstrap(settings)
        try:
            with TestClient(maak_app(Dienst(systeem), systeem.tokens), raise_server_exceptions=False) as client:
                def health() -> tuple[int, dict, float]:
                    begin = time.monotonic()
                    answer = client.get("/health")
                    return answer.status_code, answer.json(), time.monotonic() - begin

                code, body, _ = health()
                assert code == 200 and (body["gebeurtenissen"], body["sleutelopslag"]) == ("ok", "ok"), body
                assert set(body["achterstand"]) >= {"caseload"}

                events_server.shut_down()
                code, body, took = health()
                assert code == 503 and took < 5, (code, took)
                assert (body["status"], body["gebeurtenissen"], body["sleutelopslag"]) == (
                    "onbereikbaar", "onbereikbaar", "ok"), body
                for _ in range(3):
                    begin = time.monotonic()
                    assert client.get("/docs").status_code == 200
                    assert time.monotonic() - begin < 2
                events_server.start_again()
                deadline = time.monotonic() + 30  # the pool finds its server again
                while (code := health()[0]) != 200 and time.monotonic() < deadline:
                    time.sleep(0.5)
                assert code == 200
        finally:
            systeem.close()
