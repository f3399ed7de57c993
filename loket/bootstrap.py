"""The composition root: builds everything from settings, once, and hands it down.

The key vault (key store and master key), the ruleset, the event store, the projections, the
tokens and the Kafka topics are made here from `Settings`, the one reader of the
environment; nothing below reads it.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError, ProgrammingError, TrackingRecorder
from eventsourcing.utils import Environment

from consumers.topics import Topics
from events.application import Klok, Loket
from events.datastore import Factory, PostgresProjectieDatastore, projectie_datastore
from loket.settings import OngeldigeInstelling, Settings, postgres_env
from loket.tokens import Tokens
from privacy.files import owner_only
from privacy.keystore_postgres import PostgresKeyStore
from privacy.kluis import Kluis
from privacy.masterkey import SleutelFout
from projections import Projecties
from projections.replay import as_of
from projections.runner import catch_up
from routing import Ruleset, load_ruleset

log = logging.getLogger("loket.privacy")


@dataclass
class Systeem:
    settings: Settings
    app: Loket
    projecties: Projecties
    views: Factory | PostgresProjectieDatastore

    @property
    def ruleset(self) -> Ruleset:
        return self.app.ruleset

    @cached_property
    def tokens(self) -> Tokens:
        """Who may log in to the API and the pages (maak_tokens)."""
        return maak_tokens(self.settings)

    @cached_property
    def topics(self) -> Topics:
        """The Kafka topics of this installation: its prefix, and a queue topic per house of the ruleset."""
        return Topics(self.settings.kafka_topic_prefix, huizen=tuple(sorted(self.ruleset.zvh_ids)))

    @cached_property
    def schrijfslot(self) -> Schrijfslot:
        """The projection writer's lock of this store (one process writes the projections at a time)."""
        return Schrijfslot(self.settings)

    def bij(self, **kwargs: Any) -> int:
        """Bring the projections up to date with the event store."""
        return catch_up(self.app, self.projecties, **kwargs)

    def als_op(self, moment: datetime) -> Projecties:
        """The projections as they stood at `moment`, by recording time: read from the versions their
        history kept (live ones untouched)."""
        return self.projecties.als_op(moment, app_name=self.app.name)

    def herspeeld(self, moment: datetime) -> Projecties:
        """The projections as they stood at `moment` from a replay of the log into a fresh store: the
        slow way, kept to check `als_op` against (close its datastore when done)."""
        return as_of(self.app, moment)

    def tracking_recorder(self) -> TrackingRecorder:
        """A tracking record in the event store itself (the outbox relay's position)."""
        with _one_setup_at_a_time(self.settings):
            return self.app.factory.tracking_recorder()

    def close(self) -> None:
        if "schrijfslot" in self.__dict__:
            self.schrijfslot.los()
        self.app.close()
        if self.views is not self.app.factory:
            self.views.close()
        if "tokens" in self.__dict__:
            self.tokens.close()


class SlotBezet(RuntimeError):
    """Another process holds a single writer's lock (writes the projections, or relays the log)."""


class Schrijfslot:
    """The right to be the one writer of something a store has once: held by one process at a
    time, on every host. `naam` says which: "projecties" (the default), the right to write the
    projections; "relay", the right to publish the log and move the relay's position.

    The projection worker (`loket projections catch-up --follow`) takes the first for its lifetime;
    a process that catches up now and then (a read with LOKET_CATCH_UP_ON_READ on, a rebuild)
    takes it for that catch-up only. `loket relay` takes the second for its lifetime. It is not
    waited for: `neem` says whether it was free (`vasthouden` stands by where asked).

    With PostgreSQL as event store it is a session advisory lock of the events' database
    (its class per name, keyed by the schema too), held on a connection of its own: the server
    lets go of it the moment that session ends, a process killed with -9 included. With SQLite
    it is an exclusive lock (flock) on a file beside LOKET_DB (`<LOKET_DB>.<naam>.lock`), which
    the kernel drops with the process. A lock taken twice in one process is taken once (a count).
    """

    # Each lock's class; the schema's hash is the second key. "LOKE" for the projections (the first).
    POSTGRES_KEYS = {"projecties": 0x4C4F4B45, "relay": 0x52454C41}  # "RELA"
    WIENS = {"projecties": "projection writer's", "relay": "relay's"}

    def __init__(self, settings: Settings, naam: str = "projecties"):
        if naam not in self.POSTGRES_KEYS:
            raise ValueError(f"no writer's lock named {naam!r}")
        self.settings = settings
        self.naam = naam
        self._lock = threading.Lock()
        self._held = 0
        self._fd: int | None = None
        self._conn: Any = None

    @property
    def gehouden(self) -> bool:
        return self._held > 0

    def neem(self) -> bool:
        """Take the lock if no other process holds it; True if this process holds it now."""
        with self._lock:
            if self._held:
                self._held += 1
                return True
            if not self._probeer():
                return False
            self._held = 1
            return True

    def los(self) -> None:
        """Let go of one taking; the lock itself when it was the last."""
        with self._lock:
            if not self._held:
                return
            self._held -= 1
            if not self._held:
                self._laat_gaan()

    def bevestig(self) -> None:
        """For a holder that writes on: make sure the lock is still ours. A PostgreSQL session can
        end under it (a restarted server): then it is taken again, or SlotBezet if another took
        it; while the server cannot be reached, its connection error (the lock is not ours then,
        and the next call tries again)."""
        with self._lock:
            if not self._held or self.settings.database_url is None:
                return
            if self._conn is not None:
                try:
                    self._conn.execute("SELECT 1")
                    return
                except psycopg.Error:
                    self._laat_gaan()
            if not self._probeer():
                self._held = 0
                raise SlotBezet(f"the {self.WIENS[self.naam]} lock was lost and another process took it")

    @contextmanager
    def vasthouden(self, stop: threading.Event, *, bezet: str, wachten: bool = False,
                   interval: float = 1.0) -> Iterator[bool]:
        """Hold the lock for the body (a long-running writer's lifetime). Taken at once, or, while
        another process holds it, SlotBezet(`bezet`); with `wachten` stand by, polling every
        `interval` seconds, until it is free. Yields False (and holds nothing) when `stop` was set
        while standing by."""
        while not self.neem():
            if not wachten:
                raise SlotBezet(bezet)
            if stop.wait(interval):
                yield False
                return
        try:
            yield True
        finally:
            self.los()

    def _probeer(self) -> bool:
        if self.settings.database_url is not None:
            env = postgres_env(self.settings.database_url)
            conn = _verbind(self.settings.database_url)
            try:
                taken = conn.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))",
                                     (self.POSTGRES_KEYS[self.naam], env.get("POSTGRES_SCHEMA") or "public")
                                     ).fetchone()[0]
            except BaseException:
                conn.close()
                raise
            if not taken:
                conn.close()
                return False
            self._conn = conn
            return True
        path = f"{self.settings.db}.{self.naam}.lock"
        owner_only(path)
        fd = os.open(path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def _laat_gaan(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                conn.close()  # the session ends: the server lets go of its advisory locks
            except psycopg.Error:
                pass
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def bootstrap(settings: Settings | None = None, ruleset: Ruleset | None = None, *,
              klok: Klok | None = None) -> Systeem:
    """Everything on the stores of `settings`. `klok` is the recording clock (events/application.py):
    None, the real time, except where a simulation records its own past (`loket demo`)."""
    settings = settings or Settings.from_env()
    with _one_setup_at_a_time(settings):
        app = maak_loket(settings, ruleset, klok=klok)
        # Before anything reads: a key store restored from a backup older than the events
        # must not open data whose keys the events say were destroyed (docs/operations.md).
        app.vernietigingen_herhalen()
        views = _views(app, settings)
        projecties = Projecties(views if isinstance(views, PostgresProjectieDatastore) else views.datastore)
        projecties.create_table()
    return Systeem(settings=settings, app=app, projecties=projecties, views=views)


def maak_kluis(settings: Settings) -> Kluis:
    """The key vault of these settings: LOKET_KEYSTORE_URL (or the file LOKET_KEYSTORE) under
    LOKET_MASTER_KEY(_FILE).

    Events in PostgreSQL with the keys still in a file: the file is used, with a warning. An
    installation from before LOKET_KEYSTORE_URL keeps its keys there; refusing to start would
    stop it at an upgrade, and a fresh key store in PostgreSQL would leave every sealed value
    unreadable. Moving the keys is an administrator's step (docs/privacy.md).
    """
    server = settings.keystore_server()
    if server is None and settings.database_url:
        log.warning("the events are in PostgreSQL but the key store is the file %s: set LOKET_KEYSTORE_URL to keep "
                    "the keys in PostgreSQL under a role of their own (docs/privacy.md)", settings.keystore_path)
    kluis = Kluis.openen(settings.keystore_path, master_key=settings.master_key,
                         master_key_file=settings.master_key_file, server=server)
    if isinstance(kluis.keystore, PostgresKeyStore) and settings.keystore_path.is_file() and kluis.keystore.leeg():
        # A first start on LOKET_KEYSTORE_URL beside the file that holds the keys: starting would seal
        # new data under new keys and leave everything sealed before unreadable.
        kluis.close()
        raise SleutelFout(f"LOKET_KEYSTORE_URL holds no keys yet, but the key store file {settings.keystore_path} "
                          f"does: move it first (loket keystore import {settings.keystore_path}), or remove it")
    return kluis


def sleutels_overnemen(settings: Settings, pad: Path) -> dict[str, int]:
    """Move the key store file at `pad` into the empty PostgreSQL key store of LOKET_KEYSTORE_URL, under
    the same master key, before any process starts on it (docs/privacy.md). Rows per table."""
    server = settings.keystore_server()
    if server is None:
        raise OngeldigeInstelling("LOKET_KEYSTORE_URL: set it to the PostgreSQL key store to move the keys into")
    if not pad.is_file():
        raise OngeldigeInstelling(f"no key store file at {pad}")
    kluis = Kluis.openen(pad, master_key=settings.master_key, master_key_file=settings.master_key_file,
                         server=server)
    try:
        assert isinstance(kluis.keystore, PostgresKeyStore)
        return kluis.keystore.neem_over(pad)
    finally:
        kluis.close()


def maak_tokens(settings: Settings) -> Tokens:
    """The API tokens and web sessions: with the events in PostgreSQL, in their database (every API
    host sees the same ones); else the file beside LOKET_DB. A token file left from before is taken
    over by an empty database once (loket/tokens.py)."""
    if settings.database_url is None:
        return Tokens(settings.tokens_db)
    env = postgres_env(settings.database_url)
    schema = env.get("POSTGRES_SCHEMA")
    return Tokens(settings.tokens_db, postgres={
        "host": env["POSTGRES_HOST"], "port": env["POSTGRES_PORT"], "dbname": env["POSTGRES_DBNAME"],
        "user": env["POSTGRES_USER"], "password": env["POSTGRES_PASSWORD"] or None,
        "connect_timeout": env["POSTGRES_CONNECT_TIMEOUT"],
        **({"options": f"-c search_path={schema}"} if schema else {}),
    })


def maak_loket(settings: Settings, ruleset: Ruleset | None = None, *, klok: Klok | None = None) -> Loket:
    """The application on the event store of these settings, with its vault, ruleset and recording clock."""
    return Loket(settings.event_store_env(), ruleset=ruleset or load_ruleset(), kluis=maak_kluis(settings),
                 anker_elke=settings.anchor_every, anker_seconden=settings.anchor_seconds, klok=klok)


def _views(app: Loket, settings: Settings) -> Factory | PostgresProjectieDatastore:
    """Where the projections keep their rows and tracking positions.

    With SQLite, in the events' file LOKET_DB, on connections of their own that do not
    wait for the disk to flush each commit (projections are rebuilt from the events they
    track). With PostgreSQL as event store, in the events' database, in a schema of their
    own (`projectie_schema`): every host reads the same projections, and rows and tracking
    positions still commit in one transaction, so exactly once holds.
    """
    if settings.database_url is None:
        return Factory(Environment(app.name, {"SQLITE_DBNAME": str(settings.db), "LOKET_REBUILDABLE": "1"}))
    env = postgres_env(settings.database_url)
    schema = projectie_schema(env.get("POSTGRES_SCHEMA"))
    try:
        return projectie_datastore(env, schema)
    except ProgrammingError as e:
        if not isinstance(e.__cause__, psycopg.errors.InsufficientPrivilege):
            raise
        raise OngeldigeInstelling(
            f"LOKET_DATABASE_URL: its role may not create the projections' schema {schema}: make it "
            "beforehand and grant it to that role, or grant the role CREATE on the database "
            "(docs/operations.md)") from None


def projectie_schema(events_schema: str | None) -> str:
    """The schema of the projections beside the events' schema (POSTGRES_SCHEMA; public when unset).

    A schema of their own, not the events': what is in it can all be rebuilt from the events,
    so a backup may leave it out and a rebuild may drop it whole without touching an event; its
    tables keep the names they have in SQLite (`tracking` among them) without meeting the events'
    own (`loket_tracking`, the relay's position); and two installations that share a database,
    each in a schema of its own, keep their projections apart too."""
    return f"{events_schema or 'loket'}_projecties"


@contextmanager
def _one_setup_at_a_time(settings: Settings) -> Iterator[None]:
    """Processes that start together on a fresh store take turns creating its tables.

    The libraries create tables check-then-act, which two processes at once break:
    eventsourcing's SQLite tracking table looks whether it exists and then inserts its
    migration row (the second process fails "Failed to record tracking for
    __migration__ 1"), and PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe beside
    a concurrent one (a unique violation on pg_type). `loket consume` and `loket
    relay` started together died of either. With SQLite a lock file beside LOKET_DB
    guards the files (processes on one host share them). With PostgreSQL a session
    advisory lock of the events' database guards everything set up here, for the
    processes of every host, and nothing is written to local disk for it: a process
    in production may have no writable path at all.
    """
    if settings.database_url is not None:
        with _postgres_lock(settings.database_url):
            yield
        return
    owner_only(f"{settings.db}.lock")
    fd = os.open(f"{settings.db}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when closed, or when the process dies
        yield
    finally:
        os.close(fd)


def onbereikbaar(exc: BaseException) -> bool:
    """A connection error of the event store (PostgreSQL down, restarting, wrong host or port): the
    eventsourcing library's, or psycopg's where it comes through unwrapped."""
    return isinstance(exc, (InterfaceError, OperationalError, psycopg.OperationalError, psycopg.InterfaceError))


def store_exists(settings: Settings) -> bool:
    """Whether the event store holds the loket's events table: for commands that only read,
    and must not create a store where there is none.

    SQLite: the LOKET_DB file. PostgreSQL: the table in the database and schema of
    LOKET_DATABASE_URL (the database itself is always there; the tables come with the
    first write).
    """
    if settings.database_url is None:
        return settings.db.is_file()
    env = postgres_env(settings.database_url)
    table = f"{env.get('POSTGRES_SCHEMA') or 'public'}.{Loket.name.lower()}_events"
    with _postgres(settings.database_url) as conn:
        return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()[0]


def _verbind(url: str) -> Any:
    env = postgres_env(url)
    return psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
        connect_timeout=env["POSTGRES_CONNECT_TIMEOUT"], autocommit=True,
    )


@contextmanager
def _postgres(url: str) -> Iterator[Any]:
    with _verbind(url) as conn:
        yield conn


@contextmanager
def _postgres_lock(url: str) -> Iterator[None]:
    with _postgres(url) as conn:
        # A session lock of this database: the server releases it if we die holding it.
        conn.execute("SELECT pg_advisory_lock(hashtext('loket: creating tables'))")
        yield
