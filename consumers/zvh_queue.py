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

from consumers.clients import commit, next_offsets, poll, run_until
from kafka import KafkaConsumer

# The melding's status in the house's view after each event type (Top X changes a label only).
STATUS: dict[str, str] = {
    "MeldingGerouteerd": "open",
    "MeldingInTriage": "triage",
    "MeldingDoorverwezen": "doorverwezen",
    "MeldingGeaccepteerd": "in-behandeling",
    "MeldingTeruggestuurd": "teruggestuurd",
    "MeldingHergerouteerd": "open",
    "TriageBesloten": "open",
    "MeldingGesloten": "gesloten",
}
LABEL: dict[str, tuple[str, bool]] = {"TopXAan": ("top-x", True), "TopXAf": ("top-x", False)}

OPEN = ("open", "in-behandeling")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gezien (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS werk (
    melding_id TEXT PRIMARY KEY,
    melding_version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT,
    queue TEXT,
    bron TEXT NOT NULL, kenmerk TEXT NOT NULL, soort TEXT NOT NULL, gemeente TEXT,
    ontvangen_op TEXT NOT NULL,
    zvh TEXT, product TEXT, labels TEXT NOT NULL DEFAULT '[]', deadline TEXT,
    regisseur TEXT, actor TEXT,
    bijgewerkt TEXT NOT NULL
);
"""
_COLUMNS = (
    "melding_id", "melding_version", "event_type", "status", "queue", "bron", "kenmerk", "soort",
    "gemeente", "ontvangen_op", "zvh", "product", "labels", "deadline", "regisseur", "actor", "bijgewerkt",
)
_REPLACE = f"INSERT OR REPLACE INTO werk ({', '.join(_COLUMNS)}) VALUES ({', '.join(':' + c for c in _COLUMNS)})"


def _next(row: dict[str, Any] | None, message: dict[str, Any]) -> dict[str, Any] | None:
    """The row after this message; None when the view already knows a newer state."""
    if row is not None and row["melding_version"] >= message["melding_version"]:
        return None
    new = dict(row or {"labels": "[]", "zvh": None, "product": None, "deadline": None, "regisseur": None})
    new.update({k: message[k] for k in (
        "melding_id", "melding_version", "event_type", "queue", "bron", "kenmerk", "soort", "gemeente",
        "ontvangen_op",
    )})
    new["bijgewerkt"] = message["tijdstip"]
    new["actor"] = message.get("actor")
    new["status"] = STATUS.get(message["event_type"], new.get("status"))
    labels = json.loads(new["labels"])
    if (beslissing := message.get("beslissing")) is not None:
        new.update({k: beslissing[k] for k in ("zvh", "product", "deadline")})
        labels = beslissing["labels"]
    if message["event_type"] in LABEL:
        label, on = LABEL[message["event_type"]]
        labels = [x for x in labels if x != label] + ([label] if on else [])
    new["labels"] = json.dumps(labels)
    if message["event_type"] in ("MeldingGeaccepteerd", "RegisseurToegewezen"):
        new["regisseur"] = message["regisseur"]
    elif new["status"] != "in-behandeling":
        new["regisseur"] = None
    return new


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
                first_time = self.db.execute(
                    "INSERT INTO gezien VALUES (?) ON CONFLICT DO NOTHING", (message["event_id"],)
                ).rowcount == 1
                if not first_time:
                    duplicates += 1
                    continue
                row = self._row(message["melding_id"])
                new = _next(row, message)
                if new is not None:
                    self.db.execute(_REPLACE, new)
                applied += 1
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return applied, duplicates

    def _row(self, melding_id: str) -> dict[str, Any] | None:
        found = self.db.execute("SELECT * FROM werk WHERE melding_id = ?", (melding_id,)).fetchone()
        return dict(found) if found else None

    def rows(self, *, everything: bool = False) -> list[dict[str, Any]]:
        """The house's open work (open or in behandeling, in a queue of this house), oldest first."""
        sql = "SELECT * FROM werk"
        params: tuple[Any, ...] = ()
        if not everything:
            sql += " WHERE status IN (?, ?) AND queue LIKE ?"
            params = (*OPEN, f"{self.zvh}/%")
        rows = [dict(r) for r in self.db.execute(sql + " ORDER BY ontvangen_op, melding_id", params)]
        for row in rows:
            row["labels"] = json.loads(row["labels"])
        return rows

    def in_queue(self, melding_id: str) -> bool:
        return any(r["melding_id"] == melding_id for r in self.rows())

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
        run_until(stop, self.step)  # a batch read again is deduplicated by event id

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

