"""The one settings object: everything configurable comes from the environment."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from privacy.keystore_postgres import Server


@dataclass(frozen=True, slots=True)
class Settings:
    db: Path  # LOKET_DB: the SQLite event store (the embedded default)
    database_url: str | None  # LOKET_DATABASE_URL: PostgreSQL instead of SQLite
    user: str  # LOKET_USER: the actor recorded on commands given through the CLI
    kafka: str  # LOKET_KAFKA: bootstrap servers
    # LOKET_KAFKA_TOPIC_PREFIX: put before every topic and group name, so environments
    # (acceptance, a test run) can share one cluster without reading each other's meldingen.
    kafka_topic_prefix: str
    log_format: str  # LOKET_LOG_FORMAT: "console" (development) or "json" (production)
    # Personal data (docs/privacy.md). LOKET_KEYSTORE: the data keys, apart from the events
    # (default: <LOKET_DB>.keys). The master key: LOKET_MASTER_KEY (base64, 32 bytes) or
    # LOKET_MASTER_KEY_FILE; without either a development key is generated, loudly.
    keystore: Path | None = None
    master_key: str | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    # LOKET_KEYSTORE_URL: the key store in PostgreSQL instead of the file LOKET_KEYSTORE, in a
    # database or schema of its own, with a role of its own (never the events' role).
    keystore_url: str | None = field(default=None, repr=False)
    role: str = "beheer"  # LOKET_ROLE: the role CLI commands act in (intake, zvh:<house>, auditor, beheer)
    compartments: frozenset[str] = frozenset()  # LOKET_COMPARTMENTS: comma-separated, e.g. radicalisering
    anchor_every: int = 1000  # LOKET_CHAIN_ANCHOR_EVERY: links between signed anchors (fixed per store)
    # LOKET_CHAIN_ANCHOR_SECONDS: a commit this long after the last anchor signs one too,
    # so a quiet store is anchored as well as a busy one (docs/privacy.md).
    anchor_seconds: int = 600
    # Not read from the environment: `loket demo` makes a store it can make again, whose events'
    # commits need not wait for the disk (`rebuildable`, events/datastore.py; SQLite only).
    events_rebuildable: bool = False
    # LOKET_CATCH_UP_ON_READ: whether a process that reads the projections (serve, the read
    # commands) first brings them up to date itself, when no projection worker holds the writer's
    # lock. On (1) by default: the embedded store needs no worker. Off (0) in production, where
    # `loket projections catch-up --follow` is the one writer and API processes only read.
    catch_up_on_read: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            db=Path(env.get("LOKET_DB") or "loket.sqlite"),
            database_url=env.get("LOKET_DATABASE_URL") or None,
            user=env.get("LOKET_USER") or getpass.getuser(),
            kafka=env.get("LOKET_KAFKA") or "127.0.0.1:9092",
            kafka_topic_prefix=env.get("LOKET_KAFKA_TOPIC_PREFIX") or "",
            log_format=env.get("LOKET_LOG_FORMAT") or "console",
            keystore=Path(env["LOKET_KEYSTORE"]) if env.get("LOKET_KEYSTORE") else None,
            master_key=env.get("LOKET_MASTER_KEY") or None,
            master_key_file=Path(env["LOKET_MASTER_KEY_FILE"]) if env.get("LOKET_MASTER_KEY_FILE") else None,
            keystore_url=env.get("LOKET_KEYSTORE_URL") or None,
            role=env.get("LOKET_ROLE") or "beheer",
            compartments=frozenset(c.strip() for c in (env.get("LOKET_COMPARTMENTS") or "").split(",") if c.strip()),
            anchor_every=_positive(env, "LOKET_CHAIN_ANCHOR_EVERY", 1000),
            anchor_seconds=_positive(env, "LOKET_CHAIN_ANCHOR_SECONDS", 600, zero=True),
            catch_up_on_read=_switch(env, "LOKET_CATCH_UP_ON_READ", True),
        )

    def with_db(self, db: Path) -> Settings:
        return replace(self, db=db, database_url=None)

    def waar(self) -> str:
        """Where the events are, for a log line: the SQLite file, or the server and database of
        LOKET_DATABASE_URL (never its user, password or options)."""
        if self.database_url is None:
            return str(self.db)
        env = postgres_env(self.database_url)
        return f"postgresql://{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}/{env['POSTGRES_DBNAME']}"

    @property
    def keystore_path(self) -> Path:
        return self.keystore or Path(f"{self.db}.keys")

    def keystore_server(self) -> Server | None:
        """The PostgreSQL key store of LOKET_KEYSTORE_URL (None: the file LOKET_KEYSTORE).

        Its role must not be the events' role: the point of a key store of its own is that
        the credentials of the one do not open the other (docs/privacy.md).
        """
        if self.keystore_url is None:
            return None
        if self.keystore is not None:
            # Which one holds the keys must never be a guess: the other would open nothing.
            raise OngeldigeInstelling("LOKET_KEYSTORE and LOKET_KEYSTORE_URL are both set: the keys are in one "
                                      "place, unset the other (docs/privacy.md)")
        env = postgres_env(self.keystore_url, setting="LOKET_KEYSTORE_URL")
        if self.database_url and env["POSTGRES_USER"] == postgres_env(self.database_url)["POSTGRES_USER"]:
            raise OngeldigeInstelling("LOKET_KEYSTORE_URL must log in with a role of its own, not the role of "
                                      "LOKET_DATABASE_URL: the events' role may not read the keys")
        try:
            timeout = int(env["POSTGRES_CONNECT_TIMEOUT"])
        except ValueError:
            raise OngeldigeInstelling("LOKET_KEYSTORE_URL: connect_timeout must be a whole number") from None
        return Server(host=env["POSTGRES_HOST"], port=int(env["POSTGRES_PORT"]), dbname=env["POSTGRES_DBNAME"],
                      user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"],
                      schema=env.get("POSTGRES_SCHEMA") or None, connect_timeout=timeout)

    @property
    def tokens_db(self) -> Path:
        """Where API tokens are kept (their hashes): a file next to the SQLite store."""
        return self.db.with_suffix(".tokens.sqlite")

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's persistence environment for these settings.

        The recorder keeps the hash chain in the insert's own transaction
        (events/hashchain.py) and answers, for a whole intake batch, which meldingen
        are stored already (events/recorders.py). The key vault and the chain's anchors
        are given to the application by the composition root (loket/bootstrap.py).
        """
        if self.database_url:
            env = {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "APPLICATION_RECORDER_TOPIC": "events.hashchain:PostgresChainRecorder",
                **postgres_env(self.database_url),
            }
        else:
            env = {
                "PERSISTENCE_MODULE": "events.datastore:Factory",
                "APPLICATION_RECORDER_TOPIC": "events.hashchain:SQLiteChainRecorder",
                "SQLITE_DBNAME": str(self.db),
            }
            if self.events_rebuildable:
                env["LOKET_REBUILDABLE"] = "1"
        return env


class OngeldigeInstelling(ValueError):
    """A setting that cannot be used; the message names the setting, never a password."""


def _positive(env: Mapping[str, str], name: str, default: int, *, zero: bool = False) -> int:
    text = env.get(name) or str(default)
    try:
        value = int(text)
    except ValueError:
        raise OngeldigeInstelling(f"{name} must be a whole number") from None
    if value < 0 or (value == 0 and not zero):
        raise OngeldigeInstelling(f"{name} must be {'zero or more' if zero else 'one or more'}")
    return value


def _switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text in ("1", "on", "yes", "true"):
        return True
    if text in ("0", "off", "no", "false"):
        return False
    raise OngeldigeInstelling(f"{name} must be 1 or 0 (on or off)")


# Query parameters of LOKET_DATABASE_URL that tune the eventsourcing library's connection pool.
_POSTGRES_OPTIONS = {
    "connect_timeout": "POSTGRES_CONNECT_TIMEOUT",
    "pool_size": "POSTGRES_POOL_SIZE",
    "max_overflow": "POSTGRES_MAX_OVERFLOW",
    "max_waiting": "POSTGRES_MAX_WAITING",
    "conn_max_age": "POSTGRES_CONN_MAX_AGE",
    "pre_ping": "POSTGRES_PRE_PING",
    "lock_timeout": "POSTGRES_LOCK_TIMEOUT",
    "idle_in_transaction_session_timeout": "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT",
    "schema": "POSTGRES_SCHEMA",
}


def postgres_env(url: str, *, setting: str = "LOKET_DATABASE_URL") -> dict[str, str]:
    """POSTGRES_* for the eventsourcing library from postgresql://user:pass@host:port/db?options.

    Connections are checked before use (pre_ping) so a restarted server costs a
    reconnect, not a failed batch. The pool keeps one idle connection (it grows
    under load, up to max_overflow more): the pool waits longer after each stale
    connection it finds, so five idle ones made a restart cost ten seconds instead
    of one. The options above override these and the rest.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise OngeldigeInstelling(f"{setting} must start with postgresql://")
    dbname = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not dbname or not parts.username:
        raise OngeldigeInstelling(f"{setting} needs a user, a host and a database: postgresql://user@host/db")
    try:
        port = parts.port or 5432
    except ValueError:
        raise OngeldigeInstelling(f"{setting} has an invalid port") from None
    env = {
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(parts.username),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_PRE_PING": "y",
        "POSTGRES_POOL_SIZE": "1",
    }
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name not in _POSTGRES_OPTIONS:
            known = ", ".join(sorted(_POSTGRES_OPTIONS))
            raise OngeldigeInstelling(f"{setting}: unknown option {name!r} (known: {known})")
        env[_POSTGRES_OPTIONS[name]] = value
    return env
