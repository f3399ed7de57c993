"""A durable PostgreSQL crashed under the running consumer and relay: nothing acknowledged lost.

The event store is a server with fsync on (`durable_postgres`), killed outright
(`PostgresServer.crash`: every process SIGKILLed, no shutdown) twice while `loket
consume` stores meldingen from the inbound topic and `loket relay` publishes their
decisions, all on the real Tansu broker. Every melding the broker acknowledged to its
producer is stored exactly once, every commit the server acknowledged before a crash is
there after it, every decision is published, and `loket verify` finds the hash chain whole.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from events.intake import Ongeldig, parse
from loket import synthetic
from tests.kafka.conftest import produce, wait_until
from tests.kafka.test_kafka_postgres import decisions, published, received
from tests.test_crash import committed

pytestmark = pytest.mark.slow


def meldingen(n: int) -> list[str]:
    """n valid meldingen of a synthetic year, each with its own kenmerk."""
    out = []
    for line in synthetic.jaar(2025, seed=23, scale=n / 4_000):
        try:
            data = json.loads(line)
            parse(line)
        except (ValueError, Ongeldig):
            continue
        out.append(json.dumps({**data, "kenmerk": f"CRASH-{len(out)}"}))
        if len(out) == n:
            return out
    raise AssertionError("not enough synthetic meldingen")


def test_consumer_and_relay_keep_every_acknowledged_melding_through_two_crashes(
    broker, kafka_env, topics, loket, durable_postgres
):
    url = durable_postgres.new_database()
    env = {**kafka_env, "LOKET_DATABASE_URL": url}
    consume = loket("consume", env=env)
    relay = loket("relay", env=env)

    # The consumer stores them 500 to a batch: several batches after each crash, and after the
    # second enough left that the relay is still publishing when its progress is read.
    sent = meldingen(4_000)
    produce(broker.bootstrap, topics.meldingen, sent)  # acks=all: each acknowledged by the broker
    for threshold in (500, 1_000):
        wait_until(lambda t=threshold: received(url)[0] >= t, timeout=120)
        if threshold == 500:
            # The relay under way too before the first crash: a consumer faster than the relay's start
            # could otherwise have both crashes behind it before the relay's first page went out.
            wait_until(lambda: len(published(broker.bootstrap, topics)) > 0, timeout=60)
        acknowledged = committed(url)
        durable_postgres.crash()  # while the consumer stores and the relay publishes
        missing = acknowledged - committed(url)
        assert not missing, f"{len(missing)} acknowledged events lost in the crash"
        assert received(url)[0] < len(sent), "intake was done before the crash: it did not land under it"
    assert 0 < len(published(broker.bootstrap, topics)) < len(sent), "the relay was not under way at the crash"

    wait_until(lambda: received(url)[0] >= len(sent), timeout=180)
    assert consume.alive() and relay.alive()
    assert received(url) == (len(sent), len(sent))  # every melding once
    expected = decisions(url)
    assert len(expected) == len(sent)
    wait_until(lambda: expected <= published(broker.bootstrap, topics), timeout=120)
    assert relay.stop() == 0 and consume.stop() == 0

    verify = subprocess.run([sys.executable, "-m", "loket.cli", "verify", "--json"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert json.loads(verify.stdout)["intact"] is True
