"""Where projections keep their rows and their tracking positions.

Each projection has its own tables and its own position in the notification
log (a tracking record named after it). All projections of a store live in one
database, so catching up writes a page's rows for every projection and their
positions in a single transaction: a process killed at any point leaves every
projection exactly at a page boundary, and restarting never counts an event twice.
That database is an SQLite file or a PostgreSQL schema (`ProjectionStore`); the SQL is
written once for both, and what they say differently is in `Dialect`.
"""

from __future__ import annotations

import copy
import json
import re
import weakref
import zlib
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from functools import cache, lru_cache
from itertools import groupby
from operator import itemgetter
from typing import Any, ClassVar, NamedTuple, Protocol

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic

from events.bibliotheek import schrijf_tracking

# SQL and its parameters: named (a dict) or positional (a tuple).
Statement = tuple[str, dict[str, Any] | tuple[Any, ...]]
# What a projection makes of one event: statements (a Projection) or row changes (a RowProjection).
Handler = Callable[[Any], Iterable[Any]]
# Reads the store within a page's transaction: SQL with `?` parameters, rows by column name.
Lezer = Callable[[str, Sequence[Any]], list[Any]]
# What a page writes: its statements, or a function that reads what the page builds on first (in the
# transaction that writes it) and then gives them (projections/tellingen.py).
Statements = Sequence[Statement] | Callable[[Lezer], Sequence[Statement]]


class Collector(Protocol):
    """Collects the statements of one page of events, event by event, as they are read, each
    with its position in the notification log (what projections that keep history record)."""

    def add(self, event: Any, at: int = 0) -> None: ...

    def statements(self) -> Statements: ...


@cache
def json_list(values: tuple[str, ...]) -> str:
    """A tuple of short strings as a JSON list: rules, labels. Few distinct ones recur on
    every event, so each is encoded once."""
    return json.dumps(list(values))


# History ---------------------------------------------------------------------------
#
# A projection that keeps history keeps every version of each of its rows, with the positions in
# the notification log from which (`van`) and until which (`tot`, exclusive) it held; a version that
# holds still has `tot = TOP`. "As of position P" is then the versions with van <= P < tot. To find
# those at a cost that does not grow with the length of the history, each version also carries
# the node (`knoop`) of a relational interval tree (Kriegel, Pötke and Seidl, "Managing intervals
# efficiently in object-relational databases", VLDB 2000) over the positions 1 .. TOP - 1: the
# number in [van, tot - 1] with the most trailing zero bits. The versions holding at P are those
# registered at the at most 40 nodes on the path from the root to P, and each such node is one
# index range: below P, the versions with tot > P; at or above P, those with van <= P. Plain SQL
# (IN lists, ranges, shifts), the same in SQLite and PostgreSQL.

HOOGTE = 40
TOP = 1 << HOOGTE  # past every position a log will reach: `tot` of a version that holds still


def knoop(van: int, tot: int) -> int:
    """The tree node of the versions that held from `van` until `tot` (exclusive)."""
    hoog = tot - 1
    if van == hoog:
        return van
    bit = (van ^ hoog).bit_length() - 1
    return van if van & ((1 << (bit + 1)) - 1) == 0 else (hoog >> bit) << bit


def knoop_sql(van: str, hoog: str) -> str:
    """`knoop(van, hoog + 1)` as an SQL expression over two integer expressions (a column, a
    parameter): the largest multiple of the largest power of two at or below `hoog` that is >= `van`.
    `hoog` is cast to BIGINT: PostgreSQL takes an integer parameter as the smallest type that holds
    it, and shifts a 32-bit one modulo 32."""
    hoog = f"CAST({hoog} AS BIGINT)"
    takken = " ".join(f"WHEN (({hoog} >> {k}) << {k}) >= {van} THEN (({hoog} >> {k}) << {k})"
                      for k in range(HOOGTE - 1, 0, -1))
    return f"(CASE {takken} ELSE {hoog} END)"


def geldig_op(positie: int, van: str = "van", tot: str = "tot", knoop_kolom: str = "knoop") -> str:
    """The SQL condition that keeps the versions holding at `positie` (literal integers only)."""
    if positie < 1:
        return "1 = 0"
    lager: list[int] = []
    hoger: list[int] = []
    for k in range(HOOGTE - 1, -1, -1):
        n = ((positie >> (k + 1)) << (k + 1)) | (1 << k)
        (lager if n < positie else hoger).append(n)
    delen = []
    if lager:
        delen.append(f"({knoop_kolom} IN ({', '.join(map(str, lager))}) AND {tot} > {positie})")
    delen.append(f"({knoop_kolom} IN ({', '.join(map(str, hoger))}) AND {van} <= {positie})")
    return f"({' OR '.join(delen)})"


def historie_ddl(table: str, key: str, kolommen: str, filter: str) -> tuple[str, ...]:
    """The history table of a row projection: its columns (`kolommen`, as in the live table, without
    constraints; the live table has `van` too, the position from which its row's version holds) and
    each version's positions; indexed by key and by the interval tree, with the
    column the lists filter on most (`filter`: a status) between the node and the position, so
    that a read of, say, the open meldingen as of a moment seeks only those."""
    return (
        f"""CREATE TABLE IF NOT EXISTS {table}_historie (
            {kolommen},
            van INTEGER NOT NULL, tot INTEGER NOT NULL, knoop INTEGER NOT NULL,
            PRIMARY KEY ({key}, van))""",
        f"CREATE INDEX IF NOT EXISTS {table}_historie_van ON {table}_historie (knoop, {filter}, van)",
        f"CREATE INDEX IF NOT EXISTS {table}_historie_tot ON {table}_historie (knoop, {filter}, tot)",
        # The live rows' `van` (RowProjection): a page copies the versions of the rows it inserted by it.
        f"CREATE INDEX IF NOT EXISTS {table}_van ON {table} (van)",
    )


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
    def als_op(cls, table: str, positie: int) -> str | None:
        """A query (SELECT) that gives `table` as it stood at `positie`, for a projection that keeps
        its history; None where it does not (then an as-of read cannot use this table)."""
        return None

    @classmethod
    def per_sleutel_op(cls, table: str, positie: int) -> str | None:
        """As `als_op`, for a query that finds its rows by their key: the versions that held at
        `positie` found by key and position (the history's primary key), not through the interval
        tree; None where the projection has no such key (then `als_op` is used)."""
        return None

    @classmethod
    def topics(cls) -> tuple[str, ...]:
        return tuple(get_topic(event_class) for event_class in cls.handlers)

    @classmethod
    def page(cls) -> Collector:
        return Page(cls.handlers)

    @classmethod
    def statements(cls, domain_events: Iterable[Any], start: int = 1) -> Statements:
        """The statements of these events, at the positions from `start` on."""
        page = cls.page()
        for at, event in enumerate(domain_events, start=start):
            page.add(event, at)
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

    def add(self, event: Any, at: int = 0) -> None:
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
    Rows go to the database as positional parameters, in the order of `columns`; a column no
    change sets gets its value from `defaults` (else NULL).

    With `historie`, every version of a row is also kept in `<table>_historie` (see History
    above; its DDL in `create`, from `historie_ddl`): a version known whole in the page (a row
    inserted in it) is written as it is; a change to a row written before is a copy of its
    holding version with the change applied, and that version closed at the change's position.
    An event changes a row at most once.
    """

    table: ClassVar[str]
    key: ClassVar[str]
    columns: ClassVar[tuple[str, ...]]  # every column, the key first
    defaults: ClassVar[dict[str, Any]] = {}
    historie: ClassVar[bool] = False

    @classmethod
    def page(cls) -> Collector:
        return RowPage(cls)

    @classmethod
    def als_op(cls, table: str, positie: int) -> str | None:
        if not cls.historie or table != cls.table:
            return None
        return f"SELECT {', '.join(cls.columns)} FROM {cls.table}_historie WHERE {geldig_op(positie)}"

    @classmethod
    def per_sleutel_op(cls, table: str, positie: int) -> str | None:
        if not cls.historie or table != cls.table:
            return None
        # A key's versions follow one another, so at most one holds at a position.
        return f"SELECT {', '.join(cls.columns)} FROM {cls.table}_historie WHERE van <= {positie} AND tot > {positie}"

    @classmethod
    @cache
    def blank(cls) -> dict[str, Any]:
        return {c: cls.defaults.get(c) for c in cls.columns}

    @classmethod
    @cache
    def insert(cls) -> str:
        # With history, a live row also has the position from which its version holds (`van`).
        columns = (*cls.columns, "van") if cls.historie else cls.columns
        return (f"INSERT INTO {cls.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT ({cls.key}) DO NOTHING")

    @classmethod
    @cache
    def update(cls, columns: tuple[str, ...]) -> str:
        sets = [f"{c} = ?" for c in columns] + (["van = ?"] if cls.historie else [])
        return f"UPDATE {cls.table} SET {', '.join(sets)} WHERE {cls.key} = ?"

    @classmethod
    @cache
    def recompute(cls, expressions: tuple[tuple[str, str], ...]) -> str:
        sets = [f"{c} = {e}" for c, e in expressions] + (["van = ?"] if cls.historie else [])
        return f"UPDATE {cls.table} SET {', '.join(sets)} WHERE {cls.key} = ?"

    # History statements.

    @classmethod
    @cache
    def overgenomen(cls) -> str:
        """The holding versions of the rows a page inserted, copied from the live rows as inserted (run
        right after the page's inserts, before its updates): one statement instead of a row each."""
        return (f"INSERT INTO {cls.table}_historie ({', '.join(cls.columns)}, van, tot, knoop) "
                f"SELECT {', '.join(cls.columns)}, van, {TOP}, {knoop_sql('van', str(TOP - 1))} "
                f"FROM {cls.table} WHERE van >= ?")

    @classmethod
    @cache
    def versie(cls) -> str:
        """A version known whole: its columns, van, tot and knoop."""
        n = len(cls.columns) + 3
        return (f"INSERT INTO {cls.table}_historie ({', '.join(cls.columns)}, van, tot, knoop) "
                f"VALUES ({', '.join('?' * n)})")

    @classmethod
    @cache
    def kopie(cls, columns: tuple[str, ...]) -> str:
        """The holding version of a row copied as a new one from `:van`, `columns` set to new values
        (named `:w_<column>`)."""
        waarden = ", ".join(f":w_{c}" if c in columns else c for c in cls.columns)
        return (f"INSERT INTO {cls.table}_historie ({', '.join(cls.columns)}, van, tot, knoop) "
                f"SELECT {waarden}, :van, {TOP}, :knoop FROM {cls.table}_historie "
                f"WHERE {cls.key} = :sleutel AND tot = {TOP} AND van < :van")

    @classmethod
    @cache
    def herberekend(cls, expressions: tuple[tuple[str, str], ...]) -> str:
        """The holding version copied as a new one from `:van`, columns set by SQL over the old one."""
        sets = dict(expressions)
        waarden = ", ".join(sets.get(c, c) for c in cls.columns)
        return (f"INSERT INTO {cls.table}_historie ({', '.join(cls.columns)}, van, tot, knoop) "
                f"SELECT {waarden}, :van, {TOP}, :knoop FROM {cls.table}_historie "
                f"WHERE {cls.key} = :sleutel AND tot = {TOP} AND van < :van")

    @classmethod
    @cache
    def sluit(cls) -> str:
        """The version that held before `:van` closed there."""
        return (f"UPDATE {cls.table}_historie SET tot = :van, knoop = {knoop_sql('van', ':hoog')} "
                f"WHERE {cls.key} = :sleutel AND tot = {TOP} AND van < :van")


class RowPage:
    """A page of a RowProjection: the rows it inserts, folded, then its updates in order; with
    history, each row's versions too."""

    __slots__ = ("projection", "handlers", "key", "blank", "new", "updates", "in_sql", "historie", "versies",
                 "laatste", "eigen", "wijzigingen")

    def __init__(self, projection: type[RowProjection]):
        self.projection = projection
        self.handlers = projection.handlers
        self.key = projection.key
        self.blank = projection.blank()
        self.new: dict[str, dict[str, Any]] = {}
        self.updates: list[Statement] = []
        self.in_sql: set[str] = set()  # rows of `new` whose later changes run as SQL (after a Recompute)
        self.historie = projection.historie
        self.versies: list[list[Any]] = []  # [van, values (once closed), tot, recorded at] of versions known whole
        self.eigen: dict[str, list[Any]] = {}  # a row's last version known whole
        self.laatste: dict[str, list[Any]] = {}  # the same, while its changes are known whole (not yet SQL)
        self.wijzigingen: list[Statement] = []  # history of rows written before, in order

    def add(self, event: Any, at: int = 0) -> None:
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
                    if self.historie:
                        self._versie(change.key, row, at, event.timestamp)
            elif kind is Update:
                if row is not None and change.key not in self.in_sql:
                    if self.historie:
                        self._versie(change.key, row, at, event.timestamp)
                    row.update(change.values)
                else:
                    sql = self.projection.update(tuple(change.values))
                    if self.historie:
                        self.updates.append((sql, (*change.values.values(), at, change.key)))
                    else:
                        self.updates.append((sql, (*change.values.values(), change.key)))
                    if self.historie:
                        self._kopie(self.projection.kopie(tuple(change.values)), change.key, at,
                                    {f"w_{c}": v for c, v in change.values.items()})
            else:
                if row is not None:
                    self.in_sql.add(change.key)
                expressions = tuple(change.expressions.items())
                sql = self.projection.recompute(expressions)
                self.updates.append((sql, (at, change.key) if self.historie else (change.key,)))
                if self.historie:
                    self._kopie(self.projection.herberekend(expressions), change.key, at, {})

    def _versie(self, key: str, row: dict[str, Any], at: int, tijdstip: Any) -> None:
        """A new version of a row known whole, from `at`: called before the change is applied to `row`.
        Its values are taken when it is closed (the row as it was before the change that closes it);
        the one still holding at the end of the page is copied from the live row (`overgenomen`)."""
        vorige = self.laatste.get(key)
        if vorige is not None:
            if vorige[3] == tijdstip:
                # Recorded at the same moment as the version before it (a melding and its decision,
                # one transaction): no moment maps to a position between the two (projections/
                # tijdlijn.py), so that version is never read as of one. Not kept: the one before
                # takes this one's values, from its own position.
                return
            vorige[1] = tuple(row.values())
            vorige[2] = at
        versie = self.laatste[key] = self.eigen[key] = [at, None, TOP, tijdstip]
        self.versies.append(versie)

    def _kopie(self, sql: str, key: str, at: int, waarden: dict[str, Any]) -> None:
        # A row known whole in this page is written first (its last version holding), then copied and
        # closed here like any other; its later changes in the page go the same way.
        self.laatste.pop(key, None)
        self.wijzigingen.append((sql, {**waarden, "van": at, "knoop": knoop(at, TOP), "sleutel": key}))
        self.wijzigingen.append((self.projection.sluit(), {"van": at, "hoog": at - 1, "sleutel": key}))

    def statements(self) -> list[Statement]:
        insert = self.projection.insert()
        if not self.historie:
            out: list[Statement] = [(insert, tuple(row.values())) for row in self.new.values()]
            return out + self.updates
        # A row inserted here is written with the position of its last version known whole, and that
        # version, still holding when the row is written, is copied from it (`overgenomen`); the
        # versions it closed go as they are. Rows written before hold positions before this page's.
        eigen = self.eigen
        out = [(insert, (*row.values(), eigen[key][0])) for key, row in self.new.items()]
        if out:
            out.append((self.projection.overgenomen(), (min(v[0] for v in eigen.values()),)))
        out += self.updates
        versie = self.projection.versie()
        out += [(versie, (*values, van, tot, knoop(van, tot))) for van, values, tot, _ in self.versies if tot != TOP]
        out += self.wijzigingen
        return out


class Schrijver:
    """Runs a transaction's statements, a run of the same SQL at a time, in their order: on SQLite
    each run is one executemany (sqlite3 binds the rows in C)."""

    def __init__(self, c: Any):
        self.c = c

    def __enter__(self) -> Schrijver:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.wacht(*exc)

    def __call__(self, text: str, rows: list[Any]) -> None:
        self.c.executemany(text, rows)

    def wacht(self, *exc: Any) -> None:
        """Every statement so far has run (before a read within the transaction; `exc`: the
        exception that ends the transaction, if one does)."""


class Kopie(NamedTuple):
    """An INSERT of plain values (`?` or `:name` only), as rows for COPY: into `table`, or, with an
    ON CONFLICT (...) DO NOTHING, into temporary table `tijdelijk` first and from there by `insert`."""

    table: str
    columns: tuple[str, ...]
    names: tuple[str, ...] | None  # the parameters' names, in the order of `columns`; None: positional
    tijdelijk: str | None
    insert: str | None  # INSERT ... SELECT ... ON CONFLICT ... DO NOTHING from the temporary table


_INSERT_VALUES = re.compile(
    r"\s*INSERT\s+INTO\s+(\w+)\s*\(([\w\s,]+)\)\s*VALUES\s*\(([^()']*)\)"
    r"\s*(ON\s+CONFLICT\s*\([\w\s,]+\)\s*DO\s+NOTHING)?\s*", re.IGNORECASE)


@cache
def kopie(text: str) -> Kopie | None:
    """`text` as a COPY, if it is an INSERT of one row of plain values; None for any other statement."""
    m = _INSERT_VALUES.fullmatch(text)
    if m is None:
        return None
    columns = tuple(c.strip() for c in m[2].split(","))
    values = [v.strip() for v in m[3].split(",")]
    if len(values) != len(columns):
        return None
    if all(v == "?" for v in values):
        names = None
    elif all(re.fullmatch(r":[A-Za-z_]\w*", v) for v in values):
        names = tuple(v[1:] for v in values)
    else:
        return None  # literals or expressions among the values
    table = m[1]
    if m[4] is None:
        return Kopie(table, columns, names, None, None)
    # The temporary table is named after the columns too: a table made again with other columns
    # (a projection's new version) gets a temporary table of its own on a connection that outlives it.
    tijdelijk = f"{table}_kopie_{zlib.crc32(','.join(columns).encode()):08x}"
    kolommen = ", ".join(columns)
    # Read in the order the rows were copied (a temporary table filled in one transaction, read
    # whole), so DO NOTHING keeps the first of two rows with the same key, as one INSERT a row would.
    return Kopie(table, columns, names, tijdelijk,
                 f"INSERT INTO {table} ({kolommen}) SELECT {kolommen} FROM pg_temp.{tijdelijk} ORDER BY ctid "
                 f"{m[4]}")


# Per connection: whether its role may make temporary tables (deploy/postgres-init revokes that from
# PUBLIC; the database's owner keeps it). Without, an insert with ON CONFLICT runs as statements.
_TIJDELIJK: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _mag_tijdelijk(c: Any) -> bool:
    mag = _TIJDELIJK.get(c.connection)
    if mag is None:
        c.execute("SELECT has_database_privilege(current_database(), 'TEMPORARY') AS mag")
        mag = _TIJDELIJK[c.connection] = bool(c.fetchone()["mag"])
    return mag


class PostgresSchrijver(Schrijver):
    """PostgreSQL: statements are sent in psycopg's pipeline mode, without waiting for each one's
    answer (a row's history copy and close are two statements of one row each, a round trip apiece
    without it). A run of at least `KOPIE_VANAF` inserts of plain values goes by COPY instead: psycopg
    formats COPY rows in C, where an executemany adapts every row's parameters in Python and the
    server executes each row as a statement of its own (a page's caseload rows, its audit entries).
    COPY cannot run in pipeline mode, so the pipeline is synced first; an insert with ON CONFLICT
    DO NOTHING is copied into a temporary table (kept by the connection, emptied at every commit;
    made where it is not there yet) and inserted from there with the same ON CONFLICT, in its place
    among the statements. COPY takes every value as text, parsed by the column's type: the rows are
    what projections bind anyway (text, integers, NULL), and a page rebuilt from zero this way equals
    the statements' (tests/test_projections.py on PostgreSQL)."""

    KOPIE_VANAF = 50

    def __init__(self, c: Any, sql: Callable[[str], str]):
        super().__init__(c)
        self.sql = sql
        self.pijplijn: AbstractContextManager[Any] | None = None
        self.gevuld: set[str] = set()  # temporary tables filled in this transaction

    def __call__(self, text: str, rows: list[Any]) -> None:
        k = kopie(text) if len(rows) >= self.KOPIE_VANAF else None
        if k is None:
            self._pijplijn()
            self.c.executemany(self.sql(text), rows)
            return
        self.wacht()
        c = self.c
        if k.tijdelijk is not None and not _mag_tijdelijk(c):
            self._pijplijn()
            c.executemany(self.sql(text), rows)
            return
        doel = k.table
        if k.tijdelijk is not None:
            if k.tijdelijk in self.gevuld:
                c.execute(f"TRUNCATE pg_temp.{k.tijdelijk}")
            else:
                c.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {k.tijdelijk} ON COMMIT DELETE ROWS AS "
                          f"SELECT {', '.join(k.columns)} FROM {k.table} WITH NO DATA")
                self.gevuld.add(k.tijdelijk)
            doel = f"pg_temp.{k.tijdelijk}"
        if k.names is not None:
            names = k.names
            rows = [tuple(row[n] for n in names) for row in rows]
        with c.copy(f"COPY {doel} ({', '.join(k.columns)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)
        if k.insert is not None:
            self._pijplijn()
            c.execute(k.insert)

    def _pijplijn(self) -> None:
        if self.pijplijn is None:
            self.pijplijn = self.c.connection.pipeline()
            self.pijplijn.__enter__()

    def wacht(self, *exc: Any) -> None:
        if self.pijplijn is not None:
            pijplijn, self.pijplijn = self.pijplijn, None
            pijplijn.__exit__(*(exc or (None, None, None)))


class Dialect:
    """What the projections' SQL needs to know of the database it runs on: SQLite (this class) or
    PostgreSQL (`PostgresDialect`). The projections and their queries are written once, in SQL both
    run, with `?` or `:name` parameters; the few things the two say differently are said here."""

    naam = "sqlite"
    # Whether catch-up gains by writing a page on a thread of its own while it reads the next
    # (projections/runner.py): not with SQLite, whose work is done in this process, under the
    # interpreter's lock for the most part (it was slower so).
    schrijft_naast = False

    def sql(self, text: str) -> str:
        """A statement as this database takes it."""
        return text

    def ddl(self, text: str) -> str:
        """A CREATE statement as this database takes it."""
        return text

    def dagen(self, tot: str, van: str) -> str:
        """The days from date `van` to date `tot` (ISO text, SQL expressions) as an SQL expression."""
        return f"(julianday({tot}) - julianday({van}))"

    def schrijver(self, c: Any) -> Schrijver:
        """What runs a transaction's statements on cursor `c`, run by run (see `Schrijver`)."""
        return Schrijver(c)

    def kolommen(self, c: Any, table: str) -> set[str]:
        """The columns `table` has (none when it does not exist)."""
        c.execute(f"PRAGMA table_info({table})")
        return {row[1] for row in c.fetchall()}

    def bestaand(self, c: Any) -> set[str]:
        """The names of the tables and indexes there are."""
        c.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'index')")
        return {row[0] for row in c.fetchall()}


class PostgresDialect(Dialect):
    """PostgreSQL: `%s` and `%(name)s` parameters (a literal `%` doubled), BIGINT where SQLite's
    INTEGER is 64 bits already (positions, `TOP`), dates by CAST, columns from information_schema."""

    naam = "postgresql"
    # The server does a page's work in a process of its own, while this one reads the next page.
    schrijft_naast = True
    _TOKEN = re.compile(r"'(?:[^']|'')*'|(?<![:\w]):([A-Za-z_]\w*)|\?|%")

    @staticmethod
    def _token(m: re.Match[str]) -> str:
        text = m[0]
        if text[0] == "'":
            return text.replace("%", "%%")
        if m[1]:
            return f"%({m[1]})s"
        return "%s" if text == "?" else "%%"

    # Bounded: an as-of read's SQL names its position, so those texts do not recur.
    @lru_cache(maxsize=4096)  # noqa: B019 - one dialect object per process
    def sql(self, text: str) -> str:
        return self._TOKEN.sub(self._token, text)

    def ddl(self, text: str) -> str:
        return self.sql(re.sub(r"\bINTEGER\b", "BIGINT", text))

    def dagen(self, tot: str, van: str) -> str:
        return f"(CAST({tot} AS DATE) - CAST({van} AS DATE))"

    def schrijver(self, c: Any) -> Schrijver:
        return PostgresSchrijver(c, self.sql)

    def kolommen(self, c: Any, table: str) -> set[str]:
        c.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
                  "AND table_name = %s", (table,))
        return {row["column_name"] for row in c.fetchall()}

    def bestaand(self, c: Any) -> set[str]:
        c.execute("SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
                  "AND relkind IN ('r', 'i', 'p')")
        return {row["relname"] for row in c.fetchall()}


SQLITE = Dialect()
POSTGRESQL = PostgresDialect()


class ProjectionStore:
    """The projections' tables and tracking records, in one database: an SQLite file (the embedded
    default) or, with the events in PostgreSQL, a schema of that database (loket/bootstrap.py).

    The tracking records are the eventsourcing library's, kept by its tracking recorder for that
    database (`recorder`, table `tracking`); a page's rows and positions are written on one
    connection in one transaction either way."""

    projections: ClassVar[tuple[type[Projection], ...]] = ()

    def __init__(self, datastore: SQLiteDatastore | PostgresDatastore, **kwargs: Any):
        self.datastore = datastore
        self.recorder: SQLiteTrackingRecorder | PostgresTrackingRecorder
        if isinstance(datastore, PostgresDatastore):
            self.dialect: Dialect = POSTGRESQL
            self.recorder = PostgresTrackingRecorder(datastore, tracking_table_name="tracking", **kwargs)
        else:
            self.dialect = SQLITE
            self.recorder = SQLiteTrackingRecorder(datastore, **kwargs)
        self.create_table_statements = [
            "CREATE TABLE IF NOT EXISTS projection_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL)"]
        # Tables first; their indexes once a projection whose table lacks an indexed column (a store
        # written by an older version) has been dropped and made again (`create_table`).
        for projection in self.projections:
            self.create_table_statements.extend(s for s in projection.create if not _is_index(s))

    @property
    def tracking_recorder(self) -> TrackingRecorder:
        return self.recorder

    def max_tracking_id(self, application_name: str) -> int | None:
        return self.recorder.max_tracking_id(application_name)

    def create_table(self) -> None:
        """Create what is missing. A projection whose rows were written by another version of it
        (stores from before versions were kept count as version 1), or a row projection whose table
        lacks a column it now has, is dropped with its position: catch-up rebuilds it from the events."""
        self.recorder.create_table()
        ddl = self.dialect.ddl
        with self.datastore.transaction(commit=True) as c:
            # Only what is missing: on PostgreSQL even CREATE INDEX IF NOT EXISTS locks its table
            # (SHARE) before it looks, so a process starting while the worker writes a page would wait
            # for it, or deadlock with it over two tables.
            bestaand = self.dialect.bestaand(c)
            for statement in self.create_table_statements:
                naam = _NIEUW.match(statement)
                if naam is None or naam[1].lower() not in bestaand:
                    c.execute(ddl(statement))
        with self.datastore.transaction(commit=True) as c:
            c.execute("SELECT name, version FROM projection_versions")
            written = {row["name"]: row["version"] for row in c.fetchall()}
            for projection in self.projections:
                if written.get(projection.name, 1) != projection.version or self._lacks_a_column(c, projection):
                    for table in projection.tables:
                        c.execute(f"DROP TABLE IF EXISTS {table}")
                    c.execute(self.dialect.sql("DELETE FROM tracking WHERE application_name LIKE ?"),
                              (f"{projection.name}@%",))
                    for statement in projection.create:
                        c.execute(ddl(statement))
                if written.get(projection.name) != projection.version:
                    # Only then: a start that writes nothing stays a read, which a busy store never
                    # refuses (a read that turns into a write is refused at once, "database is
                    # locked", when another process committed in between).
                    c.execute(self.dialect.sql(
                        "INSERT INTO projection_versions (name, version) VALUES (?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET version = excluded.version"),
                        (projection.name, projection.version))
            # The indexes that are missing, each after its table has its columns.
            bestaand = self.dialect.bestaand(c)
            for projection in self.projections:
                for statement in projection.create:
                    naam = _NIEUW.match(statement)
                    if _is_index(statement) and (naam is None or naam[1].lower() not in bestaand):
                        c.execute(ddl(statement))

    def _lacks_a_column(self, c: Any, projection: type[Projection]) -> bool:
        if not issubclass(projection, RowProjection):
            return False
        return not set(projection.columns) <= self.dialect.kolommen(c, projection.table)

    def position(self, projection: type[Projection], application_name: str) -> int:
        return self.max_tracking_id(projection.tracking_name(application_name)) or 0

    def positions(self, application_name: str) -> dict[str, int]:
        """Where each projection stands in the application's log, by name (for `events.follower.lag`)."""
        return {p.name: self.position(p, application_name) for p in self.projections}

    def apply(self, writes: Sequence[tuple[Statements, Tracking]]) -> None:
        """Run every projection's statements and record every position, in one transaction."""
        sql = self.dialect.sql
        with self.datastore.transaction(commit=True) as c:

            def lees(text: str, params: Sequence[Any] = ()) -> list[Any]:
                c.execute(sql(text), params)
                return list(c.fetchall())

            with self.dialect.schrijver(c) as schrijf:
                for statements, _ in writes:
                    if callable(statements):
                        # A page that reads the store before it says what to write (the counts read
                        # the cells they change) reads what the pages before it wrote: on PostgreSQL
                        # those are not all answered yet, so the writer waits for them first.
                        schrijf.wacht()
                        statements = statements(lees)
                    # Consecutive statements with the same SQL run together: same order, fewer
                    # round trips (an audit page is one insert of many rows).
                    for text, run in groupby(statements, key=itemgetter(0)):
                        schrijf(text, [params for _, params in run])
            # After the rows (the library reads the tracking insert's answer, which a pipeline
            # would not have yet), before the commit: one transaction still.
            for _, tracking in writes:
                schrijf_tracking(self.recorder, c, tracking)

    def reset(self, projection: type[Projection], application_name: str) -> None:
        """Forget a projection: its rows and its position, so it is rebuilt from zero."""
        with self.datastore.transaction(commit=True) as c:
            for table in projection.tables:
                c.execute(f"DROP TABLE IF EXISTS {table}")
            c.execute(
                self.dialect.sql("DELETE FROM tracking WHERE application_name = ?"),
                (projection.tracking_name(application_name),),
            )
            for statement in projection.create:
                c.execute(self.dialect.ddl(statement))

    # As of a position: the same queries, on the versions that held then.

    positie: int | None = None  # None: the live rows

    def op(self, positie: int) -> ProjectionStore:
        """This store as it stood at a position in the notification log: its queries read, for
        each table whose projection keeps history, the rows as they were then (the live store is
        not touched; the view shares its connection)."""
        view = copy.copy(self)
        view.positie = positie
        return view

    def levend(self) -> ProjectionStore:
        """This store's live rows, also from a view as of a position: what has been at all."""
        if self.positie is None:
            return self
        view = copy.copy(self)
        view.positie = None
        return view

    def historisch(self, sql: str, positie: int, *, per_sleutel: bool = False) -> str:
        """A query of the live tables made a query of the rows as they stood at `positie`: each
        table of a projection that keeps history, where the query reads it (FROM or JOIN, with or
        without an alias), becomes a subquery under the same name (`per_sleutel`: see `rows`)."""
        vervangen: dict[str, str] = {}
        for projection in self.projections:
            for table in projection.tables:
                query = (per_sleutel and projection.per_sleutel_op(table, positie)) or projection.als_op(table, positie)
                if query is not None:
                    vervangen[table] = query

        def sub(m: re.Match[str]) -> str:
            return f"{m[1]} ({vervangen[m[2].lower()]}) AS {m[3] or m[2]}"

        return _tabel_patroon(tuple(sorted(vervangen))).sub(sub, sql)

    def rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = (), *,
             per_sleutel: bool = False) -> list[dict[str, Any]]:
        """The rows of a query, live or as of this view's position. `per_sleutel`, for a query that
        finds its rows by their key (`WHERE melding_id IN (...)`): as of a position, the versions of
        those keys are sought by key and position. Through the interval tree, a lookup of a few
        hundred keys would read every version at the nodes near its root, which hold every
        long-lived one: more the longer the history."""
        if self.positie is not None:
            sql = self.historisch(sql, self.positie, per_sleutel=per_sleutel)
        with self.datastore.transaction(commit=False) as c:
            c.execute(self.dialect.sql(sql), params)
            return [dict(row) for row in c.fetchall()]


# The name a CREATE ... IF NOT EXISTS statement makes.
_NIEUW = re.compile(r"\s*CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE)


def _is_index(statement: str) -> bool:
    return statement.lstrip().upper().startswith("CREATE INDEX")


_NA_TABEL = ("WHERE", "GROUP", "ORDER", "LEFT", "RIGHT", "INNER", "JOIN", "ON", "LIMIT", "UNION", "USING")


@cache
def _tabel_patroon(tables: tuple[str, ...]) -> re.Pattern[str]:
    namen = "|".join(re.escape(t) for t in tables) or "(?!)"
    verboden = "|".join(_NA_TABEL)
    return re.compile(rf"\b(FROM|JOIN)\s+({namen})\b(?:\s+(?:AS\s+)?(?!(?:{verboden})\b)([A-Za-z_]\w*))?",
                      re.IGNORECASE)
