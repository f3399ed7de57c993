"""The time line: which position in the notification log was the last one recorded at a moment.

"As of" is by recording time: what the system knew then. The projections that keep history
(projections/store.py, "History") know positions; this table maps a moment to a position: one row
per event, with its recording time and the latest recording time up to and including it
(`hoogste`; recording times follow the positions, and where two processes' clocks once did not,
the position waits for the later). A moment is then the last position whose `hoogste` is at or
before it: one index seek. Of a run of events with the same `hoogste` (a transaction's, one
moment) only the last needs a row, and a page writes only that one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from projections.store import Projection, ProjectionStore, Statement

# Recording times as fixed-width UTC text, so that text order is time order.
_FORMAAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_INSERT = ("INSERT INTO tijdlijn (positie, tijdstip, hoogste) "
           "SELECT :positie, :tijdstip, MAX(t) FROM (SELECT :hoogste AS t UNION ALL "
           "SELECT MAX(hoogste) AS t FROM tijdlijn) laatst")


def tekst(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("the moment must carry a time zone")
    return moment.astimezone(UTC).strftime(_FORMAAT)


class TijdlijnPage:
    """A page's positions with their recording times; the latest time so far kept in the page, and
    the page's first row takes the latest of those written before."""

    __slots__ = ("rijen", "hoogste")

    def __init__(self) -> None:
        self.rijen: list[dict[str, Any]] = []
        self.hoogste = ""

    def add(self, event: Any, at: int = 0) -> None:
        tijdstip = tekst(event.timestamp)
        rij: dict[str, Any] = {"positie": at, "tijdstip": tijdstip, "hoogste": max(tijdstip, self.hoogste)}
        if tijdstip <= self.hoogste and self.rijen and self.rijen[-1]["hoogste"] == self.hoogste:
            # The same latest time as the row before (one transaction's events): a moment maps to
            # the last position of such a run, so the run needs one row, its last.
            self.rijen[-1] = rij
        else:
            self.rijen.append(rij)
        self.hoogste = rij["hoogste"]

    def statements(self) -> list[Statement]:
        return [(_INSERT, rij) for rij in self.rijen]


class TijdlijnBasis(Projection):
    """One row per event of the topics of `handlers` (those of the projections that keep history)."""

    name = "tijdlijn"
    tables = ("tijdlijn",)
    create = (
        """CREATE TABLE IF NOT EXISTS tijdlijn (
            positie INTEGER PRIMARY KEY, tijdstip TEXT NOT NULL, hoogste TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS tijdlijn_hoogste ON tijdlijn (hoogste, positie)",
    )

    @classmethod
    def page(cls) -> TijdlijnPage:
        return TijdlijnPage()


def positie_op(store: ProjectionStore, moment: datetime) -> int:
    """The last position recorded at or before `moment` (0: none was)."""
    rows = store.rows("SELECT positie FROM tijdlijn WHERE hoogste <= :t ORDER BY hoogste DESC, positie DESC LIMIT 1",
                      {"t": tekst(moment)})
    return int(rows[0]["positie"]) if rows else 0
