"""Retention: per melding, whose personal data it holds, under which product's term, since when it ended.

A melding has ended when it is closed, referred out of the region
(doorverwezen) or rejected at intake; rerouting or sending it back opens it
again. `PersoonsgegevensVernietigd` marks its data destroyed; free text sealed
afterwards (a later lifecycle command) is new personal data again.
Which subjects are due is `privacy.retention.verlopen` over these rows.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from events.melding import AfgewezenMelding, Melding, MetPersoonsgegevens
from projections.store import Projection, ProjectionStore, Statement

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_NIEUW = """INSERT INTO bewaring (melding_id, betrokkene, product, einde, vernietigd)
    VALUES (:id, :betrokkene, :product, :einde, 0) ON CONFLICT (melding_id) DO NOTHING"""
_PRODUCT = "UPDATE bewaring SET product = :product, einde = NULL WHERE melding_id = :id"
_OPEN = "UPDATE bewaring SET einde = NULL WHERE melding_id = :id"
_EINDE = "UPDATE bewaring SET einde = :einde, product = COALESCE(:product, product) WHERE melding_id = :id"
_NIEUWE_TEKST = "UPDATE bewaring SET vernietigd = 0 WHERE melding_id = :id"
_VERNIETIGD = "UPDATE bewaring SET vernietigd = 1 WHERE melding_id = :id"


def _dag(e: Any) -> str:
    return e.timestamp.astimezone(AMSTERDAM).date().isoformat()


def _id(e: Any) -> dict[str, Any]:
    return {"id": str(e.originator_id)}


def _beslist(e: Any) -> list[Statement]:
    return [(_PRODUCT, {**_id(e), "product": e.beslissing.get("product")}), (_NIEUWE_TEKST, _id(e))]


class Bewaring(Projection):
    name = "bewaring"
    inserts_first = True
    tables = ("bewaring",)
    create = (
        """CREATE TABLE IF NOT EXISTS bewaring (
            melding_id TEXT PRIMARY KEY, betrokkene TEXT NOT NULL, product TEXT, einde TEXT,
            vernietigd INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS bewaring_betrokkene ON bewaring (betrokkene)",
    )
    handlers = {
        Melding.MeldingOntvangen: lambda e: [
            (_NIEUW, {**_id(e), "betrokkene": e.betrokkene, "product": None, "einde": None})],
        Melding.MeldingGerouteerd: lambda e: [(_PRODUCT, {**_id(e), "product": e.beslissing.get("product")})],
        Melding.MeldingInTriage: lambda e: [(_OPEN, _id(e))],
        Melding.MeldingDoorverwezen: lambda e: [(_EINDE, {**_id(e), "einde": _dag(e), "product": "doorverwezen"})],
        Melding.MeldingHergerouteerd: _beslist,
        Melding.TriageBesloten: _beslist,
        Melding.MeldingTeruggestuurd: lambda e: [(_OPEN, _id(e)), (_NIEUWE_TEKST, _id(e))],
        Melding.TopXAan: lambda e: [(_NIEUWE_TEKST, _id(e))],
        Melding.TopXAf: lambda e: [(_NIEUWE_TEKST, _id(e))],
        Melding.MeldingGesloten: lambda e: [
            (_EINDE, {**_id(e), "einde": _dag(e), "product": None}), (_NIEUWE_TEKST, _id(e))],
        MetPersoonsgegevens.PersoonsgegevensVernietigd: lambda e: [(_VERNIETIGD, _id(e))],
        AfgewezenMelding.MeldingAfgewezen: lambda e: [
            (_NIEUW, {**_id(e), "betrokkene": e.betrokkene, "product": "afgewezen", "einde": _dag(e)})],
    }


def bewaarregels(store: ProjectionStore) -> list[dict[str, Any]]:
    """Every melding that still holds personal data: subject, product and end date (None: running)."""
    rows = store.rows(
        "SELECT melding_id, betrokkene, product, einde FROM bewaring WHERE vernietigd = 0 "
        "ORDER BY betrokkene, melding_id"
    )
    for row in rows:
        row["einde"] = date.fromisoformat(row["einde"]) if row["einde"] else None
    return rows
