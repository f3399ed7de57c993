"""Why a melding went where it went: every rule considered, each condition, and the decision.

For the intake team ("why is this in my triage queue?") and for auditors (which rule, from
which seed, was in force that day). Contains no personal data: `Feiten` has none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from routing.decision import Beslissing
from routing.facts import Feiten
from routing.gemeenten import GemeenteUitslag


@dataclass(frozen=True, slots=True)
class ConditionCheck:
    column: str
    expected: str
    actual: str
    matched: bool


@dataclass(frozen=True, slots=True)
class RuleCheck:
    table: str
    hit_policy: str
    rule: str
    bron: str
    priority: int
    geldig: str  # validity period, "van..tot" (empty end = open)
    conditions: tuple[ConditionCheck, ...]
    fired: bool


@dataclass(frozen=True, slots=True)
class Trace:
    ruleset: str
    feiten: Feiten
    gemeente: GemeenteUitslag
    considered: tuple[RuleCheck, ...]
    beslissing: Beslissing

    @property
    def fired(self) -> tuple[RuleCheck, ...]:
        return tuple(c for c in self.considered if c.fired)

    def as_dict(self) -> dict:
        return {
            "ruleset": self.ruleset,
            "feiten": _plain(asdict(self.feiten)),
            "gemeente": _plain(asdict(self.gemeente)),
            "considered": [_plain(asdict(c)) for c in self.considered],
            "beslissing": self.beslissing.as_contract(),
        }

    def render(self) -> str:
        f, g, b = self.feiten, self.gemeente, self.beslissing
        lines = [
            f"Ruleset {self.ruleset}",
            f"Melding: soort={f.soort} bron={f.bron} datum={f.datum.isoformat()} "
            f"gemeente={f.gemeente!r} leeftijd={f.leeftijd}",
            f"Gemeente: {g.kind} -> {g.gemeente or '-'} (zvh {g.zvh or '-'}"
            + (f", regio {g.regio}" if g.regio else "") + ")"
            + (f"; {g.note}" if g.note else ""),
        ]
        table = None
        for check in self.considered:
            if check.table != table:
                table = check.table
                lines.append(f"Tabel {table} ({check.hit_policy})")
            mark = "FIRED" if check.fired else "-----"
            lines.append(f"  [{mark}] {check.rule} (p{check.priority}, {check.geldig or 'altijd'};"
                         f" bron: {check.bron})")
            for c in check.conditions:
                lines.append(f"      {'ok ' if c.matched else 'NEE'} {c.column}: verwacht "
                             f"{c.expected}, is {c.actual}")
        lines.append(f"Beslissing: {b.outcome} zvh={b.zvh} product={b.product} queue={b.queue}"
                     f" labels={list(b.labels)} notify={list(b.notify)} deadline={b.deadline}")
        lines.extend(f"  - {reason}" for reason in b.reasons)
        return "\n".join(lines)


def _plain(value):
    """JSON-friendly: dates as ISO strings, sets as sorted lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_plain(v) for v in value)
    if isinstance(value, date):
        return value.isoformat()
    return value
