"""Caseload: one row per melding with where it went and where it stands.

Fed from the notification log (never from the write path). From these rows
come the caseload (open meldingen per zvh / product / gemeente), the list of
rejected meldingen with their errors, and the queue of meldingen in triage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteCursor, SQLiteDatastore, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic

from events.melding import AfgewezenMelding, Melding

NAME = "caseload"

_CREATE = [
    """CREATE TABLE IF NOT EXISTS caseload_meldingen (
        melding_id TEXT PRIMARY KEY,
        bron TEXT, kenmerk TEXT, soort TEXT, gemeente TEXT, ontvangen_op TEXT,
        outcome TEXT, zvh TEXT, product TEXT, queue TEXT, status TEXT NOT NULL,
        errors TEXT)""",
    "CREATE INDEX IF NOT EXISTS caseload_open ON caseload_meldingen (status, zvh, product, gemeente)",
]

_ONTVANGEN = """INSERT INTO caseload_meldingen
    (melding_id, bron, kenmerk, soort, gemeente, ontvangen_op, status)
    VALUES (:id, :bron, :kenmerk, :soort, :gemeente, :ontvangen_op, 'ontvangen')
    ON CONFLICT (melding_id) DO NOTHING"""
_BESLIST = """UPDATE caseload_meldingen
    SET outcome = :outcome, zvh = :zvh, product = :product, queue = :queue, status = :status,
        gemeente = COALESCE(:gemeente, gemeente)
    WHERE melding_id = :id"""
_AFGEWEZEN = """INSERT INTO caseload_meldingen
    (melding_id, bron, kenmerk, outcome, status, errors)
    VALUES (:id, :bron, :kenmerk, 'rejected', 'afgewezen', :errors)
    ON CONFLICT (melding_id) DO NOTHING"""


def _beslist(status: str) -> Callable[[Any], tuple[str, dict[str, Any]]]:
    def handle(e: Any) -> tuple[str, dict[str, Any]]:
        b = e.beslissing
        return _BESLIST, {
            "id": str(e.originator_id),
            "outcome": b["outcome"],
            "zvh": b.get("zvh"),
            "product": b.get("product"),
            "queue": b.get("queue"),
            "status": status,
            "gemeente": b.get("gemeente"),
        }

    return handle


def _ontvangen(e: Any) -> tuple[str, dict[str, Any]]:
    return _ONTVANGEN, {
        "id": str(e.originator_id),
        "bron": e.bron,
        "kenmerk": e.kenmerk,
        "soort": e.soort,
        "gemeente": e.gemeente,
        "ontvangen_op": e.ontvangen_op,
    }


def _afgewezen(e: Any) -> tuple[str, dict[str, Any]]:
    return _AFGEWEZEN, {
        "id": str(e.originator_id),
        "bron": e.bron,
        "kenmerk": e.kenmerk,
        "errors": json.dumps(e.errors, ensure_ascii=False),
    }


HANDLERS: dict[type, Callable[[Any], tuple[str, dict[str, Any]]]] = {
    Melding.MeldingOntvangen: _ontvangen,
    Melding.MeldingGerouteerd: _beslist("open"),
    Melding.MeldingInTriage: _beslist("triage"),
    Melding.MeldingDoorverwezen: _beslist("doorverwezen"),
    AfgewezenMelding.MeldingAfgewezen: _afgewezen,
}


class CaseloadView(SQLiteTrackingRecorder):
    """The caseload rows and the tracking position, in the same SQLite database."""

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any):
        super().__init__(datastore, **kwargs)
        self.create_table_statements.extend(_CREATE)

    def apply(self, statements: Sequence[tuple[str, dict[str, Any]]], tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as c:
            for sql, params in statements:
                c.execute(sql, params)
            self._insert_tracking(c, tracking)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.datastore.transaction(commit=False) as c:
            c.execute(sql, params)
            return [dict(row) for row in c.fetchall()]

    def caseload(self) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT zvh, product, gemeente, COUNT(*) AS count FROM caseload_meldingen "
            "WHERE status = 'open' GROUP BY zvh, product, gemeente ORDER BY zvh, product, gemeente"
        )

    def afgewezen(self) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT melding_id, bron, kenmerk, errors FROM caseload_meldingen "
            "WHERE status = 'afgewezen' ORDER BY rowid"
        )
        for row in rows:
            row["errors"] = json.loads(row["errors"])
        return rows

    def tellingen(self) -> dict[str, int]:
        """Meldingen per status (open, triage, doorverwezen, afgewezen)."""
        return {
            r["status"]: r["n"]
            for r in self._rows("SELECT status, COUNT(*) AS n FROM caseload_meldingen GROUP BY status")
        }


class CaseloadProjection:
    name = NAME
    topics = tuple(get_topic(cls) for cls in HANDLERS)

    def __init__(self, view: CaseloadView):
        self.view = view

    def position(self, application_name: str) -> int:
        return self.view.max_tracking_id(application_name) or 0

    def process_batch(self, domain_events: Sequence[Any], tracking: Tracking) -> None:
        self.view.apply([HANDLERS[type(e)](e) for e in domain_events], tracking)
