"""The key store: one data key per subject (and compartment), kept apart from the events.

A separate SQLite file (LOKET_KEYSTORE, default `<LOKET_DB>.keys`), owner-only.
Data keys are stored wrapped (AES-256-GCM) under a key-encryption key: the
master key for ordinary data, a compartment key (itself wrapped under the
master key) for data of a restricted compartment. A compartment's data keys
are handed out for reading only to callers that hold the compartment.

Destroying a subject's keys (crypto-shredding) deletes their rows with
`secure_delete` on and empties the write-ahead log into the file, so the wrapped
key bytes are overwritten rather than left in free pages or older log frames; a
tombstone row records which key went, when and on which ground. A reader of an
older snapshot keeps the log from being emptied: that is waited for, and said.

It also keeps the signed head of the events' hash chain (events/hashchain.py):
apart from the events, so that cutting events off their end shows.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from privacy.files import owner_only
from privacy.masterkey import KEY_BYTES, SleutelFout, derive

GEEN = ""  # the compartment of ordinary (not restricted) data
BUSY_TIMEOUT = 30  # seconds a write waits for another process's
log = logging.getLogger("loket.privacy")
_CHUNK = 900  # bound parameters per statement (SQLite builds before 3.32 allow 999)

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS compartment_keys (compartment TEXT PRIMARY KEY, wrapped BLOB NOT NULL)",
    """CREATE TABLE IF NOT EXISTS data_keys (
        key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, compartment TEXT NOT NULL,
        wrapped BLOB NOT NULL, created_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS data_keys_subject ON data_keys (subject, compartment)",
    """CREATE TABLE IF NOT EXISTS destroyed_keys (
        key_id TEXT PRIMARY KEY, subject TEXT NOT NULL, compartment TEXT NOT NULL,
        created_at TEXT NOT NULL, destroyed_at TEXT NOT NULL, reason TEXT NOT NULL)""",
    # Which meldingen hold data sealed under which key, for shredding. By key id, which grows
    # with time, so a batch's new rows go to the table's last pages.
    """CREATE TABLE IF NOT EXISTS key_meldingen (
        key_id TEXT NOT NULL, melding_id TEXT NOT NULL, PRIMARY KEY (key_id, melding_id)) WITHOUT ROWID""",
    # The same by subject, as key stores wrote it before key_meldingen: still read, no longer written.
    """CREATE TABLE IF NOT EXISTS key_usage (
        subject TEXT NOT NULL, melding_id TEXT NOT NULL, PRIMARY KEY (subject, melding_id)) WITHOUT ROWID""",
    # The head of the events' hash chain (events/hashchain.py), signed: out of reach of whoever
    # can write the events, so cutting events off the end shows.
    """CREATE TABLE IF NOT EXISTS chain_head (
        id INTEGER PRIMARY KEY CHECK (id = 1), keyed_from INTEGER NOT NULL, base BLOB NOT NULL,
        seq INTEGER NOT NULL, position INTEGER NOT NULL, link BLOB NOT NULL, signed_at TEXT NOT NULL,
        signature BLOB NOT NULL)""",
)
_HEAD = "keyed_from, base, seq, position, link, signed_at, signature"


def write_ahead_log(db: sqlite3.Connection, *, timeout: float) -> bool:
    """Put an SQLite file in WAL mode, waiting up to `timeout` s for others; True if this call did.

    Processes opening a fresh file together race to change its journal mode, and SQLite
    answers the losers "database is locked" at once, without waiting its busy timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return False
            if db.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal":
                return True
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise sqlite3.OperationalError(f"could not switch {db!r} to write-ahead logging")
        time.sleep(0.02)


class CompartimentGesloten(PermissionError):
    """A compartment's key was asked for by a caller that does not hold the compartment."""


class OnbekendeSleutel(LookupError):
    """A key id that this key store never issued (a different key store, or altered data)."""


@dataclass(frozen=True, slots=True)
class Herhaling:
    """A shred as the events record it: whose keys, which (None: not recorded, then every key
    made before `op`), when (`op`, ISO 8601 UTC) and on which ground."""

    betrokkene: str
    sleutels: tuple[str, ...] | None
    op: str
    reden: str


def _now() -> str:
    return datetime.now(UTC).isoformat()


def new_key_id() -> str:
    """A fresh data key id: 32 hex digits, milliseconds since the epoch first, then 80 random bits.

    Ids that grow with time (the layout of a UUIDv7) land at the end of the key id
    index: a batch's new keys fill its last pages instead of dirtying a page each at
    random, which is what made intake slower the more keys the store held. The
    random part keeps ids unguessable and unique.
    """
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def _wrap(kek: AESGCM, key: bytes, aad: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + kek.encrypt(nonce, key, aad.encode())


def _unwrap(kek: bytes, wrapped: bytes, aad: str) -> bytes:
    return AESGCM(kek).decrypt(wrapped[:12], wrapped[12:], aad.encode())


class KeyStore:
    log_wait = 60.0  # seconds `empty_log` waits for readers of an older snapshot
    log_emptied = True  # whether the last shredding left no former key bytes in the log

    def __init__(self, path: str | Path, master: bytes, *, master_source: str = "the master key"):
        self.path = str(path)
        self.leftovers = f"{self.path}-wal"  # where a destroyed key's bytes stay while `empty_log` cannot empty it
        self._memory = self.path == ":memory:"
        if not self._memory:
            owner_only(self.path)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT)
        self._lock = threading.RLock()
        self._kek = derive(master, "keystore/v1")
        self._check = derive(master, "keystore-check/v1")
        self._compartment_keks: dict[str, bytes] = {}
        with self._lock:
            if not self._memory:
                write_ahead_log(self._db, timeout=30)
                self._db.execute("PRAGMA synchronous=FULL")  # a lost key is lost data
            self._db.execute("PRAGMA secure_delete=ON")
            with self._transaction() as c:
                for statement in _SCHEMA:
                    c.execute(statement)
                row = c.execute("SELECT value FROM meta WHERE name = 'check'").fetchone()
                if row is None:
                    c.execute("INSERT INTO meta VALUES ('check', ?)", (self._check,))
        if row is not None and bytes(row[0]) != self._check:
            self._db.close()
            raise SleutelFout(f"{master_source} does not open the key store at {self.path}")
        self._head_db = self._db
        if not self._memory:
            self._head_db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                            timeout=BUSY_TIMEOUT)
            self._head_db.execute("PRAGMA synchronous=NORMAL")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        """A write transaction; inside one of this thread's own (the lock is re-entrant), a part of it.

        Shredding saves its events inside the transaction that destroys the keys, and the
        chain keeps its new head in the key store as those events commit: that head then
        commits with the destruction, or not at all (a head that lags is allowed)."""
        with self._lock:
            c = self._db.cursor()
            if self._db.in_transaction:
                yield c
                return
            c.execute("BEGIN IMMEDIATE")
            try:
                yield c
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._head_db is not self._db:
                self._head_db.close()
            self._db.close()

    def bereikbaar(self) -> bool:
        """For a health check: a file of this host, open since the start, is there while the
        process is (the PostgreSQL key store asks its server, privacy/keystore_postgres.py)."""
        return True

    # Compartments ---------------------------------------------------------------

    def _compartment_kek(self, c: sqlite3.Cursor, compartment: str) -> bytes:
        if compartment == GEEN:
            return self._kek
        if compartment not in self._compartment_keks:
            aad = f"compartment-key|{compartment}"
            row = c.execute("SELECT wrapped FROM compartment_keys WHERE compartment = ?", (compartment,)).fetchone()
            if row is None:
                kek = os.urandom(KEY_BYTES)
                c.execute("INSERT INTO compartment_keys VALUES (?, ?)",
                          (compartment, _wrap(AESGCM(self._kek), kek, aad)))
            else:
                kek = _unwrap(self._kek, bytes(row[0]), aad)
            self._compartment_keks[compartment] = kek
        return self._compartment_keks[compartment]

    # The head of the events' hash chain ---------------------------------------------
    # Rows as the chain writes them: (keyed_from, base, seq, position, link, signed_at, signature).

    def chain_head(self) -> tuple | None:
        with self._lock:
            return self._db.execute(f"SELECT {_HEAD} FROM chain_head WHERE id = 1").fetchone()

    def start_chain(self, first: Callable[[], tuple]) -> tuple:
        """The head kept, or `first()` kept and returned when there is none yet (one process at a
        time: two opening a store together agree on one)."""
        with self._transaction() as c:
            row = c.execute(f"SELECT {_HEAD} FROM chain_head WHERE id = 1").fetchone()
            if row is None:
                row = first()
                c.execute(f"INSERT INTO chain_head (id, {_HEAD}) VALUES (1, ?, ?, ?, ?, ?, ?, ?)", row)
            return row

    def advance_chain(self, row: tuple) -> None:
        """Keep this head if it is further along than the one kept.

        After every commit of events, so on a connection of its own that does not wait
        for the disk (`synchronous=NORMAL`): a head lost in a power cut only lags, which
        is allowed. Inside this thread's own transaction (shredding) it joins that one.
        """
        keyed_from, base, seq, position, link, signed_at, signature = row
        with self._lock:
            db = self._db if self._db.in_transaction else self._head_db
            try:
                db.execute(
                    "UPDATE chain_head SET seq = ?, position = ?, link = ?, signed_at = ?, signature = ? "
                    "WHERE id = 1 AND seq < ? AND keyed_from = ? AND base = ?",
                    (seq, position, link, signed_at, signature, seq, keyed_from, base),
                )
            except sqlite3.OperationalError as e:
                # The events are committed already: failing their save now would say they were
                # not. The head lags until the next commit keeps one.
                log.warning("the hash chain's head was not kept in the key store at %s: %s", self.path, e)

    # Data keys ------------------------------------------------------------------

    def live_key(self, subject: str, compartment: str) -> tuple[str, bytes] | None:
        """The subject's current data key in this compartment (for sealing new data)."""
        return self.live_keys([subject], compartment).get(subject)

    def live_keys(self, subjects: Collection[str], compartment: str) -> dict[str, tuple[str, bytes]]:
        """The current data key in this compartment of each of these subjects that has one.

        One query for many subjects (in chunks of SQLite's parameter limit): intake
        seals the data of hundreds of subjects a batch, most of them new.
        """
        wanted = list(dict.fromkeys(subjects))
        latest: dict[str, tuple[str, str, bytes]] = {}
        with self._lock:
            c = self._db.cursor()
            for i in range(0, len(wanted), _CHUNK):
                chunk = wanted[i : i + _CHUNK]
                rows = c.execute(
                    "SELECT subject, key_id, wrapped, created_at FROM data_keys "
                    f"WHERE compartment = ? AND subject IN ({','.join('?' * len(chunk))})",
                    (compartment, *chunk),
                ).fetchall()
                for subject, key_id, wrapped, created_at in rows:
                    if subject not in latest or created_at > latest[subject][0]:
                        latest[subject] = (created_at, key_id, bytes(wrapped))
            return {
                subject: (key_id, self._open_wrapped(c, key_id, subject, compartment, wrapped))
                for subject, (_, key_id, wrapped) in latest.items()
            }

    def claim_keys(self, subjects: Collection[str], compartment: str) -> dict[str, tuple[str, bytes]]:
        """The data key in this compartment of each of these subjects, made for those that have none.

        In one write transaction (writers take turns): processes that claim the same
        subject's key at once end with one key, the first one's.
        """
        with self._transaction():
            found = self.live_keys(subjects, compartment)
            new = [(new_key_id(), s, compartment, os.urandom(KEY_BYTES))
                   for s in dict.fromkeys(subjects) if s not in found]
            self.add(new, ())
            return found | {s: (key_id, key) for key_id, s, _, key in new}

    def _open_wrapped(self, c: sqlite3.Cursor, key_id: str, subject: str, compartment: str, wrapped: bytes) -> bytes:
        kek = self._compartment_kek(c, compartment)
        try:
            return _unwrap(kek, wrapped, f"data-key|{key_id}|{subject}|{compartment}")
        except InvalidTag:
            raise SleutelFout(f"data key {key_id} in {self.path} does not authenticate (altered?)") from None

    def add(self, keys: Iterable[tuple[str, str, str, bytes]], usage: Iterable[tuple[str, str]]) -> None:
        """Store new data keys (key_id, subject, compartment, key) and which meldingen use which keys
        (key_id, melding_id).

        A batch of intake brings hundreds of new keys: one statement for all, and one
        cipher object per key-encryption key rather than one per key.
        """
        with self._transaction() as c:
            now = _now()
            ciphers: dict[str, AESGCM] = {}
            rows = []
            for key_id, subject, compartment, key in keys:
                if compartment not in ciphers:
                    ciphers[compartment] = AESGCM(self._compartment_kek(c, compartment))
                wrapped = _wrap(ciphers[compartment], key, f"data-key|{key_id}|{subject}|{compartment}")
                rows.append((key_id, subject, compartment, wrapped, now))
            c.executemany("INSERT INTO data_keys VALUES (?, ?, ?, ?, ?)", rows)
            c.executemany("INSERT OR IGNORE INTO key_meldingen VALUES (?, ?)", list(usage))

    def forget(self, usage: Iterable[tuple[str, str]], key_ids: Iterable[str]) -> None:
        """Remove key-to-melding rows (key_id, melding_id), and data keys that nothing was stored
        under: what `add` wrote for meldingen whose events were never saved."""
        with self._transaction() as c:
            c.executemany("DELETE FROM key_meldingen WHERE key_id = ? AND melding_id = ?", list(usage))
            c.executemany("DELETE FROM data_keys WHERE key_id = ?", [(k,) for k in key_ids])

    def key(self, key_id: str, *, compartimenten: frozenset[str]) -> bytes | None:
        """A data key for reading; None when it was destroyed."""
        with self._lock:
            c = self._db.cursor()
            row = c.execute(
                "SELECT subject, compartment, wrapped FROM data_keys WHERE key_id = ?", (key_id,)
            ).fetchone()
            if row is None:
                if c.execute("SELECT 1 FROM destroyed_keys WHERE key_id = ?", (key_id,)).fetchone():
                    return None
                raise OnbekendeSleutel(f"key {key_id} is not in the key store at {self.path}")
            subject, compartment, wrapped = row
            if compartment != GEEN and compartment not in compartimenten:
                raise CompartimentGesloten(f"key {key_id} belongs to a restricted compartment")
            return self._open_wrapped(c, key_id, subject, compartment, bytes(wrapped))

    def meldingen(self, subject: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT m.melding_id FROM data_keys k JOIN key_meldingen m ON m.key_id = k.key_id "
                "WHERE k.subject = ? UNION SELECT melding_id FROM key_usage WHERE subject = ? ORDER BY 1",
                (subject, subject),
            ).fetchall()
        return [r[0] for r in rows]

    def live_key_ids(self, subject: str) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT key_id FROM data_keys WHERE subject = ? ORDER BY key_id",
                                    (subject,)).fetchall()
        return [r[0] for r in rows]

    @contextmanager
    def destroy(self, subject: str, reason: str) -> Iterator[list[str]]:
        """Destroy every data key of a subject; committed when the block ends without error.

        The block is where the caller records that it destroys them: if that fails,
        the keys stay.
        """
        with self._transaction() as c:
            rows = c.execute(
                "SELECT key_id, compartment, created_at FROM data_keys WHERE subject = ?", (subject,)
            ).fetchall()
            now = _now()
            c.executemany(
                "INSERT INTO destroyed_keys VALUES (?, ?, ?, ?, ?, ?)",
                [(key_id, subject, compartment, created, now, reason) for key_id, compartment, created in rows],
            )
            c.execute("DELETE FROM data_keys WHERE subject = ?", (subject,))
            yield [r[0] for r in rows]
        self.log_emptied = self.empty_log()
        if not self.log_emptied:
            log.warning("keys destroyed, but a reader of the key store at %s holds an older snapshot: the destroyed "
                        "keys' former bytes stay in its write-ahead log until the log is emptied", self.path)

    # Shreds the events hold, applied again -----------------------------------------

    def vernietigingen_tot(self) -> int:
        """Up to which position of the events this key store has applied their shreds (0: none
        yet): a key store restored from a backup is at the position of the backup."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'vernietigingen_tot'").fetchone()
        return int(row[0]) if row else 0

    def herhaal_vernietigingen(self, shreds: Iterable[Herhaling], tot: int) -> list[str]:
        """Destroy again the keys that shreds recorded with the events destroyed, where this key
        store still holds them (restored from a backup older than the shred), and remember that
        the events up to position `tot` have been applied. Returns the key ids destroyed now.

        A shred that names its keys destroys those; one from before events named them, every key
        of the subject made before it (a key made later holds data that came after the shred)."""
        shreds = list(shreds)
        destroyed: list[str] = []
        if not shreds and tot <= self.vernietigingen_tot():
            return destroyed  # nothing new: no write (every start of every command comes here)
        with self._transaction() as c:
            for shred in shreds:
                if shred.sleutels is not None:
                    rows = [c.execute("SELECT key_id, compartment, created_at FROM data_keys "
                                      "WHERE key_id = ? AND subject = ?", (k, shred.betrokkene)).fetchone()
                            for k in shred.sleutels]
                    found = [r for r in rows if r is not None]
                else:
                    found = c.execute("SELECT key_id, compartment, created_at FROM data_keys "
                                      "WHERE subject = ? AND created_at <= ?", (shred.betrokkene, shred.op)).fetchall()
                if not found:
                    continue
                now = _now()
                c.executemany("INSERT OR IGNORE INTO destroyed_keys VALUES (?, ?, ?, ?, ?, ?)",
                              [(k, shred.betrokkene, comp, made, now, shred.reden) for k, comp, made in found])
                c.executemany("DELETE FROM data_keys WHERE key_id = ?", [(k,) for k, _, _ in found])
                destroyed += [k for k, _, _ in found]
            c.execute("INSERT INTO meta VALUES ('vernietigingen_tot', ?) ON CONFLICT (name) DO UPDATE "
                      "SET value = excluded.value WHERE CAST(excluded.value AS INTEGER) > CAST(meta.value AS INTEGER)",
                      (str(tot),))
        if destroyed:
            self.log_emptied = self.empty_log()
            log.warning("%d data keys destroyed again: the key store was older than the shreds the events "
                        "record (restored from a backup?)", len(destroyed))
        return destroyed

    def empty_log(self, *, wait: float | None = None) -> bool:
        """Copy the write-ahead log into the main file and cut it to nothing; False when a reader
        still holds an older snapshot after `wait` seconds (default `log_wait`).

        After shredding: the pages that held the destroyed keys are then overwritten in the
        main file (`secure_delete`), and no older copy of them is left in the log. While
        another connection reads an older snapshot, SQLite must keep the log for it.
        """
        if self._memory:
            return True
        deadline = time.monotonic() + (self.log_wait if wait is None else wait)
        while True:
            with self._lock:
                # Ask without waiting in SQLite's busy handler (30 s): the wait is ours.
                self._db.execute("PRAGMA busy_timeout = 100")
                try:
                    busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                finally:
                    self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
            if not busy:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
