"""Intake that dies or loses its database half-way loses nothing and stores nothing twice.

`loket ontvang` of a file of a few thousand meldingen is killed with SIGKILL at
seeded random moments and started again on the same store; after every kill
the store holds only whole meldingen, each once, and after the last run every
valid melding and every rejected line is there exactly once. The same against
PostgreSQL, with PostgreSQL restarted under a running intake, and with a durable
PostgreSQL crashed (killed outright) under it (under the Kafka consumer and relay:
tests/kafka/test_kafka_postgres.py).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from eventsourcing.utils import get_topic

from events.intake import Ongeldig, parse
from events.melding import Melding, afgewezen_id, payload_hash
from loket import synthetic
from loket.bootstrap import maak_loket
from loket.settings import Settings
from tests.event_store import DATABASES, KEYSTORE_ON_POSTGRESQL

pytestmark = pytest.mark.slow

LOKET = [sys.executable, "-m", "loket.cli"]


def write_meldingen(path: Path, scale: float, seed: int = 9) -> list[bytes]:
    lines = list(synthetic.jaar(2025, seed=seed, scale=scale))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return [line.encode("utf-8") for line in lines]


def expected_meldingen(lines: list[bytes]) -> dict[UUID | tuple[str, str], bool]:
    """Every melding the file holds: True for a valid melding, by (bron, kenmerk) (its id is made
    when it is stored), False for a rejected line, by id."""
    expected: dict[UUID | tuple[str, str], bool] = {}
    for raw in lines:
        try:
            m = parse(raw)
        except Ongeldig:
            expected[afgewezen_id(payload_hash(raw))] = False
        else:
            expected[(m.bron, m.kenmerk)] = True
    return expected


def stored_once(settings: Settings, by_kenmerk: dict[UUID | tuple[str, str], bool]) -> int:
    """Check that the store holds only whole meldingen of the file, each once; return how many."""
    app = maak_loket(settings)
    try:
        # A (bron, kenmerk) is the melding the store says it is: one stored twice has an id too many.
        expected = {app.melding_id_van(*k) if isinstance(k, tuple) else k: v for k, v in by_kenmerk.items()}
        events: dict[UUID, list[tuple[int, str]]] = defaultdict(list)
        for n in app.recorder.select_notifications(start=1, limit=10**7):
            events[UUID(str(n.originator_id))].append((n.originator_version, n.topic.rsplit(".", 1)[-1]))
    finally:
        app.close()
    assert set(events) <= set(expected), "the store holds meldingen that are not in the file"
    for aggregate_id, recorded in events.items():
        if expected[aggregate_id]:
            # Received, then decided, then a task per party the decision names (notify): each once.
            names = [name for _, name in recorded]
            assert [v for v, _ in recorded] == list(range(1, len(recorded) + 1)), recorded
            assert names[0] == "MeldingOntvangen" and names[1] != "MeldingOntvangen", recorded
            assert names[2:] == ["InformerenGevraagd"] * (len(recorded) - 2), recorded
        else:
            assert recorded == [(1, "MeldingAfgewezen")]
    return len(events)


def run(settings_env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(LOKET + list(args), env=settings_env, capture_output=True, text=True, timeout=timeout)


def events_in(settings: Settings) -> int:
    """How many events the store holds now (0 before intake created it)."""
    if settings.database_url:
        try:
            with psycopg.connect(settings.database_url) as conn:
                return conn.execute("SELECT count(*) FROM loket_events").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0
    try:
        with closing(sqlite3.connect(f"file:{settings.db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM stored_events").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def killed_at(settings: Settings, file: Path, events: int, then: float) -> bool:
    """Start `loket ontvang`; once the store holds `events`, wait `then` seconds and SIGKILL it.

    The wait puts the kill anywhere: reading, deciding, mid-commit, updating the
    projection, or still starting up. False if intake finished first.
    """
    process = subprocess.Popen(
        LOKET + ["ontvang", str(file)], env=environment(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while process.poll() is None and events_in(settings) < events:
            time.sleep(0.02)
        process.wait(timeout=then)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True
    finally:
        process.kill()


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env["LOKET_DB"] = str(settings.db)
    env["LOKET_USER"] = "tester"
    if settings.database_url:
        env["LOKET_DATABASE_URL"] = settings.database_url
    if settings.keystore_url:
        env["LOKET_KEYSTORE_URL"] = settings.keystore_url
    if settings.master_key:
        env["LOKET_MASTER_KEY"] = settings.master_key
    return env


def kill_and_rerun(
    settings: Settings, file: Path, lines: list[bytes], points: int, seed: int, max_wait: float = 0.5
) -> list[int]:
    """Kill intake at `points` seeded points of the file (up to `max_wait` s after the store reached
    each), check the store after each, then finish it."""
    expected = expected_meldingen(lines)
    total_events = sum(2 if valid else 1 for valid in expected.values())
    rng = random.Random(seed)
    stored_after_kill = []
    for events in sorted(rng.randrange(total_events + 1) for _ in range(points)):
        if killed_at(settings, file, events, then=rng.uniform(0, max_wait)):
            stored_after_kill.append(stored_once(settings, expected))
    final = run(environment(settings), "ontvang", str(file))
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout.splitlines()[-1])["received"] == len(lines)
    assert stored_once(settings, expected) == len(expected)
    return stored_after_kill


@pytest.mark.sqlite_only(reason="the SQLite crash test; PostgreSQL has its own below, tuned to its speed")
def test_intake_killed_at_twenty_points_then_rerun_stores_every_melding_exactly_once(tmp_path, settings):
    file = tmp_path / "meldingen.jsonl"
    lines = write_meldingen(file, scale=0.3)
    assert len(lines) > 2_000
    stored_after_kill = kill_and_rerun(settings, file, lines, points=20, seed=20)

    total = len(expected_meldingen(lines))
    # The kills really landed part-way: the store grew between kills and was not yet complete.
    part_way = [n for n in stored_after_kill if 0 < n < total]
    assert len(part_way) >= 5, stored_after_kill
    # The projection, killed along with intake, counted nothing twice either.
    env = environment(settings)
    rejected = json.loads(run(env, "afgewezen", "--json").stdout)
    assert len(rejected) == sum(1 for valid in expected_meldingen(lines).values() if not valid)
    # Every routed melding, the compartment's too: the CLI counts what its role's compartments allow.
    caseload = json.loads(run({**env, "LOKET_COMPARTMENTS": "radicalisering"}, "caseload", "--json").stdout)
    app = maak_loket(settings)
    routed_topic = get_topic(Melding.MeldingGerouteerd)
    routed = len(app.recorder.select_notifications(start=1, limit=10**7, topics=[routed_topic]))
    app.close()
    assert sum(row["count"] for row in caseload) == routed


@pytest.fixture
def pg_settings(tmp_path, postgres) -> Settings:
    """The events in PostgreSQL; with LOKET_TEST_KEYSTORE=postgresql the keys too (restarted with them)."""
    env = {"LOKET_DB": str(tmp_path / "views.sqlite"), "LOKET_DATABASE_URL": postgres.new_database()}
    if KEYSTORE_ON_POSTGRESQL:
        env["LOKET_KEYSTORE_URL"] = DATABASES.keystore_url(tmp_path / "views.sqlite")
        env["LOKET_MASTER_KEY"] = DATABASES.master_key(tmp_path / "views.sqlite")
    return Settings.from_env(env)


def test_intake_into_postgresql_killed_and_rerun_stores_every_melding_exactly_once(tmp_path, pg_settings):
    file = tmp_path / "meldingen.jsonl"
    lines = write_meldingen(file, scale=0.5, seed=11)
    # Intake into PostgreSQL stores a batch of 500 in a fraction of a second: kills that wait
    # long after the threshold land after the last batch, while the projections catch up.
    stored_after_kill = kill_and_rerun(pg_settings, file, lines, points=5, seed=5, max_wait=0.1)
    assert any(0 < n < len(expected_meldingen(lines)) for n in stored_after_kill), stored_after_kill


def test_postgresql_restarted_under_a_running_intake_loses_nothing(tmp_path, pg_settings, postgres):
    file = tmp_path / "meldingen.jsonl"
    lines = write_meldingen(file, scale=0.8, seed=13)
    expected = expected_meldingen(lines)
    process = subprocess.Popen(
        LOKET + ["ontvang", str(file)], env=environment(pg_settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        restarts = 0
        for _ in range(2):
            at = events_in(pg_settings)
            while process.poll() is None and events_in(pg_settings) <= at:
                time.sleep(0.05)  # until intake has committed something more
            if process.poll() is None:
                postgres.restart()
                restarts += 1
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert restarts >= 1, "intake finished before the server could be restarted"
    # The intake rode out the restarts (its connections are checked and its writes retried)...
    assert process.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["received"] == len(lines)
    # ...and after them nothing is lost and nothing doubled.
    assert stored_once(pg_settings, expected) == len(expected)


def committed(url: str) -> set[tuple[str, int]]:
    """Every event the server has acknowledged as committed, as (aggregate, version): what any
    other connection can read."""
    try:
        with psycopg.connect(url) as conn:
            return {(str(a), v) for a, v in conn.execute("SELECT originator_id, originator_version FROM loket_events")}
    except psycopg.errors.UndefinedTable:
        return set()


def test_postgresql_crashing_under_a_running_intake_keeps_what_it_acknowledged(tmp_path, durable_postgres):
    """fsync on, and the server killed outright (every process SIGKILLed, no shutdown) twice while
    `loket ontvang` stores: each commit the server acknowledged is there after its recovery, the
    intake rides the crashes out, every melding is stored once and the hash chain verifies.

    The kill spares the operating system's page cache, so what this proves is PostgreSQL's own
    promise (a commit is acknowledged once its write-ahead log is written); the test server
    of the other tests (synchronous_commit=off) loses about a thousand acknowledged events here.
    That the log reaches the platter (fsync) only an operating system crash would show."""
    settings = Settings.from_env({"LOKET_DB": str(tmp_path / "views.sqlite"),
                                  "LOKET_DATABASE_URL": durable_postgres.new_database()})
    url = settings.database_url
    assert url is not None
    file = tmp_path / "meldingen.jsonl"
    lines = write_meldingen(file, scale=0.8, seed=17)
    expected = expected_meldingen(lines)
    process = subprocess.Popen(
        LOKET + ["ontvang", str(file)], env=environment(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        crashes = 0
        for _ in range(2):
            at = events_in(settings)
            while process.poll() is None and events_in(settings) <= at:
                time.sleep(0.02)  # until intake has committed something more
            if process.poll() is not None:
                break
            acknowledged = committed(url)
            durable_postgres.crash()
            crashes += 1
            missing = acknowledged - committed(url)
            assert not missing, f"{len(missing)} acknowledged events lost in the crash"
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert crashes == 2, "intake finished before the server could be crashed twice"
    assert process.returncode == 0, err
    assert json.loads(out.splitlines()[-1])["received"] == len(lines)
    assert stored_once(settings, expected) == len(expected)
    verify = run(environment(settings), "verify", "--json")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["intact"] is True
