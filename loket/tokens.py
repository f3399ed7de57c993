"""API tokens: `loket token create` hands one out; only its SHA-256 is kept.

A token is 32 random bytes, so a plain hash is as strong as a slow one here (no
dictionary to guess from); what is stored cannot be used to log in. The table
lives in its own SQLite file next to the event store (`Settings.tokens_db`): who
may log in is configuration of this deployment, not a fact of the meldingen.
An OIDC provider can replace this module later: see docs/api.md.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from loket.toegang import COMPARTIMENTEN, ROLLEN, Gebruiker
from privacy.files import owner_only

PREFIX = "loket_"


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


class Tokens:
    def __init__(self, path: Path):
        self.path = path
        self._lokaal = threading.local()
        owner_only(path)  # who may log in, as hashes: nobody else's to read
        with self._db() as db:
            db.execute(
                """CREATE TABLE IF NOT EXISTS tokens (
                    id TEXT PRIMARY KEY, sha256 TEXT UNIQUE NOT NULL, naam TEXT NOT NULL,
                    rol TEXT NOT NULL, zvh TEXT, compartimenten TEXT NOT NULL,
                    aangemaakt TEXT NOT NULL, ingetrokken TEXT)"""
            )

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection per thread, kept: every request checks a token."""
        db = getattr(self._lokaal, "db", None)
        if db is None:
            db = self._lokaal.db = sqlite3.connect(self.path, timeout=10)
        with db:
            yield db

    def maak(
        self, naam: str, rol: str, *, zvh: str | None, compartimenten: tuple[str, ...],
        huizen: frozenset[str],
    ) -> tuple[str, TokenInfo]:
        """A new token for a user; returns the token (shown once) and what it grants."""
        naam = naam.strip()
        if not naam:
            raise OngeldigToken("a user name is required")
        if rol not in ROLLEN:
            raise OngeldigToken(f"unknown role '{rol}' (known: {', '.join(ROLLEN)})")
        if (rol == "zvh") != (zvh is not None):
            raise OngeldigToken("--zvh is required for role zvh, and only for it")
        if zvh is not None and zvh not in huizen:
            raise OngeldigToken(f"unknown zvh '{zvh}' (known: {', '.join(sorted(huizen))})")
        for c in compartimenten:
            if c not in COMPARTIMENTEN:
                raise OngeldigToken(f"unknown compartment '{c}' (known: {', '.join(COMPARTIMENTEN)})")
        token = PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(4)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                (token_id, _hash(token), naam, rol, zvh, ",".join(sorted(set(compartimenten))), now),
            )
        gebruiker = Gebruiker(naam, rol, zvh, frozenset(compartimenten))  # type: ignore[arg-type]
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
        if row is None:
            return None
        naam, rol, zvh, compartimenten = row
        return Gebruiker(naam, rol, zvh, frozenset(c for c in compartimenten.split(",") if c))

    def lijst(self) -> list[TokenInfo]:
        with self._db() as db:
            rows = db.execute(
                "SELECT id, naam, rol, zvh, compartimenten, aangemaakt, ingetrokken FROM tokens ORDER BY aangemaakt, id"
            ).fetchall()
        return [
            TokenInfo(i, Gebruiker(n, r, z, frozenset(c for c in cs.split(",") if c)), a, x)
            for i, n, r, z, cs, a, x in rows
        ]

    def trek_in(self, token_id: str) -> bool:
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._db() as db:
            cur = db.execute(
                "UPDATE tokens SET ingetrokken = ? WHERE id = ? AND ingetrokken IS NULL", (now, token_id)
            )
        return cur.rowcount == 1
