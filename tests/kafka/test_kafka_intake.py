"""`loket consume` against a real broker: the four inbound streams into the event store."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from uuid import UUID

import jsonschema
import pytest

from consumers import clients
from consumers.inbound import InboundConsumer
from events.melding import AfgewezenMelding, Melding
from loket.bootstrap import bootstrap
from loket.metrics import CONSUMER_LAG
from tests.conftest import line
from tests.event_store import stored_events
from tests.kafka.conftest import free_port, produce, read_all, wait_until

SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
PERSON = ("123456782", "Jan Testpersoon", "1990-05-06", "vrije tekst over de persoon")


def test_meldingen_from_every_inbound_stream_are_stored_and_the_consumer_stops_cleanly_on_sigterm(
    broker, kafka_settings, topics, loket
):
    port = free_port()
    consume = loket("consume", "--metrics-port", str(port))
    sent = {
        topics.meldingen: [line(kenmerk="GEM-1"), line(kenmerk="GEM-2")],
        f"{topics.meldingen}.via": [line(bron="politie", soort="via", kenmerk="VIA-1")],
        f"{topics.meldingen}.zsm": [line(bron="zsm", soort="zsm-buikpijn", kenmerk="ZSM-1")],
        f"{topics.meldingen}.veilig-thuis": [line(bron="veilig-thuis", soort="vt-routeertafel", kenmerk="VT-1")],
        f"{topics.meldingen}.dji": [line(bron="dji", soort="detentie-uit", kenmerk="DJI-1")],
    }
    for topic, values in sent.items():
        produce(broker.bootstrap, topic, values)
    produce(broker.bootstrap, topics.meldingen, [line(kenmerk="GEM-1")])  # the same melding again

    wait_until(lambda: stored_events(kafka_settings).get("MeldingOntvangen") == 6)

    def lag() -> list[str]:
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        return [m for m in metrics.splitlines() if m.startswith("loket_consumer_lag{")]

    # Everything sent is stored and committed: Prometheus sees no lag on any partition read.
    assert wait_until(lambda: lag() and all(m.endswith(" 0.0") for m in lag()), timeout=10)
    assert consume.stop() == 0
    assert consume.summary() == {"received": 7, "new": 6, "duplicates": 1, "rejected": 0, "dead_lettered": 0}

    systeem = bootstrap(kafka_settings)
    try:
        for bron, kenmerk in [("gemeente", "GEM-1"), ("politie", "VIA-1"), ("zsm", "ZSM-1"),
                              ("veilig-thuis", "VT-1"), ("dji", "DJI-1")]:
            stored = systeem.app.melding(systeem.app.melding_id_van(bron, kenmerk))
            assert isinstance(stored, Melding)
            assert stored.beslissing.outcome in {"routed", "triage", "doorverwijzen"}
    finally:
        systeem.close()


def test_bad_input_is_recorded_as_rejected_and_copied_to_the_dead_letter_topic(
    broker, kafka_settings, topics, loket
):
    consume = loket("consume")
    not_json = b'{"bron": "politie", "persoon": {"bsn": "123456782"'
    breaks_contract = line(kenmerk="KAPOT-1", ontvangen_op="gisteren")
    [meta_a, meta_b] = produce(broker.bootstrap, f"{topics.meldingen}.via", [not_json, breaks_contract])
    produce(broker.bootstrap, topics.meldingen, [line(kenmerk="GOED-1")])

    wait_until(lambda: len(read_all(broker.bootstrap, [topics.dlq])) == 2)
    assert consume.stop() == 0
    assert consume.summary()["rejected"] == 2

    dead = {
        (h["loket-source-partition"], h["loket-source-offset"]): (r, h)
        for r, h in _with_headers(read_all(broker.bootstrap, [topics.dlq]))
    }
    record_a, headers_a = dead[(str(meta_a.partition), str(meta_a.offset))]
    record_b, headers_b = dead[(str(meta_b.partition), str(meta_b.offset))]
    assert record_a.value == not_json  # the message exactly as received
    assert headers_a["loket-source-topic"] == f"{topics.meldingen}.via"
    assert headers_a["loket-error"].startswith("melding: not valid JSON")
    assert headers_b["loket-error"].startswith("ontvangen_op: ")

    schema = json.loads((SCHEMAS / "dlq-headers.schema.json").read_text())
    for record, headers in dead.values():
        jsonschema.validate(headers, schema, format_checker=jsonschema.FormatChecker())
        visible = record.key + b"".join(v.encode() for v in headers.values())
        assert not any(p.encode() in visible for p in PERSON)

    systeem = bootstrap(kafka_settings)
    try:
        rejected = systeem.app.melding(UUID(headers_b["loket-melding-id"]))
        assert isinstance(rejected, AfgewezenMelding)
        assert (rejected.bron, rejected.kenmerk) == ("gemeente", "KAPOT-1")
        assert isinstance(systeem.app.melding(systeem.app.melding_id_van("gemeente", "GOED-1")), Melding)
    finally:
        systeem.close()


def _with_headers(records):
    return [(r, {k: v.decode() for k, v in r.headers}) for r in records]


@pytest.fixture
def inbound(kafka_settings, topics):
    """The consumer in this process, against the real broker and store."""
    systeem = bootstrap(kafka_settings)
    consumer = clients.consumer(kafka_settings.kafka, group=topics.intake_group)
    publisher = clients.Publisher(lambda: clients.producer(kafka_settings.kafka))
    made = InboundConsumer(systeem.app, consumer, publisher, topics, batch=10, lag=CONSUMER_LAG)
    made.subscribe()
    yield made
    consumer.close(autocommit=False)
    publisher.close()
    systeem.close()


def _lag(topics, partition: int) -> float:
    return CONSUMER_LAG.labels(topics.intake_group, topics.meldingen, str(partition))._value.get()


def test_consumer_lag_shows_what_is_still_waiting_on_the_inbound_topic(broker, topics, inbound):
    metas = produce(broker.bootstrap, topics.meldingen, [line(kenmerk=f"LAG-{i}") for i in range(25)], key=b"een")
    partition = metas[0].partition
    wait_until(lambda: inbound.step(timeout_ms=200) > 0, every=0)
    assert _lag(topics, partition) == 15
    wait_until(lambda: inbound.step(timeout_ms=200) == 0 and _lag(topics, partition) == 0, every=0)
    assert inbound.counts["nieuw"] == 25


def test_a_batch_read_twice_changes_nothing_in_the_store(broker, kafka_settings, topics, inbound):
    produce(broker.bootstrap, topics.meldingen, [line(kenmerk=f"TWEE-{i}") for i in range(12)] + ["kapot"])
    wait_until(lambda: inbound.step(timeout_ms=200) == 0 and inbound.counts.total() == 13, every=0)
    before = stored_events(kafka_settings)

    # Another reader of the same topic into the same store: everything is a re-read.
    again = InboundConsumer(
        inbound.app, clients.consumer(kafka_settings.kafka, group=topics.intake_group + ".again"),
        inbound.publisher, topics, batch=100,
    )
    again.subscribe()
    try:
        wait_until(lambda: again.step(timeout_ms=200) == 0 and again.counts.total() >= 13, every=0)
    finally:
        again.consumer.close(autocommit=False)
    assert stored_events(kafka_settings) == before
    assert (again.counts["duplicaat"], again.counts["nieuw"]) == (13, 0)

