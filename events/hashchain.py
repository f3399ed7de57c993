"""Tamper evidence: a hash chain over the stored events, kept in the same transaction.

Every stored event gets a link, in notification order: SHA-256 over the
previous link and the event exactly as stored (its position in the
notification log, originator id, version, topic and state bytes). Every
`anchor_every` links (fixed when the store is created) the link is signed
(Ed25519, key derived from the master key): whoever rewrites history must also
rewrite every later link, and cannot sign the anchors again.

Kept by the recorder itself (APPLICATION_RECORDER_TOPIC, see loket/settings.py),
inside the transaction that inserts the events: no event is ever stored without
its link, and the links follow the commit order (SQLite has one writer at a time;
the PostgreSQL recorder locks the events table for each insert, so notification
ids are issued in commit order too). A follower that chained in notification
order afterwards would leave a window in which events sit unchained; it would be
decoupled from the write path, but tampering in that window would go unseen.

`verify` walks events and links side by side and names the first position
where they part: an altered event, a deleted one, one written around the
recorder, or a rewritten stretch that no longer matches its anchor. Links after
the last anchor are protected by the chain alone: `loket verify` prints the head
so it can be recorded elsewhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import zip_longest
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eventsourcing.persistence import ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from events.recorders import PostgresLoketRecorder, SQLiteLoketRecorder

GENESIS = bytes(32)
_DOMAIN = b"loket-keten/v1"
PAGE = 5_000


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, UUID):
        return value.bytes
    return str(value).encode("utf-8")


def link(previous: bytes, position: int, originator: Any, version: Any, topic: Any, state: Any) -> bytes:
    """The next link: the previous one and the event's stored values, each length-prefixed."""
    h = hashlib.sha256(_DOMAIN)
    h.update(previous)
    h.update(int(position).to_bytes(8, "big"))
    for part in (_bytes(originator), _bytes(version), _bytes(topic), _bytes(state)):
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def anchor_message(seq: int, position: int, link_: bytes, every: int, signed_at: str) -> bytes:
    return b"|".join([_DOMAIN, b"anker", str(seq).encode(), str(position).encode(), link_.hex().encode(),
                      str(every).encode(), signed_at.encode()])


def public_key_text(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


@dataclass(frozen=True, slots=True)
class Opgeslagen:
    """An event as it is stored: the values the chain covers."""

    position: int
    originator: Any
    version: Any
    topic: Any
    state: Any


@dataclass(frozen=True, slots=True)
class Schakel:
    seq: int
    position: int
    link: bytes


@dataclass(frozen=True, slots=True)
class Anker:
    seq: int
    position: int
    link: bytes
    every: int
    signed_at: str
    signature: bytes


@dataclass(frozen=True, slots=True)
class Verificatie:
    """What `verify` found: intact, or the first broken position and why."""

    events: int
    anchors: int
    head: str
    head_position: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class HashChained:
    """Mixin for an application recorder: chains what it inserts, and reads back for `verify`."""

    anchor_key: Ed25519PrivateKey | None = None
    anchor_every: int = 1000
    chain_table = "event_chain"
    anchors_table = "event_chain_anchors"
    meta_table = "event_chain_meta"

    def anchor_with(self, key: Ed25519PrivateKey, *, every: int) -> None:
        """Sign an anchor every `every` links; the interval of an existing store wins."""
        self.anchor_key = key
        self.anchor_every = self._fixed_interval(every)

    # Writing (inside the insert's transaction) ------------------------------------

    def _chain(self, c: Any, stored_events: Sequence[StoredEvent], positions: Sequence[int] | None) -> None:
        if not stored_events:
            return
        if positions is None or len(positions) != len(stored_events):
            raise ProgrammingError("the hash chain needs the notification id of every inserted event")
        seq, previous = self._head(c)
        links, anchors = [], []
        for position, s in sorted(zip(positions, stored_events, strict=True), key=lambda p: p[0]):
            previous = link(previous, position, self._stored_id(s.originator_id), s.originator_version, s.topic,
                            s.state)
            seq += 1
            links.append((seq, position, previous))
            if self.anchor_key is not None and seq % self.anchor_every == 0:
                signed_at = datetime.now(UTC).isoformat()
                message = anchor_message(seq, position, previous, self.anchor_every, signed_at)
                anchors.append((seq, position, previous, self.anchor_every, signed_at, self.anchor_key.sign(message)))
        self._insert_links(c, links, anchors)

    # Reading (for verify) ---------------------------------------------------------

    def verify(self, public_key: Ed25519PublicKey) -> Verificatie:
        return verify(self._stored_events(), self._links(), self._anchors(), public_key, self.anchor_every)

    def _stored_events(self) -> Iterator[Opgeslagen]:
        after = 0
        while page := self._events_page(after, PAGE):
            yield from page
            after = page[-1].position

    def _links(self) -> Iterator[Schakel]:
        after = 0
        while page := self._links_page(after, PAGE):
            yield from page
            after = page[-1].seq

    # Backend specifics --------------------------------------------------------------

    def _stored_id(self, originator_id: UUID | str) -> Any:
        raise NotImplementedError

    def _fixed_interval(self, every: int) -> int:
        raise NotImplementedError

    def _head(self, c: Any) -> tuple[int, bytes]:
        raise NotImplementedError

    def _insert_links(self, c: Any, links: list[tuple], anchors: list[tuple]) -> None:
        raise NotImplementedError

    def _events_page(self, after: int, limit: int) -> list[Opgeslagen]:
        raise NotImplementedError

    def _links_page(self, after: int, limit: int) -> list[Schakel]:
        raise NotImplementedError

    def _anchors(self) -> list[Anker]:
        raise NotImplementedError


def verify(
    events: Iterable[Opgeslagen], links: Iterable[Schakel], anchors: Sequence[Anker], public_key: Ed25519PublicKey,
    every: int,
) -> Verificatie:
    """Walk events and links in step; the first position where they part, or intact."""
    by_seq = {a.seq: a for a in anchors}
    previous, seq, position, last_anchor_position = GENESIS, 0, 0, 0

    def broken(at: int, reason: str) -> Verificatie:
        return Verificatie(seq, len(anchors), previous.hex(), position, at, reason)

    for event, schakel in zip_longest(events, links):
        if schakel is None:
            return broken(event.position, "an event without a link: written around the recorder")
        if event is None:
            return broken(schakel.position, "a link without its event: the event was deleted")
        if schakel.position != event.position:
            first = min(schakel.position, event.position)
            why = "the event was deleted" if schakel.position < event.position else "it has no link"
            return broken(first, f"the chain and the events part here: {why}")
        if schakel.seq != seq + 1:
            return broken(event.position, "links were removed before this one")
        seq, position = seq + 1, event.position
        previous = link(previous, event.position, event.originator, event.version, event.topic, event.state)
        if previous != schakel.link:
            return broken(event.position, "the event does not match its link: altered")
        anker = by_seq.get(seq)
        if anker is None and seq % every == 0:
            return broken(event.position, "the anchor for this position is missing")
        if anker is not None:
            message = anchor_message(anker.seq, anker.position, anker.link, anker.every, anker.signed_at)
            try:
                public_key.verify(anker.signature, message)
            except InvalidSignature:
                return broken(event.position, "the anchor's signature does not verify: forged or altered")
            if anker.position != event.position or anker.link != previous:
                return broken(last_anchor_position + 1,
                              f"the chain was rewritten between positions {last_anchor_position + 1} and "
                              f"{event.position}: it no longer matches the anchor signed at {anker.signed_at}")
            last_anchor_position = event.position
    if any(a.seq > seq for a in anchors):
        return broken(position + 1, "anchored events are missing from the end: removed")
    return Verificatie(seq, len(anchors), previous.hex(), position)


# SQLite ---------------------------------------------------------------------------------


class SQLiteChainRecorder(HashChained, SQLiteLoketRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table} ("
            "seq INTEGER PRIMARY KEY, position INTEGER NOT NULL UNIQUE, link BLOB NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.anchors_table} ("
            "seq INTEGER PRIMARY KEY, position INTEGER NOT NULL, link BLOB NOT NULL, every INTEGER NOT NULL, "
            "signed_at TEXT NOT NULL, signature BLOB NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.meta_table} (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        self._chain(c, stored_events, positions)
        return positions

    def _stored_id(self, originator_id: UUID | str) -> Any:
        return originator_id.hex if isinstance(originator_id, UUID) else originator_id

    def _fixed_interval(self, every: int) -> int:
        select = f"SELECT value FROM {self.meta_table} WHERE name = 'anchor_every'"
        with self.datastore.transaction(commit=False) as c:
            c.execute(select)
            row = c.fetchone()
        if row is not None:
            return int(row[0])
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {self.meta_table} VALUES ('anchor_every', ?)", (str(every),))
            c.execute(select)
            return int(c.fetchone()[0])

    def _head(self, c: Any) -> tuple[int, bytes]:
        c.execute(f"SELECT seq, link FROM {self.chain_table} ORDER BY seq DESC LIMIT 1")
        row = c.fetchone()
        return (row[0], bytes(row[1])) if row else (0, GENESIS)

    def _insert_links(self, c: Any, links: list[tuple], anchors: list[tuple]) -> None:
        c.executemany(f"INSERT INTO {self.chain_table} VALUES (?, ?, ?)", links)
        if anchors:
            c.executemany(f"INSERT INTO {self.anchors_table} VALUES (?, ?, ?, ?, ?, ?)", anchors)

    def _events_page(self, after: int, limit: int) -> list[Opgeslagen]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
                "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit),
            )
            return [Opgeslagen(r[0], r[1], r[2], r[3], r[4]) for r in c.fetchall()]

    def _links_page(self, after: int, limit: int) -> list[Schakel]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT seq, position, link FROM {self.chain_table} WHERE seq > ? ORDER BY seq LIMIT ?",
                      (after, limit))
            return [Schakel(r[0], r[1], bytes(r[2])) for r in c.fetchall()]

    def _anchors(self) -> list[Anker]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT seq, position, link, every, signed_at, signature FROM {self.anchors_table} ORDER BY seq")
            return [Anker(r[0], r[1], bytes(r[2]), r[3], r[4], bytes(r[5])) for r in c.fetchall()]


# PostgreSQL -----------------------------------------------------------------------------


class PostgresChainRecorder(HashChained, PostgresLoketRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        self._t = {name: SQL("{}.{}").format(schema, Identifier(name))
                   for name in (self.chain_table, self.anchors_table, self.meta_table, self.events_table_name)}
        self.sql_create_statements.extend([
            SQL("CREATE TABLE IF NOT EXISTS {} (seq BIGINT PRIMARY KEY, position BIGINT NOT NULL UNIQUE, "
                "link BYTEA NOT NULL)").format(self._t[self.chain_table]),
            SQL("CREATE TABLE IF NOT EXISTS {} (seq BIGINT PRIMARY KEY, position BIGINT NOT NULL, "
                "link BYTEA NOT NULL, every BIGINT NOT NULL, signed_at TEXT NOT NULL, signature BYTEA NOT NULL)"
                ).format(self._t[self.anchors_table]),
            SQL("CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
                ).format(self._t[self.meta_table]),
        ])

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if self.datastore.enable_db_functions:
            # The database function inserts around the hooks the chain is kept in.
            raise ProgrammingError("the hash-chained recorder cannot insert through database functions")
        return super().insert_events(stored_events, **kwargs)

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any):
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        self._chain(curs, stored_events, positions)
        return positions

    def _stored_id(self, originator_id: UUID | str) -> Any:
        if self.datastore.originator_id_type == "text":
            return str(originator_id)
        return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))

    def _fixed_interval(self, every: int) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("INSERT INTO {} VALUES ('anchor_every', %s) ON CONFLICT (name) DO NOTHING").format(
                self._t[self.meta_table]), (str(every),))
            curs.execute(SQL("SELECT value FROM {} WHERE name = 'anchor_every'").format(self._t[self.meta_table]))
            return int(curs.fetchone()["value"])

    def _head(self, curs: Any) -> tuple[int, bytes]:
        curs.execute(SQL("SELECT seq, link FROM {} ORDER BY seq DESC LIMIT 1").format(self._t[self.chain_table]))
        row = curs.fetchone()
        return (row["seq"], bytes(row["link"])) if row else (0, GENESIS)

    def _insert_links(self, curs: Any, links: list[tuple], anchors: list[tuple]) -> None:
        curs.executemany(SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self._t[self.chain_table]), links)
        if anchors:
            curs.executemany(SQL("INSERT INTO {} VALUES (%s, %s, %s, %s, %s, %s)").format(
                self._t[self.anchors_table]), anchors)

    def _events_page(self, after: int, limit: int) -> list[Opgeslagen]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
                             "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
                             ).format(self._t[self.events_table_name]), (after, limit))
            return [Opgeslagen(r["notification_id"], r["originator_id"], r["originator_version"], r["topic"],
                               r["state"]) for r in curs.fetchall()]

    def _links_page(self, after: int, limit: int) -> list[Schakel]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT seq, position, link FROM {} WHERE seq > %s ORDER BY seq LIMIT %s").format(
                self._t[self.chain_table]), (after, limit))
            return [Schakel(r["seq"], r["position"], bytes(r["link"])) for r in curs.fetchall()]

    def _anchors(self) -> list[Anker]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT seq, position, link, every, signed_at, signature FROM {} ORDER BY seq").format(
                self._t[self.anchors_table]))
            return [Anker(r["seq"], r["position"], bytes(r["link"]), r["every"], r["signed_at"],
                          bytes(r["signature"])) for r in curs.fetchall()]
