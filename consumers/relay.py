"""`loket relay`: the outbox relay from the event store to the house topics.

The event store is the outbox. The relay follows its notification log like a
projection (projections/runner.py) and keeps its position in a tracking record in
the same store; a page's position is committed only after the broker acknowledged
every message of the page (`acks=all`). Killed at any point, it starts again from
the last committed position and re-sends at most one page: at-least-once, and a
re-sent message is identical to the first (same event id), so houses deduplicate.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import structlog
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.utils import get_topic
from kafka.errors import KafkaError

from consumers.clients import Publisher
from consumers.messages import MESSAGES, Stand, outgoing
from consumers.topics import Topics
from events.application import Loket
from events.melding import Melding
from projections.runner import catch_up

log = structlog.get_logger(__name__)

NAME = "outbox-relay"
RETRY_SECONDS = 1.0
IDLE_SECONDS = 0.2


class OutboxRelay:
    topics = (get_topic(Melding.MeldingOntvangen), *(get_topic(cls) for cls in MESSAGES))

    def __init__(self, app: Loket, recorder: TrackingRecorder, publisher: Publisher, topics: Topics):
        self.app = app
        self.recorder = recorder
        self.publisher = publisher
        self.kafka_topics = topics
        self.published = 0

    # The tracking table is shared with the projections: the relay's rows carry its own name.
    @staticmethod
    def _tracking_name(application_name: str) -> str:
        return f"{application_name}>{NAME}"

    def position(self, application_name: str) -> int:
        return self.recorder.max_tracking_id(self._tracking_name(application_name)) or 0

    def process_batch(self, domain_events: Sequence[Any], tracking: Tracking) -> None:
        sent = self.publisher.publish(outgoing(domain_events, self.kafka_topics, self._stand_before))
        self.recorder.insert_tracking(
            Tracking(self._tracking_name(tracking.application_name), tracking.notification_id)
        )
        self.published += sent

    def _stand_before(self, event: Any) -> Stand:
        melding = self.app.repository.get(event.originator_id, version=event.originator_version - 1)
        return Stand.of(melding)

    # Running --------------------------------------------------------------

    def step(self, page_size: int = 1_000) -> int:
        """Publish at most one window of the log after the position. Returns events handled."""
        position = self.position(self.app.name)
        return catch_up(self.app, self, page_size=page_size, stop=position + page_size)

    def caught_up(self) -> bool:
        return self.position(self.app.name) >= (self.app.recorder.max_notification_id() or 0)

    def run(self, stop: threading.Event, *, page_size: int = 1_000) -> int:
        """Follow the log until `stop` is set; a page in hand is finished first."""
        while not stop.is_set():
            try:
                self.step(page_size)
            except KafkaError as exc:
                # Nothing of the page was tracked: it is published again once the broker answers.
                log.warning("kafka.retry", error=type(exc).__name__, detail=str(exc)[:200])
                stop.wait(RETRY_SECONDS)
                continue
            if self.caught_up():
                stop.wait(IDLE_SECONDS)
        return self.published

    def replay(self, start: int) -> int:
        """Publish again everything after notification `start` up to the tracked position,
        without moving it: for houses whose broker lost messages it had acknowledged."""
        tracked = self.position(self.app.name)
        again = _Replay(self, start)
        catch_up(self.app, again, stop=tracked)
        return again.published


class _Replay:
    """The relay's publishing without its tracking."""

    def __init__(self, relay: OutboxRelay, start: int):
        self.relay = relay
        self.topics = relay.topics
        self.at = start
        self.published = 0

    def position(self, application_name: str) -> int:
        return self.at

    def process_batch(self, domain_events: Sequence[Any], tracking: Tracking) -> None:
        relay = self.relay
        self.published += relay.publisher.publish(
            outgoing(domain_events, relay.kafka_topics, relay._stand_before)
        )
        self.at = tracking.notification_id
