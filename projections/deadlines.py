"""Deadlines: what must happen by when, per melding, and what is overdue.

- Wvggz: the gemeente's verkennend onderzoek within 14 days (002); the decision's deadline.
- Huisverbod: the tijdelijk huisverbod lasts 10 days, and the ZVH keeps regie up to one year
  after it ends (003), so two dates.
- Top X: a short-lived label (003); reviewed at the weegtafel within 90 days of being given.
A deadline is met when the melding is closed, or (Top X) when the label is scaled down.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from events.melding import Melding
from projections.store import TOP, Collector, Projection, ProjectionStore, Statement, geldig_op, knoop, knoop_sql
from routing.decision import Beslissing

TOP_X_REVIEW_DAGEN = 90
REGIE_NA_HUISVERBOD = 365

_ADD = """INSERT INTO deadlines (melding_id, soort, vervalt_op, zvh, product, afgehandeld)
    VALUES (:id, :soort, :vervalt_op, :zvh, :product, 0)
    ON CONFLICT (melding_id, soort) DO UPDATE
    SET vervalt_op = :vervalt_op, zvh = :zvh, product = :product, afgehandeld = 0"""
_CLEAR_DECISION = "DELETE FROM deadlines WHERE melding_id = :id AND soort != 'top-x-review'"
_DONE = ("UPDATE deadlines SET afgehandeld = 1 WHERE melding_id = :id "
         "AND (CAST(:soort AS TEXT) IS NULL OR soort = :soort)")


def _from_decision(e: Any, *, first: bool = False) -> list[Statement]:
    """A new decision replaces the deadlines that came from the previous one; the first
    decision (intake's MeldingGerouteerd) has none to replace."""
    b: Beslissing = e.beslissing
    melding = str(e.originator_id)
    out: list[Statement] = [] if first else [(_CLEAR_DECISION, {"id": melding})]
    if b.outcome != "routed" or b.deadline is None:
        return out
    due = b.deadline
    common = {"id": melding, "zvh": b.zvh, "product": b.product}
    if b.product == "huisverbod":
        out.append((_ADD, {**common, "soort": "huisverbod-einde", "vervalt_op": due.isoformat()}))
        regie = due + timedelta(days=REGIE_NA_HUISVERBOD)
        out.append((_ADD, {**common, "soort": "regie-na-huisverbod", "vervalt_op": regie.isoformat()}))
    else:
        out.append((_ADD, {**common, "soort": f"{b.product}-termijn", "vervalt_op": due.isoformat()}))
    return out


def _top_x_aan(e: Any) -> list[Statement]:
    due = e.timestamp.date() + timedelta(days=TOP_X_REVIEW_DAGEN)
    return [(_ADD, {"id": str(e.originator_id), "soort": "top-x-review", "vervalt_op": due.isoformat(),
                    "zvh": None, "product": "pga"})]


# History (projections/store.py, "History"): each version of a deadline with the positions from which
# and until which it held. A deadline set closes the one of its kind that held and starts a new
# one; a decision's new deadlines close the old decision's; one met is a copy with afgehandeld = 1.
_KOLOMMEN = "melding_id, soort, vervalt_op, zvh, product, afgehandeld"
_H_SLUIT = (f"UPDATE deadlines_historie SET tot = :van, knoop = {knoop_sql('van', ':hoog')} "
            f"WHERE melding_id = :id AND tot = {TOP} AND van < :van")
_H_ADD_SLUIT = _H_SLUIT + " AND soort = :soort"
_H_ADD = (f"INSERT INTO deadlines_historie ({_KOLOMMEN}, van, tot, knoop) "
          f"VALUES (:id, :soort, :vervalt_op, :zvh, :product, 0, :van, {TOP}, :knoop)")
_H_CLEAR = _H_SLUIT + " AND soort != 'top-x-review'"
_H_DONE_KOPIE = (f"INSERT INTO deadlines_historie ({_KOLOMMEN}, van, tot, knoop) "
                 f"SELECT melding_id, soort, vervalt_op, zvh, product, 1, :van, {TOP}, :knoop FROM deadlines_historie "
                 f"WHERE melding_id = :id AND tot = {TOP} AND van < :van AND afgehandeld = 0 "
                 "AND (CAST(:soort AS TEXT) IS NULL OR soort = :soort)")
_H_DONE_SLUIT = _H_SLUIT + " AND afgehandeld = 0 AND (CAST(:soort AS TEXT) IS NULL OR soort = :soort)"


def _historie(statements: list[Statement], at: int) -> list[Statement]:
    """The history statements of one event's statements, at its position."""
    out: list[Statement] = []
    plaats = {"van": at, "hoog": at - 1}
    for sql, params in statements:
        assert isinstance(params, dict)
        if sql is _ADD:
            out.append((_H_ADD_SLUIT, {**plaats, "id": params["id"], "soort": params["soort"]}))
            out.append((_H_ADD, {**params, "van": at, "knoop": knoop(at, TOP)}))
        elif sql is _CLEAR_DECISION:
            out.append((_H_CLEAR, {**plaats, "id": params["id"]}))
        else:
            out.append((_H_DONE_KOPIE, {"van": at, "knoop": knoop(at, TOP), **params}))
            out.append((_H_DONE_SLUIT, {**plaats, **params}))
    return out


class DeadlinePage:
    """A page of deadlines: the statements on the live table, in order, then those on its history."""

    __slots__ = ("handlers", "out", "historie")

    def __init__(self, handlers: dict[type, Any]):
        self.handlers = handlers
        self.out: list[Statement] = []
        self.historie: list[Statement] = []

    def add(self, event: Any, at: int = 0) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            statements = handler(event)
            self.out.extend(statements)
            self.historie.extend(_historie(statements, at))

    def statements(self) -> list[Statement]:
        return self.out + self.historie


class Deadlines(Projection):
    name = "deadlines"
    version = 2  # 2: every version of a deadline kept (deadlines_historie) for as-of reads
    tables = ("deadlines", "deadlines_historie")
    create = (
        """CREATE TABLE IF NOT EXISTS deadlines (
            melding_id TEXT NOT NULL, soort TEXT NOT NULL, vervalt_op TEXT NOT NULL,
            zvh TEXT, product TEXT, afgehandeld INTEGER NOT NULL,
            PRIMARY KEY (melding_id, soort))""",
        """CREATE TABLE IF NOT EXISTS deadlines_historie (
            melding_id TEXT NOT NULL, soort TEXT NOT NULL, vervalt_op TEXT NOT NULL,
            zvh TEXT, product TEXT, afgehandeld INTEGER NOT NULL,
            van INTEGER NOT NULL, tot INTEGER NOT NULL, knoop INTEGER NOT NULL,
            PRIMARY KEY (melding_id, soort, van))""",
        # The lists read the deadlines not yet met (projections/store.py, `historie_ddl`).
        "CREATE INDEX IF NOT EXISTS deadlines_historie_van ON deadlines_historie (knoop, afgehandeld, van)",
        "CREATE INDEX IF NOT EXISTS deadlines_historie_tot ON deadlines_historie (knoop, afgehandeld, tot)",
    )

    @classmethod
    def page(cls) -> Collector:
        return DeadlinePage(cls.handlers)

    @classmethod
    def als_op(cls, table: str, positie: int) -> str | None:
        if table != "deadlines":
            return None
        return f"SELECT {_KOLOMMEN} FROM deadlines_historie WHERE {geldig_op(positie)}"

    handlers = {
        Melding.MeldingGerouteerd: lambda e: _from_decision(e, first=True),
        Melding.MeldingHergerouteerd: _from_decision,
        Melding.TriageBesloten: _from_decision,
        Melding.TopXAan: _top_x_aan,
        Melding.TopXAf: lambda e: [(_DONE, {"id": str(e.originator_id), "soort": "top-x-review"})],
        Melding.MeldingGesloten: lambda e: [(_DONE, {"id": str(e.originator_id), "soort": None})],
    }


def open_deadlines(store: ProjectionStore, on: date) -> list[dict[str, Any]]:
    """Deadlines not yet met, soonest first; `te_laat` when the date has passed on `on`."""
    rows = store.rows(
        "SELECT d.melding_id, c.bron, c.kenmerk, d.soort, d.vervalt_op, "
        "COALESCE(d.zvh, c.zvh) AS zvh, d.product, c.gemeente "
        "FROM deadlines d LEFT JOIN caseload_meldingen c ON c.melding_id = d.melding_id "
        "WHERE d.afgehandeld = 0 ORDER BY d.vervalt_op, d.melding_id, d.soort"
    )
    for row in rows:
        row["te_laat"] = date.fromisoformat(row["vervalt_op"]) < on
    return rows
