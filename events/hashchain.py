"""Tamper evidence: a hash chain over the stored events, kept in the same transaction.

Every stored event gets a link, in notification order: HMAC-SHA256, under a key
derived from the master key, over the previous link and the event exactly as
stored (its position in the notification log, originator id, version, topic and
state bytes). Whoever can write the database but does not hold the master key
cannot make a link for an altered, inserted or re-ordered event, however small
the store. Stores chained before links were keyed keep their unkeyed SHA-256
links up to the position where keyed links began (`keyed_from`), and are
verified as written.

Every `anchor_every` links (fixed when the store is created), and at the first
commit `anchor_seconds` after the last anchor, the link is signed (Ed25519, key
derived from the master key): anchors can be checked with the public key alone.

The chain's head (its last link and position, signed) is kept after every commit
in the key store: a separate file, out of reach of whoever can write the events.
Cutting events off the end, with their links and anchors, leaves the chain
shorter than that head: `verify` says so. The head may lag the chain (a process
stopped between the two commits), never lead it.

Kept by the recorder itself (APPLICATION_RECORDER_TOPIC, see loket/settings.py),
inside the transaction that inserts the events: no event is ever stored without
its link, and the links follow the commit order (SQLite has one writer at a time;
the PostgreSQL recorder locks the events table for each insert, so notification
ids are issued in commit order too). A follower that chained in notification
order afterwards would leave a window in which events sit unchained; it would be
decoupled from the write path, but tampering in that window would go unseen.

`verify` walks events and links side by side and names the first position
where they part: an altered event, a deleted one, one written around the
recorder, a rewritten stretch of unkeyed links that no longer matches its anchor
or the head, or events missing from the end.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, datetime
from itertools import zip_longest
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from eventsourcing.persistence import ProgrammingError, StoredEvent
from psycopg.sql import SQL, Identifier

from events.recorders import PostgresLoketRecorder, SQLiteLoketRecorder
from privacy.kluis import Ketensleutels

GENESIS = bytes(32)
_DOMAIN = b"loket-keten/v1"  # unkeyed links, anchors, and the head
_KEYED = b"loket-keten/v2"  # keyed links
PAGE = 5_000


def _bytes(value: Any) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, UUID):
        return value.bytes
    return str(value).encode("utf-8")


def _feed(h: Any, previous: bytes, position: int, originator: Any, version: Any, topic: Any, state: Any) -> bytes:
    # One update with the bytes joined hashes the same as one update per piece, with one call
    # into the hash instead of ten: every stored event is linked, so this is per event.
    pieces = [previous, int(position).to_bytes(8, "big")]
    for part in (_bytes(originator), _bytes(version), _bytes(topic), _bytes(state)):
        pieces.append(len(part).to_bytes(8, "big"))
        pieces.append(part)
    h.update(b"".join(pieces))
    return h.digest()


def link(previous: bytes, position: int, originator: Any, version: Any, topic: Any, state: Any) -> bytes:
    """An unkeyed link, as stores were chained before `keyed_from`: anyone can compute it."""
    return _feed(hashlib.sha256(_DOMAIN), previous, position, originator, version, topic, state)


class Schakels:
    """Keyed links: HMAC-SHA256 under the chain's link key over the same values as `link`."""

    def __init__(self, key: bytes):
        self._start = hmac.new(key, _KEYED, hashlib.sha256)

    def link(self, previous: bytes, position: int, originator: Any, version: Any, topic: Any, state: Any) -> bytes:
        return _feed(self._start.copy(), previous, position, originator, version, topic, state)


def anchor_message(seq: int, position: int, link_: bytes, every: int, signed_at: str) -> bytes:
    return b"|".join([_DOMAIN, b"anker", str(seq).encode(), str(position).encode(), link_.hex().encode(),
                      str(every).encode(), signed_at.encode()])


def head_message(keyed_from: int, base: bytes, seq: int, position: int, link_: bytes, signed_at: str) -> bytes:
    return b"|".join([_DOMAIN, b"kop", str(keyed_from).encode(), base.hex().encode(), str(seq).encode(),
                      str(position).encode(), link_.hex().encode(), signed_at.encode()])


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
class Kop:
    """The chain's head as the key store keeps it, signed with the anchor key.

    `keyed_from` is the first sequence number with a keyed link (1 for a store chained
    with keys from the start) and `base` the link before it: both fixed when the store
    was first opened with keyed links, so the unkeyed links before stay checked too.
    """

    keyed_from: int
    base: bytes
    seq: int
    position: int
    link: bytes
    signed_at: str
    signature: bytes

    @classmethod
    def van(cls, row: Sequence[Any]) -> Kop:
        keyed_from, base, seq, position, link_, signed_at, signature = row
        return cls(int(keyed_from), bytes(base), int(seq), int(position), bytes(link_), str(signed_at),
                   bytes(signature))

    def message(self) -> bytes:
        return head_message(self.keyed_from, self.base, self.seq, self.position, self.link, self.signed_at)


@dataclass(frozen=True, slots=True)
class Verificatie:
    """What `verify` found: intact, or the first broken position and why."""

    events: int
    anchors: int
    head: str
    head_position: int
    broken_at: int | None = None
    reason: str | None = None
    keyed_from: int = 1  # the first position-in-chain (seq) with a keyed link
    kept_head_position: int | None = None  # the head's position as the key store keeps it

    @property
    def intact(self) -> bool:
        return self.broken_at is None


class HashChained:
    """Mixin for an application recorder: chains what it inserts, and reads back for `verify`."""

    anchor_key: Ed25519PrivateKey | None = None
    anchor_every: int = 1000
    anchor_seconds: float = 600.0
    chain_table = "event_chain"
    anchors_table = "event_chain_anchors"
    meta_table = "event_chain_meta"
    _schakels: Schakels | None = None
    _sleutels: Ketensleutels | None = None

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._written = threading.local()  # the head an insert wrote, kept once it commits
        self._last_anchor = time.time()

    def anchor_with(self, sleutels: Ketensleutels, *, every: int, seconds: float = 600.0) -> None:
        """Key the links, sign an anchor every `every` links (the interval of an existing store
        wins) and at the first commit `seconds` after the last, and keep the head in the key store.

        A store opened for the first time since its links are keyed gets its head in the key
        store now: links before it stay unkeyed (and checked), later ones are keyed.
        """
        self.anchor_key = sleutels.anker
        self.anchor_every = self._fixed_interval(every)
        self.anchor_seconds = seconds
        self._schakels = Schakels(sleutels.schakel)
        self._sleutels = sleutels
        # Counted from the store's last anchor, or from when it was first opened with this
        # rule: a store written by short-lived commands is anchored by time too.
        self._last_anchor = max(self._meta("anchored_by_time_since", int(time.time())), self._last_anchor_time())
        self._kop = Kop.van(sleutels.koppen.start_chain(self._first_head))

    def _first_head(self) -> tuple:
        """The head to keep for a key store that keeps none yet: the chain as it stands.

        Links are keyed from the next one on, unless the events' store says they were
        keyed from earlier (this key store is new, the chain is not)."""
        seq, position, last = self._chain_row(None)
        keyed_from = self._keyed_from(seq + 1)
        base = self._chain_row(keyed_from - 1)[2] if keyed_from > 1 else GENESIS
        return astuple(self._signed_head(keyed_from, base, seq, position, last))

    def _signed_head(self, keyed_from: int, base: bytes, seq: int, position: int, last: bytes) -> Kop:
        assert self.anchor_key is not None
        signed_at = datetime.now(UTC).isoformat()
        signature = self.anchor_key.sign(head_message(keyed_from, base, seq, position, last, signed_at))
        return Kop(keyed_from, base, seq, position, last, signed_at, signature)

    # Writing (inside the insert's transaction) ------------------------------------

    def _chain(self, c: Any, stored_events: Sequence[StoredEvent], positions: Sequence[int] | None) -> None:
        if not stored_events:
            return
        if positions is None or len(positions) != len(stored_events):
            raise ProgrammingError("the hash chain needs the notification id of every inserted event")
        if self._schakels is None or self.anchor_key is None:
            raise ProgrammingError("the hash chain needs its keys before it stores events (anchor_with)")
        seq, previous = self._head(c)
        links, anchors = [], []
        for position, s in sorted(zip(positions, stored_events, strict=True), key=lambda p: p[0]):
            previous = self._schakels.link(previous, position, self._stored_id(s.originator_id),
                                           s.originator_version, s.topic, s.state)
            seq += 1
            links.append((seq, position, previous))
            if seq % self.anchor_every == 0:
                anchors.append(self._anchor(seq, position, previous))
        late = time.time() - self._last_anchor >= self.anchor_seconds
        if late and (not anchors or anchors[-1][0] != seq):
            anchors.append(self._anchor(seq, links[-1][1], previous))
        self._insert_links(c, links, anchors)
        self._written.head = (seq, links[-1][1], previous, bool(anchors))

    def _anchor(self, seq: int, position: int, link_: bytes) -> tuple:
        assert self.anchor_key is not None
        signed_at = datetime.now(UTC).isoformat()
        message = anchor_message(seq, position, link_, self.anchor_every, signed_at)
        return (seq, position, link_, self.anchor_every, signed_at, self.anchor_key.sign(message))

    def _committed(self) -> None:
        """After the insert's commit: keep the new head in the key store."""
        written = getattr(self._written, "head", None)
        if written is None or self._sleutels is None:
            return
        self._written.head = None
        seq, position, last, anchored = written
        if anchored:
            self._last_anchor = time.time()
        # The key store keeps it only if it is further than the head it has (another
        # process may have committed after us and kept its head first).
        head = self._signed_head(self._kop.keyed_from, self._kop.base, seq, position, last)
        self._sleutels.koppen.advance_chain(astuple(head))

    # Reading (for verify) ---------------------------------------------------------

    def verify(self, public_key: Ed25519PublicKey) -> Verificatie:
        if self._sleutels is None or self._schakels is None:
            raise ProgrammingError("the hash chain needs its keys to be verified (anchor_with)")
        kept = self._sleutels.koppen.chain_head()
        return verify(self._stored_events(), self._links(), self._anchors(), public_key, self.anchor_every,
                      self._schakels, Kop.van(kept) if kept is not None else None)

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

    def _meta(self, name: str, proposed: int) -> int:
        """A value fixed once per store: the first one proposed wins."""
        raise NotImplementedError

    def _fixed_interval(self, every: int) -> int:
        return self._meta("anchor_every", every)

    def _keyed_from(self, proposed: int) -> int:
        """The first keyed sequence number as the events' store records it (`proposed` if none)."""
        return self._meta("keyed_from", proposed)

    def _last_anchor_time(self) -> float:
        """When the last anchor was signed (seconds since the epoch; 0 without anchors)."""
        signed_at = self._last_anchor_signed_at()
        return datetime.fromisoformat(signed_at).timestamp() if signed_at else 0.0

    def _last_anchor_signed_at(self) -> str | None:
        raise NotImplementedError

    def _chain_row(self, seq: int | None) -> tuple[int, int, bytes]:
        """The link with this sequence number (the last when None): sequence number, position and
        value; (0, 0, GENESIS) when there is none."""
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
    every: int, schakels: Schakels, kop: Kop | None,
) -> Verificatie:
    """Walk events and links in step; the first position where they part, or intact.

    `kop` is the head the key store keeps: its signature must hold, the chain must reach
    it and pass through it, and the unkeyed links (before `kop.keyed_from`) must end in
    its `base`.
    """
    by_seq = {a.seq: a for a in anchors}
    previous, seq, position, last_anchor_position = GENESIS, 0, 0, 0
    keyed_from = kop.keyed_from if kop is not None else 1

    def broken(at: int, reason: str) -> Verificatie:
        return Verificatie(seq, len(anchors), previous.hex(), position, at, reason, keyed_from,
                           kop.position if kop is not None else None)

    if kop is not None:
        try:
            public_key.verify(kop.signature, kop.message())
        except InvalidSignature:
            return broken(1, "the chain's head kept in the key store does not verify: forged or altered")
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
        if seq + 1 == keyed_from and kop is not None and previous != kop.base:
            return broken(last_anchor_position + 1,
                          f"the chain was rewritten between positions {last_anchor_position + 1} and {position}: "
                          "it no longer ends where it did when its links became keyed")
        seq, position = seq + 1, event.position
        values = (previous, event.position, event.originator, event.version, event.topic, event.state)
        previous = schakels.link(*values) if seq >= keyed_from else link(*values)
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
        if kop is not None and seq == kop.seq and (kop.position != event.position or kop.link != previous):
            return broken(last_anchor_position + 1,
                          f"the chain was rewritten between positions {last_anchor_position + 1} and "
                          f"{event.position}: it no longer matches its head kept in the key store")
    if any(a.seq > seq for a in anchors):
        return broken(position + 1, "anchored events are missing from the end: removed")
    if kop is None:
        return broken(position + 1, "the key store keeps no head of this chain: removed, or another key store")
    if kop.seq > seq:
        return broken(position + 1, f"events are missing from the end: the key store keeps the head at position "
                                    f"{kop.position}, the chain ends at {position}: removed")
    if seq + 1 == keyed_from and previous != kop.base:
        return broken(last_anchor_position + 1,
                      f"the chain was rewritten between positions {last_anchor_position + 1} and {position}: "
                      "it no longer ends where it did when its links became keyed")
    return Verificatie(seq, len(anchors), previous.hex(), position, keyed_from=keyed_from,
                       kept_head_position=kop.position)


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

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        self._written.head = None
        positions = super().insert_events(stored_events, **kwargs)
        self._committed()
        return positions

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        self._chain(c, stored_events, positions)
        return positions

    def _stored_id(self, originator_id: UUID | str) -> Any:
        return originator_id.hex if isinstance(originator_id, UUID) else originator_id

    def _meta(self, name: str, proposed: int) -> int:
        select = f"SELECT value FROM {self.meta_table} WHERE name = ?"
        with self.datastore.transaction(commit=False) as c:
            c.execute(select, (name,))
            row = c.fetchone()
        if row is not None:
            return int(row[0])
        with self.datastore.transaction(commit=True) as c:
            c.execute(f"INSERT OR IGNORE INTO {self.meta_table} VALUES (?, ?)", (name, str(proposed)))
            c.execute(select, (name,))
            return int(c.fetchone()[0])

    def _last_anchor_signed_at(self) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT signed_at FROM {self.anchors_table} ORDER BY seq DESC LIMIT 1")
            row = c.fetchone()
        return row[0] if row else None

    def _chain_row(self, seq: int | None) -> tuple[int, int, bytes]:
        with self.datastore.transaction(commit=False) as c:
            if seq is None:
                c.execute(f"SELECT seq, position, link FROM {self.chain_table} ORDER BY seq DESC LIMIT 1")
            else:
                c.execute(f"SELECT seq, position, link FROM {self.chain_table} WHERE seq = ?", (seq,))
            row = c.fetchone()
        return (row[0], row[1], bytes(row[2])) if row else (0, 0, GENESIS)

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
        self._written.head = None
        positions = super().insert_events(stored_events, **kwargs)
        self._committed()
        return positions

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any):
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        self._chain(curs, stored_events, positions)
        return positions

    def _stored_id(self, originator_id: UUID | str) -> Any:
        if self.datastore.originator_id_type == "text":
            return str(originator_id)
        return originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))

    def _meta(self, name: str, proposed: int) -> int:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(SQL("INSERT INTO {} VALUES (%s, %s) ON CONFLICT (name) DO NOTHING").format(
                self._t[self.meta_table]), (name, str(proposed)))
            curs.execute(SQL("SELECT value FROM {} WHERE name = %s").format(self._t[self.meta_table]), (name,))
            row = curs.fetchone()
            assert row is not None, f"{name} was inserted just before"
            return int(row["value"])

    def _last_anchor_signed_at(self) -> str | None:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(SQL("SELECT signed_at FROM {} ORDER BY seq DESC LIMIT 1").format(
                self._t[self.anchors_table]))
            row = curs.fetchone()
        return row["signed_at"] if row else None

    def _chain_row(self, seq: int | None) -> tuple[int, int, bytes]:
        table = self._t[self.chain_table]
        with self.datastore.transaction(commit=False) as curs:
            if seq is None:
                curs.execute(SQL("SELECT seq, position, link FROM {} ORDER BY seq DESC LIMIT 1").format(table))
            else:
                curs.execute(SQL("SELECT seq, position, link FROM {} WHERE seq = %s").format(table), (seq,))
            row = curs.fetchone()
        return (row["seq"], row["position"], bytes(row["link"])) if row else (0, 0, GENESIS)

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
