"""Several hosts on one PostgreSQL server: two API processes, one projection worker, one Kafka
consumer and one relay, each its own process, as production runs them (deploy/SCALING.md).

The events and the key store are in PostgreSQL (the key store in a database of its own, under a
role of its own); the API processes only read the projections (LOKET_CATCH_UP_ON_READ=0), which
the one worker writes. Meldingen come in through both APIs and the inbound Kafka topic all along,
while the worker and the relay are each killed with -9 and started again. Afterwards: every
acknowledged melding is stored exactly once, the projections equal a rebuild from zero (nothing
lost, nothing counted twice), every decision is on the topic of its queue (a re-sent one only as
consumers/relay.py promises: the same message, at most a page of them once more), and the hash
chain is whole (`loket verify`).

The projections are in PostgreSQL too, in their own schema of the events' database
(loket/bootstrap.py `_views`); the helpers that read positions and rows read them there.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from eventsourcing.utils import get_topic

from events.handelingen import Gebruiker
from events.intake import Ongeldig, parse
from events.melding import Melding
from events.toegang import Rol
from kafka import KafkaProducer
from loket import synthetic
from loket.bootstrap import bootstrap
from loket.service import Dienst
from loket.settings import Settings
from tests.conftest import melding
from tests.event_store import DATABASES, ON_POSTGRESQL, event_sql
from tests.kafka.conftest import Loket, wait_until
from tests.kafka.test_kafka_relay_lock import copies, last_position, published, relay_position, stored_decisions
from tests.test_projectie_schrijver import PROJECTIES, lezen, posities, projecties
from tests.web_fixtures import Server, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="several hosts share one store only on PostgreSQL (SQLite is "
                       "one host's file); the PostgreSQL pass of `make test` runs this"),
]

PAGE = 20  # the relay's page: what a kill -9 may make it send once more


def kafka_meldingen(n: int) -> list[str]:
    """n valid meldingen of a small synthetic year, each with its own kenmerk."""
    out = []
    for line in synthetic.jaar(2025, seed=31, scale=0.1):
        try:
            data = json.loads(line)
            parse(line)
        except (ValueError, Ongeldig):
            continue  # a cut-off or broken line: rejected meldingen are not what this test is about
        out.append(json.dumps({**data, "kenmerk": f"KAFKA-{len(out)}"}))
        if len(out) == n:
            return out
    raise AssertionError("not enough synthetic meldingen")


def ontvangen(settings: Settings) -> tuple[int, int]:
    """(MeldingOntvangen events, distinct meldingen) in the store."""
    with event_sql(settings, read_only=True) as sql:
        try:
            [(n, distinct)] = sql.execute(f"SELECT COUNT(*), COUNT(DISTINCT originator_id) FROM {sql.events} "
                                          "WHERE topic = ?", [get_topic(Melding.MeldingOntvangen)])
        except sql.missing:
            return 0, 0
    return n, distinct


def kenmerken(db: Path) -> list[str]:
    """The kenmerken in the caseload projection, as the worker wrote it."""
    with lezen(db) as sql:
        return [row[0] for row in sql.execute("SELECT kenmerk FROM caseload_meldingen")]


class Instroom:
    """Meldingen coming in while the body runs, until `genoeg` is set and at least `minimum` are in:
    through the inbound Kafka topic (acknowledged by the broker) and through both APIs in turn
    (acknowledged with 201). What was acknowledged is kept, by kenmerk."""

    def __init__(self, broker: str, topic: str, servers: list[Server], token: str, minimum: int = 40):
        self.broker, self.topic, self.servers, self.token, self.minimum = broker, topic, servers, token, minimum
        self.kafka: list[str] = []
        self.api: list[str] = []
        self.fouten: list[BaseException | str] = []
        self.genoeg = threading.Event()
        self.pool = kafka_meldingen(400)

    def _moet_door(self, done: int) -> bool:
        return done < self.minimum or not self.genoeg.is_set()

    def _via_kafka(self) -> None:
        producer = KafkaProducer(bootstrap_servers=self.broker, acks="all", linger_ms=5)
        try:
            i = 0
            while self._moet_door(len(self.kafka)) and i < len(self.pool):
                batch = self.pool[i:i + 8]
                futures = [producer.send(self.topic, value=v.encode()) for v in batch]
                producer.flush()
                for f in futures:
                    f.get(timeout=30)
                self.kafka += [json.loads(v)["kenmerk"] for v in batch]
                i += len(batch)
                time.sleep(0.1)
        finally:
            producer.close()

    def _via_api(self) -> None:
        clients = [httpx2.Client(base_url=s.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
                   for s in self.servers]
        try:
            i = 0
            while self._moet_door(len(self.api)):
                kenmerk = f"API-{i}"
                answer = clients[i % len(clients)].post("/meldingen", json=melding(kenmerk=kenmerk))
                if answer.status_code != 201:
                    self.fouten.append(f"{kenmerk}: {answer.status_code} {answer.text[:200]}")
                    return
                self.api.append(kenmerk)
                i += 1
                time.sleep(0.05)
        finally:
            for c in clients:
                c.close()

    @contextmanager
    def loopt(self) -> Iterator[Instroom]:
        def guarded(work: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    work()
                except BaseException as exc:
                    self.fouten.append(exc)
            return run

        threads = [threading.Thread(target=guarded(w)) for w in (self._via_kafka, self._via_api)]
        for t in threads:
            t.start()
        try:
            yield self
        finally:
            self.genoeg.set()
            for t in threads:
                t.join(timeout=120)
        assert not self.fouten, self.fouten


def lees_je_schrijven(eerste: Server, tweede: Server, intake: str, huis: str, kenmerk: str) -> str:
    """A melding posted to the first API, waiting for its own position, is in the house's queue
    read from the second at once. Its id."""
    answer = httpx2.post(eerste.url + "/meldingen", params={"wacht": 10}, json=melding(kenmerk=kenmerk),
                         headers={"Authorization": f"Bearer {intake}"}, timeout=60)
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-loket-wacht"] == "bijgewerkt", dict(answer.headers)
    melding_id = answer.json()["melding_id"]
    wachtrij = httpx2.get(tweede.url + "/wachtrij", headers={"Authorization": f"Bearer {huis}"}, timeout=60)
    assert wachtrij.status_code == 200
    assert melding_id in {r["melding_id"] for r in wachtrij.json()}
    assert int(wachtrij.headers["x-loket-achterstand"]) >= 0
    return melding_id


def herbouwd(settings: Settings, db: Path) -> dict[str, list[tuple]]:
    """The replay oracle: the projections rebuilt from zero from the events (no worker running), then read."""
    systeem = bootstrap(settings)
    try:
        Dienst(systeem).herbouw(Gebruiker("tester", Rol("beheer")))
    finally:
        systeem.close()
    return projecties(db)


def test_two_apis_a_worker_a_consumer_and_a_relay_on_one_postgresql_lose_nothing_through_kill_minus_9(
        broker, kafka_env, topics, loket, tmp_path):
    db = tmp_path / "loket.sqlite"
    # The key store as in production: a PostgreSQL database of its own, owned by the keys' role.
    keys = {"LOKET_KEYSTORE_URL": DATABASES.keystore_url(db), "LOKET_MASTER_KEY": kafka_env["LOKET_MASTER_KEY"]}
    env = {**kafka_env, **keys}
    settings = Settings.from_env(env)
    assert settings.database_url and settings.keystore_server() is not None

    def process(*args: str) -> Loket:
        return loket(*args, env=env)

    def worker() -> Loket:
        return process("projections", "catch-up", "--follow", "--interval", "0.05")

    def worker_position() -> int:
        at = posities(db)
        return min(at.values()) if len(at) == PROJECTIES else 0

    with ExitStack() as stack:
        # The consumer first: it makes the store's tables (the others start on them).
        consume = process("consume", "--batch", "20")
        eerste = stack.enter_context(serve(tmp_path, "api-1", LOKET_CATCH_UP_ON_READ="0", **keys))
        tweede = stack.enter_context(serve(tmp_path, "api-2", LOKET_CATCH_UP_ON_READ="0", **keys))
        intake = eerste.token("anna", "intake")
        huis = eerste.token("piet", "zvh", "parkstad")
        schrijver, relay = worker(), process("relay", "--page", str(PAGE))
        ryw = [lees_je_schrijven(eerste, tweede, intake, huis, "RYW-1")]

        instroom = Instroom(broker.bootstrap, topics.meldingen, [eerste, tweede], intake)
        with instroom.loopt():
            # Under load: the worker killed well into its work, and started again. (The Kafka stream
            # alone brings the log to about 800 events; the API stream goes on until the end.)
            wait_until(lambda: worker_position() >= 100 and len(instroom.api) > 0, timeout=90)
            schrijver.kill9()
            killed_at = worker_position()
            schrijver = worker()
            # The relay killed well into its work, and started again.
            wait_until(lambda: relay_position(settings) >= 200, timeout=90)
            relay.kill9()
            relay_killed_at = relay_position(settings)
            relay = process("relay", "--page", str(PAGE))
            # Both carry on past where they were killed (the meldingen keep coming until then).
            wait_until(lambda: worker_position() > killed_at and relay_position(settings) > relay_killed_at,
                       timeout=90)
            ryw.append(lees_je_schrijven(tweede, eerste, intake, huis, "RYW-2"))
        acknowledged = instroom.kafka + instroom.api + ["RYW-1", "RYW-2"]
        assert len(instroom.kafka) >= 40 and len(instroom.api) >= 40

        # Everything in: stored, in the projections, published.
        wait_until(lambda: ontvangen(settings)[0] >= len(acknowledged), timeout=90)
        wait_until(lambda: worker_position() == last_position(settings), timeout=90)
        wait_until(lambda: relay_position(settings) == last_position(settings), timeout=90)
        assert schrijver.alive() and relay.alive() and consume.alive()
        # Both APIs read the same projections, and say they are not behind.
        beheer = {"Authorization": f"Bearer {eerste.token('bea', 'beheer')}"}
        caseloads = [httpx2.get(s.url + "/caseload", headers=beheer, timeout=60) for s in (eerste, tweede)]
        assert [(c.status_code, c.headers["x-loket-achterstand"]) for c in caseloads] == [(200, "0")] * 2
        assert caseloads[0].json() == caseloads[1].json() and caseloads[0].json()
        assert schrijver.stop() == 0 and relay.stop() == 0 and consume.stop() == 0
        logs = eerste.logs() + tweede.logs()
    assert "Traceback" not in logs

    # Every acknowledged melding stored exactly once, and counted once in the projections.
    assert ontvangen(settings) == (len(acknowledged), len(acknowledged))
    assert sorted(kenmerken(db)) == sorted(acknowledged)
    written = projecties(db)
    assert herbouwd(settings, db) == written

    # Every decision on the topic of its queue; a copy only as the relay promises (the same message).
    records = published(broker.bootstrap, topics)
    counted = copies(records)
    expected = stored_decisions(settings)
    assert len(expected) == len(acknowledged)
    assert expected <= set(counted)
    for r in records:
        message: dict[str, Any] = json.loads(r.value)
        if message["event_id"] in expected:
            assert r.topic == topics.voor_queue(message["beslissing"]["queue"])
    twice = [k for k, n in counted.items() if n > 1]
    assert max(counted.values()) <= 2 and len(twice) <= PAGE, twice  # one kill: at most one page again

    verify = subprocess.run([sys.executable, "-m", "loket.cli", "verify", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["intact"] is True
