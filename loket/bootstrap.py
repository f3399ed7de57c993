"""The composition root: builds everything from settings, once, and hands it down.

The key vault (key store and master key), the ruleset, the event store, the projections, the
tokens and the Kafka topics are made here from `Settings`, the one reader of the
environment; nothing below reads it.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import TrackingRecorder
from eventsourcing.utils import Environment

from consumers.topics import Topics
from events.application import Klok, Loket
from events.datastore import Factory
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
    views: Factory

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

    def bij(self, **kwargs: Any) -> int:
        """Bring the projections up to date with the event store."""
        return catch_up(self.app, self.projecties, **kwargs)

    def als_op(self, moment: datetime) -> Projecties:
        """The projections as they stood at `moment` (a fresh replay; live ones untouched)."""
        return as_of(self.app, moment)

    def tracking_recorder(self) -> TrackingRecorder:
        """A tracking record in the event store itself (the outbox relay's position)."""
        with _one_setup_at_a_time(self.settings):
            return self.app.factory.tracking_recorder()

    def close(self) -> None:
        self.app.close()
        if self.views is not self.app.factory:
            self.views.close()
        if "tokens" in self.__dict__:
            self.tokens.close()


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
        projecties = views.tracking_recorder(Projecties)
        assert isinstance(projecties, Projecties)  # the library types it as the base class it was asked for
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


def _views(app: Loket, settings: Settings) -> Factory:
    """Where the projections keep their rows and tracking positions.

    With SQLite, in the events' file LOKET_DB; with PostgreSQL as event store, in
    that SQLite file alone (rows and tracking still commit together: exactly once
    holds). Either way on connections of their own that do not wait for the disk
    to flush each commit: projections are rebuilt from the events they track.
    """
    return Factory(Environment(app.name, {"SQLITE_DBNAME": str(settings.db), "LOKET_REBUILDABLE": "1"}))


@contextmanager
def _one_setup_at_a_time(settings: Settings) -> Iterator[None]:
    """Processes that start together on a fresh store take turns creating its tables.

    The libraries create tables check-then-act, which two processes at once break:
    eventsourcing's SQLite tracking table looks whether it exists and then inserts its
    migration row (the second process fails "Failed to record tracking for
    __migration__ 1"), and PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe beside
    a concurrent one (a unique violation on pg_type). `loket consume` and `loket
    relay` started together died of either. A lock file beside LOKET_DB guards the
    SQLite files (processes on one host share them); a PostgreSQL advisory lock
    guards the event store, which processes on other hosts share too.
    """
    owner_only(f"{settings.db}.lock")
    fd = os.open(f"{settings.db}.lock", os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when closed, or when the process dies
        if settings.database_url is None:
            yield
            return
        with _postgres_lock(settings.database_url):
            yield
    finally:
        os.close(fd)


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


@contextmanager
def _postgres(url: str) -> Iterator[Any]:
    env = postgres_env(url)
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"], host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
        connect_timeout=env["POSTGRES_CONNECT_TIMEOUT"], autocommit=True,
    ) as conn:
        yield conn


@contextmanager
def _postgres_lock(url: str) -> Iterator[None]:
    with _postgres(url) as conn:
        # A session lock of this database: the server releases it if we die holding it.
        conn.execute("SELECT pg_advisory_lock(hashtext('loket: creating tables'))")
        yield
