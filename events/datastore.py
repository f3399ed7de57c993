"""The SQLite event store's connections, with a statement cache that holds.

The eventsourcing library opens its SQLite connections with
`cached_statements=True`, which sqlite3 reads as a cache of one statement. Intake
(existence query, event insert, hash chain) and every projection alternate
between several statements on one connection, so each would be compiled again on
every use. This factory is the library's, with connections that keep their
compiled statements; it is chosen by the environment (PERSISTENCE_MODULE, set in
`loket.settings`), and the projections share it when they live beside the events.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from eventsourcing.persistence import InterfaceError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteDatastore,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import Connection
from psycopg.sql import SQL, Identifier
from psycopg.types.numeric import FloatLoader

from privacy.files import owner_only
from privacy.keystore import write_ahead_log

# Compiled statements kept per connection: sqlite3's own default.
STATEMENT_CACHE = 128


def database_file(db_name: str) -> str | None:
    """The file behind an SQLite database name or `file:` URI; None in memory."""
    if db_name.startswith("file:"):
        parts = urlsplit(db_name)
        return None if "mode=memory" in parts.query else parts.path
    return None if db_name == ":memory:" else db_name


class _Pool(SQLiteConnectionPool):
    def __init__(self, *, pragmas: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(**kwargs)
        self.pragmas = pragmas
        self._private = False

    def _create_connection(self) -> SQLiteConnection:
        if not self._private and not self.is_sqlite_memory_mode and (path := database_file(self.db_name)):
            # Before SQLite first opens it: its -wal and -shm then get the same mode.
            owner_only(path, create="mode=ro" not in self.db_name)
            self._private = True
        try:
            c = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # the library's transactions say BEGIN themselves
                cached_statements=STATEMENT_CACHE,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            timeout = self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT
            self.journal_mode_was_changed_to_wal = write_ahead_log(c, timeout=timeout)
            self.is_journal_mode_wal = True
        for pragma in self.pragmas:
            c.execute(f"PRAGMA {pragma}")
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


class Datastore(SQLiteDatastore):
    """The library's SQLite datastore, on connections with a statement cache.

    `rebuildable=True` is for what can be rebuilt from the events (projections):
    its commits do not wait for the disk to flush the write-ahead log
    (`synchronous=NORMAL`). A process killed at any point still leaves every
    transaction whole; only a power cut can take back the last commits, which
    catch-up then makes again from the tracked position. Its write-ahead log is
    copied into the file every 10,000 pages instead of SQLite's 1,000: each copy
    waits for the disk, and catching up writes many pages a second.
    """

    REBUILDABLE = ("synchronous=NORMAL", "wal_autocheckpoint=10000")

    def __init__(self, db_name: str, *, lock_timeout: int | None = None, rebuildable: bool = False, **kwargs: Any):
        super().__init__(db_name, lock_timeout=lock_timeout, **kwargs)
        self.pool.close()
        self.pool = _Pool(db_name=db_name, lock_timeout=lock_timeout, pragmas=self.REBUILDABLE if rebuildable else ())


class Factory(SQLiteFactory):
    """The library's SQLite persistence module, on `Datastore`; LOKET_REBUILDABLE=1 for projections."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        library = self.datastore
        self.datastore = Datastore(
            library.pool.db_name,
            lock_timeout=library.pool.lock_timeout,
            rebuildable=self.env.get("LOKET_REBUILDABLE") == "1",
            single_row_tracking=library.single_row_tracking,
            originator_id_type=library.originator_id_type,
        )
        library.close()


class PostgresProjectieDatastore(PostgresDatastore):
    """The library's PostgreSQL datastore for the projections' schema: its connections read and
    write that schema by unqualified names (the projections' SQL is written once, for SQLite and
    PostgreSQL alike), and give NUMERIC results (an average, a rounded one) as floats, as SQLite does.
    Their commits do not wait for the server to flush its write-ahead log (`synchronous_commit =
    off`, as `synchronous=NORMAL` on SQLite): a server crash can take back the last pages, rows and
    positions together (the log keeps their order), and catch-up writes them again from the events."""

    def after_connect_func(self) -> Callable[[Connection[Any]], None]:
        library = super().after_connect_func()
        search_path = SQL("SET search_path TO {0}").format(Identifier(self.schema))

        def after_connect(conn: Connection[Any]) -> None:
            library(conn)
            conn.execute(search_path)
            conn.execute("SET synchronous_commit TO off")
            conn.adapters.register_loader("numeric", FloatLoader)

        return after_connect


def projectie_datastore(env: Mapping[str, str], schema: str) -> PostgresProjectieDatastore:
    """The projections' datastore in `schema` of the database of `env` (POSTGRES_* from
    `loket.settings.postgres_env`), with the pool settings given there; the schema is made if
    it is not there yet (the events' role needs CREATE on the database for that, docs/operations.md)."""
    datastore = PostgresProjectieDatastore(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"], password=env.get("POSTGRES_PASSWORD", ""),
        connect_timeout=float(env.get("POSTGRES_CONNECT_TIMEOUT") or 5),
        idle_in_transaction_session_timeout=float(env.get("POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT") or 0),
        pool_size=int(env.get("POSTGRES_POOL_SIZE") or 1),
        max_overflow=int(env.get("POSTGRES_MAX_OVERFLOW") or 10),
        max_waiting=int(env.get("POSTGRES_MAX_WAITING") or 0),
        conn_max_age=float(env.get("POSTGRES_CONN_MAX_AGE") or 60 * 60),
        pre_ping=(env.get("POSTGRES_PRE_PING") or "n").lower() in ("y", "yes", "1", "true", "on"),
        lock_timeout=int(env.get("POSTGRES_LOCK_TIMEOUT") or 0),
        schema=schema,
    )
    with datastore.get_connection() as conn:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if not exists:
            conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {0}").format(Identifier(schema)))
    return datastore
