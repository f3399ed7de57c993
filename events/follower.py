"""Following the notification log: how projections, the outbox relay and what-if read it.

A reader stands at a position in the log (a tracking record, or zero) and reads what came
after it, in pages; at the end of each page it records where it stands, with what it made of
the page (the projections' rows, in their transaction) or after it (the relay, once the broker
acknowledged). `Follower` gives those pages: the notifications after one position up to
another, of the topics the reader wants, each event decoded once, as the reader comes to it (a
page's events are never all held at once). `lag` says how far behind readers are.

The library's own followers fit less well here: `ProjectionRunner` and its process applications
need a recorder with subscriptions, which SQLite has not, and take one event per transaction;
the notification log (`Application.notification_log`) hands out sections of ten. The pages
come from the recorder's `select_notifications`, the query under both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

PAGE_SIZE = 2_000


@dataclass(frozen=True, slots=True)
class Page:
    """Notifications of one page, and the position a reader that has processed them stands at."""

    notifications: Sequence[Notification]
    # The last notification read; with none of the reader's topics left before the end asked
    # for, that end: the reader moves there all the same.
    end: int
    decode: Callable[[Notification], Any]
    until: datetime | None = None

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        """(position, event) of each notification, decoded now; events recorded after `until` left out."""
        decode, until = self.decode, self.until
        for notification in self.notifications:
            event = decode(notification)
            if until is None or event.timestamp <= until:
                yield notification.id, event

    def __len__(self) -> int:
        """Notifications read (events after `until` included)."""
        return len(self.notifications)

    def events(self) -> list[Any]:
        return [event for _, event in self]


class Follower:
    """Pages of an application's notification log, of some topics (all when none are given),
    keeping only events recorded at or before `until` (time travel) when it is given."""

    def __init__(self, app: Application[Any], topics: Iterable[str] = (), *, until: datetime | None = None):
        self.app = app
        self.topics = tuple(sorted(set(topics)))
        self.until = until

    def last(self) -> int:
        """The position of the newest notification (0 for an empty log)."""
        return self.app.recorder.max_notification_id() or 0

    def page(self, after: int, upto: int, *, size: int = PAGE_SIZE) -> Page:
        """At most `size` notifications after position `after`, up to and including `upto`."""
        notifications = self.app.recorder.select_notifications(
            start=after, limit=size, stop=upto, topics=self.topics, inclusive_of_start=False
        )
        end = notifications[-1].id if notifications else upto
        return Page(notifications, end, self.app.mapper.to_domain_event, self.until)

    def pages(self, after: int = 0, upto: int | None = None, *, size: int = PAGE_SIZE) -> Iterator[Page]:
        """Every page after `after` up to `upto` (the newest notification when this starts)."""
        upto = self.last() if upto is None else upto
        while after < upto:
            page = self.page(after, upto, size=size)
            yield page
            after = page.end


def lag(app: Application[Any], positions: Mapping[str, int]) -> dict[str, int]:
    """Per reader (by name): notifications in the log after its position, which it has still to read."""
    last = app.recorder.max_notification_id() or 0
    return {name: max(0, last - position) for name, position in positions.items()}
