"""`loket consume`: meldingen from the inbound topics into the event store, none lost.

At-least-once delivery onto an idempotent store. Each poll batch is stored through
the application in one transaction (group commit); input that breaks the contract is
stored as rejected by the application and also copied to the dead-letter topic; only
then are the offsets committed. A crash anywhere before the commit re-reads the batch,
and the `(bron, kenmerk)` identity (the payload hash for rejected input) makes the
re-read a no-op.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import structlog
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from consumers.clients import Publisher, commit, next_offsets, poll, run_until
from consumers.messages import Outgoing
from consumers.topics import Topics
from events.application import Ontvangst
from events.intake import MAX_MELDING_BYTES, TE_GROOT_BEWAARD, TeGroot, begrensd
from kafka import KafkaConsumer

log = structlog.get_logger(__name__)


class Intake(Protocol):
    def ontvang_batch(self, raws: Iterable[bytes | TeGroot]) -> list[Ontvangst]: ...


class LagGauge(Protocol):
    def labels(self, *values: str) -> Any: ...


def dlq_headers(record: Any, ontvangst: Ontvangst) -> list[tuple[str, bytes]]:
    """Where the message came from and what is wrong with it. Contract errors name the
    field and never echo its value, so no personal data reaches the headers."""
    fouten = ontvangst.beslissing.errors if ontvangst.beslissing else ()
    errors = "; ".join(f"{e['field']}: {e['message']}" for e in fouten)
    headers = [
        ("loket-error", errors.encode()),
        ("loket-source-topic", record.topic.encode()),
        ("loket-source-partition", str(record.partition).encode()),
        ("loket-source-offset", str(record.offset).encode()),
        ("loket-melding-id", str(ontvangst.melding_id).encode()),
    ]
    if len(record.value or b"") > MAX_MELDING_BYTES:
        headers.append(("loket-original-bytes", str(len(record.value)).encode()))
    return headers


def dlq_value(record: Any) -> bytes:
    """The message as received; over the size limit, its beginning (what the store keeps of it too):
    the whole of it could be more than the producer may send, and would block the partition."""
    value = record.value or b""
    return value if len(value) <= MAX_MELDING_BYTES else value[:TE_GROOT_BEWAARD]


class InboundConsumer:
    def __init__(
        self,
        app: Intake,
        consumer: KafkaConsumer,
        publisher: Publisher,
        topics: Topics,
        *,
        batch: int = 500,
        lag: LagGauge | None = None,
    ):
        self.app = app
        self.consumer = consumer
        self.publisher = publisher
        self.topics = topics
        self.batch = batch
        self.lag = lag
        self.counts: Counter[str] = Counter()  # per status: nieuw, duplicaat, afgewezen
        self.dead_lettered = 0
        self._next: dict[TopicPartition, int] = {}

    def subscribe(self) -> None:
        self.consumer.subscribe(list(self.topics.inbound))

    def run(self, stop: threading.Event) -> Counter[str]:
        """Consume until `stop` is set; the batch in hand is always finished and committed."""
        self.subscribe()
        # After an error nothing of the batch was committed, and step() moved the consumer
        # back to its start: it is read again, and storing again what was stored is a no-op.
        run_until(stop, self.step)
        return self.counts

    def step(self, timeout_ms: int = 500) -> int:
        """One poll batch: store, dead-letter the rejected, commit. Returns its size."""
        records = poll(self.consumer, timeout_ms=timeout_ms, max_records=self.batch)
        if not records:
            return 0
        try:
            self._handle(records)
        except Exception:
            # Whatever stopped the batch (the broker, or the store away while PostgreSQL
            # restarts), the consumer is already past it: back to its start, or the next
            # poll reads on and the next commit skips it.
            self._rewind(records)
            raise
        return len(records)

    def _handle(self, records: Sequence[Any]) -> None:
        started = time.perf_counter()
        # A message over the size limit is taken as its beginning, like a line of `loket ontvang`.
        results = self.app.ontvang_batch([begrensd(r.value or b"") for r in records])
        dead = [
            Outgoing(self.topics.dlq, str(o.melding_id).encode(), dlq_value(r), dlq_headers(r, o))
            for r, o in zip(records, results, strict=True)
            if o.beslissing is not None and o.beslissing.outcome == "rejected"
        ]
        if dead:
            self.publisher.publish(dead)
        offsets = next_offsets(records)
        commit(self.consumer, offsets)
        self._next.update(offsets)
        self._report_lag()
        batch_counts = Counter(o.status for o in results)
        self.counts.update(batch_counts)
        self.dead_lettered += len(dead)
        log.info(
            "intake.batch",
            messages=len(records),
            new=batch_counts["nieuw"],
            duplicates=batch_counts["duplicaat"],
            rejected=batch_counts["afgewezen"],
            dlq=len(dead),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    def _rewind(self, records: Sequence[Any]) -> None:
        """Move back to the first record of the batch, so a later commit cannot skip it."""
        first: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            first[tp] = min(first.get(tp, r.offset), r.offset)
        for tp, offset in first.items():
            try:
                self.consumer.seek(tp, offset)
            except (KafkaError, AssertionError, ValueError):
                pass  # no longer assigned: the next owner starts at the committed offset

    def _report_lag(self) -> None:
        if self.lag is None:
            return
        for tp, position in self._next.items():
            try:
                highwater = self.consumer.highwater(tp)
            except KafkaError:
                continue  # no longer assigned to us
            if highwater is not None:
                self.lag.labels(self.topics.intake_group, tp.topic, str(tp.partition)).set(
                    max(highwater - position, 0)
                )
