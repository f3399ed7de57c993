"""API tokens: `loket token create` hands one out; only its SHA-256 is kept. Web sessions.

A token is 32 random bytes, so a plain hash is as strong as a slow one here (no
dictionary to guess from); what is stored cannot be used to log in. The tables live
in their own SQLite file next to the event store (`Settings.tokens_db`) or, with the
events in PostgreSQL, in the events' database beside them (every API host sees the
same tokens and sessions): who may log in is configuration of this deployment, not
a fact of the meldingen. An OIDC provider can replace this module later: see docs/api.md.

A person who logs in on the web pages with a token gets a session of their own: a
new random id in the cookie (the token itself never is), kept here as its hash, that
ends after SESSIE_INACTIEF without a request, after SESSIE_MAXIMAAL whatever happens,
at logout, and when its token is revoked. A stolen cookie is worth a working day at
most, and nothing after logout; the long-lived token never travels with every page.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from events.handelingen import Gebruiker
from events.toegang import OngeldigeRol, Rol
from privacy.files import owner_only

PREFIX = "loket_"
SESSIE_INACTIEF = timedelta(minutes=30)
SESSIE_MAXIMAAL = timedelta(hours=10)  # a working day
# Touching the session on every request would write on every page; a minute is precise enough.
_AANRAKEN = timedelta(minutes=1)


class OngeldigToken(ValueError):
    """A token request that cannot be granted (unknown role, a house that does not exist)."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    gebruiker: Gebruiker
    aangemaakt: str
    ingetrokken: str | None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _gebruiker(naam: str, rol: str, zvh: str | None, compartimenten: str) -> Gebruiker:
    # Tokens made before the role kinds got one vocabulary may say "admin": Rol.maak reads it as beheer.
    return Gebruiker(naam, Rol.maak(rol, zvh=zvh, compartimenten=(c for c in compartimenten.split(",") if c)))


def _nu() -> datetime:
    return datetime.now(UTC)


log = logging.getLogger("loket.tokens")
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY, sha256 TEXT UNIQUE NOT NULL, naam TEXT NOT NULL,
        rol TEXT NOT NULL, zvh TEXT, compartimenten TEXT NOT NULL,
        aangemaakt TEXT NOT NULL, ingetrokken TEXT)""",
    """CREATE TABLE IF NOT EXISTS sessies (
        sha256 TEXT PRIMARY KEY, token_id TEXT NOT NULL REFERENCES tokens (id),
        begonnen TEXT NOT NULL, laatst TEXT NOT NULL)""",
)
_TOKEN_COLUMNS = "id, sha256, naam, rol, zvh, compartimenten, aangemaakt, ingetrokken"


class _Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _Verbinding(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> _Cursor: ...


class _SQLite:
    """The token file: one connection per thread, kept (every request checks a token)."""

    def __init__(self, path: Path):
        self.path = path
        self._lokaal = threading.local()
        owner_only(path)  # who may log in, as hashes: nobody else's to read

    @contextmanager
    def transactie(self) -> Iterator[_Verbinding]:
        db = getattr(self._lokaal, "db", None)
        if db is None:
            db = self._lokaal.db = sqlite3.connect(self.path, timeout=10)
        with db:
            yield _OpSQLite(db)

    def close(self) -> None:
        pass


class _OpSQLite:
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> _Cursor:
        return self._conn.execute(sql, params)


class _OpPostgres:
    """A statement written for SQLite (`?` placeholders), run on a PostgreSQL connection."""

    def __init__(self, conn: Any):
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> _Cursor:
        result: _Cursor = self._conn.execute(sql.replace("?", "%s"), params)
        return result


class _Postgres:
    """The tables in the events' PostgreSQL database: a small pool, each connection checked before use
    (a restarted server costs a reconnect)."""

    def __init__(self, verbinding: Mapping[str, Any]):
        v = verbinding
        self.path = f"{v.get('user')}@{v.get('host')}:{v.get('port')}/{v.get('dbname')}"  # for messages
        # A server that is away is an error after connect_timeout, as it is for the events.
        self._pool = ConnectionPool(kwargs=dict(verbinding), min_size=1, max_size=4, open=True,
                                    timeout=float(v.get("connect_timeout") or 10),
                                    check=ConnectionPool.check_connection, name="loket-tokens")

    @contextmanager
    def transactie(self) -> Iterator[_Verbinding]:
        with self._pool.connection() as conn:  # committed when the block ends, rolled back on an error
            yield _OpPostgres(conn)

    def close(self) -> None:
        self._pool.close()


class Tokens:
    def __init__(self, path: Path, klok: Callable[[], datetime] = _nu, *,
                 postgres: Mapping[str, Any] | None = None):
        """The tokens in the file `path`, or with `postgres` (psycopg connection arguments) in that
        database; a token file left at `path` from before is then taken over once, when the
        database has no tokens yet, so that an upgrade locks nobody out."""
        self.klok = klok
        self._opslag: _SQLite | _Postgres = _SQLite(path) if postgres is None else _Postgres(postgres)
        self.path = self._opslag.path
        with self._db() as db:
            if postgres is not None:  # CREATE TABLE IF NOT EXISTS is not safe beside a concurrent one
                db.execute("SELECT pg_advisory_xact_lock(hashtext('loket: token tables'))")
            for statement in _SCHEMA:
                db.execute(statement)
            if postgres is not None and path.is_file() and db.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0:
                self._neem_over(db, path)

    @staticmethod
    def _neem_over(db: _Verbinding, path: Path) -> None:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as before:
            rows = before.execute(f"SELECT {_TOKEN_COLUMNS} FROM tokens").fetchall()
        for row in rows:
            db.execute(f"INSERT INTO tokens ({_TOKEN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)
        log.warning("took over %d tokens from the token file %s: remove the file", len(rows), path)

    def _db(self) -> AbstractContextManager[_Verbinding]:
        return self._opslag.transactie()

    def close(self) -> None:
        self._opslag.close()

    def maak(
        self, naam: str, rol: str, *, zvh: str | None, compartimenten: tuple[str, ...],
        huizen: frozenset[str],
    ) -> tuple[str, TokenInfo]:
        """A new token for a user; returns the token (shown once) and what it grants."""
        naam = naam.strip()
        if not naam:
            raise OngeldigToken("a user name is required")
        try:
            gekozen = Rol.maak(rol, zvh=zvh, compartimenten=compartimenten, huizen=huizen)
        except OngeldigeRol as exc:
            raise OngeldigToken(str(exc)) from None
        token = PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (token_id, _hash(token), naam, gekozen.soort, zvh, ",".join(sorted(gekozen.compartimenten)), now),
            )
        gebruiker = Gebruiker(naam, gekozen)
        return token, TokenInfo(token_id, gebruiker, now, None)

    def gebruiker(self, token: str) -> Gebruiker | None:
        """Who holds this token; None for an unknown or revoked one."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        with self._db() as db:
            row = db.execute(
                "SELECT naam, rol, zvh, compartimenten FROM tokens WHERE sha256 = ? AND ingetrokken IS NULL",
                (_hash(token),),
            ).fetchone()
        return None if row is None else _gebruiker(*row)

    # Web sessions ----------------------------------------------------------

    def open_sessie(self, token: str) -> str | None:
        """A new web session for the holder of this token: its id, for the cookie (None: no such token)."""
        if self.gebruiker(token) is None:
            return None
        sessie = secrets.token_urlsafe(32)
        now = self.klok()
        with self._db() as db:
            # Sessions that ended are of no use to anyone: they go when a new one starts.
            db.execute("DELETE FROM sessies WHERE begonnen < ? OR laatst < ?",
                       ((now - SESSIE_MAXIMAAL).isoformat(), (now - SESSIE_INACTIEF).isoformat()))
            db.execute("INSERT INTO sessies SELECT ?, id, ?, ? FROM tokens WHERE sha256 = ?",
                       (_hash(sessie), now.isoformat(), now.isoformat(), _hash(token)))
        return sessie

    def sessie(self, sessie: str) -> Gebruiker | None:
        """Who this web session is; None once it ended (idle, too old, logged out, token revoked)."""
        if len(sessie) > 100:
            return None
        now = self.klok()
        with self._db() as db:
            row = db.execute(
                "SELECT s.begonnen, s.laatst, t.naam, t.rol, t.zvh, t.compartimenten FROM sessies s "
                "JOIN tokens t ON t.id = s.token_id AND t.ingetrokken IS NULL WHERE s.sha256 = ?",
                (_hash(sessie),),
            ).fetchone()
            if row is None:
                return None
            begonnen, laatst = datetime.fromisoformat(row[0]), datetime.fromisoformat(row[1])
            if now - begonnen > SESSIE_MAXIMAAL or now - laatst > SESSIE_INACTIEF:
                db.execute("DELETE FROM sessies WHERE sha256 = ?", (_hash(sessie),))
                return None
            if now - laatst > _AANRAKEN:
                db.execute("UPDATE sessies SET laatst = ? WHERE sha256 = ?", (now.isoformat(), _hash(sessie)))
        return _gebruiker(*row[2:])

    def sluit_sessie(self, sessie: str) -> None:
        """Logout: the session is gone here, so its cookie opens nothing, wherever a copy of it is."""
        with self._db() as db:
            db.execute("DELETE FROM sessies WHERE sha256 = ?", (_hash(sessie),))

    def lijst(self) -> list[TokenInfo]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, naam, rol, zvh, compartimenten, aangemaakt, ingetrokken FROM tokens ORDER BY aangemaakt, id"
            ).fetchall()
        return [TokenInfo(i, _gebruiker(n, r, z, cs), a, x) for i, n, r, z, cs, a, x in rows]

    def trek_in(self, token_id: str) -> bool:
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db() as db:
            cur = db.execute(
                "UPDATE tokens SET ingetrokken = ? WHERE id = ? AND ingetrokken IS NULL", (now, token_id)
            )
        return cur.rowcount == 1
