"""`loket relay`: the outbox relay from the event store to the house topics.

The event store is the outbox. The relay follows its notification log in pages, as
the projections do (events/follower.py), and keeps its position in a tracking
record in the same store; but where a projection writes a page's rows and position in
one transaction, the relay moves its position only after the broker acknowledged
every message of the page (`acks=all`). Killed at any point, it starts again from
the last committed position and re-sends at most one page: at-least-once, and a
re-sent message is identical to the first (same event id), so houses deduplicate.
"""

from __future__ import annotations

import threading
from typing import Any

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.utils import get_topic

from consumers.clients import Publisher, run_until
from consumers.messages import MESSAGES, RelayMelding, outgoing
from consumers.topics import Topics
from events.application import Loket
from events.follower import PAGE_SIZE, Follower, lag
from events.melding import Melding

NAME = "outbox-relay"
# Caught up, the relay looks for new events again after a pause that starts short and doubles
# up to IDLE_SECONDS: under load a page goes out soon after its events are stored, and an idle
# relay asks the store no more than five times a second.
BUSY_SECONDS = 0.01
IDLE_SECONDS = 0.2


class OutboxRelay:
    """Publishes the log's decisions and lifecycle changes, page by page, after its tracked position."""

    topics = (get_topic(Melding.MeldingOntvangen), *(get_topic(cls) for cls in MESSAGES))

    def __init__(self, app: Loket, recorder: TrackingRecorder, publisher: Publisher, topics: Topics):
        self.app = app
        self.recorder = recorder
        self.publisher = publisher
        self.kafka_topics = topics
        self.published = 0
        self.follower = Follower(app, self.topics)
        # The tracking table is shared with the projections; like theirs, the row carries our name.
        self.tracking_name = f"{NAME}@{app.name}"

    def position(self) -> int:
        return self.recorder.max_tracking_id(self.tracking_name) or 0

    def caught_up(self) -> bool:
        return lag(self.app, {NAME: self.position()})[NAME] == 0

    def step(self, page_size: int = PAGE_SIZE) -> int:
        """Publish one page after the position, then move the position. Returns events read."""
        position = self.position()
        last = self.follower.last()
        if position >= last:
            return 0
        page = self.follower.page(position, last, size=page_size)
        self.published += self.publisher.publish(outgoing(page.events(), self.kafka_topics, self._melding_before))
        self.recorder.insert_tracking(Tracking(self.tracking_name, page.end))  # only after the broker's ack
        return len(page)

    def run(self, stop: threading.Event, *, page_size: int = PAGE_SIZE) -> int:
        """Follow the log until `stop` is set; a page in hand is finished first."""

        pause = BUSY_SECONDS

        def step_or_rest() -> None:
            nonlocal pause
            # After a Kafka error nothing of the page was tracked: it is published again.
            if self.step(page_size):
                pause = BUSY_SECONDS  # more may have come meanwhile: look again at once
                return
            stop.wait(pause)
            pause = min(pause * 2, IDLE_SECONDS)

        run_until(stop, step_or_rest)
        return self.published

    def replay(self, start: int, *, page_size: int = PAGE_SIZE) -> int:
        """Publish again everything after notification `start` up to the tracked position,
        without moving it: for houses whose broker lost messages it had acknowledged."""
        sent = 0
        for page in self.follower.pages(start, self.position(), size=page_size):
            sent += self.publisher.publish(outgoing(page.events(), self.kafka_topics, self._melding_before))
        return sent

    def _melding_before(self, event: Any) -> RelayMelding:
        melding: Melding = self.app.repository.get(event.originator_id, version=event.originator_version - 1)
        return RelayMelding.of(melding)
