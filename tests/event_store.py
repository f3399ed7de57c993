"""The event store the tests' lokets keep their events in: SQLite or PostgreSQL.

`LOKET_TEST_EVENT_STORE=sqlite` (the default) or `postgresql` chooses it for the whole
run. Every environment and settings the tests build for the loket come from
`loket_env` / `loket_settings`: LOKET_DB in the test's directory (with PostgreSQL the
key store file is kept there; the projections go with the events) and, with PostgreSQL, LOKET_DATABASE_URL
of a fresh database on the session's server (tests/conftest.py starts it). A module of
its own: pytest loads tests/conftest.py once more than the tests import it, and the
databases made so far must be known to both.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from loket.bootstrap import projectie_schema
from loket.settings import Settings, postgres_env
from projections.store import POSTGRESQL
from tests.pgserver import PostgresServer

EVENT_STORES = ("sqlite", "postgresql")
EVENT_STORE = os.environ.get("LOKET_TEST_EVENT_STORE") or "sqlite"
ON_POSTGRESQL = EVENT_STORE == "postgresql"
# LOKET_TEST_KEYSTORE=postgresql keeps the key store of every loket the tests build with
# `loket_env` in PostgreSQL too (LOKET_KEYSTORE_URL): a database of its own per LOKET_DB,
# owned by a role of its own (KEYS_ROLE), under a master key of its own (LOKET_MASTER_KEY), as in
# production.
KEYSTORE = os.environ.get("LOKET_TEST_KEYSTORE") or "sqlite"
KEYSTORE_ON_POSTGRESQL = KEYSTORE == "postgresql"
KEYS_ROLE = "loket_keys"


class _Databases:
    """A PostgreSQL database per LOKET_DB, made the first time a test asks for it (PostgreSQL mode)."""

    def __init__(self) -> None:
        self.server: PostgresServer | None = None
        self.urls: dict[str, str] = {}
        self.keystores: dict[str, str] = {}
        self.master_keys: dict[str, str] = {}

    def url(self, db: Path | str) -> str:
        key = os.path.abspath(db)
        if key not in self.urls:
            assert self.server is not None, "the server starts with the session (tests/conftest.py: _event_store)"
            self.urls[key] = self.server.new_database()
        return self.urls[key]

    def master_key(self, db: Path | str) -> str:
        """The master key of the loket at `db` whose key store is on the server (base64, 32 bytes):
        the same every time for the same `db`, as a deployment's secret is."""
        return self.master_keys.setdefault(os.path.abspath(db), base64.b64encode(os.urandom(32)).decode())

    def keystore_url(self, db: Path | str) -> str:
        """The key store database of the loket at `db`, owned by KEYS_ROLE, which alone may connect."""
        key = os.path.abspath(db)
        if key not in self.keystores:
            assert self.server is not None, "the server starts with the session (tests/conftest.py: _event_store)"
            self.keystores[key] = self.server.new_database("keys", owner=KEYS_ROLE)
        return self.keystores[key]

    def drop_under(self, directory: Path) -> None:
        """Drop the databases of the stores in `directory` (a finished test's): their connections too."""
        assert self.server is not None
        inside = [(urls, k) for urls in (self.urls, self.keystores) for k in urls if Path(k).is_relative_to(directory)]
        if not inside:
            return
        with psycopg.connect(self.server.url(), autocommit=True) as conn:
            for urls, key in inside:
                name = urls.pop(key).rsplit("/", 1)[-1]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


DATABASES = _Databases()


def sqlite_event_stores(directory: Path) -> list[Path]:
    """The SQLite files under `directory` that hold a loket's events: with PostgreSQL as the
    event store there should be none (a test that built its loket without `loket_env`)."""
    found = []
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or path.name.endswith(("-wal", "-shm")):
            continue
        with path.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                continue
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as conn:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stored_events'").fetchone():
                found.append(path)
    return found


def loket_env(db: Path | str, **extra: str) -> dict[str, str]:
    """The LOKET_* environment of a loket whose files are at `db` (LOKET_DB), on the event store
    under test: the SQLite file `db` itself or, with PostgreSQL, the database of `db` (the same one
    every time for the same `db`, a fresh one for another). `extra` adds or overrides variables."""
    env = {"LOKET_DB": str(db)}
    if ON_POSTGRESQL:
        env["LOKET_DATABASE_URL"] = DATABASES.url(db)
    if KEYSTORE_ON_POSTGRESQL:
        env["LOKET_KEYSTORE_URL"] = DATABASES.keystore_url(db)
    env.update(extra)
    if env.get("LOKET_KEYSTORE_URL") and not (env.get("LOKET_MASTER_KEY") or env.get("LOKET_MASTER_KEY_FILE")):
        # A key store on a server wants a master key given (no development key file beside it).
        env["LOKET_MASTER_KEY"] = DATABASES.master_key(db)
    return env


def loket_settings(db: Path | str, **extra: str) -> Settings:
    """Settings.from_env of `loket_env(db, **extra)`."""
    return Settings.from_env(loket_env(db, **extra))


def copy_store(source: Path, target: Path) -> None:
    """Copy a closed store: its LOKET_DB file and, with PostgreSQL, its events into the database of `target`."""
    if source.exists():  # with PostgreSQL the projections are there too, and no file may be
        shutil.copy(source, target)
    if ON_POSTGRESQL:
        assert DATABASES.server is not None
        original = DATABASES.url(source).rsplit("/", 1)[-1]
        copy = DATABASES.server.new_database()
        name = copy.rsplit("/", 1)[-1]
        with psycopg.connect(DATABASES.server.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{original}"')
        DATABASES.urls[os.path.abspath(target)] = copy


@dataclass
class EventSQL:
    """Plain SQL on a store's events around the application, on either event store: to read what
    another process wrote, or to tamper as someone with write access to the database would.
    Write the statements with `events` (the events table), `position` (its notification id
    column) and `tracking` (tracking records kept beside the events) and `?` placeholders."""

    connection: Any
    events: str
    position: str
    tracking: str
    postgresql: bool
    # What reading a store raises before its tables exist.
    missing = (sqlite3.OperationalError, psycopg.errors.UndefinedTable)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.postgresql:
            statement = statement.replace("?", "%s")
        cursor = self.connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def event_sql(settings: Settings, *, read_only: bool = False) -> Iterator[EventSQL]:
    """A connection to the event store of `settings`, committing each statement.
    `read_only` (SQLite): fail rather than create a file that is not there yet."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            yield EventSQL(conn, "loket_events", "notification_id", "loket_tracking", postgresql=True)
        return
    if read_only:
        conn = sqlite3.connect(f"file:{settings.db}?mode=ro", uri=True, timeout=10, isolation_level=None)
    else:
        conn = sqlite3.connect(settings.db, timeout=10, isolation_level=None)
    with closing(conn):
        yield EventSQL(conn, "stored_events", "rowid", "tracking", postgresql=False)


def stored_events(settings: Settings) -> dict[str, int]:
    """Event counts per type, read straight from the event store (another process may write it);
    empty before the store exists."""
    if not settings.database_url and not settings.db.exists():
        return {}
    with event_sql(settings, read_only=True) as sql:
        try:
            rows = sql.execute(f"SELECT topic, COUNT(*) FROM {sql.events} GROUP BY topic")
        except EventSQL.missing:
            return {}
    return {topic.rsplit(".", 1)[-1]: n for topic, n in rows}


def last_position(settings: Settings) -> int:
    """The position of the last stored event; 0 before the store exists."""
    if not settings.database_url and not settings.db.exists():
        return 0
    with event_sql(settings, read_only=True) as sql:
        try:
            return sql.execute(f"SELECT MAX({sql.position}) FROM {sql.events}")[0][0] or 0
        except EventSQL.missing:
            return 0


@dataclass
class KeySQL:
    """Plain SQL on a store's key store, as its owner: the SQLite file LOKET_KEYSTORE or, with
    LOKET_KEYSTORE_URL, the PostgreSQL database as the keys' role. `?` placeholders."""

    connection: Any
    postgresql: bool

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.postgresql:
            statement = statement.replace("?", "%s")
        cursor = self.connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def key_sql(settings: Settings) -> Iterator[KeySQL]:
    """A connection to the key store of `settings`, committing each statement."""
    server = settings.keystore_server()
    if server is not None:
        options = f"-c search_path={server.schema}" if server.schema else None
        with psycopg.connect(host=server.host, port=server.port, dbname=server.dbname, user=server.user,
                             password=server.password or None, options=options, autocommit=True) as conn:
            yield KeySQL(conn, postgresql=True)
        return
    with closing(sqlite3.connect(settings.keystore_path, timeout=10, isolation_level=None)) as conn:
        yield KeySQL(conn, postgresql=False)


def zonder_logregels(stderr: str) -> list[str]:
    """What a command said to its user on stderr, without the log's lines (a timestamp or a JSON
    object first): with the events in PostgreSQL and the keys still in a file, every start logs a
    warning to move them (loket/bootstrap.py `maak_kluis`), beside the one-line message tested."""
    return [r for r in stderr.strip().splitlines() if not re.match(r"^(\{|\d{4}-\d\d-\d\d[T ])", r)]


@dataclass
class ProjectionSQL:
    """Plain SQL on a store's projections as another process reads them: the SQLite file LOKET_DB
    (read-only, never creating it) or, with PostgreSQL, the projections' schema of the events'
    database (loket/bootstrap.py `projectie_schema`). `?` placeholders; rows as tuples."""

    connection: Any
    postgresql: bool
    # What reading raises before the tables exist.
    missing = (sqlite3.OperationalError, psycopg.errors.UndefinedTable)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        if self.postgresql:
            statement = POSTGRESQL.sql(statement)
        cursor = self.connection.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@contextmanager
def projection_sql(settings: Settings) -> Iterator[ProjectionSQL]:
    if settings.database_url:
        schema = projectie_schema(postgres_env(settings.database_url).get("POSTGRES_SCHEMA"))
        with psycopg.connect(settings.database_url.split("?", 1)[0], autocommit=True,
                             options=f"-c search_path={schema}") as conn:
            yield ProjectionSQL(conn, postgresql=True)
        return
    conn = sqlite3.connect(f"file:{settings.db}?mode=ro", uri=True, timeout=30, isolation_level=None)
    with closing(conn):
        yield ProjectionSQL(conn, postgresql=False)
