"""Catching projections up with the application's notification log.

The log is read once, in large pages (events/follower.py), for all projections of a store,
and each page is written with every projection's position in one transaction. Where the
database does its work in a process of its own (PostgreSQL), a page is written while the
next one is read and built.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, Tracking

from events.follower import PAGE_SIZE, Follower, Page
from projections.store import Collector, Projection, ProjectionStore, Statements


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
    writer = _PageWriter()

    def build() -> tuple[Page, list[tuple[type[Projection], int, Collector]], list[tuple[Statements, Tracking]]]:
        """The next page read, and what each projection that has not seen all of it makes of it."""
        page = follower.page(position, last, size=page_size)
        behind = [(p, positions[p], p.page()) for p in projections if positions[p] < page.end]
        with _no_cycle_collection():
            # Each event is handed to every projection that has not seen it, then let go.
            for at, event in page:
                for _, seen_up_to, rows in behind:
                    if at > seen_up_to:
                        rows.add(event, at)
            writes = [(rows.statements(), Tracking(p.tracking_name(app.name), page.end)) for p, _, rows in behind]
        return page, behind, writes

    # Where the page before is written on a thread of its own, the next one is read and built
    # meanwhile, as if that one was written already (its positions taken as moved): the database's
    # work on the one overlaps the reading, decoding and building of the other. Each page is still
    # one transaction, written in order: the next page's write starts only once the one before it
    # is done. A page written on the caller's thread is done before anything more is read.
    geschreven: tuple[dict[type[Projection], int], int, int] | None = None  # positions before, read, end
    try:
        while True:
            built = build() if writer.thread is not None and position < last else None
            if geschreven is not None:
                try:
                    writer.wacht()
                except IntegrityError:
                    # Another process (a second `loket ontvang`, the worker) wrote that page first:
                    # nothing of ours was written, and a page built on it is let go. Step aside: go
                    # on from where the projections are now.
                    now = {p: store.position(p, app.name) for p in projections}
                    if now == geschreven[0]:
                        raise  # nobody else moved them: not a race, a defect
                    positions, position, geschreven = now, min(now.values()), None
                    continue
                read += geschreven[1]
                if on_page is not None:
                    on_page(geschreven[2], last)
                geschreven = None
            if position >= last:
                break
            page, behind, writes = built or build()
            # On a thread of its own where the database does the work in a process of its own
            # (PostgreSQL) and there is a next page to read meanwhile; else here and now.
            writer.schrijf(store.apply, writes, naast=store.dialect.schrijft_naast and page.end < last)
            geschreven = (dict(positions), len(page), page.end)
            for p, _, _ in behind:
                positions[p] = page.end
            position = page.end
    finally:
        writer.klaar()
    return read


class _PageWriter:
    """Writes one page at a time, on a thread of its own or on the caller's; `wacht` waits for it and
    raises what the write raised."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.fout: BaseException | None = None

    def schrijf(self, apply: Callable[[Any], None], writes: Any, *, naast: bool) -> None:
        def run() -> None:
            try:
                apply(writes)
            except BaseException as e:  # noqa: BLE001 - raised again by `wacht`, on the caller's thread
                self.fout = e

        if naast:
            self.thread = threading.Thread(target=run, name="projecties-schrijven")
            self.thread.start()
        else:
            run()

    def klaar(self) -> None:
        """The write under way is done (whatever came of it)."""
        if self.thread is not None:
            self.thread.join()
            self.thread = None

    def wacht(self) -> None:
        self.klaar()
        fout, self.fout = self.fout, None
        if fout is not None:
            raise fout


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
