"""What the loket uses of the eventsourcing library beyond its public interface, in one place.

Intake and catch-up skip some of the library's general-purpose steps where they cost time,
and the event store's recorders hook into the library's transactions (the hash chain, the
statement cache). Calls into the library's internals go through the functions here; the
subclasses that override its hooks (events/hashchain.py, events/datastore.py) are listed in
`INTERN` with the rest. tests/test_bibliotheek.py checks every entry against the installed
library, so an upgrade that renames, removes or changes one of them fails that test by name
before anything else does; pyproject.toml pins the library to the 9.5 series it was written for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate, CanInitAggregate, DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import (
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteTrackingRecorder,
)

A = TypeVar("A", bound=BaseAggregate[UUID])


def sla_op(app: Application[UUID], events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> None:
    """`Application.save` for events already taken off their aggregates, in one transaction;
    `kwargs` go to the recorder's `insert_events`, as `save`'s do (events/recorders.py).

    `save` first asks of every object whether it is an event or an aggregate, through
    runtime-checkable protocols; on Python 3.11 each such `isinstance` walks the protocol's
    attributes, which cost a tenth of intake's time. Here every object is an event, so they
    go straight to the recording and notification steps `save` takes after that.
    """
    processing: ProcessingEvent[UUID] = ProcessingEvent()
    processing.events.extend(events)
    processing.saved_kwargs.update(kwargs)
    recordings = app._record(processing)
    app._take_snapshots(processing)
    app._notify(recordings)
    app.notify(processing.events)


def nieuw_aggregaat(cls: type[A], event_class: type[CanInitAggregate[UUID]], aggregate_id: UUID, **velden: Any) -> A:
    """An aggregate from its created event, with the id the caller computed, without the
    decorators matching every argument against the method's signature (intake builds
    thousands a batch). `trigger_event`, public, does the same for its later events."""
    return cls._create(event_class, id=aggregate_id, **velden)


def schrijf_tracking(recorder: SQLiteTrackingRecorder | PostgresTrackingRecorder, cursor: Any,
                     tracking: Tracking) -> None:
    """A tracking record inside a transaction of the caller's (an SQLite or a psycopg cursor):
    a projection's rows and its position commit together (projections/store.py)."""
    recorder._insert_tracking(cursor, tracking)


@dataclass(frozen=True, slots=True)
class Intern:
    """A method or attribute of the library that is not its public interface, and who relies on it.

    `parameters` are a method's parameter names as the loket calls or overrides it; None for
    an attribute that an instance has (set in its `__init__`)."""

    owner: type
    name: str
    parameters: tuple[str, ...] | None
    door: str


INTERN: tuple[Intern, ...] = (
    Intern(ProcessingEvent, "events", None, "sla_op"),
    Intern(ProcessingEvent, "saved_kwargs", None, "sla_op"),
    Intern(Application, "_record", ("self", "processing_event"), "sla_op"),
    Intern(Application, "_take_snapshots", ("self", "processing_event"), "sla_op"),
    Intern(Application, "_notify", ("self", "recordings"), "sla_op"),
    Intern(BaseAggregate, "_create", ("event_class", "id", "kwargs"), "nieuw_aggregaat"),
    Intern(SQLiteTrackingRecorder, "_insert_tracking", ("self", "c", "tracking"), "schrijf_tracking"),
    Intern(PostgresTrackingRecorder, "_insert_tracking", ("self", "curs", "tracking"), "schrijf_tracking"),
    Intern(SQLiteApplicationRecorder, "_insert_events", ("self", "c", "stored_events", "_"),
           "events/hashchain.py overrides it: the chain is kept in the insert's transaction"),
    Intern(PostgresApplicationRecorder, "_fetch_ids_after_insert_events", ("self", "curs", "stored_events", "_"),
           "events/hashchain.py overrides it: the chain is kept in the insert's transaction"),
    Intern(PostgresApplicationRecorder, "sql_create_statements", None, "events/hashchain.py adds its tables"),
    Intern(PostgresDatastore, "enable_db_functions", None, "events/hashchain.py refuses to insert around it"),
    Intern(SQLiteConnectionPool, "_create_connection", ("self",),
           "events/datastore.py overrides it: connections with a statement cache"),
    Intern(SQLiteConnection, "__init__", ("self", "sqlite_conn", "max_age"), "events/datastore.py"),
    Intern(SQLiteConnectionPool, "is_sqlite_memory_mode", None, "events/datastore.py"),
    Intern(SQLiteConnectionPool, "is_journal_mode_wal", None, "events/datastore.py"),
    Intern(SQLiteConnectionPool, "journal_mode_was_changed_to_wal", None, "events/datastore.py"),
    Intern(SQLiteConnectionPool, "max_age", None, "events/datastore.py"),
    Intern(SQLiteDatastore, "pool", None, "events/datastore.py replaces the library's pool"),
)

