"""The one settings object: everything configurable comes from the environment."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    db: Path  # LOKET_DB: the SQLite event store (the embedded default)
    database_url: str | None  # LOKET_DATABASE_URL: PostgreSQL instead of SQLite
    user: str  # LOKET_USER: the actor recorded on commands given through the CLI
    kafka: str  # LOKET_KAFKA: bootstrap servers
    log_format: str  # LOKET_LOG_FORMAT: "console" (development) or "json" (production)
    # Personal data (docs/privacy.md). LOKET_KEYSTORE: the data keys, apart from the events
    # (default: <LOKET_DB>.keys). The master key: LOKET_MASTER_KEY (base64, 32 bytes) or
    # LOKET_MASTER_KEY_FILE; without either a development key is generated, loudly.
    keystore: Path | None = None
    master_key: str | None = field(default=None, repr=False)
    master_key_file: Path | None = None
    role: str = "intake"  # LOKET_ROLE: the role CLI reads of personal data are made in
    compartments: frozenset[str] = frozenset()  # LOKET_COMPARTMENTS: comma-separated, e.g. radicalisering
    anchor_every: int = 1000  # LOKET_CHAIN_ANCHOR_EVERY: links between signed anchors (fixed per store)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            db=Path(env.get("LOKET_DB") or "loket.sqlite"),
            database_url=env.get("LOKET_DATABASE_URL") or None,
            user=env.get("LOKET_USER") or getpass.getuser(),
            kafka=env.get("LOKET_KAFKA") or "127.0.0.1:9092",
            log_format=env.get("LOKET_LOG_FORMAT") or "console",
            keystore=Path(env["LOKET_KEYSTORE"]) if env.get("LOKET_KEYSTORE") else None,
            master_key=env.get("LOKET_MASTER_KEY") or None,
            master_key_file=Path(env["LOKET_MASTER_KEY_FILE"]) if env.get("LOKET_MASTER_KEY_FILE") else None,
            role=env.get("LOKET_ROLE") or "intake",
            compartments=frozenset(c.strip() for c in (env.get("LOKET_COMPARTMENTS") or "").split(",") if c.strip()),
            anchor_every=int(env.get("LOKET_CHAIN_ANCHOR_EVERY") or 1000),
        )

    def with_db(self, db: Path) -> Settings:
        return replace(self, db=db, database_url=None)

    @property
    def keystore_path(self) -> Path:
        return self.keystore or Path(f"{self.db}.keys")

    @property
    def tokens_db(self) -> Path:
        """Where API tokens are kept (their hashes): a file next to the SQLite store."""
        return self.db.with_suffix(".tokens.sqlite")

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's persistence environment for these settings.

        The recorder keeps the hash chain in the insert's own transaction
        (events/hashchain.py); the key store and master key travel with it, so
        `Loket(env=...)` seals and opens personal data wherever it is built.
        """
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "events.hashchain:SQLiteChainRecorder",
            "SQLITE_DBNAME": str(self.db),
            "LOKET_KEYSTORE": str(self.keystore_path),
            "LOKET_CHAIN_ANCHOR_EVERY": str(self.anchor_every),
        }
        if self.master_key:
            env["LOKET_MASTER_KEY"] = self.master_key
        if self.master_key_file:
            env["LOKET_MASTER_KEY_FILE"] = str(self.master_key_file)
        return env
