"""Audit trail: every event of every melding, with time, actor, ruleset version and rules.

What auditors replay: who did what, when, and under which rules. Personal data
(the person, free text of the melder or of a lifecycle command, raw payloads)
is not copied here: where an event holds some, the trail says it is sealed
(`{"versleuteld": true}`), and after the subject's keys were destroyed, that it
was removed (`{"verwijderd": true}`), next to the PersoonsgegevensVernietigd
entry that says who did it and why.
"""

from __future__ import annotations

import json
from typing import Any

from events.intake import veilige_fouten
from events.melding import AfgewezenMelding, Melding, MetPersoonsgegevens
from privacy.kluis import VERWIJDERD, is_envelope
from projections.store import Collector, Projection, ProjectionStore, Statement, json_list
from routing.decision import Beslissing

VERSLEUTELD = {"versleuteld": True}

# The last column, `positie`, is the event's position in the notification log (the page adds it): as
# of a position, the trail is its entries up to there.
_INSERT = """INSERT INTO audit_trail
    (melding_id, versie, tijdstip, gebeurtenis, actor, ruleset, rules, details, positie)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (melding_id, versie) DO NOTHING"""

_BESLISSING = ("outcome", "zvh", "product", "gemeente", "queue", "labels", "notify", "deadline", "reasons")


def _entry(e: Any, actor: str, details: dict[str, Any], beslissing: Beslissing | None = None) -> list[Statement]:
    if beslissing is not None:
        details = {**details, **_besluit(beslissing)}
    return [(_INSERT, (
        str(e.originator_id),
        e.originator_version,
        e.timestamp.isoformat(),
        type(e).__name__,
        actor,
        beslissing.ruleset if beslissing else None,
        json_list(beslissing.rules) if beslissing else None,
        json.dumps(details, ensure_ascii=False),
    ))]


def _besluit(b: Beslissing) -> dict[str, Any]:
    """The decision's fields an auditor needs, in the contract's JSON shape; the decision is free of
    personal data by design (the ruleset and the rule ids have columns of their own)."""
    contract = b.as_contract()
    return {k: contract[k] for k in _BESLISSING}


def _afgeschermd(value: Any) -> Any:
    return dict(VERSLEUTELD) if is_envelope(value) else value


def _ontvangen(e: Any) -> list[Statement]:
    return _entry(e, f"bron:{e.bron}", {
        "bron": e.bron, "kenmerk": e.kenmerk, "soort": e.soort,
        "gemeente": e.gemeente, "ontvangen_op": e.ontvangen_op,
        "persoonsgegevens": _afgeschermd(e.persoonsgegevens),
    })


def _regels(e: Any) -> list[Statement]:
    return _entry(e, "regels", {}, e.beslissing)


def _persoon(*fields: str):
    def handle(e: Any) -> list[Statement]:
        details = {f: _afgeschermd(getattr(e, f)) for f in fields}
        return _entry(e, e.actor, details, getattr(e, "beslissing", None))

    return handle


class AuditPage:
    """A page of the trail: each entry with its event's position."""

    __slots__ = ("handlers", "out")

    def __init__(self, handlers: dict[type, Any]):
        self.handlers = handlers
        self.out: list[Statement] = []

    def add(self, event: Any, at: int = 0) -> None:
        handler = self.handlers.get(type(event))
        if handler is not None:
            self.out.extend((sql, (*params, at)) for sql, params in handler(event))

    def statements(self) -> list[Statement]:
        return self.out


class Audit(Projection):
    name = "audit"
    version = 2  # 2: each entry's position in the log (positie), for as-of reads
    tables = ("audit_trail",)
    create = (
        """CREATE TABLE IF NOT EXISTS audit_trail (
            melding_id TEXT NOT NULL, versie INTEGER NOT NULL, tijdstip TEXT NOT NULL,
            gebeurtenis TEXT NOT NULL, actor TEXT, ruleset TEXT, rules TEXT, details TEXT,
            positie INTEGER NOT NULL,
            PRIMARY KEY (melding_id, versie))""",
    )

    @classmethod
    def page(cls) -> Collector:
        return AuditPage(cls.handlers)

    @classmethod
    def als_op(cls, table: str, positie: int) -> str | None:
        if table != "audit_trail":
            return None
        return ("SELECT melding_id, versie, tijdstip, gebeurtenis, actor, ruleset, rules, details, positie "
                f"FROM audit_trail WHERE positie <= {positie}")

    handlers = {
        Melding.MeldingOntvangen: _ontvangen,
        Melding.MeldingGerouteerd: _regels,
        Melding.MeldingInTriage: _regels,
        Melding.MeldingDoorverwezen: _regels,
        Melding.MeldingHergerouteerd: _persoon("reden"),
        Melding.TriageBesloten: _persoon("reden"),
        Melding.MeldingGeaccepteerd: _persoon("regisseur"),
        Melding.MeldingTeruggestuurd: _persoon("reden", "zvh"),
        Melding.TopXAan: _persoon("reden"),
        Melding.TopXAf: _persoon("reden", "via"),
        Melding.MeldingGesloten: _persoon("resultaat"),
        # Staff and the parties' roles; no personal data of the person concerned.
        Melding.RegisseurToegewezen: _persoon("regisseur", "vorige"),
        Melding.InformerenGevraagd: _persoon("partij", "gemeente", "uiterlijk", "aanleiding"),
        Melding.PartijGeinformeerd: _persoon("partij", "kanaal"),
        AfgewezenMelding.MeldingAfgewezen: lambda e: _entry(
            e, "intake",
            {"bron": e.bron, "kenmerk": e.kenmerk, "errors": veilige_fouten(e.errors),
             "payload": _afgeschermd(e.payload)},
            e.beslissing,
        ),
        AfgewezenMelding.AfwijzingHersteld: lambda e: _entry(
            e, e.actor, {"melding": e.melding_id, "bron": e.bron, "kenmerk": e.kenmerk}),
        MetPersoonsgegevens.PersoonsgegevensVernietigd: _persoon("reden", "betrokkene"),
    }


def trail(store: ProjectionStore, melding_id: str) -> list[dict[str, Any]]:
    rows = store.rows(
        "SELECT melding_id, versie, tijdstip, gebeurtenis, actor, ruleset, rules, details "
        "FROM audit_trail WHERE melding_id = ? ORDER BY versie",
        (melding_id,),
    )
    shredded = max((r["versie"] for r in rows if r["gebeurtenis"] == "PersoonsgegevensVernietigd"), default=0)
    for row in rows:
        row["rules"] = json.loads(row["rules"]) if row["rules"] else []
        row["details"] = json.loads(row["details"])
        if row["versie"] < shredded:
            # Sealed before the keys were destroyed: it can never be read again.
            row["details"] = {k: dict(VERWIJDERD) if v == VERSLEUTELD else v for k, v in row["details"].items()}
    return rows


def rulesets(store: ProjectionStore) -> list[dict[str, Any]]:
    """Every ruleset version the loket decided with: first and last recorded, how many decisions."""
    return store.rows(
        "SELECT ruleset, MIN(tijdstip) AS eerst, MAX(tijdstip) AS laatst, COUNT(*) AS besluiten "
        "FROM audit_trail WHERE ruleset IS NOT NULL GROUP BY ruleset ORDER BY eerst, ruleset"
    )


def ruleset_op(store: ProjectionStore, tot: str) -> dict[str, Any] | None:
    """The ruleset of the last decision recorded before `tot` (a UTC ISO time): the one in force then."""
    rows = store.rows(
        "SELECT ruleset, tijdstip FROM audit_trail WHERE ruleset IS NOT NULL AND tijdstip < :tot "
        "ORDER BY tijdstip DESC LIMIT 1", {"tot": tot})
    return rows[0] if rows else None
