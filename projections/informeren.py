"""Informeren: the worklist of parties a decision says must be told (events/informeren.py).

One row per task (`InformerenGevraagd`): who must be told (the party, the gemeente), about which
melding, by when, and, once done (`PartijGeinformeerd`), who told them, when and how. The list
joins the caseload row for the melding's kenmerk and for the one access check (house, compartment).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from events.melding import Melding
from projections.store import Insert, ProjectionStore, RowProjection, Update, historie_ddl


def _gevraagd(e: Any) -> list[Insert]:
    return [Insert(e.taak, {
        "melding_id": str(e.originator_id), "partij": e.partij, "gemeente": e.gemeente, "aanleiding": e.aanleiding,
        "gevraagd_op": e.timestamp.isoformat(), "gevraagd_door": e.actor, "uiterlijk": e.uiterlijk, "open": 1,
    })]


def _gedaan(e: Any) -> list[Update]:
    return [Update(e.taak, {"open": 0, "gedaan_op": e.timestamp.isoformat(), "gedaan_door": e.actor,
                            "kanaal": e.kanaal})]


class Informeren(RowProjection):
    name = "informeren"
    table = "informeren_taken"
    key = "taak"
    columns = ("taak", "melding_id", "partij", "gemeente", "aanleiding", "gevraagd_op", "gevraagd_door", "uiterlijk",
               "open", "gedaan_op", "gedaan_door", "kanaal")
    defaults = {"open": 1}
    # 2: every version of a task kept (informeren_taken_historie) for as-of reads; 3: a live row has the position
    # from which it holds (`van`), and the versions a page inserts are copied from the live rows.
    version = 3
    historie = True
    tables = (table, f"{table}_historie")
    create = (
        """CREATE TABLE IF NOT EXISTS informeren_taken (
            taak TEXT PRIMARY KEY, melding_id TEXT NOT NULL, partij TEXT NOT NULL, gemeente TEXT,
            aanleiding TEXT, gevraagd_op TEXT, gevraagd_door TEXT, uiterlijk TEXT NOT NULL,
            open INTEGER NOT NULL DEFAULT 1, gedaan_op TEXT, gedaan_door TEXT, kanaal TEXT,
            van INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS informeren_open ON informeren_taken (open, uiterlijk)",
        "CREATE INDEX IF NOT EXISTS informeren_melding ON informeren_taken (melding_id)",
        *historie_ddl(table, key, """taak TEXT NOT NULL, melding_id TEXT NOT NULL, partij TEXT NOT NULL,
            gemeente TEXT, aanleiding TEXT, gevraagd_op TEXT, gevraagd_door TEXT, uiterlijk TEXT NOT NULL,
            open INTEGER NOT NULL DEFAULT 1, gedaan_op TEXT, gedaan_door TEXT, kanaal TEXT""", "open"),
    )
    handlers = {
        Melding.InformerenGevraagd: _gevraagd,
        Melding.PartijGeinformeerd: _gedaan,
    }


_SELECT = (
    "SELECT t.taak, t.melding_id, c.bron, c.kenmerk, c.soort, c.zvh, c.product, t.partij, t.gemeente, t.aanleiding, "
    "t.gevraagd_op, t.gevraagd_door, t.uiterlijk, t.open, t.gedaan_op, t.gedaan_door, t.kanaal "
    "FROM informeren_taken t LEFT JOIN caseload_meldingen c ON c.melding_id = t.melding_id "
)


def _met_termijn(rows: list[dict[str, Any]], on: date) -> list[dict[str, Any]]:
    for row in rows:
        row["open"] = bool(row["open"])
        row["te_laat"] = row["open"] and date.fromisoformat(row["uiterlijk"]) < on
    return rows


def taken(store: ProjectionStore, on: date, *, open_only: bool = True) -> list[dict[str, Any]]:
    """Tasks to inform a party: the open ones by their last day (the most urgent first), or every one."""
    where = "WHERE t.open = 1 " if open_only else ""
    order = ("ORDER BY t.uiterlijk, t.gevraagd_op NULLS FIRST, t.taak" if open_only
             else "ORDER BY t.gevraagd_op DESC NULLS LAST, t.taak")
    return _met_termijn(store.rows(_SELECT + where + order), on)


def taken_van(store: ProjectionStore, melding_id: str, on: date) -> list[dict[str, Any]]:
    """Every task of one melding, oldest first (the melding page)."""
    return _met_termijn(store.rows(_SELECT + "WHERE t.melding_id = ? ORDER BY t.gevraagd_op NULLS FIRST, t.taak",
                                   (melding_id,)), on)
