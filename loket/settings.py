"""The one settings object: everything configurable comes from the environment."""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    db: Path  # LOKET_DB: the SQLite event store (the embedded default)
    database_url: str | None  # LOKET_DATABASE_URL: PostgreSQL instead of SQLite
    user: str  # LOKET_USER: the actor recorded on commands given through the CLI
    kafka: str  # LOKET_KAFKA: bootstrap servers
    log_format: str  # LOKET_LOG_FORMAT: "console" (development) or "json" (production)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            db=Path(env.get("LOKET_DB") or "loket.sqlite"),
            database_url=env.get("LOKET_DATABASE_URL") or None,
            user=env.get("LOKET_USER") or getpass.getuser(),
            kafka=env.get("LOKET_KAFKA") or "127.0.0.1:9092",
            log_format=env.get("LOKET_LOG_FORMAT") or "console",
        )

    def with_db(self, db: Path) -> Settings:
        return Settings(db, None, self.user, self.kafka, self.log_format)

    @property
    def tokens_db(self) -> Path:
        """Where API tokens are kept (their hashes): a file next to the SQLite store."""
        return self.db.with_suffix(".tokens.sqlite")

    def event_store_env(self) -> dict[str, str]:
        """The eventsourcing library's persistence environment for these settings."""
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(self.db)}
