"""The key store in PostgreSQL: the same keys, tombstones and chain head as privacy/keystore.py.

For installations whose events are in PostgreSQL (LOKET_KEYSTORE_URL): a database or
schema of its own, reached with a role of its own, so that whoever holds the events'
credentials cannot read the keys and whoever holds the keys' cannot read the events.
The wrapping is the SQLite store's (privacy/keystore.py): data keys under the master
key, compartment keys under the master key too; the master key is never in the database.

Several processes on several hosts share it. A subject's data key is claimed, not
merely looked up: a unique index on (subject, compartment) lets exactly one of the
processes that create it at once win, and the others seal under the winner's key.

Destroying keys (crypto-shredding) deletes their rows and records a tombstone. PostgreSQL
has no `secure_delete`: a deleted row version stays in its table page until VACUUM
removes it, and the bytes may stay in the page's free space, in the write-ahead log
(until its segments are recycled) and in WAL archives and base backups. What such
leftovers hold is a key wrapped under the master key, which is never stored here. So
shredding runs VACUUM on the key table at once, and says when the server reports row
versions it could not remove yet (a transaction of the key database that began before
the shredding still sees them). docs/privacy.md says what remains and what to do about it.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql

from privacy.keystore import GEEN, CompartimentGesloten, OnbekendeSleutel, _now, _unwrap, _wrap, new_key_id
from privacy.masterkey import KEY_BYTES, SleutelFout, derive

log = logging.getLogger("loket.privacy")

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS compartment_keys (compartment TEXT PRIMARY KEY, wrapped BYTEA NOT NULL)",
    # `current`: the key new data is sealed under. A key store file can hold more than one key of
    # a subject (made at once by processes before keys were claimed): moved here, the newest is
    # current and the others stay to open what was sealed under them.
    """CREATE TABLE IF NOT EXISTS data_keys (
        key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, compartment TEXT NOT NULL,
        wrapped BYTEA NOT NULL, created_at TEXT NOT NULL, current BOOLEAN NOT NULL DEFAULT TRUE)""",
    "CREATE INDEX IF NOT EXISTS data_keys_subject ON data_keys (subject)",
    # One current key per subject and compartment, whichever process made it first.
    "CREATE UNIQUE INDEX IF NOT EXISTS data_keys_current ON data_keys (subject, compartment) WHERE current",
    """CREATE TABLE IF NOT EXISTS destroyed_keys (
        key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, compartment TEXT NOT NULL,
        created_at TEXT NOT NULL, destroyed_at TEXT NOT NULL, reason TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS key_meldingen (
        key_id TEXT NOT NULL, melding_id TEXT NOT NULL, PRIMARY KEY (key_id, melding_id))""",
    """CREATE TABLE IF NOT EXISTS chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1), keyed_from BIGINT NOT NULL, base BYTEA NOT NULL,
        seq BIGINT NOT NULL, position BIGINT NOT NULL, link BYTEA NOT NULL, signed_at TEXT NOT NULL,
        signature BYTEA NOT NULL)""",
)
_HEAD = "keyed_from, base, seq, position, link, signed_at, signature"
_KEY_COLUMNS = "key_id, subject, compartment, wrapped, created_at"
# What VACUUM (VERBOSE) says of row versions it had to leave: PostgreSQL 15 and later, and before.
_NOT_REMOVABLE = (re.compile(r"(\d+) are dead but not yet removable"),
                  re.compile(r"(\d+) dead row versions cannot be removed yet"))


@dataclass(frozen=True, slots=True)
class Server:
    """Where the key store is and how to log in (from LOKET_KEYSTORE_URL; the composition root
    reads it). `setting` names it in messages; the password never appears in one."""

    host: str
    port: int
    dbname: str
    user: str
    password: str = field(default="", repr=False)
    schema: str | None = None
    connect_timeout: int = 10
    setting: str = "LOKET_KEYSTORE_URL"

    @property
    def where(self) -> str:
        schema = f" schema {self.schema}" if self.schema else ""
        return f"{self.user}@{self.host}:{self.port}/{self.dbname}{schema}"

    def connect(self, *, timeout: int | None = None, **extra: Any) -> psycopg.Connection:
        """A connection in autocommit mode; SleutelFout naming the setting when the server cannot be
        reached or refuses the login. `timeout`: seconds to connect, instead of connect_timeout;
        `extra`: more libpq parameters."""
        options = f"-c search_path={self.schema}" if self.schema else None
        try:
            return psycopg.connect(host=self.host, port=self.port, dbname=self.dbname, user=self.user,
                                   password=self.password or None, connect_timeout=timeout or self.connect_timeout,
                                   options=options, autocommit=True, **extra)
        except psycopg.OperationalError as e:
            raise Onbereikbaar(f"{self.setting}: the key store at {self.where} cannot be reached or refused the "
                               f"login: {self.first_line(e)}") from None

    def first_line(self, e: BaseException) -> str:
        """The driver's first line, without the password should it ever quote it."""
        text = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return text.replace(self.password, "***") if self.password else text


class Onbereikbaar(SleutelFout):
    """The key store's server cannot be reached, refuses the login, or does not let its role in."""


P = ParamSpec("P")
T = TypeVar("T")
RECONNECT_SECONDS = 15.0  # how long a call waits for a restarted server before it gives up
# How long a health check waits for the server: libpq counts whole seconds, at least 2; an
# unanswered query on a connection that was open gives up as soon (tcp_user_timeout).
PROBE_SECONDS = 2


def _reconnecting(
    method: Callable[Concatenate[PostgresKeyStore, P], T],
) -> Callable[Concatenate[PostgresKeyStore, P], T]:
    """A call that finds its connection cut (the server restarted, a network blip) connects again
    and is made once more, unless it was part of a caller's transaction: that one is lost, and
    the caller's error says so. Every call here is a transaction of its own, so redoing it is safe."""

    @functools.wraps(method)
    def call(self: PostgresKeyStore, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            nested = self._in_transaction()
            try:
                return method(self, *args, **kwargs)
            except psycopg.OperationalError:
                if nested or not (self._db.closed or self._db.broken):
                    raise
            log.warning("the connection to the key store at %s was cut: connecting again", self.path)
            self._reconnect()
            return method(self, *args, **kwargs)

    return call


class PostgresKeyStore:
    """privacy/keystore.py's KeyStore, on a PostgreSQL server shared by several processes."""

    log_wait = 60.0  # seconds `empty_log` waits for transactions that still see destroyed keys
    log_emptied = True  # whether VACUUM removed every destroyed key's row version after the last shredding

    def __init__(self, server: Server, master: bytes, *, master_source: str = "the master key"):
        self.server = server
        self.path = f"{server.setting} ({server.where})"  # where it is, for messages
        self.leftovers = f"the pages of its data_keys table ({server.where}) until VACUUM removes them"
        self._lock = threading.RLock()
        self._kek = derive(master, "keystore/v1")
        self._check = derive(master, "keystore-check/v1")
        self._compartment_keks: dict[str, bytes] = {}
        self._db = server.connect()
        self._head_db: psycopg.Connection | None = None
        self._probe: psycopg.Connection | None = None
        self._probe_lock = threading.Lock()
        try:
            with self._transaction() as c:
                # CREATE TABLE IF NOT EXISTS is not safe beside a concurrent one: processes take turns.
                c.execute("SELECT pg_advisory_xact_lock(hashtext('loket: key store tables'))")
                # Made by the administrator, usually; IF NOT EXISTS alone would ask for CREATE on the database.
                if server.schema and not c.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                                                   (server.schema,)).fetchone():
                    c.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(server.schema)))
                for statement in _SCHEMA:
                    c.execute(statement)
                c.execute("INSERT INTO meta VALUES ('check', %s) ON CONFLICT (name) DO NOTHING", (self._check,))
                row = _one(c.execute("SELECT value FROM meta WHERE name = 'check'").fetchone())
        except psycopg.errors.InsufficientPrivilege as e:
            self._db.close()
            raise Onbereikbaar(f"{server.setting}: the role {server.user} may not keep the key store's tables at "
                               f"{server.where}: {server.first_line(e)}") from None
        if bytes(row[0]) != self._check:
            self._db.close()
            raise SleutelFout(f"{master_source} does not open the key store at {self.path}")

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor]:
        """A transaction; inside one of this thread's own (the lock is re-entrant), a part of it.

        Shredding saves its events inside the transaction that destroys the keys, and the
        chain keeps its new head in the key store as those events commit: that head then
        commits with the destruction, or not at all (a head that lags is allowed)."""
        with self._lock:
            if self._in_transaction():
                yield self._db.cursor()
                return
            with self._db.transaction():
                yield self._db.cursor()

    def _in_transaction(self) -> bool:
        return self._db.info.transaction_status not in (psycopg.pq.TransactionStatus.IDLE,
                                                        psycopg.pq.TransactionStatus.UNKNOWN)

    def _reconnect(self) -> None:
        """A new connection, waiting up to RECONNECT_SECONDS for a server that is restarting."""
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                self._db = self.server.connect()
                return
            except Onbereikbaar:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        with self._lock:
            if self._head_db is not None:
                self._head_db.close()
            self._db.close()
        with self._probe_lock:
            if self._probe is not None:
                self._probe.close()

    def bereikbaar(self) -> bool:
        """Whether the server answers now, within about PROBE_SECONDS: for a health check. On a
        connection of its own, kept between checks, so a check never waits behind a call that
        waits for a restarted server (RECONNECT_SECONDS), nor costs a login while all is well.
        A server that takes the query and never answers holds the check up: the caller bounds
        its wait (loket/web/app.py), and the checks after it answer False at once."""
        if not self._probe_lock.acquire(timeout=PROBE_SECONDS):
            return False  # a check before this one still waits for an answer: none is coming soon
        try:
            try:
                if self._probe is None or self._probe.closed or self._probe.broken:
                    self._probe = self.server.connect(timeout=PROBE_SECONDS,
                                                      tcp_user_timeout=PROBE_SECONDS * 1000)
                self._probe.execute("SELECT 1")
                return True
            except (psycopg.Error, Onbereikbaar):
                if self._probe is not None:
                    self._probe.close()
                    self._probe = None
                return False
        finally:
            self._probe_lock.release()

    # Compartments ---------------------------------------------------------------

    def _compartment_kek(self, c: psycopg.Cursor, compartment: str) -> bytes:
        if compartment == GEEN:
            return self._kek
        if compartment not in self._compartment_keks:
            aad = f"compartment-key|{compartment}"
            # Two processes making the compartment's key at once: the first one's stays.
            c.execute("INSERT INTO compartment_keys VALUES (%s, %s) ON CONFLICT (compartment) DO NOTHING",
                      (compartment, _wrap(AESGCM(self._kek), os.urandom(KEY_BYTES), aad)))
            row = _one(c.execute("SELECT wrapped FROM compartment_keys WHERE compartment = %s",
                                 (compartment,)).fetchone())
            self._compartment_keks[compartment] = _unwrap(self._kek, bytes(row[0]), aad)
        return self._compartment_keks[compartment]

    # The head of the events' hash chain ---------------------------------------------

    @_reconnecting
    def chain_head(self) -> tuple | None:
        with self._lock:
            row = self._db.execute(f"SELECT {_HEAD} FROM chain_head WHERE id = 1").fetchone()
        return None if row is None else _head(row)

    @_reconnecting
    def start_chain(self, first: Callable[[], tuple]) -> tuple:
        """The head kept, or `first()` kept and returned when there is none yet (processes opening
        a store together agree on one: the first to insert it)."""
        with self._transaction() as c:
            row = c.execute(f"SELECT {_HEAD} FROM chain_head WHERE id = 1").fetchone()
            if row is None:
                c.execute(f"INSERT INTO chain_head (id, {_HEAD}) VALUES (1, %s, %s, %s, %s, %s, %s, %s) "
                          "ON CONFLICT (id) DO NOTHING", first())
                row = _one(c.execute(f"SELECT {_HEAD} FROM chain_head WHERE id = 1").fetchone())
            return _head(row)

    def advance_chain(self, row: tuple) -> None:
        """Keep this head if it is further along than the one kept (after every commit of events,
        on a connection of its own; inside this thread's own transaction, in that one)."""
        keyed_from, base, seq, position, link, signed_at, signature = row
        with self._lock:
            try:
                if self._in_transaction():
                    db = self._db
                else:
                    if self._head_db is None or self._head_db.closed or self._head_db.broken:
                        self._head_db = self.server.connect()
                    db = self._head_db
                db.execute(
                    "UPDATE chain_head SET seq = %s, position = %s, link = %s, signed_at = %s, signature = %s "
                    "WHERE id = 1 AND seq < %s AND keyed_from = %s AND base = %s",
                    (seq, position, link, signed_at, signature, seq, keyed_from, base),
                )
            except (psycopg.OperationalError, Onbereikbaar) as e:
                # The events are committed already: failing their save now would say they were
                # not. The head lags until the next commit keeps one.
                log.warning("the hash chain's head was not kept in the key store at %s: %s", self.path,
                            self.server.first_line(e))

    # Data keys ------------------------------------------------------------------

    def live_key(self, subject: str, compartment: str) -> tuple[str, bytes] | None:
        return self.live_keys([subject], compartment).get(subject)

    @_reconnecting
    def live_keys(self, subjects: Collection[str], compartment: str) -> dict[str, tuple[str, bytes]]:
        """The current data key in this compartment of each of these subjects that has one."""
        with self._lock:
            c = self._db.cursor()
            rows = c.execute(
                "SELECT subject, key_id, wrapped FROM data_keys "
                "WHERE current AND compartment = %s AND subject = ANY(%s)",
                (compartment, list(dict.fromkeys(subjects))),
            ).fetchall()
            return {subject: (key_id, self._open_wrapped(c, key_id, subject, compartment, bytes(wrapped)))
                    for subject, key_id, wrapped in rows}

    @_reconnecting
    def claim_keys(self, subjects: Collection[str], compartment: str) -> dict[str, tuple[str, bytes]]:
        """The data key in this compartment of each of these subjects, made for those that have none.

        Processes claiming the same subject's key at once end with one key: each offers one,
        the unique index keeps the first, and every process gets that one back.
        """
        wanted = list(dict.fromkeys(subjects))
        found: dict[str, tuple[str, bytes]] = {}
        while missing := [s for s in wanted if s not in found]:
            with self._transaction() as c:
                found |= self.live_keys(missing, compartment)
                offer = {s: (new_key_id(), os.urandom(KEY_BYTES)) for s in missing if s not in found}
                if offer:
                    aes = AESGCM(self._compartment_kek(c, compartment))
                    ids = [key_id for key_id, _ in offer.values()]
                    wrapped = [_wrap(aes, key, f"data-key|{key_id}|{s}|{compartment}")
                               for s, (key_id, key) in offer.items()]
                    # One statement for the batch; it answers which of our offers were stored.
                    stored = c.execute(
                        f"INSERT INTO data_keys ({_KEY_COLUMNS}) SELECT k, s, %s, w, %s "
                        "FROM unnest(%s::text[], %s::text[], %s::bytea[]) AS o(k, s, w) "
                        "ON CONFLICT (subject, compartment) WHERE current DO NOTHING RETURNING subject",
                        (compartment, _now(), ids, list(offer), wrapped),
                    ).fetchall()
                    found |= {s: offer[s] for (s,) in stored}
                    # Where another process was first: its key, committed now or waited for (a
                    # shredding in between makes the loop offer again).
                    if lost := [s for s in offer if s not in found]:
                        found |= self.live_keys(lost, compartment)
        return found

    def _open_wrapped(self, c: psycopg.Cursor, key_id: str, subject: str, compartment: str, wrapped: bytes) -> bytes:
        kek = self._compartment_kek(c, compartment)
        try:
            return _unwrap(kek, wrapped, f"data-key|{key_id}|{subject}|{compartment}")
        except InvalidTag:
            raise SleutelFout(f"data key {key_id} in {self.path} does not authenticate (altered?)") from None

    @_reconnecting
    def add(self, keys: Iterable[tuple[str, str, str, bytes]], usage: Iterable[tuple[str, str]]) -> None:
        """Store data keys made elsewhere (key_id, subject, compartment, key) and which meldingen use
        which keys (key_id, melding_id)."""
        with self._transaction() as c:
            now = _now()
            rows = [(key_id, subject, compartment,
                     _wrap(AESGCM(self._compartment_kek(c, compartment)), key,
                           f"data-key|{key_id}|{subject}|{compartment}"), now)
                    for key_id, subject, compartment, key in keys]
            if rows:
                c.executemany(f"INSERT INTO data_keys ({_KEY_COLUMNS}) VALUES (%s, %s, %s, %s, %s)", rows)
            if used := list(usage):
                c.execute("INSERT INTO key_meldingen SELECT * FROM unnest(%s::text[], %s::text[]) "
                          "ON CONFLICT DO NOTHING", ([k for k, _ in used], [m for _, m in used]))

    @_reconnecting
    def forget(self, usage: Iterable[tuple[str, str]], key_ids: Iterable[str]) -> None:
        with self._transaction() as c:
            if gone := list(usage):
                c.executemany("DELETE FROM key_meldingen WHERE key_id = %s AND melding_id = %s", gone)
            if keys := [(k,) for k in key_ids]:
                c.executemany("DELETE FROM data_keys WHERE key_id = %s", keys)

    @_reconnecting
    def key(self, key_id: str, *, compartimenten: frozenset[str]) -> bytes | None:
        """A data key for reading; None when it was destroyed."""
        with self._lock:
            c = self._db.cursor()
            row = c.execute("SELECT subject, compartment, wrapped FROM data_keys WHERE key_id = %s",
                            (key_id,)).fetchone()
            if row is None:
                if c.execute("SELECT 1 FROM destroyed_keys WHERE key_id = %s", (key_id,)).fetchone():
                    return None
                raise OnbekendeSleutel(f"key {key_id} is not in the key store at {self.path}")
            subject, compartment, wrapped = row
            if compartment != GEEN and compartment not in compartimenten:
                raise CompartimentGesloten(f"key {key_id} belongs to a restricted compartment")
            return self._open_wrapped(c, key_id, subject, compartment, bytes(wrapped))

    @_reconnecting
    def meldingen(self, subject: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT m.melding_id FROM data_keys k JOIN key_meldingen m ON m.key_id = k.key_id "
                "WHERE k.subject = %s ORDER BY 1", (subject,)).fetchall()
        return [r[0] for r in rows]

    @_reconnecting
    def _alive(self) -> None:
        """A connection cut since the last call is found here, and made anew (before a transaction
        that holds a caller's work, which could not be redone)."""
        self._db.execute("SELECT 1")

    @_reconnecting
    def live_key_ids(self, subject: str) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT key_id FROM data_keys WHERE subject = %s ORDER BY key_id",
                                    (subject,)).fetchall()
        return [r[0] for r in rows]

    @contextmanager
    def destroy(self, subject: str, reason: str) -> Iterator[list[str]]:
        """Destroy every data key of a subject; committed when the block ends without error.

        DELETE ... RETURNING: a second process shredding the same subject at once waits for
        the first and then finds nothing left to destroy."""
        self._alive()
        with self._transaction() as c:
            rows = c.execute("DELETE FROM data_keys WHERE subject = %s RETURNING key_id, compartment, created_at",
                             (subject,)).fetchall()
            now = _now()
            if rows:
                c.executemany(
                    "INSERT INTO destroyed_keys VALUES (%s, %s, %s, %s, %s, %s)",
                    [(key_id, subject, compartment, created, now, reason) for key_id, compartment, created in rows],
                )
            yield [r[0] for r in rows]
        self.log_emptied = self.empty_log()
        if not self.log_emptied:
            log.warning("keys destroyed, but a transaction of the key store at %s still sees them: VACUUM could "
                        "not remove their row versions yet", self.path)

    # Moving a key store file here ------------------------------------------------------

    @_reconnecting
    def leeg(self) -> bool:
        """Whether this store holds no key, tombstone or chain head yet (a fresh one)."""
        row = _one(self._db.execute(
            "SELECT EXISTS (SELECT 1 FROM data_keys) OR EXISTS (SELECT 1 FROM destroyed_keys) "
            "OR EXISTS (SELECT 1 FROM chain_head)").fetchone())
        return not row[0]

    def neem_over(self, path: Path) -> dict[str, int]:
        """Copy the key store file at `path` into this store, which must be empty: the same wrapped
        keys, tombstones, key-to-melding rows and chain head (the file must be under the same master
        key). Returns the number of rows per table. The file is then a copy of every key, shredded
        ones to come included: the caller says to destroy it."""
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as f:
            tables = {name for (name,) in f.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "data_keys" not in tables:
                raise SleutelFout(f"{path} is not a key store file")
            check = f.execute("SELECT value FROM meta WHERE name = 'check'").fetchone()
            if check is None or bytes(check[0]) != self._check:
                raise SleutelFout(f"the key store file {path} is not under the master key of {self.path}")
            rows = {
                "compartment_keys": f.execute("SELECT compartment, wrapped FROM compartment_keys").fetchall(),
                "data_keys": f.execute(f"SELECT {_KEY_COLUMNS} FROM data_keys ORDER BY subject, compartment, "
                                       "created_at DESC, key_id DESC").fetchall(),
                "destroyed_keys": f.execute("SELECT key_id, subject, compartment, created_at, destroyed_at, reason "
                                            "FROM destroyed_keys").fetchall(),
                # Rows by subject (key_usage, older files) become rows of each key of that subject.
                "key_meldingen": f.execute(
                    "SELECT key_id, melding_id FROM key_meldingen UNION SELECT k.key_id, u.melding_id FROM key_usage u "
                    "JOIN data_keys k ON k.subject = u.subject" if "key_usage" in tables else
                    "SELECT key_id, melding_id FROM key_meldingen").fetchall(),
                "chain_head": f.execute(f"SELECT {_HEAD} FROM chain_head").fetchall(),
            }
        with self._lock, self._transaction() as c:
            c.execute("LOCK TABLE data_keys, destroyed_keys, compartment_keys, key_meldingen, chain_head")
            for table in rows:
                if _one(c.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone())[0]:
                    raise SleutelFout(f"the key store at {self.path} is not empty ({table}): nothing was moved")
            c.executemany("INSERT INTO compartment_keys VALUES (%s, %s)",
                          [(n, bytes(w)) for n, w in rows["compartment_keys"]])
            seen: set[tuple[str, str]] = set()
            keys = []
            for key_id, subject, compartment, wrapped, created in rows["data_keys"]:  # newest first
                keys.append((key_id, subject, compartment, bytes(wrapped), created, (subject, compartment) not in seen))
                seen.add((subject, compartment))
            c.executemany(f"INSERT INTO data_keys ({_KEY_COLUMNS}, current) VALUES (%s, %s, %s, %s, %s, %s)", keys)
            c.executemany("INSERT INTO destroyed_keys VALUES (%s, %s, %s, %s, %s, %s)", rows["destroyed_keys"])
            c.executemany("INSERT INTO key_meldingen VALUES (%s, %s)", rows["key_meldingen"])
            c.executemany(f"INSERT INTO chain_head (id, {_HEAD}) VALUES (1, %s, %s, %s, %s, %s, %s, %s)",
                          [_head(tuple(r)) for r in rows["chain_head"]])
        return {table: len(found) for table, found in rows.items()}

    # Shreds the events hold, applied again ---------------------------------------------

    @_reconnecting
    def vernietigingen_tot(self) -> int:
        """Up to which position of the events this key store has applied their shreds (0: none yet):
        a key store restored from a backup is at the position of the backup."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'vernietigingen_tot'").fetchone()
        return int(bytes(row[0]).decode()) if row else 0

    @_reconnecting
    def herhaal_vernietigingen(self, shreds: Iterable[Any], tot: int) -> list[str]:
        """Destroy again the keys that shreds recorded with the events destroyed, where this key store
        still holds them, and remember that the events up to position `tot` have been applied.

        Each shred has `betrokkene`, `sleutels` (the key ids it destroyed; None: every key of the
        subject made before `op`), `op` (ISO 8601 UTC) and `reden`. Returns the key ids destroyed now.
        """
        shreds = list(shreds)
        destroyed: list[str] = []
        if not shreds and tot <= self.vernietigingen_tot():
            return destroyed  # nothing new: no write (every start of every command comes here)
        with self._transaction() as c:
            for shred in shreds:
                if shred.sleutels is not None:
                    found = c.execute("DELETE FROM data_keys WHERE subject = %s AND key_id = ANY(%s) "
                                      "RETURNING key_id, compartment, created_at",
                                      (shred.betrokkene, list(shred.sleutels))).fetchall()
                else:
                    found = c.execute("DELETE FROM data_keys WHERE subject = %s AND created_at <= %s "
                                      "RETURNING key_id, compartment, created_at",
                                      (shred.betrokkene, shred.op)).fetchall()
                if found:
                    now = _now()
                    c.executemany("INSERT INTO destroyed_keys VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                                  [(k, shred.betrokkene, comp, made, now, shred.reden) for k, comp, made in found])
                    destroyed += [k for k, _, _ in found]
            c.execute("INSERT INTO meta VALUES ('vernietigingen_tot', %s) ON CONFLICT (name) DO UPDATE "
                      "SET value = excluded.value WHERE convert_from(excluded.value, 'UTF8')::bigint "
                      "> convert_from(meta.value, 'UTF8')::bigint", (str(tot).encode(),))
        if destroyed:
            self.log_emptied = self.empty_log()
            log.warning("%d data keys destroyed again: the key store was older than the shreds the events "
                        "record (restored from a backup?)", len(destroyed))
        return destroyed

    def empty_log(self, *, wait: float | None = None) -> bool:
        """VACUUM the key table, so that the destroyed keys' row versions leave its pages; False when
        the server still reports some it could not remove after `wait` seconds (default `log_wait`).

        A transaction of the key database that began before the shredding keeps them (as
        an SQLite reader of an older snapshot keeps its write-ahead log). Transactions of
        other databases, the events' included, do not.
        """
        deadline = time.monotonic() + (self.log_wait if wait is None else wait)
        while True:
            if (left := self._vacuum()) == 0:
                return True
            if time.monotonic() >= deadline:
                if left is None:
                    log.warning("VACUUM of the key store at %s gave no count of row versions left (a server "
                                "whose lc_messages is not English?): not confirmed", self.path)
                return False
            time.sleep(0.1)

    def _vacuum(self) -> int | None:
        """Row versions VACUUM had to leave in the key table (None: the server did not say)."""
        said: list[str] = []

        def hear(notice: Any) -> None:
            said.append(notice.message_primary or "")
            said.append(notice.message_detail or "")

        with self._lock:
            if self._db.closed or self._db.broken:
                self._reconnect()
            self._db.add_notice_handler(hear)
            try:
                self._db.execute("VACUUM (VERBOSE) data_keys")
            finally:
                self._db.remove_notice_handler(hear)
        counts = [int(m.group(1)) for text in said for pattern in _NOT_REMOVABLE if (m := pattern.search(text))]
        return sum(counts) if counts else None


def _head(row: tuple) -> tuple:
    keyed_from, base, seq, position, link, signed_at, signature = row
    return (keyed_from, bytes(base), seq, position, bytes(link), signed_at, bytes(signature))


def _one(row: tuple | None) -> tuple:
    """A row that a statement just before made sure of."""
    assert row is not None
    return row
