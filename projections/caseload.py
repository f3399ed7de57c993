"""Caseload: one row per melding with where it went and where it stands.

From these rows come the caseload (open meldingen per zvh / product / gemeente /
status, with their age), the triage queue (oldest first, with the reason), the
list of rejected meldingen with their errors (the yearly statistics count in projections/tellingen.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

from events.intake import veilige_fouten
from events.melding import AfgewezenMelding, Melding
from events.status import HERSTELD, IN_BEHANDELING, OPEN, TRIAGE
from events.toegang import compartiment_van
from projections.store import Insert, ProjectionStore, Recompute, RowProjection, Update, historie_ddl, json_list
from routing.decision import Beslissing
from routing.tijd import routing_datum


def _t(e: Any) -> str:
    return e.timestamp.isoformat()


def _id(e: Any) -> str:
    return str(e.originator_id)




def _ontvangen(e: Any) -> list[Insert]:
    return [Insert(_id(e), {
        "bron": e.bron, "kenmerk": e.kenmerk, "soort": e.soort, "gemeente": e.gemeente,
        "ontvangen_op": e.ontvangen_op, "datum": routing_datum(e.ontvangen_op).isoformat(),
        "status": "ontvangen", "status_sinds": _t(e),
        "compartiment": e.compartiment or compartiment_van(e.soort, None),
    })]


def _beslist(status: str):
    def handle(e: Any) -> list[Update]:
        b: Beslissing = e.beslissing
        values = {
            "outcome": b.outcome, "zvh": b.zvh, "product": b.product, "queue": b.queue,
            "status": status, "labels": json_list(b.labels), "regisseur": None,
            # The decision's reasons: a person's own reason is sealed with the event (personal data).
            "reden": "; ".join(b.reasons), "status_sinds": _t(e), "top_x": int("top-x" in b.labels),
        }
        if b.gemeente is not None:  # a decision without a gemeente keeps the melding's
            values["gemeente"] = b.gemeente
        # Once in a compartment, always: a decision can put a melding in, never take it out
        # (as the aggregate keeps it, events/melding.py), so no list shows it outside again.
        if (compartiment := compartiment_van(None, b.product)) is not None:
            values["compartiment"] = compartiment
        return [Update(_id(e), values)]

    return handle


def _status(status: str, reden: Callable[[Any], str] | None = None, regisseur: bool = False):
    # Sent back means: no longer routed, a person at the loket decides again.
    outcome = {"outcome": "triage"} if status == TRIAGE else {}

    def handle(e: Any) -> list[Update]:
        return [Update(_id(e), {
            "status": status, "status_sinds": _t(e), "reden": reden(e) if reden else None,
            "regisseur": e.regisseur if regisseur else None, **outcome,
        })]

    return handle


def _teruggestuurd(e: Any) -> str:
    # Who sent it back is a routing fact; the reason they wrote is sealed (loket show).
    return f"Teruggestuurd door {e.actor} ({e.zvh or 'geen zvh'}); de reden staat versleuteld bij de melding."


def _afgewezen(e: Any) -> list[Insert]:
    errors = veilige_fouten(e.errors)
    return [Insert(_id(e), {
        "bron": e.bron, "kenmerk": e.kenmerk, "outcome": "rejected", "status": "afgewezen",
        "status_sinds": _t(e), "errors": json.dumps(errors, ensure_ascii=False), "compartiment": e.compartiment,
    })]


def _hersteld(e: Any) -> list[Update]:
    # Off the list of rejected meldingen still to do; the row says what took its place.
    return [Update(_id(e), {"status": HERSTELD, "status_sinds": _t(e),
                            "reden": f"Hersteld door {e.actor}; opnieuw ingediend als {e.bron}:{e.kenmerk}"})]


# Top X events carry no labels: the melding's labels after one are the aggregate's (events/melding.py),
# the decision's labels with `top-x` added at the end or taken out, computed here from the row's own.
# Plain string SQL, the same in SQLite and PostgreSQL: `labels` is a JSON list of plain words
# (`json_list`, or SQLite's compact `["a","b"]` in stores written before), so `"top-x"` is one
# element wherever it occurs.
_TOP_X_AAN = {"top_x": "1", "labels": "(CASE WHEN labels IS NULL OR labels = '[]' THEN '[\"top-x\"]' "
                                      "ELSE substr(labels, 1, length(labels) - 1) || ', \"top-x\"]' END)"}
_TOP_X_AF = {"top_x": "0", "labels": "replace(replace(replace(replace(replace(labels, ', \"top-x\"', ''), "
                                     "',\"top-x\"', ''), '\"top-x\", ', ''), '\"top-x\",', ''), '\"top-x\"', '')"}


class Caseload(RowProjection):
    name = "caseload"
    # 2: the labels follow Top X (version 1 set only top_x); 3: the regisseur follows RegisseurToegewezen
    # (rows of version 2 keep the one named at accepting), indexed for "mijn zaken"; 4: every version of
    # a row kept (caseload_meldingen_historie) for as-of reads; 5: a live row has the position from which it
    # holds (`van`), and the versions a page inserts are copied from the live rows.
    version = 5
    historie = True
    table = "caseload_meldingen"
    key = "melding_id"
    columns = (
        "melding_id", "bron", "kenmerk", "soort", "gemeente", "ontvangen_op", "datum", "outcome", "zvh", "product",
        "queue", "labels", "top_x", "status", "status_sinds", "reden", "regisseur", "resultaat", "errors",
        "compartiment",
    )
    defaults = {"top_x": 0}
    tables = (table, f"{table}_historie")
    create = (
        """CREATE TABLE IF NOT EXISTS caseload_meldingen (
            melding_id TEXT PRIMARY KEY,
            bron TEXT, kenmerk TEXT, soort TEXT, gemeente TEXT, ontvangen_op TEXT, datum TEXT,
            outcome TEXT, zvh TEXT, product TEXT, queue TEXT, labels TEXT, top_x INTEGER DEFAULT 0,
            status TEXT NOT NULL, status_sinds TEXT, reden TEXT, regisseur TEXT, resultaat TEXT,
            errors TEXT, compartiment TEXT, van INTEGER NOT NULL DEFAULT 0)""",
        "CREATE INDEX IF NOT EXISTS caseload_status ON caseload_meldingen (status, zvh, product, gemeente)",
        "CREATE INDEX IF NOT EXISTS caseload_regisseur ON caseload_meldingen (regisseur, status)",
        *historie_ddl(table, key, """melding_id TEXT NOT NULL,
            bron TEXT, kenmerk TEXT, soort TEXT, gemeente TEXT, ontvangen_op TEXT, datum TEXT,
            outcome TEXT, zvh TEXT, product TEXT, queue TEXT, labels TEXT, top_x INTEGER DEFAULT 0,
            status TEXT NOT NULL, status_sinds TEXT, reden TEXT, regisseur TEXT, resultaat TEXT,
            errors TEXT, compartiment TEXT""", "status"),
    )
    handlers = {
        Melding.MeldingOntvangen: _ontvangen,
        Melding.MeldingGerouteerd: _beslist(OPEN),
        Melding.MeldingInTriage: _beslist(TRIAGE),
        Melding.MeldingDoorverwezen: _beslist("doorverwezen"),
        Melding.MeldingHergerouteerd: _beslist(OPEN),
        Melding.TriageBesloten: _beslist(OPEN),
        Melding.MeldingGeaccepteerd: _status(IN_BEHANDELING, regisseur=True),
        Melding.MeldingTeruggestuurd: _status(TRIAGE, reden=_teruggestuurd),
        Melding.RegisseurToegewezen: lambda e: [Update(_id(e), {"regisseur": e.regisseur})],
        Melding.TopXAan: lambda e: [Recompute(_id(e), _TOP_X_AAN)],
        Melding.TopXAf: lambda e: [Recompute(_id(e), _TOP_X_AF)],
        # The result is free text (sealed): the column stays empty.
        Melding.MeldingGesloten: lambda e: [
            Update(_id(e), {"status": "gesloten", "status_sinds": _t(e), "resultaat": None})],
        AfgewezenMelding.MeldingAfgewezen: _afgewezen,
        AfgewezenMelding.AfwijzingHersteld: _hersteld,
    }


# Queries --------------------------------------------------------------------------


def _binnen(compartimenten: frozenset[str] | None) -> str:
    """The condition that keeps the meldingen of compartments the reader does not hold out of a count
    (None: every melding, for those who read the store itself, such as `loket caseload`)."""
    if compartimenten is None:
        return "1 = 1"
    marks = ", ".join(f":compartiment_{i}" for i in range(len(compartimenten)))
    return f"(compartiment IS NULL OR compartiment IN ({marks}))" if compartimenten else "compartiment IS NULL"


def _gehouden(compartimenten: frozenset[str] | None) -> dict[str, str]:
    return {f"compartiment_{i}": c for i, c in enumerate(sorted(compartimenten or ()))}


def caseload(store: ProjectionStore, on: date, compartimenten: frozenset[str] | None = None) -> list[dict[str, Any]]:
    """Open meldingen (routed, accepted or not) per zvh / product / gemeente / status.

    `gemiddelde_leeftijd_dagen` and `oudste_dagen` count days since the routing date, up to `on`.
    """
    leeftijd = store.dialect.dagen(":on", "datum")
    return store.rows(
        "SELECT zvh, product, gemeente, status, COUNT(*) AS count, "
        f"ROUND(AVG({leeftijd}), 1) AS gemiddelde_leeftijd_dagen, "
        f"CAST(MAX({leeftijd}) AS INTEGER) AS oudste_dagen "
        f"FROM caseload_meldingen WHERE status IN (:open, :behandeling) AND {_binnen(compartimenten)} "
        "GROUP BY zvh, product, gemeente, status "
        "ORDER BY zvh NULLS FIRST, product NULLS FIRST, gemeente NULLS FIRST, status",
        {"on": on.isoformat(), "open": OPEN, "behandeling": IN_BEHANDELING, **_gehouden(compartimenten)},
    )


def triage_queue(store: ProjectionStore) -> list[dict[str, Any]]:
    """What waits for a person at the loket, oldest first, with the reason."""
    return store.rows(
        "SELECT melding_id, bron, kenmerk, soort, gemeente, zvh, datum, status_sinds AS sinds, reden "
        "FROM caseload_meldingen WHERE status = :triage ORDER BY ontvangen_op NULLS FIRST, melding_id",
        {"triage": TRIAGE},
    )


def afgewezen(store: ProjectionStore) -> list[dict[str, Any]]:
    rows = store.rows(
        "SELECT melding_id, bron, kenmerk, status_sinds AS ontvangen, errors FROM caseload_meldingen "
        "WHERE status = 'afgewezen' ORDER BY status_sinds, melding_id"
    )
    for row in rows:
        row["errors"] = json.loads(row["errors"])
    return rows


def tellingen(store: ProjectionStore) -> dict[str, int]:
    """Meldingen per status."""
    return {
        r["status"]: r["n"]
        for r in store.rows("SELECT status, COUNT(*) AS n FROM caseload_meldingen GROUP BY status")
    }


def wachtrij(store: ProjectionStore, zvh: str) -> list[dict[str, Any]]:
    """A house's own queue: what is routed to it (its caseload, or work in its queue such as
    VIA for the whole region), waiting to be accepted first, then in behandeling; oldest first."""
    rows = store.rows(
        "SELECT melding_id, bron, kenmerk, soort, gemeente, zvh, product, queue, labels, datum, "
        "status, status_sinds AS sinds, regisseur FROM caseload_meldingen "
        "WHERE status IN (:open, :behandeling) "
        "AND (zvh = :zvh OR substr(queue, 1, length(:zvh) + 1) = :zvh || '/') "
        "ORDER BY status = :behandeling, ontvangen_op NULLS FIRST, melding_id",
        {"zvh": zvh, "open": OPEN, "behandeling": IN_BEHANDELING},
    )
    for row in rows:
        row["labels"] = json.loads(row["labels"] or "[]")
    return rows


def zaken_van(store: ProjectionStore, regisseur: str) -> list[dict[str, Any]]:
    """The open meldingen (routed or in behandeling) whose regisseur is this person, oldest first."""
    rows = store.rows(
        "SELECT melding_id, bron, kenmerk, soort, gemeente, zvh, product, queue, labels, datum, "
        "status, status_sinds AS sinds, regisseur FROM caseload_meldingen "
        "WHERE regisseur = :regisseur AND status IN (:open, :behandeling) "
        "ORDER BY ontvangen_op NULLS FIRST, melding_id",
        {"regisseur": regisseur, "open": OPEN, "behandeling": IN_BEHANDELING},
    )
    for row in rows:
        row["labels"] = json.loads(row["labels"] or "[]")
    return rows


def toegang(store: ProjectionStore, melding_ids: list[str]) -> dict[str, dict[str, Any]]:
    """What access to each melding depends on (soort, product, zvh, queue, status), by id."""
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(melding_ids), 500):
        chunk = melding_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for row in store.rows(
            f"SELECT melding_id, soort, product, zvh, queue, status, compartiment FROM caseload_meldingen "
            f"WHERE melding_id IN ({marks})", chunk, per_sleutel=True,
        ):
            found[row["melding_id"]] = row
    return found


