"""PostgreSQL restarted under a running consumer and relay: nothing lost, nothing stored twice.

The event store is a real PostgreSQL server (the session's), restarted with
`pg_ctl restart` while `loket consume` is storing meldingen from the inbound topic
and `loket relay` is publishing their decisions. Both must ride it out (their
connections are checked before use and their writes retried), and afterwards every
melding is stored once and every decision published. Both start together on the
fresh database, as they do in production: their table creation must not collide.
"""

from __future__ import annotations

import json

import psycopg
import pytest
from eventsourcing.persistence import OperationalError
from eventsourcing.utils import get_topic

from consumers import clients
from consumers.inbound import InboundConsumer
from consumers.messages import event_id
from events.intake import Ongeldig, parse
from events.melding import Melding
from loket import synthetic
from loket.bootstrap import bootstrap
from loket.settings import Settings
from tests.kafka.conftest import produce, read_all, wait_until

pytestmark = pytest.mark.slow

DECISIONS = [get_topic(Melding.MeldingGerouteerd), get_topic(Melding.MeldingInTriage),
             get_topic(Melding.MeldingDoorverwezen)]


def meldingen(prefix: str, n: int) -> list[str]:
    out = []
    for line in synthetic.jaar(2025, seed=21, scale=0.1):
        try:
            data = json.loads(line)
            parse(line)
        except (ValueError, Ongeldig):
            continue  # a cut-off or broken line: not what this test is about
        out.append(json.dumps({**data, "kenmerk": f"{prefix}-{len(out)}"}))
        if len(out) == n:
            return out
    raise AssertionError("not enough synthetic meldingen")


def received(url: str) -> tuple[int, int]:
    """(MeldingOntvangen events, distinct meldingen) in the store; (0, 0) before it exists."""
    try:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT count(*), count(DISTINCT originator_id) FROM loket_events WHERE topic = %s",
                [get_topic(Melding.MeldingOntvangen)],
            ).fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.OperationalError):
        return 0, 0


def decisions(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version FROM loket_events WHERE topic = ANY(%s)", [DECISIONS]
        ).fetchall()
    return {str(event_id(originator, version)) for originator, version in rows}


def published(bootstrap: str, topics) -> set[str]:
    return {json.loads(r.value)["event_id"] for r in read_all(bootstrap, topics.werk)}


def test_consumer_and_relay_ride_out_a_postgresql_restart(broker, kafka_env, topics, loket, postgres):
    url = postgres.new_database()
    env = {**kafka_env, "LOKET_DATABASE_URL": url}
    assert Settings.from_env(env).database_url == url
    consume = loket("consume", env=env)
    relay = loket("relay", env=env)

    produce(broker.bootstrap, topics.meldingen, meldingen("VOOR", 100))
    wait_until(lambda: received(url)[0] == 100, timeout=90)

    produce(broker.bootstrap, topics.meldingen, meldingen("TIJDENS", 100))
    postgres.restart()  # while the consumer stores these and the relay publishes the first ones
    produce(broker.bootstrap, topics.meldingen, meldingen("NA", 100))

    wait_until(lambda: received(url)[0] >= 300, timeout=120)
    assert consume.alive() and relay.alive()
    assert received(url) == (300, 300)  # every melding once
    expected = decisions(url)
    assert len(expected) == 300
    wait_until(lambda: expected <= published(broker.bootstrap, topics), timeout=120)
    assert relay.stop() == 0 and consume.stop() == 0


def test_a_batch_read_while_postgresql_is_down_is_stored_when_it_is_back(broker, kafka_env, topics, postgres):
    eerst, uitval, daarna = meldingen("EERST", 1), meldingen("UITVAL", 10), meldingen("DAARNA", 10)
    url = postgres.new_database()
    # The store's error comes quickly (a short pool timeout: eventsourcing tries each call
    # ten times), and no rebalance sends the consumer back to its committed offset (a long
    # poll interval): a batch the consumer skipped would stay skipped, as it did in
    # production when the store was away briefly.
    systeem = bootstrap(Settings.from_env({**kafka_env, "LOKET_DATABASE_URL": f"{url}?connect_timeout=1"}))
    consumer = clients.consumer(broker.bootstrap, group=topics.intake_group, max_poll_interval_ms=300_000)
    publisher = clients.Publisher(lambda: clients.producer(broker.bootstrap))
    inbound = InboundConsumer(systeem.app, consumer, publisher, topics, batch=10)
    inbound.subscribe()
    try:
        produce(broker.bootstrap, topics.meldingen, eerst, key=b"een")
        wait_until(lambda: inbound.step(timeout_ms=200) > 0, every=0)

        produce(broker.bootstrap, topics.meldingen, uitval, key=b"een")
        postgres.shut_down()
        try:
            wait_until(lambda: _fails_to_store(inbound), every=0)
        finally:
            postgres.start_again()
        produce(broker.bootstrap, topics.meldingen, daarna, key=b"een")

        wait_until(lambda: _steps_quietly(inbound) == 0 and received(url)[0] == 21, timeout=60, every=0)
        assert received(url) == (21, 21)
    finally:
        consumer.close(autocommit=False)
        publisher.close()
        systeem.close()


def _fails_to_store(inbound: InboundConsumer) -> bool:
    try:
        inbound.step(timeout_ms=200)
    except OperationalError:
        return True
    return False


def _steps_quietly(inbound: InboundConsumer) -> int:
    """One step; a store that is not back yet counts as nothing done."""
    try:
        return inbound.step(timeout_ms=200)
    except OperationalError:
        return -1
