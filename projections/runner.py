"""Catching projections up with the application's notification log.

The eventsourcing library's ProjectionRunner processes one event per
transaction and needs a recorder with subscriptions (SQLite has none). Here the
notification log is read once, in large pages, for all projections of a store,
and each page is written with every projection's position in one transaction.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

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
        behind = [(p, positions[p], p.page()) for p in projections if positions[p] < page_end]
        with _no_cycle_collection():
            # Each event is decoded once and handed to every projection that has not seen it,
            # then let go: a page's events are never all held at once.
            decode = app.mapper.to_domain_event
            for n in notifications:
                event = decode(n)
                if until is not None and event.timestamp > until:
                    continue
                for _, seen_up_to, page in behind:
                    if n.id > seen_up_to:
                        page.add(event)
            try:
                store.apply([(page.statements(), Tracking(p.tracking_name(app.name), page_end))
                             for p, _, page in behind])
            except IntegrityError:
                # Another process (a second `loket ontvang`, the worker) wrote this page first:
                # nothing of ours was written. Step aside: go on from where the projections are now.
                now = {p: store.position(p, app.name) for p in projections}
                if now == positions:
                    raise  # nobody else moved them: not a race, a defect
                positions, position = now, min(now.values())
                continue
        for p, _, _ in behind:
            positions[p] = page_end
        position = page_end
        read += len(notifications)
        if on_page is not None:
            on_page(position, last)
    return read


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector paused for one page.

    A page allocates hundreds of thousands of small objects (decoded events, rows,
    parameters) that live until the page is written, so the collector would walk
    them again and again, and promote them, for nothing: they hold no reference
    cycles and are freed by reference counting the moment the page is done. Paused
    only where it was running, and for one page at a time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
