"""One relay per store: a second `loket relay` started by mistake stops (or stands by) without
publishing; a relay killed with -9 lets go of the lock and the one standing by carries on.

The relay holds a lock of its own (loket/bootstrap.py `Schrijfslot`, named "relay"), the same
mechanism as the projection worker's (tests/test_projectie_schrijver.py): a PostgreSQL advisory
lock, or a file lock beside LOKET_DB. Without it two relays would publish every event twice and
race for one position. What is promised (consumers/relay.py): every decision on the topic of
its queue; a re-send only after a crash, at most a page, identical to the first (same key, value
and event id), so a reader drops it.
"""

from __future__ import annotations

import json
import signal
from collections import Counter
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.utils import get_topic

from consumers.messages import event_id
from consumers.topics import Topics
from events.melding import Melding
from loket.bootstrap import Schrijfslot, bootstrap
from loket.settings import Settings
from tests.conftest import line
from tests.event_store import ON_POSTGRESQL, event_sql, zonder_logregels
from tests.kafka.conftest import read_all, wait_until

pytestmark = pytest.mark.slow

BEZET = "loket: another relay publishes the events of this store"
DECISIONS = ("MeldingGerouteerd", "MeldingInTriage", "MeldingDoorverwezen")


def stored_decisions(settings: Settings) -> set[str]:
    """The event ids of every routing decision in the store, read with plain SQL (another process writes it)."""
    topics = [get_topic(getattr(Melding, name)) for name in DECISIONS]
    with event_sql(settings, read_only=True) as sql:
        marks = ", ".join("?" for _ in topics)
        rows = sql.execute(f"SELECT originator_id, originator_version FROM {sql.events} WHERE topic IN ({marks})",
                           topics)
    return {str(event_id(UUID(str(originator)), version)) for originator, version in rows}


def relay_lock_held(settings: Settings) -> bool:
    """Whether some session holds the relay's advisory lock (PostgreSQL)."""
    with event_sql(settings, read_only=True) as sql:
        return bool(sql.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                "AND classid = ?::oid AND database = (SELECT oid FROM pg_database "
                                "WHERE datname = current_database())", [Schrijfslot.POSTGRES_KEYS["relay"]]))


def relay_position(settings: Settings) -> int:
    with event_sql(settings, read_only=True) as sql:
        try:
            rows = sql.execute(f"SELECT MAX(notification_id) FROM {sql.tracking} WHERE application_name = ?",
                               ["outbox-relay@Loket"])
        except sql.missing:
            return 0
    return rows[0][0] or 0


def last_position(settings: Settings) -> int:
    with event_sql(settings, read_only=True) as sql:
        return sql.execute(f"SELECT MAX({sql.position}) FROM {sql.events}")[0][0] or 0


def published(bootstrap_servers: str, topics: Topics) -> list[Any]:
    """Every message on the outbound topics now."""
    return read_all(bootstrap_servers, topics.outbound)


def copies(records: list[Any]) -> Counter[str]:
    """How often each event was published; asserting that every copy of one event on one topic is
    the same message, byte for byte (key, value, headers): the at-least-once re-send a reader drops."""
    seen: dict[tuple[str, str], tuple] = {}
    count: Counter[str] = Counter()
    for r in records:
        message = json.loads(r.value)
        first = seen.setdefault((r.topic, message["event_id"]), (r.key, r.value, tuple(r.headers)))
        assert first == (r.key, r.value, tuple(r.headers)), f"two different messages for event {message['event_id']}"
        assert r.key == message["melding_id"].encode()
        count[message["event_id"]] += 1
    return count


def store(settings: Settings, lines: list[str]) -> None:
    systeem = bootstrap(settings)
    try:
        for i in range(0, len(lines), 50):
            systeem.app.ontvang_batch(lines[i:i + 50])
    finally:
        systeem.close()


def test_a_second_relay_started_at_once_stops_with_one_line_and_nothing_is_published_twice(
        broker, kafka_settings, topics, loket):
    store(kafka_settings, [line(kenmerk=f"L-{i}") for i in range(60)])
    first, second = loket("relay", "--page", "7"), loket("relay", "--page", "7")
    # One of the two stops, by itself; the other publishes everything.
    wait_until(lambda: not first.alive() or not second.alive(), timeout=60)
    expected = stored_decisions(kafka_settings)
    assert len(expected) == 60
    wait_until(lambda: set(expected) <= set(copies(published(broker.bootstrap, topics))), timeout=60)
    # More while it runs: published by the one relay too.
    store(kafka_settings, [line(kenmerk=f"M-{i}") for i in range(20)])
    expected = stored_decisions(kafka_settings)
    wait_until(lambda: set(expected) <= set(copies(published(broker.bootstrap, topics))), timeout=60)
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)

    running = first if first.alive() else second
    stopped = second if running is first else first
    assert stopped.process.returncode == 5
    assert zonder_logregels(stopped.stderr_path.read_text()) == [BEZET]  # one line, and nothing else
    assert running.stop() == 0
    assert copies(published(broker.bootstrap, topics)) == Counter(dict.fromkeys(expected, 1))  # none twice
    assert running.summary()["position"] == last_position(kafka_settings)


def test_a_relay_killed_with_minus_9_lets_go_and_the_one_standing_by_carries_on_without_loss(
        broker, kafka_settings, topics, loket):
    page = 5
    store(kafka_settings, [line(kenmerk=f"A-{i}") for i in range(40)])
    first = loket("relay", "--page", str(page))
    wait_until(lambda: relay_position(kafka_settings) > 0, timeout=60)
    standby = loket("relay", "--page", str(page), "--standby")
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)
    assert standby.alive(), standby.stderr_path.read_text()
    assert first.alive()
    before = relay_position(kafka_settings)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    # Stored after the kill: the log surely grows past where the first one stopped.
    store(kafka_settings, [line(kenmerk=f"B-{i}") for i in range(30)])
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings) > before, timeout=60)
    expected = stored_decisions(kafka_settings)
    assert len(expected) == 70
    counted = copies(published(broker.bootstrap, topics))
    assert set(counted) == set(expected)  # every decision published, nothing else
    # Caught up before the kill, so no page was in hand: nothing was sent twice.
    assert set(counted.values()) == {1}, {k: n for k, n in counted.items() if n > 1}

    # Killed in the middle of its work and started anew: at most the one page in hand again, identical.
    assert standby.stop() == 0
    store(kafka_settings, [line(kenmerk=f"C-{i}") for i in range(200)])
    again = loket("relay", "--page", str(page))
    wait_until(lambda: relay_position(kafka_settings) > before, timeout=60)
    again.kill9()
    restarted = loket("relay", "--page", str(page))
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=90)
    assert restarted.stop() == 0
    expected = stored_decisions(kafka_settings)
    counted = copies(published(broker.bootstrap, topics))
    assert set(counted) == set(expected)
    twice = [k for k, n in counted.items() if n > 1]
    assert max(counted.values()) <= 2 and len(twice) <= page, twice


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the advisory lock of a PostgreSQL event store")
def test_a_relay_whose_lock_session_ends_with_a_restarted_server_takes_it_again(
        broker, kafka_settings, topics, loket, postgres):
    store(kafka_settings, [line(kenmerk="V-1")])
    relay = loket("relay")
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)
    postgres.restart()  # every session ends: the relay's lock with it
    store(kafka_settings, [line(kenmerk=f"V-{i}") for i in range(2, 12)])
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)
    wait_until(lambda: relay_lock_held(kafka_settings), timeout=30)
    # It holds the lock again: a second relay is refused.
    second = loket("relay")
    assert second.process.wait(60) == 5
    assert zonder_logregels(second.stderr_path.read_text()) == [BEZET]
    assert relay.alive() and relay.stop() == 0
    expected = stored_decisions(kafka_settings)
    assert copies(published(broker.bootstrap, topics)) == Counter(dict.fromkeys(expected, 1))


@pytest.mark.skipif(not ON_POSTGRESQL, reason="the advisory lock of a PostgreSQL event store")
def test_a_relay_that_lost_its_lock_to_another_process_stops_before_publishing_beside_it(
        broker, kafka_settings, topics, loket):
    store(kafka_settings, [line(kenmerk="W-1")])
    relay = loket("relay")
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)
    wait_until(lambda: relay_lock_held(kafka_settings), timeout=30)
    # Its lock's session ends (as when a connection is cut), and another process takes the lock.
    with event_sql(kafka_settings) as sql:
        [(ended,)] = sql.execute("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                                 "AND granted AND classid = ?::oid", [Schrijfslot.POSTGRES_KEYS["relay"]])
    assert ended
    other = Schrijfslot(kafka_settings, "relay")
    wait_until(other.neem, timeout=30)
    try:
        before = relay_position(kafka_settings)
        store(kafka_settings, [line(kenmerk=f"W-{i}") for i in range(2, 7)])
        # At its next page it finds the lock gone: it stops, and publishes nothing of that page.
        assert relay.process.wait(60) == 5
        assert zonder_logregels(relay.stderr_path.read_text()) == [
            "loket: the relay's lock was lost and another process took it"]
        assert relay_position(kafka_settings) == before
        assert len(copies(published(broker.bootstrap, topics))) == 1
    finally:
        other.los()
    # The one relay after it publishes the rest, once.
    after = loket("relay")
    wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)
    assert after.stop() == 0
    assert copies(published(broker.bootstrap, topics)) == Counter(dict.fromkeys(stored_decisions(kafka_settings), 1))
