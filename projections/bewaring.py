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

from events.melding import AfgewezenMelding, Melding, MetPersoonsgegevens
from projections.store import Insert, ProjectionStore, RowProjection, Update
from routing.tijd import NL


def _dag(e: Any) -> str:
    return e.timestamp.astimezone(NL).date().isoformat()


def _nieuw(e: Any, **values: Any) -> list[Insert]:
    return [Insert(str(e.originator_id), {"betrokkene": e.betrokkene, **values})]


def _zet(**values: Any):
    """A handler that sets these columns; a callable value is computed from the event."""

    def handle(e: Any) -> list[Update]:
        return [Update(str(e.originator_id), {k: v(e) if callable(v) else v for k, v in values.items()})]

    return handle


def _product(e: Any) -> str | None:
    return e.beslissing.product


class Bewaring(RowProjection):
    name = "bewaring"
    table = "bewaring"
    key = "melding_id"
    columns = ("melding_id", "betrokkene", "product", "einde", "vernietigd")
    defaults = {"vernietigd": 0}
    tables = (table,)
    create = (
        """CREATE TABLE IF NOT EXISTS bewaring (
            melding_id TEXT PRIMARY KEY, betrokkene TEXT NOT NULL, product TEXT, einde TEXT,
            vernietigd INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS bewaring_betrokkene ON bewaring (betrokkene)",
    )
    # Free text written after the data was destroyed is new personal data: vernietigd back to 0.
    handlers = {
        Melding.MeldingOntvangen: _nieuw,
        Melding.MeldingGerouteerd: _zet(product=_product, einde=None),
        Melding.MeldingInTriage: _zet(einde=None),
        Melding.MeldingDoorverwezen: _zet(einde=_dag, product="doorverwezen"),
        Melding.MeldingHergerouteerd: _zet(product=_product, einde=None, vernietigd=0),
        Melding.TriageBesloten: _zet(product=_product, einde=None, vernietigd=0),
        Melding.MeldingTeruggestuurd: _zet(einde=None, vernietigd=0),
        Melding.TopXAan: _zet(vernietigd=0),
        Melding.TopXAf: _zet(vernietigd=0),
        Melding.MeldingGesloten: _zet(einde=_dag, vernietigd=0),  # the product stays what it was
        MetPersoonsgegevens.PersoonsgegevensVernietigd: _zet(vernietigd=1),
        AfgewezenMelding.MeldingAfgewezen: lambda e: _nieuw(e, product="afgewezen", einde=_dag(e)),
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


def meldingen_van(store: ProjectionStore, betrokkene: str) -> list[str]:
    """Every melding about one subject (by pseudonym), whether or not its data were destroyed since."""
    return [r["melding_id"] for r in store.rows(
        "SELECT melding_id FROM bewaring WHERE betrokkene = ? ORDER BY melding_id", (betrokkene,))]
