"""Where projections keep their rows and their tracking positions.

Each projection has its own tables and its own position in the notification
log (a tracking record named after it). All projections of a store live in one
database, so catching up writes a page's rows for every projection and their
positions in a single transaction: a process killed at any point leaves every
projection exactly at a page boundary, and restarting never counts an event twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from itertools import groupby
from operator import itemgetter
from typing import Any, ClassVar, NamedTuple, Protocol

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic

from events.bibliotheek import schrijf_tracking

# SQL and its parameters: named (a dict) or positional (a tuple).
Statement = tuple[str, dict[str, Any] | tuple[Any, ...]]
# What a projection makes of one event: statements (a Projection) or row changes (a RowProjection).
Handler = Callable[[Any], Iterable[Any]]


class Collector(Protocol):
    """Collects the statements of one page of events, event by event, as they are read."""

    def add(self, event: Any) -> None: ...

    def statements(self) -> list[Statement]: ...


@cache
def json_list(values: tuple[str, ...]) -> str:
    """A tuple of short strings as a JSON list: rules, labels. Few distinct ones recur on
    every event, so each is encoded once."""
    return json.dumps(list(values))


class Projection:
    """A read model: DDL for its tables and, per event class, the statements it runs."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    create: ClassVar[tuple[str, ...]]
    handlers: ClassVar[dict[type, Handler]]
    # Raised when what the handlers make of the events changes: a store whose rows were written
    # by another version drops them, and catch-up builds them again from the events.
    version: ClassVar[int] = 1

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        return tuple(get_topic(event_class) for event_class in cls.handlers)

    @classmethod
    def page(cls) -> Collector:
        return Page(cls.handlers)

    @classmethod
    def statements(cls, domain_events: Iterable[Any]) -> list[Statement]:
        page = cls.page()
        for event in domain_events:
            page.add(event)
        return page.statements()

    @classmethod
    def tracking_name(cls, application_name: str) -> str:
        return f"{cls.name}@{application_name}"


class Page:
    """Every handler's statements, in the order of the events."""

    __slots__ = ("handlers", "out")

    def __init__(self, handlers: dict[type, Handler]):
        self.handlers = handlers
        self.out: list[Statement] = []

    def add(self, event: Any) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            self.out.extend(handler(event))

    def statements(self) -> list[Statement]:
        return self.out


# Named tuples, not frozen dataclasses: catch-up makes one per event, and a frozen
# dataclass pays a Python-level __setattr__ per field to be built.
class Insert(NamedTuple):
    """A new row: its key and the columns its first event sets."""

    key: str
    values: dict[str, Any]


class Update(NamedTuple):
    """Columns of an existing row set to new values."""

    key: str
    values: dict[str, Any]


class Recompute(NamedTuple):
    """Columns of an existing row set by SQL expressions over the row as stored (e.g. a label added
    to its JSON list): for an event that changes what only the row knows."""

    key: str
    expressions: dict[str, str]


class RowProjection(Projection):
    """One row per key in one table; an event inserts a row or sets some of its columns.

    Handlers return `Insert`, `Update` and `Recompute` changes instead of SQL. Within a page, a
    row inserted in that page takes its later updates before it is written: a melding that
    is received and routed in the same page becomes one INSERT instead of an INSERT and
    an UPDATE, and a page's inserts run together. Each row is inserted by exactly one
    event (a melding's first), so the page's result equals running every change in turn.
    A `Recompute` runs as SQL on the row as written: a row inserted in the page is written
    with its changes up to then, and its later changes in the page follow as SQL, in order.
    Rows go to SQLite as positional parameters, in the order of `columns`; a column no
    change sets gets its value from `defaults` (else NULL).
    """

    table: ClassVar[str]
    key: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]  # every column, the key first
    defaults: ClassVar[dict[str, Any]] = {}

    @classmethod
    def page(cls) -> Collector:
        return RowPage(cls)

    @classmethod
    @cache
    def blank(cls) -> dict[str, Any]:
        return {c: cls.defaults.get(c) for c in cls.columns}

    @classmethod
    @cache
    def insert(cls) -> str:
        return (f"INSERT INTO {cls.table} ({', '.join(cls.columns)}) VALUES ({', '.join('?' * len(cls.columns))}) "
                f"ON CONFLICT ({cls.key}) DO NOTHING")

    @classmethod
    @cache
    def update(cls, columns: tuple[str, ...]) -> str:
        return f"UPDATE {cls.table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {cls.key} = ?"

    @classmethod
    @cache
    def recompute(cls, expressions: tuple[tuple[str, str], ...]) -> str:
        return f"UPDATE {cls.table} SET {', '.join(f'{c} = {e}' for c, e in expressions)} WHERE {cls.key} = ?"


class RowPage:
    """A page of a RowProjection: the rows it inserts, folded, then its updates in order."""

    __slots__ = ("projection", "handlers", "key", "blank", "new", "updates", "in_sql")

    def __init__(self, projection: type[RowProjection]):
        self.projection = projection
        self.handlers = projection.handlers
        self.key = projection.key
        self.blank = projection.blank()
        self.new: dict[str, dict[str, Any]] = {}
        self.updates: list[Statement] = []
        self.in_sql: set[str] = set()  # rows of `new` whose later changes run as SQL (after a Recompute)

    def add(self, event: Any) -> None:
        handler = self.handlers.get(type(event))
        if handler is None:
            return
        new = self.new
        for change in handler(event):
            row = new.get(change.key)
            kind = type(change)
            if kind is Insert:
                if row is None:
                    row = new[change.key] = self.blank.copy()
                    row[self.key] = change.key
                    row.update(change.values)
            elif kind is Update:
                if row is not None and change.key not in self.in_sql:
                    row.update(change.values)
                else:
                    sql = self.projection.update(tuple(change.values))
                    self.updates.append((sql, (*change.values.values(), change.key)))
            else:
                if row is not None:
                    self.in_sql.add(change.key)
                sql = self.projection.recompute(tuple(change.expressions.items()))
                self.updates.append((sql, (change.key,)))

    def statements(self) -> list[Statement]:
        insert = self.projection.insert()
        return [(insert, tuple(row.values())) for row in self.new.values()] + self.updates


class ProjectionStore(SQLiteTrackingRecorder):
    """The projections' tables and tracking records, in an SQLite database."""

    projections: ClassVar[tuple[type[Projection], ...]] = ()

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.create_table_statements.append(
            "CREATE TABLE IF NOT EXISTS projection_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        for projection in self.projections:
            self.create_table_statements.extend(projection.create)

    def create_table(self) -> None:
        """Create what is missing. A projection whose rows were written by another version of it
        (stores from before versions were kept count as version 1), or a row projection whose table
        lacks a column it now has, is dropped with its position: catch-up rebuilds it from the events."""
        super().create_table()
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT name, version FROM projection_versions")
            written = {row[0]: row[1] for row in c.fetchall()}
            for projection in self.projections:
                if written.get(projection.name, 1) != projection.version or self._lacks_a_column(c, projection):
                    for table in projection.tables:
                        c.execute(f"DROP TABLE IF EXISTS {table}")
                    c.execute("DELETE FROM tracking WHERE application_name LIKE ?", (f"{projection.name}@%",))
                    for statement in projection.create:
                        c.execute(statement)
                if written.get(projection.name) != projection.version:
                    # Only then: a start that writes nothing stays a read, which a busy store never
                    # refuses (a read that turns into a write is refused at once, "database is
                    # locked", when another process committed in between).
                    c.execute("INSERT INTO projection_versions (name, version) VALUES (?, ?) "
                              "ON CONFLICT (name) DO UPDATE SET version = excluded.version",
                              (projection.name, projection.version))

    @staticmethod
    def _lacks_a_column(c: Any, projection: type[Projection]) -> bool:
        if not issubclass(projection, RowProjection):
            return False
        c.execute(f"PRAGMA table_info({projection.table})")
        return not set(projection.columns) <= {row[1] for row in c.fetchall()}

    def position(self, projection: type[Projection], application_name: str) -> int:
        return self.max_tracking_id(projection.tracking_name(application_name)) or 0

    def positions(self, application_name: str) -> dict[str, int]:
        """Where each projection stands in the application's log, by name (for `events.follower.lag`)."""
        return {p.name: self.position(p, application_name) for p in self.projections}

    def apply(self, writes: Sequence[tuple[Sequence[Statement], Tracking]]) -> None:
        """Run every projection's statements and record every position, in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            for statements, tracking in writes:
                # Consecutive statements with the same SQL run as one executemany: same
                # order, fewer round trips (an audit page is one insert of many rows).
                for sql, run in groupby(statements, key=itemgetter(0)):
                    c.executemany(sql, [params for _, params in run])
                schrijf_tracking(self, c, tracking)

    def reset(self, projection: type[Projection], application_name: str) -> None:
        """Forget a projection: its rows and its position, so it is rebuilt from zero."""
        with self.datastore.transaction(commit=True) as c:
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute(
                "DELETE FROM tracking WHERE application_name = ?",
                (projection.tracking_name(application_name),),
            )
            for statement in projection.create:
                c.execute(statement)

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return [dict(row) for row in c.fetchall()]
