"""A poison message among valid ones on a real broker: it lands on the dead-letter topic, the valid
ones are stored, and the partition keeps flowing (docs/security.md, finding 3)."""

from __future__ import annotations

from consumers.topics import Topics
from events.melding import Melding
from loket.bootstrap import bootstrap
from tests.conftest import line
from tests.event_store import stored_events
from tests.kafka.conftest import produce, read_all, wait_until
from tests.test_security_intake import POISON


def test_poison_messages_go_to_the_dead_letter_topic_and_the_partition_keeps_flowing(
    broker, kafka_settings, topics: Topics, loket
):
    consume = loket("consume")
    good = [line(kenmerk=f"STROOM-{i}") for i in range(6)]
    too_big = b'{"toelichting": "' + b"x" * ((1 << 20) + 10) + b'"}'
    # One key: one partition, so every poison message stands in front of the valid ones after it.
    produce(broker.bootstrap, topics.meldingen, [good[0], *POISON[:3], good[1], *POISON[3:], good[2]], key=b"vast")
    produce(broker.bootstrap, topics.meldingen, [good[3], too_big, good[4]], key=b"vast", max_request_size=4 << 20)

    wait_until(lambda: len(read_all(broker.bootstrap, [topics.dlq])) == len(POISON) + 1, timeout=60)
    # Still consuming: a valid melding sent after the poison is stored too.
    produce(broker.bootstrap, topics.meldingen, [good[5]], key=b"vast")
    wait_until(lambda: stored_events(kafka_settings).get("MeldingOntvangen") == len(good), timeout=60)
    assert consume.alive()
    assert consume.stop() == 0
    assert consume.summary() == {"received": len(good) + len(POISON) + 1, "new": len(good), "duplicates": 0,
                                 "rejected": len(POISON) + 1, "dead_lettered": len(POISON) + 1}

    dead = read_all(broker.bootstrap, [topics.dlq])
    errors = sorted(dict(r.headers)["loket-error"].decode() for r in dead)
    assert any(e.startswith("soort: appears more than once") for e in errors)
    assert any(e.startswith("melding: is larger than the limit of 1048576 bytes") for e in errors)
    systeem = bootstrap(kafka_settings)
    try:
        for i in range(len(good)):
            assert isinstance(systeem.app.melding(systeem.app.melding_id_van("gemeente", f"STROOM-{i}")), Melding)
    finally:
        systeem.close()
