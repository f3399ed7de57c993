"""kafka-python clients configured once for the loket: durable writes, quick recovery.

Producers wait for every in-sync replica (`acks=all`) and stay idempotent. Timeouts
are short so that a broker outage surfaces as an error within seconds (the caller
retries the batch it holds) instead of blocking a process for minutes. Consumer
groups use short session and poll intervals: a restarted consumer is back in its
group within seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import structlog
from eventsourcing.persistence import InterfaceError, OperationalError
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata, TopicPartition

from consumers.messages import Outgoing
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

log = structlog.get_logger(__name__)

PARTITIONS = 4
RETRY_SECONDS = 1.0

PRODUCER: dict[str, Any] = {
    "acks": "all",
    # Every batch we publish ends in flush(), which sends at once: lingering costs no latency,
    # and fuller batches spare kafka-python a wake-up of its I/O thread per new batch.
    "linger_ms": 1_000,
    "batch_size": 256 * 1024,
    "max_block_ms": 10_000,
    "bootstrap_timeout_ms": 5_000,
    "request_timeout_ms": 5_000,
    "delivery_timeout_ms": 15_000,
    "reconnect_backoff_max_ms": 1_000,
}

CONSUMER: dict[str, Any] = {
    "enable_auto_commit": False,
    "bootstrap_timeout_ms": 5_000,
    "auto_offset_reset": "earliest",
    "max_poll_interval_ms": 5_000,
    "session_timeout_ms": 4_000,
    "heartbeat_interval_ms": 1_000,
    "request_timeout_ms": 6_000,
    "reconnect_backoff_max_ms": 1_000,
    "fetch_max_wait_ms": 100,
}


def producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, **{**PRODUCER, **overrides})


def consumer(bootstrap: str, *, group: str | None, **overrides: Any) -> KafkaConsumer:
    return KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, **{**CONSUMER, **overrides})


def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int = PARTITIONS) -> None:
    """Create the topics that do not exist yet (a no-op for the ones that do)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5_000)
    try:
        for name in sorted(set(names) - set(admin.list_topics())):
            try:
                admin.create_topics([NewTopic(name, partitions, 1)])
            except TopicAlreadyExistsError:
                pass  # created meanwhile by another process: what we wanted
    finally:
        admin.close()


class Publisher:
    """Publishes a batch and returns only when the broker acknowledged all of it.

    After any failure the producer is dropped and the next batch gets a fresh one: a
    broker that lost its state (a restart) no longer knows the old producer's id.
    """

    def __init__(self, factory: Callable[[], KafkaProducer]):
        self.factory = factory
        self._producer: KafkaProducer | None = None
        self._tracked: set[str] = set()

    def publish(self, messages: Iterable[Outgoing]) -> int:
        producer = self._producer = self._producer or self.factory()
        messages = list(messages)
        try:
            self._track(producer, {m.topic for m in messages})
            futures = [producer.send(m.topic, key=m.key, value=m.value, headers=m.headers) for m in messages]
            producer.flush(timeout=PRODUCER["delivery_timeout_ms"] / 1000)
            for future in futures:
                future.get(timeout=0)  # raises what the broker answered
        except KafkaError:
            self.close()
            raise
        return len(futures)

    def _track(self, producer: KafkaProducer, topics: set[str]) -> None:
        # kafka-python 3.0.12 refreshes metadata only for topics it once had to look up. A
        # topic it learnt from the bootstrap metadata drops out at the next refresh, and its
        # records wait for a leader until they expire. So every topic we write is tracked.
        for topic in topics - self._tracked:
            producer._sender.add_topic(topic)  # type: ignore[attr-defined]  # private: see above
            self._tracked.add(topic)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=1)
            self._producer = None
            self._tracked.clear()

def poll(consumer: KafkaConsumer, *, timeout_ms: int, max_records: int) -> list[Any]:
    """The records of one poll, partition by partition, each partition in offset order."""
    polled = consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
    return [record for records in polled.values() for record in records]


def next_offsets(records: Iterable[Any]) -> dict[TopicPartition, int]:
    """Per partition, the offset after the last of these records: what to commit."""
    offsets: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        offsets[tp] = max(offsets.get(tp, 0), r.offset + 1)
    return offsets


def commit(consumer: KafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    consumer.commit(offsets={tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})


def run_until(stop: threading.Event, step: Callable[[], object]) -> None:
    """Call `step` until `stop` is set; a step in hand is always finished.

    A Kafka error (the broker away, the group rebalancing) or a store that is briefly away
    (PostgreSQL restarting) is logged and the step is tried again a second later, never a
    crash: each step leaves nothing that a retry cannot redo.
    """
    while not stop.is_set():
        try:
            step()
        except KafkaError as exc:
            log.warning("kafka.retry", error=type(exc).__name__, detail=str(exc)[:200])
            stop.wait(RETRY_SECONDS)
        except (OperationalError, InterfaceError) as exc:
            # The library's connection errors; their text names the server, never a melding.
            log.warning("store.retry", error=type(exc).__name__)
            stop.wait(RETRY_SECONDS)
