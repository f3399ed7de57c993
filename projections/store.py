"""Where projections keep their rows and their tracking positions.

Each projection has its own tables and its own position in the notification
log (a tracking record named after it). All projections of a store live in one
database, so catching up writes a page's rows for every projection and their
positions in a single transaction: a process killed at any point leaves every
projection exactly at a page boundary, and restarting never counts an event twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from operator import itemgetter
from typing import Any, ClassVar

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic

Statement = tuple[str, dict[str, Any]]
Handler = Callable[[Any], Iterable[Statement]]


def _not_an_insert(statement: Statement) -> bool:
    return not statement[0].startswith("INSERT")


class Projection:
    """A read model: DDL for its tables and, per event class, the statements it runs."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    create: ClassVar[tuple[str, ...]]
    handlers: ClassVar[dict[type, Handler]]
    # True where the projection's INSERTs only create rows (ON CONFLICT DO NOTHING) and none of
    # its statements deletes one: then a page's inserts may run before its updates, in one
    # executemany, with the same result.
    inserts_first: ClassVar[bool] = False

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        return tuple(get_topic(event_class) for event_class in cls.handlers)

    @classmethod
    def statements(cls, domain_events: Iterable[Any]) -> list[Statement]:
        out: list[Statement] = []
        for event in domain_events:
            handler = cls.handlers.get(type(event))
            if handler is not None:
                out.extend(handler(event))
        if cls.inserts_first:
            out.sort(key=_not_an_insert)  # stable: each kind keeps its order
        return out

    @classmethod
    def tracking_name(cls, application_name: str) -> str:
        return f"{cls.name}@{application_name}"


@dataclass(frozen=True, slots=True)
class Insert:
    """A new row: its key and the columns its first event sets."""

    key: str
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Update:
    """Columns of an existing row set to new values."""

    key: str
    values: dict[str, Any]


class RowProjection(Projection):
    """One row per key in one table; an event inserts a row or sets some of its columns.

    Handlers return `Insert` and `Update` changes instead of SQL. Within a page, a row
    inserted in that page takes its later changes before it is written: a melding that
    is received and routed in the same page becomes one INSERT instead of an INSERT and
    an UPDATE, and a page's inserts run together. Each row is inserted by exactly one
    event (a melding's first), so the page's result equals running every change in turn.
    """

    table: ClassVar[str]
    key: ClassVar[str]

    @classmethod
    def statements(cls, domain_events: Iterable[Any]) -> list[Statement]:
        new: dict[str, dict[str, Any]] = {}
        updates: list[Statement] = []
        for event in domain_events:
            handler = cls.handlers.get(type(event))
            if handler is None:
                continue
            for change in handler(event):
                row = new.get(change.key)
                if isinstance(change, Insert):
                    if row is None:
                        new[change.key] = {cls.key: change.key, **change.values}
                elif row is not None:
                    row.update(change.values)
                else:
                    updates.append((cls._update(tuple(change.values)), {cls.key: change.key, **change.values}))
        return [(cls._insert(tuple(row)), row) for row in new.values()] + updates

    @classmethod
    @cache
    def _insert(cls, columns: tuple[str, ...]) -> str:
        return (f"INSERT INTO {cls.table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
                f"ON CONFLICT ({cls.key}) DO NOTHING")

    @classmethod
    @cache
    def _update(cls, columns: tuple[str, ...]) -> str:
        return f"UPDATE {cls.table} SET {', '.join(f'{c} = :{c}' for c in columns)} WHERE {cls.key} = :{cls.key}"


class ProjectionStore(SQLiteTrackingRecorder):
    """The projections' tables and tracking records, in an SQLite database."""

    projections: ClassVar[tuple[type[Projection], ...]] = ()

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        for projection in self.projections:
            self.create_table_statements.extend(projection.create)

    def position(self, projection: type[Projection], application_name: str) -> int:
        return self.max_tracking_id(projection.tracking_name(application_name)) or 0

    def apply(self, writes: Sequence[tuple[Sequence[Statement], Tracking]]) -> None:
        """Run every projection's statements and record every position, in one transaction."""
        with self.datastore.transaction(commit=True) as c:
            for statements, tracking in writes:
                # Consecutive statements with the same SQL run as one executemany: same
                # order, fewer round trips (an audit page is one insert of many rows).
                for sql, run in groupby(statements, key=itemgetter(0)):
                    c.executemany(sql, [params for _, params in run])
                self._insert_tracking(c, tracking)

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
