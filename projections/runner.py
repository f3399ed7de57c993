"""Catching a projection up with the application's notification log.

The eventsourcing library's ProjectionRunner processes one event per
transaction and needs a recorder with subscriptions (SQLite has none). Catch-up
here reads the notification log in large pages and lets the projection write
each page and its tracking position in one transaction, so a projection killed
at any point restarts from its last committed position and counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking


class BatchProjection(Protocol):
    topics: tuple[str, ...]

    def position(self, application_name: str) -> int: ...

    def process_batch(self, domain_events: Sequence[Any], tracking: Tracking) -> None: ...


def catch_up(
    app: Application[Any],
    projection: BatchProjection,
    *,
    page_size: int = 2_000,
    stop: int | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> int:
    """Process every notification after the projection's position (up to `stop`).

    Returns the number of events processed. `on_page(position, last_id)` reports progress.
    """
    position = projection.position(app.name)
    last = app.recorder.max_notification_id() or 0
    if stop is not None:
        last = min(last, stop)
    processed = 0
    while position < last:
        notifications = app.recorder.select_notifications(
            start=position,
            limit=page_size,
            stop=last,
            topics=projection.topics,
            inclusive_of_start=False,
        )
        if not notifications:
            # Nothing of interest up to `last`: move the position so the next call starts there.
            projection.process_batch([], Tracking(app.name, last))
            break
        events = [app.mapper.to_domain_event(n) for n in notifications]
        position = notifications[-1].id
        projection.process_batch(events, Tracking(app.name, position))
        processed += len(events)
        if on_page is not None:
            on_page(position, last)
    return processed
