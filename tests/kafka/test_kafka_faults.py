"""Faults against real processes and a real broker: kill -9 mid-work, a broker restart.

No melding may be lost or stored twice; the relay may re-send, but only identical
messages (same event id, same bytes).
"""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from eventsourcing.utils import get_topic

from consumers.messages import event_id
from events.intake import Ongeldig, parse
from events.melding import AfgewezenMelding, Melding, afgewezen_id, payload_hash
from loket import synthetic
from loket.bootstrap import bootstrap
from loket.settings import Settings
from tests.event_store import EventSQL, event_sql, last_position, stored_events
from tests.kafka.conftest import Broker, produce, read_all, wait_until

pytestmark = pytest.mark.slow

DECISION_TOPICS = [get_topic(Melding.MeldingGerouteerd), get_topic(Melding.MeldingInTriage),
                   get_topic(Melding.MeldingDoorverwezen)]


def identities(lines: list[str]) -> tuple[set, set]:
    """The meldingen and the rejected inputs these lines must become: by the contract's identity
    ((bron, kenmerk); a rejection by its id, the hash of its payload)."""
    meldingen, rejected = set(), set()
    for raw in lines:
        try:
            m = parse(raw)
            meldingen.add((m.bron, m.kenmerk))
        except Ongeldig:
            rejected.add(afgewezen_id(payload_hash(raw.encode())))
    return meldingen, rejected


def relay_position(settings: Settings) -> int:
    """The relay's tracking position, kept in the event store."""
    with event_sql(settings, read_only=True) as sql:
        try:
            rows = sql.execute(f"SELECT notification_id FROM {sql.tracking} WHERE application_name LIKE ?",
                               ("outbox-relay@%",))
        except EventSQL.missing:
            return 0
    return rows[0][0] if rows else 0


def decisions_in_store(settings) -> dict[str, str]:
    """event id -> kenmerk for every routing decision stored."""
    systeem = bootstrap(settings)
    try:
        notifications = systeem.app.recorder.select_notifications(start=1, limit=1_000_000, topics=DECISION_TOPICS)
        return {
            str(event_id(n.originator_id, n.originator_version)): systeem.app.melding(n.originator_id).kenmerk
            for n in notifications
        }
    finally:
        systeem.close()


def test_a_consumer_killed_mid_batch_loses_nor_duplicates_any_melding(broker, kafka_settings, topics, loket):
    lines = list(synthetic.jaar(2025, seed=5, scale=0.15))
    meldingen, rejected = identities(lines)
    assert len(lines) > len(meldingen) + len(rejected)  # the year holds resent duplicates too
    assert rejected  # and broken lines, which must be kept as rejected across the kills
    produce(broker.bootstrap, topics.meldingen, lines)

    kills = 2
    for _ in range(kills):
        before = stored_events(kafka_settings).get("MeldingOntvangen", 0)
        consume = loket("consume", "--batch", "100")
        wait_until(lambda before=before: stored_events(kafka_settings).get("MeldingOntvangen", 0) > before + 150,
                   every=0.01)
        consume.kill9()  # most likely mid-batch: a batch of 100 is stored and committed in ~0.1 s

    final = loket("consume", "--batch", "100")
    wait_until(lambda: stored_events(kafka_settings).get("MeldingOntvangen", 0) == len(meldingen)
               and stored_events(kafka_settings).get("MeldingAfgewezen", 0) == len(rejected), timeout=60)
    time.sleep(1.0)  # a late duplicate would show now
    assert final.stop() == 0

    counts = stored_events(kafka_settings)
    decided = sum(counts.get(name, 0) for name in ("MeldingGerouteerd", "MeldingInTriage", "MeldingDoorverwezen"))
    assert (counts["MeldingOntvangen"], decided, counts["MeldingAfgewezen"]) == (
        len(meldingen), len(meldingen), len(rejected)
    )
    systeem = bootstrap(kafka_settings)
    try:
        for bron, kenmerk in meldingen:
            stored = systeem.app.melding(systeem.app.melding_id_van(bron, kenmerk))
            # received and decided once, and a task per party the decision names (notify)
            assert isinstance(stored, Melding) and stored.version == 2 + len(stored.informeren)
        for rid in rejected:
            assert isinstance(systeem.app.melding(rid), AfgewezenMelding)
    finally:
        systeem.close()

    dead = {dict(r.headers)["loket-melding-id"].decode() for r in read_all(broker.bootstrap, [topics.dlq])}
    assert dead == {str(r) for r in rejected}
    print(f"consumer killed {kills} times; the final run re-read {final.summary()['duplicates']} as duplicates")


def test_a_relay_killed_mid_stream_publishes_every_decision_and_resends_only_identical_copies(
    broker, kafka_settings, topics, loket
):
    systeem = bootstrap(kafka_settings)
    lines = list(synthetic.jaar(2025, seed=5, scale=0.15))
    for i in range(0, len(lines), 500):
        systeem.app.ontvang_batch(lines[i : i + 500])
    systeem.close()
    last = last_position(kafka_settings)

    kills = 2
    for _ in range(kills):
        before = relay_position(kafka_settings)
        relay = loket("relay", "--page", "50")
        wait_until(lambda before=before: relay_position(kafka_settings) > before + 300, every=0.01)
        relay.kill9()  # between pages or while one is in flight to the broker
    final = loket("relay", "--page", "50")
    wait_until(lambda: relay_position(kafka_settings) == last, timeout=60)
    assert final.stop() == 0

    expected = decisions_in_store(kafka_settings)
    records = read_all(broker.bootstrap, topics.werk)
    copies: dict[str, set[tuple]] = {}
    for r in records:
        copies.setdefault(json.loads(r.value)["event_id"], set()).add((r.topic, r.key, r.value, tuple(r.headers)))
    assert set(copies) == set(expected)  # every decision published
    assert all(len(c) == 1 for c in copies.values())  # every re-send identical to the first
    resent = len(records) - len(copies)
    print(f"relay killed {kills} times; {len(copies)} decisions published, {resent} identical re-sends")


def test_consumer_and_relay_ride_out_a_broker_restart(kafka_env, kafka_settings, topics, loket, tmp_path):
    """Tansu here keeps everything in memory: a restart forgets topics, messages and group offsets.

    The processes must keep running, lose nothing stored, and carry on once the broker is
    back. What the broker itself forgot (messages it had acknowledged) the relay can publish
    again with `--replay-from 0`; houses recognise the copies by their event ids.
    """
    own = Broker(tmp_path / "restarted-broker.log")
    own.start()
    env = {**kafka_env, "LOKET_KAFKA": own.bootstrap}
    try:
        consume = loket("consume", env=env)
        relay = loket("relay", env=env)
        first = [json.dumps({**json.loads(x), "kenmerk": f"EERST-{i}"})
                 for i, x in enumerate(synthetic.jaar(2025, seed=9, scale=0.01))][:40]
        produce(own.bootstrap, topics.meldingen, first)
        wait_until(lambda: stored_events(kafka_settings).get("MeldingOntvangen", 0) == 40, timeout=60)
        wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=60)

        own.kill()
        during = [json.dumps({**json.loads(x), "kenmerk": f"TIJDENS-{i}"}) for i, x in enumerate(first[:20])]
        systeem = bootstrap(kafka_settings)  # intake by another route (`loket ontvang`) while the broker is away
        systeem.app.ontvang_batch(during)
        systeem.close()
        time.sleep(3)
        assert consume.alive() and relay.alive()
        # Nothing tracked that was not acknowledged.
        assert relay_position(kafka_settings) < last_position(kafka_settings)

        own.start()  # same address, empty memory
        after = [json.dumps({**json.loads(x), "kenmerk": f"NA-{i}"}) for i, x in enumerate(first[:30])]
        produce(own.bootstrap, topics.meldingen, after)
        wait_until(lambda: stored_events(kafka_settings).get("MeldingOntvangen", 0) == 90, timeout=90)
        wait_until(lambda: relay_position(kafka_settings) == last_position(kafka_settings), timeout=90)
        assert consume.alive() and relay.alive()

        expected = decisions_in_store(kafka_settings)
        published = Counter(json.loads(r.value)["event_id"] for r in read_all(own.bootstrap, topics.werk))
        kenmerken = {expected[e].split("-")[0] for e in published}
        assert kenmerken == {"TIJDENS", "NA"}  # what was sent before the restart went with the broker
        assert {e for e, k in expected.items() if not k.startswith("EERST")} <= set(published)

        assert relay.stop() == 0 and consume.stop() == 0
        replay = loket("relay", "--replay-from", "0", env=env)
        wait_until(lambda: set(expected) <= {json.loads(r.value)["event_id"]
                                             for r in read_all(own.bootstrap, topics.werk)}, timeout=60)
        assert replay.stop() == 0
        assert stored_events(kafka_settings).get("MeldingOntvangen") == 90
    finally:
        own.kill()
