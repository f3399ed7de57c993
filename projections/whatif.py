"""What if another ruleset were in force: stored meldingen re-decided, nothing written.

A policy person changes a rule and wants to see, before it takes effect, which meldingen would
go elsewhere. This reads the MeldingOntvangen events of the notification log (each melding as it
was received), rebuilds every melding from its creation event, and decides it under two
rulesets: the basis (the one in force) and the proposal. Comparing two fresh decisions, rather
than the recorded one, shows what the rule change does and nothing else (a recorded decision
may come from an older ruleset or a person's correction).

Read-only: no event, no tracking record; the store is the same before and after.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from events.follower import PAGE_SIZE, Follower
from events.melding import Melding
from routing import Beslissing, Ruleset

_ONTVANGEN = get_topic(Melding.MeldingOntvangen)


@dataclass(frozen=True, slots=True)
class Verschuiving:
    """One melding that the proposal would decide differently."""

    melding_id: UUID
    bron: str
    kenmerk: str
    datum: date  # routing date
    van: str
    naar: str


@dataclass(frozen=True, slots=True)
class WatAls:
    basis: str  # ruleset versions
    voorstel: str
    van: date | None  # routing dates considered, inclusive; None = open
    tot: date | None
    bekeken: int
    gewijzigd: tuple[Verschuiving, ...]

    def bewegingen(self) -> list[tuple[str, str, int]]:
        """(from, to, count), largest movement first."""
        counts = Counter((v.van, v.naar) for v in self.gewijzigd)
        return [(van, naar, n) for (van, naar), n in
                sorted(counts.items(), key=lambda item: (-item[1], item[0]))]

    def as_dict(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "voorstel": self.voorstel,
            "van": self.van.isoformat() if self.van else None,
            "tot": self.tot.isoformat() if self.tot else None,
            "bekeken": self.bekeken,
            "gewijzigd": len(self.gewijzigd),
            "bewegingen": [{"van": van, "naar": naar, "aantal": n}
                           for van, naar, n in self.bewegingen()],
            "meldingen": [{"melding_id": str(v.melding_id), "bron": v.bron, "kenmerk": v.kenmerk,
                           "datum": v.datum.isoformat(), "van": v.van, "naar": v.naar}
                          for v in self.gewijzigd],
        }


def plaats(b: Beslissing) -> str:
    """Where a decision puts a melding, in one readable token: house/product, labels (+),
    who is informed (!), a queue other than the house's own (@), a deadline (days)."""
    if b.outcome == "doorverwijzen":
        return "doorverwijzen"
    if b.outcome == "triage":
        return f"triage ({b.zvh})" if b.zvh else "triage"
    text = f"{b.zvh}/{b.product}"
    text += "".join(f" +{label}" for label in b.labels)
    text += "".join(f" !{who}" for who in b.notify)
    if b.queue != f"{b.zvh}/{b.product}":
        text += f" @{b.queue}"
    return text


def wat_als(app: Any, basis: Ruleset, voorstel: Ruleset, *, van: date | None = None,
            tot: date | None = None, page_size: int = PAGE_SIZE) -> WatAls:
    """Re-decide every stored melding with a routing date in [van, tot] under both rulesets."""
    bekeken = 0
    gewijzigd: list[Verschuiving] = []
    for page in Follower(app, [_ONTVANGEN]).pages(size=page_size):
        for _, ontvangen in page:
            melding: Melding = ontvangen.mutate(None)
            feiten = melding.feiten()
            if (van and feiten.datum < van) or (tot and feiten.datum > tot):
                continue
            bekeken += 1
            oud, nieuw = basis.decide(feiten), voorstel.decide(feiten)
            if oud.verschil(nieuw):
                gewijzigd.append(Verschuiving(melding.id, melding.bron, melding.kenmerk,
                                              feiten.datum, plaats(oud), plaats(nieuw)))
    return WatAls(basis.version, voorstel.version, van, tot, bekeken, tuple(gewijzigd))
