"""Catching projections up with the application's notification log.

The eventsourcing library's ProjectionRunner processes one event per
transaction and needs a recorder with subscriptions (SQLite has none). Here the
notification log is read once, in large pages, for all projections of a store,
and each page is written with every projection's position in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Tracking

from projections.store import Projection, ProjectionStore


def catch_up(
    app: Application[Any],
    store: ProjectionStore,
    projections: Sequence[type[Projection]] | None = None,
    *,
    page_size: int = 2_000,
    stop: int | None = None,
    until: datetime | None = None,
    on_page: Callable[[int, int], None] | None = None,
) -> int:
    """Process every notification after each projection's position (up to `stop`).

    `until` keeps only events recorded at or before that moment (time travel into
    a fresh store). Returns the number of notifications read; `on_page(position,
    last)` reports progress.
    """
    projections = tuple(projections or store.projections)
    positions = {p: store.position(p, app.name) for p in projections}
    last = app.recorder.max_notification_id() or 0
    if stop is not None:
        last = min(last, stop)
    position = min(positions.values(), default=last)
    topics = tuple(sorted({t for p in projections for t in p.topics()}))
    read = 0
    while position < last:
        notifications = app.recorder.select_notifications(
            start=position, limit=page_size, stop=last, topics=topics, inclusive_of_start=False
        )
        # No more events of interest up to `last`: positions move there all the same.
        page_end = notifications[-1].id if notifications else last
        events = [(n.id, app.mapper.to_domain_event(n)) for n in notifications]
        writes = []
        for p in projections:
            if positions[p] >= page_end:
                continue
            mine = (
                e for i, e in events if i > positions[p] and (until is None or e.timestamp <= until)
            )
            writes.append((p.statements(mine), Tracking(p.tracking_name(app.name), page_end)))
            positions[p] = page_end
        store.apply(writes)
        position = page_end
        read += len(events)
        if on_page is not None:
            on_page(position, last)
    return read
