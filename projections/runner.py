"""Catching projections up with the application's notification log.

The log is read once, in large pages (events/follower.py), for all projections of a store,
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

from events.follower import PAGE_SIZE, Follower
from projections.store import Projection, ProjectionStore


def catch_up(
    app: Application[Any],
    store: ProjectionStore,
    projections: Sequence[type[Projection]] | None = None,
    *,
    page_size: int = PAGE_SIZE,
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
    follower = Follower(app, {t for p in projections for t in p.topics()}, until=until)
    last = follower.last()
    if stop is not None:
        last = min(last, stop)
    position = min(positions.values(), default=last)
    read = 0
    while position < last:
        page = follower.page(position, last, size=page_size)
        behind = [(p, positions[p], p.page()) for p in projections if positions[p] < page.end]
        with _no_cycle_collection():
            # Each event is handed to every projection that has not seen it, then let go.
            for at, event in page:
                for _, seen_up_to, rows in behind:
                    if at > seen_up_to:
                        rows.add(event, at)
            try:
                store.apply([(rows.statements(), Tracking(p.tracking_name(app.name), page.end))
                             for p, _, rows in behind])
            except IntegrityError:
                # Another process (a second `loket ontvang`, the worker) wrote this page first:
                # nothing of ours was written. Step aside: go on from where the projections are now.
                now = {p: store.position(p, app.name) for p in projections}
                if now == positions:
                    raise  # nobody else moved them: not a race, a defect
                positions, position = now, min(now.values())
                continue
        for p, _, _ in behind:
            positions[p] = page.end
        position = page.end
        read += len(page)
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
