"""`loket zvh-queue`: a house's own view of the work the loket sends it.

Downstream of the relay: one consumer group per house reads the house's topic into a
small SQLite file of the house's own. Messages are deduplicated by event id and
applied only when newer than what the view holds (`melding_version`), so re-sends and
late arrivals change nothing; offsets are committed after the view's transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import structlog
from kafka import KafkaConsumer
from kafka.errors import KafkaError

from consumers.clients import commit, next_offsets, poll

log = structlog.get_logger(__name__)

RETRY_SECONDS = 1.0

# The melding's status in the house's view after each event type.
STATUS: dict[str, str] = {
    "MeldingGerouteerd": "nieuw",
    "MeldingInTriage": "triage",
    "MeldingDoorverwezen": "doorverwezen",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gezien (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS werk (
    melding_id TEXT PRIMARY KEY,
    melding_version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    queue TEXT,
    bron TEXT NOT NULL, kenmerk TEXT NOT NULL, soort TEXT NOT NULL, gemeente TEXT,
    ontvangen_op TEXT NOT NULL,
    zvh TEXT, product TEXT, labels TEXT, deadline TEXT,
    bijgewerkt TEXT NOT NULL,
    actor TEXT
);
"""

_UPSERT = """
INSERT INTO werk (melding_id, melding_version, event_type, status, queue, bron, kenmerk, soort,
                  gemeente, ontvangen_op, zvh, product, labels, deadline, bijgewerkt, actor)
VALUES (:melding_id, :melding_version, :event_type, :status, :queue, :bron, :kenmerk, :soort,
        :gemeente, :ontvangen_op, :zvh, :product, :labels, :deadline, :tijdstip, :actor)
ON CONFLICT (melding_id) DO UPDATE SET
    melding_version = excluded.melding_version, event_type = excluded.event_type,
    status = excluded.status, queue = excluded.queue, bijgewerkt = excluded.bijgewerkt,
    zvh = COALESCE(excluded.zvh, werk.zvh), product = COALESCE(excluded.product, werk.product),
    labels = COALESCE(excluded.labels, werk.labels), deadline = COALESCE(excluded.deadline, werk.deadline),
    actor = COALESCE(excluded.actor, werk.actor)
WHERE excluded.melding_version > werk.melding_version
"""

OPEN = ("nieuw", "geaccepteerd")


def _row(message: dict[str, Any]) -> dict[str, Any]:
    beslissing = message.get("beslissing") or {}
    labels = beslissing.get("labels")
    return {
        **{k: message.get(k) for k in (
            "melding_id", "melding_version", "event_type", "queue", "bron", "kenmerk", "soort",
            "gemeente", "ontvangen_op", "tijdstip", "actor",
        )},
        "status": STATUS.get(message["event_type"], message["event_type"]),
        "zvh": message.get("zvh") or beslissing.get("zvh"),
        "product": message.get("product") or beslissing.get("product"),
        "labels": json.dumps(labels) if labels is not None else None,
        "deadline": beslissing.get("deadline"),
    }


class ZvhQueueView:
    """The house's queue in its own SQLite file."""

    def __init__(self, path: Path, zvh: str):
        self.zvh = zvh
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)

    def apply(self, messages: Iterable[dict[str, Any]]) -> tuple[int, int]:
        """Apply messages in one transaction. Returns (applied, duplicates)."""
        applied = duplicates = 0
        self.db.execute("BEGIN IMMEDIATE")
        try:
            for message in messages:
                seen = self.db.execute(
                    "INSERT INTO gezien VALUES (?) ON CONFLICT DO NOTHING", (message["event_id"],)
                ).rowcount == 0
                if seen:
                    duplicates += 1
                    continue
                self.db.execute(_UPSERT, _row(message))
                applied += 1
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return applied, duplicates

    def rows(self, *, everything: bool = False) -> list[dict[str, Any]]:
        """The house's open work (status nieuw or geaccepteerd, queue at this house), oldest first."""
        sql = "SELECT * FROM werk"
        params: tuple[Any, ...] = ()
        if not everything:
            sql += " WHERE status IN (?, ?) AND queue LIKE ?"
            params = (*OPEN, f"{self.zvh}/%")
        rows = [dict(r) for r in self.db.execute(sql + " ORDER BY ontvangen_op, melding_id", params)]
        for row in rows:
            row["labels"] = json.loads(row["labels"]) if row["labels"] else []
        return rows

    def row(self, melding_id: str) -> dict[str, Any] | None:
        found = self.db.execute("SELECT * FROM werk WHERE melding_id = ?", (melding_id,)).fetchone()
        return dict(found) if found else None

    def close(self) -> None:
        self.db.close()


class ZvhQueueConsumer:
    """Reads the house's topic into its view; offsets are committed after the view's transaction."""

    def __init__(self, view: ZvhQueueView, consumer: KafkaConsumer, topic: str, *, batch: int = 1_000):
        self.view = view
        self.consumer = consumer
        self.topic = topic
        self.batch = batch
        self.applied = self.duplicates = 0

    def step(self, timeout_ms: int = 500) -> int:
        records = poll(self.consumer, timeout_ms=timeout_ms, max_records=self.batch)
        if not records:
            return 0
        applied, duplicates = self.view.apply(json.loads(r.value) for r in records)
        self.applied += applied
        self.duplicates += duplicates
        commit(self.consumer, next_offsets(records))
        return len(records)

    def run(self, stop: threading.Event) -> None:
        self.consumer.subscribe([self.topic])
        while not stop.is_set():
            try:
                self.step()
            except KafkaError as exc:
                log.warning("kafka.retry", error=type(exc).__name__, detail=str(exc)[:200])
                stop.wait(RETRY_SECONDS)

    def sync(self, *, timeout_s: float = 30.0) -> None:
        """Read until the view holds everything on the topic now (for `--sync`)."""
        deadline = time.monotonic() + timeout_s
        self.consumer.subscribe([self.topic])
        while time.monotonic() < deadline:
            if self.step() == 0 and self._at_end():
                return
        raise TimeoutError(f"{self.topic}: not caught up within {timeout_s:.0f} s")

    def _at_end(self) -> bool:
        assigned = self.consumer.assignment()
        if not assigned:
            return False
        ends = self.consumer.end_offsets(list(assigned))
        return all((self.consumer.position(tp) or 0) >= end for tp, end in ends.items())

