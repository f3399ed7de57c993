"""One writer of the projections: a second projection worker started by mistake stops (or stands
by) without writing; a worker killed with -9 lets go of the lock and the next one carries on; with
meldingen flowing in all along, the projections end equal to a rebuild from zero (nothing lost,
nothing counted twice). And the API beside a separate worker: every answer says how far behind
the projections are, and a write can wait for its own position."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import httpx2
import pytest

from events.handelingen import Gebruiker
from events.toegang import Rol
from loket import synthetic
from loket.bootstrap import bootstrap
from loket.service import Dienst
from projections import Projecties
from tests.conftest import melding
from tests.event_store import (
    ON_POSTGRESQL,
    ProjectionSQL,
    last_position,
    loket_env,
    loket_settings,
    projection_sql,
    zonder_logregels,
)
from tests.test_cli import LOKET
from tests.web_fixtures import serve

TABLES = {
    "caseload_meldingen": "melding_id",
    "deadlines": "melding_id, soort",
    "audit_trail": "melding_id, versie",
    "bewaring": "melding_id",
}
PROJECTIES = len(Projecties.projections)  # each its own position
BEZET = "loket: another projection worker writes the projections of this store"


def lezen(db: Path) -> AbstractContextManager[ProjectionSQL]:
    """The projections as another process reads them (never creating them): the file, or PostgreSQL."""
    return projection_sql(loket_settings(db))


def projecties(db: Path) -> dict[str, list[tuple]]:
    """The projections' rows, as another process reads them."""
    with lezen(db) as c:
        return {t: c.execute(f"SELECT * FROM {t} ORDER BY {k}") for t, k in TABLES.items()}


def posities(db: Path) -> dict[str, int]:
    if not ON_POSTGRESQL and not db.exists():
        return {}
    with lezen(db) as c:
        try:
            return dict(c.execute("SELECT application_name, notification_id FROM tracking "
                                  "WHERE application_name LIKE '%@Loket'"))
        except ProjectionSQL.missing:
            return {}


def herbouwd(db: Path) -> tuple[dict[str, list[tuple]], int]:
    """The replay oracle: the projections rebuilt from zero from the events, then read; and the
    notifications the rebuild read."""
    systeem = bootstrap(loket_settings(db))
    try:
        _, read = Dienst(systeem).herbouw(Gebruiker("tester", Rol("beheer")))
    finally:
        systeem.close()
    return projecties(db), read


def werker(db: Path, *args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(LOKET + ["projections", "catch-up", "--follow", "--interval", "0.05", *args],
                            env={**os.environ, **loket_env(db, **env)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(worker: subprocess.Popen) -> tuple[int, str, str]:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)
    return worker.returncode, out, err


def wacht_tot(check, seconds: float = 60, what: object = "") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what() if callable(what) else what}"
        time.sleep(0.05)


@contextmanager
def instroom(db: Path, lines: list[str], batch: int = 40, pause: float = 0.02) -> Iterator[threading.Event]:
    """Meldingen stored in small batches from this process while the body runs; set when all are in."""
    klaar = threading.Event()
    fouten: list[BaseException] = []

    settings = loket_settings(db)  # here: the store's database is made once, not by two threads at once

    def run() -> None:
        systeem = bootstrap(settings)
        try:
            for i in range(0, len(lines), batch):
                systeem.app.ontvang_batch(lines[i:i + batch])
                time.sleep(pause)
        except BaseException as exc:
            fouten.append(exc)
        finally:
            systeem.close()
            klaar.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        yield klaar
    finally:
        thread.join(timeout=120)
    assert not fouten, fouten


def bijgewerkt(db: Path) -> bool:
    """Every projection at the newest position of the log."""
    at = posities(db)
    last = last_position(loket_settings(db))
    return len(at) == PROJECTIES and min(at.values()) == last


def test_a_second_worker_started_at_once_stops_with_one_line_and_the_projections_equal_a_rebuild(tmp_path):
    db = tmp_path / "loket.sqlite"
    lines = list(synthetic.jaar(2025, seed=3, scale=0.05))
    with instroom(db, lines) as klaar:
        first, second = werker(db), werker(db)
        # One of the two stops, by itself, while meldingen come in; the other writes on.
        wacht_tot(lambda: first.poll() is not None or second.poll() is not None, what="one worker to stop")
        klaar.wait(120)
        wacht_tot(lambda: bijgewerkt(db), what=lambda: f"the projections to catch up: {posities(db)} "
                  f"{last_position(loket_settings(db))} {[w.poll() for w in (first, second)]}")
        results = [stop(first), stop(second)]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 5], results
    [(_, out, _)] = [r for r in results if r[0] == 0]
    [(_, _, err)] = [r for r in results if r[0] == 5]
    assert zonder_logregels(err) == [BEZET]  # one line, and nothing else
    written = projecties(db)
    assert written["caseload_meldingen"], "the worker wrote the caseload"
    rebuilt, rebuild_read = herbouwd(db)
    assert rebuilt == written
    # Each notification was read once, by the one writer: as many as a rebuild from zero reads.
    assert json.loads(out.splitlines()[-1])["events"] == rebuild_read


def test_a_worker_killed_with_minus_9_lets_go_and_the_one_standing_by_carries_on_without_loss(tmp_path):
    db = tmp_path / "loket.sqlite"
    lines = list(synthetic.jaar(2025, seed=5, scale=0.08))
    with instroom(db, lines, batch=20, pause=0.05) as klaar:
        first = werker(db)
        wacht_tot(lambda: posities(db) and min(posities(db).values()) > 0,
                  what=lambda: f"the first worker to write: {first.poll()} {first.poll() and first.communicate()}")
        standby = werker(db, "--standby")
        time.sleep(1.0)
        assert standby.poll() is None, standby.communicate()
        assert first.poll() is None
        before = posities(db)
        first.send_signal(signal.SIGKILL)
        first.wait()
        klaar.wait(120)
    # Meldingen stored after the kill, so the log surely grows beyond where the first one stopped
    # (the first stream may have been all in, and written, before the kill).
    with instroom(db, [json.dumps(melding(kenmerk=f"K8-{i}")) for i in range(30)]) as klaar:
        klaar.wait(60)
    # It takes over: the projections move on to the newest position.
    wacht_tot(lambda: bijgewerkt(db), seconds=60, what=lambda: f"the standby worker to take over: "
              f"{posities(db)} (before the kill {before}) {standby.poll()}")
    assert min(posities(db).values()) > min(before.values())
    code, _, err = stop(standby)
    assert code == 0, err
    written = projecties(db)
    assert len(written["caseload_meldingen"]) > 0
    assert herbouwd(db)[0] == written

    # Killed again, and started anew (not standing by): it takes the lock at once and catches up.
    again = werker(db)
    time.sleep(1.0)
    assert again.poll() is None, again.communicate()
    again.send_signal(signal.SIGKILL)
    again.wait()
    restarted = werker(db)
    with instroom(db, [json.dumps(melding(kenmerk=f"K9-{i}")) for i in range(30)]) as klaar:
        klaar.wait(60)
    wacht_tot(lambda: bijgewerkt(db), what="the restarted worker to catch up")
    code, _, err = stop(restarted)
    assert code == 0, err
    written = projecties(db)
    assert {f"K9-{i}" for i in range(30)} <= {row[0] for row in _kenmerken(db)}
    assert herbouwd(db)[0] == written


def test_the_worker_serves_how_far_behind_each_projection_is_for_prometheus(tmp_path):
    from tests.web_fixtures import vrije_poort

    db = tmp_path / "loket.sqlite"
    port = vrije_poort()
    worker = werker(db, "--metrics-port", str(port))

    def achterstand() -> dict[str, float]:
        try:
            text = httpx2.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        except httpx2.TransportError:
            return {}
        return {line.split('"')[1]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith("loket_projectie_achterstand{")}

    try:
        with instroom(db, [json.dumps(melding(kenmerk=f"M-{i}")) for i in range(20)]) as klaar:
            klaar.wait(60)
        wacht_tot(lambda: bijgewerkt(db), what="the worker to catch up")
        # Every projection, at the newest position: none behind.
        wacht_tot(lambda: len(achterstand()) == PROJECTIES and set(achterstand().values()) == {0.0},
                  what=lambda: f"the metric at zero: {achterstand()} {worker.poll()}")
    finally:
        code, _, err = stop(worker)
    assert code == 0, err
    once = subprocess.run(LOKET + ["projections", "catch-up", "--metrics-port", str(port)],
                          env={**os.environ, **loket_env(db)}, capture_output=True, text=True, timeout=60)
    assert (once.returncode, zonder_logregels(once.stderr)) == (
        2, ["loket: --metrics-port goes with --follow: a worker that keeps running"])


def _kenmerken(db: Path) -> list[tuple]:
    with lezen(db) as c:
        return c.execute("SELECT kenmerk FROM caseload_meldingen")


def test_a_rebuild_while_a_worker_writes_is_refused_with_one_line(tmp_path):
    db = tmp_path / "loket.sqlite"
    with instroom(db, [json.dumps(melding(kenmerk="R-1"))]) as klaar:
        klaar.wait(60)
    worker = werker(db)
    try:
        wacht_tot(lambda: bijgewerkt(db), what="the worker to catch up")
        rebuild = subprocess.run(LOKET + ["projections", "rebuild"], env={**os.environ, **loket_env(db)},
                                 capture_output=True, text=True, timeout=120)
    finally:
        code, _, err = stop(worker)
    assert code == 0, err
    assert rebuild.returncode == 5
    assert zonder_logregels(rebuild.stderr) == [
        "loket: another process writes the projections (a projection worker): stop it first"]
    assert [k for (k,) in _kenmerken(db)] == ["R-1"]


# The API beside a separate worker ------------------------------------------------


def _achterstand(answer: httpx2.Response) -> int:
    return int(answer.headers["x-loket-achterstand"])


def test_an_api_that_only_reads_says_its_lag_and_a_write_waits_for_the_worker(tmp_path):
    db = tmp_path / "loket.sqlite"
    with serve(tmp_path, LOKET_CATCH_UP_ON_READ="0") as server, \
            serve(tmp_path, "serve-2", LOKET_CATCH_UP_ON_READ="0") as tweede:
        intake = server.token("anna", "intake")
        huis = server.token("piet", "zvh", "parkstad")
        beheer = server.token("bea", "beheer")
        with httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {intake}"}, timeout=30) as c:
            # No worker: the API does not write the projections itself; the wait runs out and says so.
            started = time.monotonic()
            answer = c.post("/meldingen", params={"wacht": 0.5}, json=melding(kenmerk="W-1"))
            assert answer.status_code == 201
            assert time.monotonic() - started >= 0.5
            assert answer.headers["x-loket-wacht"] == "verlopen"
            assert _achterstand(answer) >= 1
            assert int(answer.headers["x-loket-positie"]) >= 1
            lijst = c.get("/caseload", headers={"Authorization": f"Bearer {beheer}"})
            assert lijst.status_code == 200 and lijst.json() == []
            assert _achterstand(lijst) >= 1
            pagina = c.get("/web/inloggen")
            assert _achterstand(pagina) >= 1  # pages say it too
            assert "x-loket-achterstand" not in c.get("/static/loket.css").headers
            metrics = c.get("/metrics").text
            assert 'loket_projectie_achterstand{projectie="caseload"}' in metrics

            worker = werker(db)
            try:
                answer = c.post("/meldingen", params={"wacht": 10}, json=melding(kenmerk="W-2"))
                assert answer.status_code == 201, answer.text
                assert answer.headers["x-loket-wacht"] == "bijgewerkt"
                assert _achterstand(answer) == 0
                melding_id = answer.json()["melding_id"]
                # Read from the projections right after: the write is in them, also on another API process.
                rows = c.get("/caseload", headers={"Authorization": f"Bearer {beheer}"}).json()
                assert sum(r["count"] for r in rows) == 2
                andere = httpx2.get(tweede.url + "/caseload", headers={"Authorization": f"Bearer {beheer}"})
                assert andere.json() == rows and _achterstand(andere) >= 0
                wachtrij = c.get("/wachtrij", headers={"Authorization": f"Bearer {huis}"}).json()
                assert {r["melding_id"] for r in wachtrij} >= {melding_id}

                accepted = c.post(f"/meldingen/{melding_id}/accept", params={"wacht": 10},
                                  json={"regisseur": "R. Egisseur"}, headers={"Authorization": f"Bearer {huis}"})
                assert accepted.status_code == 200, accepted.text
                assert accepted.headers["x-loket-wacht"] == "bijgewerkt"
                wachtrij = c.get("/wachtrij", headers={"Authorization": f"Bearer {huis}"}).json()
                assert [r["status"] for r in wachtrij if r["melding_id"] == melding_id] == ["in-behandeling"]

                # Without ?wacht the answer does not wait and says nothing of it.
                quick = c.post("/meldingen", json=melding(kenmerk="W-3"))
                assert quick.status_code == 201 and "x-loket-wacht" not in quick.headers
                # A wait beyond the bound is a bad parameter, named.
                too_long = c.post("/meldingen", params={"wacht": 60}, json=melding(kenmerk="W-4"))
                assert too_long.status_code == 422
                assert too_long.json()["errors"][0]["field"] == "query.wacht"
            finally:
                code, _, err = stop(worker)
            assert code == 0, err
    assert "Traceback" not in server.logs() + tweede.logs()


def test_retention_does_not_shred_on_projections_that_did_not_catch_up(tmp_path, monkeypatch):
    from loket import service
    from loket.service import ProjectiesAchter

    monkeypatch.setattr(service, "MAX_WACHT", 0.2)
    db = tmp_path / "loket.sqlite"
    with instroom(db, [json.dumps(melding(kenmerk="B-1"))]) as klaar:
        klaar.wait(60)
    systeem = bootstrap(loket_settings(db, LOKET_CATCH_UP_ON_READ="0"))
    try:
        d = Dienst(systeem)
        beheer = Gebruiker("tester", Rol("beheer"))
        assert d.bewaartermijnen(beheer).verlopen == []  # looking is allowed: nothing is done
        with pytest.raises(ProjectiesAchter, match="nothing was shredded"):
            d.bewaartermijnen(beheer, toepassen=True)
    finally:
        systeem.close()


@pytest.mark.parametrize("waarde", ["ja", "2"])
def test_the_catch_up_on_read_setting_takes_only_on_or_off(waarde):
    from loket.settings import OngeldigeInstelling, Settings

    with pytest.raises(OngeldigeInstelling, match="LOKET_CATCH_UP_ON_READ"):
        Settings.from_env({"LOKET_CATCH_UP_ON_READ": waarde})
    assert Settings.from_env({}).catch_up_on_read
    assert not Settings.from_env({"LOKET_CATCH_UP_ON_READ": "0"}).catch_up_on_read


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the advisory lock of a PostgreSQL event store")
def test_a_worker_whose_lock_session_ends_with_a_restarted_server_takes_it_again(tmp_path, postgres):
    db = tmp_path / "loket.sqlite"
    with instroom(db, [json.dumps(melding(kenmerk="V-1"))]) as klaar:
        klaar.wait(60)
    worker = werker(db)
    try:
        wacht_tot(lambda: bijgewerkt(db), what="the worker to catch up")
        postgres.restart()  # every session ends: the worker's lock with it
        with instroom(db, [json.dumps(melding(kenmerk=f"V-{i}")) for i in range(2, 12)]) as klaar:
            klaar.wait(60)
        wacht_tot(lambda: bijgewerkt(db), what=lambda: f"the worker to go on: {worker.poll()}")
        # It holds the lock again: a second worker is refused.
        second = werker(db)
        code, _, err = stop_na(second, 60)
        assert (code, zonder_logregels(err)) == (5, [BEZET])
    finally:
        code, _, err = stop(worker)
    assert code == 0, err
    assert len(_kenmerken(db)) == 11
    assert herbouwd(db)[0] == projecties(db)


def stop_na(worker: subprocess.Popen, seconds: float) -> tuple[int, str, str]:
    """The outcome of a process that ends by itself."""
    out, err = worker.communicate(timeout=seconds)
    return worker.returncode, out, err
