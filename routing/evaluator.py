"""The compiled decision tables: a generic evaluator; the Zuid-Limburg policy lives in YAML.

Loading compiles every row's conditions into closures (routing/conditions.py). Deciding a
melding is: resolve the gemeente on its date, then per table look up the candidate rows by
(soort, plaats, product) and date, and run only the remaining predicates:

- (soort, plaats, product) -> rows whose soort, gemeente_status, zvh and product columns hold
  for that key, in priority order. "plaats" is the residence's house, or why there is none
  (ontbreekt, onbekend, buiten-regio). Built on first use per key, so unknown soorten cost one
  small entry, and never a scan over all rows per melding.
- date -> the rows in force, by bisect over the validity boundaries of those rows.

Derivation tables (the landelijke criteria) run only when a row asks for one of their kenmerken.

Decisions are immutable values and they repeat (every VIA melding from Kerkrade routes the same
way). A decision is a pure function of the gemeente resolution and of the `Feiten` fields that
the rows in force for its (soort, plaats) on its date can read: their conditions, their reasons'
placeholders, the date when a row sets a deadline. That set is a *plan*, computed once per
(soort, plaats, date segment); `decide` looks the decision up by (plan, resolution, those
fields) and evaluates the tables only on a miss. For VIA the plan reads nothing but the soort,
so a VIA melding costs a gemeente lookup and two dict lookups. Equal decisions share one
`Beslissing` also on a miss: building a pydantic model costs more than deciding.
"""

from __future__ import annotations

import string
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from pathlib import Path

from routing.conditions import Check, Situatie, compile_als, plaats, reads, required_kenmerken
from routing.decision import Beslissing
from routing.facts import Feiten
from routing.gemeenten import GemeenteRegister
from routing.loader import LoadedRule, LoadedTable, RulesetSource, read_ruleset
from routing.schema import Als
from routing.trace import ConditionCheck, RuleCheck, Trace

_OPEN_VAN = date.min.toordinal()
_OPEN_TOT = date.max.toordinal()
_DEFAULT_QUEUE = {"triage": "loket/triage", "doorverwijzen": "loket/doorverwijzen"}
_CACHE_LIMIT = 100_000
# When no row decides (a ruleset without a catch-all row): a person decides, never an exception.
_GEEN_REGEL = ("Geen routeringsregel in werking voor soort '{soort}' op de meldingsdatum; "
               "een medewerker beoordeelt de melding.")
_BUITEN_KALENDER = "De termijn valt buiten de kalender; een medewerker beoordeelt de melding."
# The Feiten field behind a reden placeholder; the others come from the gemeente resolution
# (zvh, zvh_naam, regio) or from the rows fired (product).
_PLACEHOLDER_READS = {"gemeente": "gemeente", "invoer": "gemeente", "soort": "soort",
                      "bron": "bron", "leeftijd": "leeftijd", "datum": "datum", "delict": "delict",
                      "bollenmodel": "bollenmodel"}


@dataclass(frozen=True, slots=True, eq=False)  # identity: a row is itself, also as a cache key
class CompiledRule:
    id: str
    bron: str
    table: str
    hit_policy: str
    priority: int
    van: int  # validity as date ordinals, inclusive
    tot: int
    als: Als
    checks: tuple[Check, ...]
    tests: tuple  # predicates of the columns the index does not cover, cheapest first
    outcome: str | None
    product: str | None
    queue: str | None
    labels: tuple[str, ...]
    notify: tuple[str, ...]
    deadline_dagen: int | None
    kenmerken: frozenset[str]
    needs: frozenset[str]
    reden: str
    velden: tuple[str, ...]  # placeholders of reden
    ends: bool  # outcome triage or doorverwijzen: evaluation stops here
    reads: frozenset[str]  # Feiten fields its tests, reason and deadline read
    asks_kenmerken: bool  # a condition on a derived kenmerk: the derivation tables run

    def geldig(self) -> str:
        van = "" if self.van == _OPEN_VAN else date.fromordinal(self.van).isoformat()
        tot = "" if self.tot == _OPEN_TOT else date.fromordinal(self.tot).isoformat()
        return f"{van}..{tot}" if van or tot else ""

    def fits(self, soort: str | None, status: str, zvh: str | None, product: str | None) -> bool:
        """Do the indexed columns hold for this index key?"""
        return self.fits_place(soort, status, zvh) and (self.als.product is None
                                                         or product in self.als.product)

    def fits_place(self, soort: str | None, status: str, zvh: str | None) -> bool:
        als = self.als
        return ((als.soort is None or soort in als.soort)
                and (als.gemeente_status is None or status in als.gemeente_status)
                and (als.zvh is None or zvh in als.zvh))


def _compile_rule(loaded: LoadedRule, hit_policy: str) -> CompiledRule:
    rule, dan = loaded.rule, loaded.rule.dan
    checks = compile_als(rule.als)
    velden = _fields(dan.reden)
    field_reads = {f for c in checks for f in reads(c)}
    field_reads |= {_PLACEHOLDER_READS[v] for v in velden if v in _PLACEHOLDER_READS}
    if dan.deadline_dagen is not None:
        field_reads.add("datum")
    return CompiledRule(
        id=rule.id, bron=rule.bron, table=loaded.tabel, hit_policy=hit_policy,
        priority=rule.priority,
        van=rule.geldig_van.toordinal() if rule.geldig_van else _OPEN_VAN,
        tot=rule.geldig_tot.toordinal() if rule.geldig_tot else _OPEN_TOT,
        als=rule.als, checks=checks, tests=tuple(c.test for c in checks if not c.indexed),
        outcome=dan.outcome, product=dan.product, queue=dan.queue, labels=dan.labels,
        notify=dan.notify, deadline_dagen=dan.deadline_dagen, kenmerken=frozenset(dan.kenmerken),
        needs=required_kenmerken(rule.als), reden=dan.reden, velden=velden,
        ends=dan.outcome in _DEFAULT_QUEUE, reads=frozenset(field_reads),
        asks_kenmerken=bool(rule.als.kenmerken),
    )


def _fields(template: str) -> tuple[str, ...]:
    names = (name for _, name, _, _ in string.Formatter().parse(template) if name is not None)
    return tuple(dict.fromkeys(names))


class _DateIndex:
    """Rows cut into date segments; each segment holds what `make` builds from the rows in force
    (by default those rows, in priority order)."""

    __slots__ = ("starts", "segments", "always")

    def __init__(self, rules: list[CompiledRule], make: Callable = tuple) -> None:
        ends = {r.tot + 1 for r in rules if r.tot < _OPEN_TOT}
        cuts = {_OPEN_VAN} | {r.van for r in rules} | ends
        self.starts: list[int] = []
        in_force_before = None
        segments = []
        for cut in sorted(cuts):
            in_force = tuple(r for r in rules if r.van <= cut <= r.tot)
            if in_force == in_force_before:
                continue
            self.starts.append(cut)
            segments.append(make(in_force))
            in_force_before = in_force
        self.segments = segments
        # no validity boundary among these rows: skip the bisect
        self.always = segments[0] if len(segments) == 1 else None

    def at(self, ordinal: int):
        if self.always is not None:
            return self.always
        return self.segments[bisect_right(self.starts, ordinal) - 1]


class _Plan:
    """What a decision can depend on for one (soort, plaats) on one date segment: the Feiten
    fields the rows in force read. Compared by identity: one object per segment."""

    __slots__ = ("values",)

    def __init__(self, rules: tuple[CompiledRule, ...]) -> None:
        fields = sorted({f for r in rules for f in r.reads} - {"soort"})
        self.values: Callable[[Feiten], object] = attrgetter(*fields) if fields else _niets


def _niets(feiten: Feiten) -> None:
    return None


class _Table:
    __slots__ = ("name", "first", "afleiding", "rules", "soorten", "zvh_ids", "_indexes")

    def __init__(self, loaded: LoadedTable, zvh_ids: frozenset[str]) -> None:
        self.name = loaded.spec.naam
        self.first = loaded.spec.hit_policy == "FIRST"
        self.afleiding = loaded.afleiding
        order = {id(r): i for i, r in enumerate(loaded.rules)}
        rows = sorted(loaded.rules, key=lambda r: (r.rule.priority, order[id(r)]))
        self.rules = tuple(_compile_rule(r, loaded.spec.hit_policy) for r in rows)
        self.soorten = frozenset(s for r in self.rules if r.als.soort for s in r.als.soort)
        self.zvh_ids = zvh_ids
        self._indexes: dict[tuple, _DateIndex] = {}

    def rules_for(self, s: Situatie) -> tuple[CompiledRule, ...]:
        soort = s.feiten.soort
        key = (soort if soort in self.soorten else None, s.plaats, s.product)
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = self._build(*key)
        return index.at(s.ordinal)

    def rules_in_force(self, s: Situatie) -> tuple[CompiledRule, ...]:
        """For explain: every row of the soort in force, so the trace also shows why a row of
        another house or product did not fire (the fast path never looks at those)."""
        soort = s.feiten.soort if s.feiten.soort in self.soorten else None
        return tuple(r for r in self.rules if (r.als.soort is None or soort in r.als.soort)
                     and r.van <= s.ordinal <= r.tot)

    def _build(self, soort: str | None, plaats: str, product: str | None) -> _DateIndex:
        zvh = plaats if plaats in self.zvh_ids else None
        status = "zuid-limburg" if zvh else plaats
        return _DateIndex([r for r in self.rules if r.fits(soort, status, zvh, product)])


@dataclass(frozen=True, slots=True)
class _Pad:
    """What a sequence of fired rows decides, before the melding's own values fill it in."""

    outcome: str
    product: str | None
    queue: str
    labels: tuple[str, ...]
    notify: tuple[str, ...]
    dagen: int | None
    velden: tuple[str, ...]  # every placeholder the reasons need
    geen_regel: bool  # nothing decided a product: say so


class Ruleset:
    """A loaded, compiled ruleset. `decide` is pure and never raises for a valid `Feiten`.

    `memo=False` evaluates every call afresh and builds its decision anew (the indexes stay):
    what deciding costs without remembering earlier decisions, for benchmarks and comparisons."""

    def __init__(self, source: RulesetSource, *, memo: bool = True) -> None:
        self.memo = memo
        self.name = source.name
        self.version = source.version
        self.register: GemeenteRegister = source.register
        self.deelname = source.deelname
        self.files = source.files
        # The tables in the order they run, as the manifest describes them (for people: the help).
        self.stappen: tuple[tuple[str, str, str], ...] = tuple(
            (t.spec.naam, t.spec.beschrijving or "", t.spec.hit_policy) for t in source.tables)
        zvh_ids = frozenset(source.register.zvh_namen)
        self.zvh_ids: frozenset[str] = zvh_ids
        self.producten: frozenset[str] = frozenset(source.producten)
        tables = [_Table(t, zvh_ids) for t in source.tables]
        self._derivations = tuple(t for t in tables if t.afleiding)
        self._tables = tuple(t for t in tables if not t.afleiding)
        self._paden: dict[tuple, _Pad] = {}
        self._cache: dict[tuple, Beslissing] = {}
        self._soorten = frozenset(s for t in tables for s in t.soorten)
        self._plans: dict[tuple[str | None, str], _DateIndex] = {}
        self._memo: dict[tuple, Beslissing] = {}

    def rules(self) -> tuple[CompiledRule, ...]:
        return tuple(r for t in (*self._derivations, *self._tables) for r in t.rules)

    @property
    def triage_queue(self) -> str:
        """Where what waits for a person at the loket lands."""
        return _DEFAULT_QUEUE["triage"]

    def queue_voor(self, zvh: str, product: str) -> str:
        """Where a house's work in a product lands when a person routes it by hand: as the rules
        route it, so a product whose rows name one queue for the whole region (the one VIA team,
        the one ZOCO coordinator) lands there, and any other in the house's own queue."""
        queues = {r.queue for r in self.rules() if r.product == product and r.queue is not None}
        if len(queues) == 1:
            return next(iter(queues)).format(zvh=zvh, product=product)
        return f"{zvh}/{product}"

    # -- public -------------------------------------------------------------------------------

    def decide(self, feiten: Feiten) -> Beslissing:
        uitslag = self.register.resolve(feiten.gemeente, feiten.datum)
        soort = feiten.soort
        plans = self._plans.get((soort if soort in self._soorten else None, plaats(uitslag)))
        if plans is None:
            plans = self._plan_index(soort, uitslag)
        plan = plans.at(feiten.datum.toordinal())
        key = (plan, uitslag, soort, plan.values(feiten))
        beslissing = self._memo.get(key)
        if beslissing is None:
            beslissing = self._evaluate(feiten, uitslag, None)[0]
            if not self.memo:
                return beslissing
            if len(self._memo) >= _CACHE_LIMIT:
                self._memo.clear()
            self._memo[key] = beslissing
        return beslissing

    def explain(self, feiten: Feiten) -> Trace:
        considered: list[RuleCheck] = []
        uitslag = self.register.resolve(feiten.gemeente, feiten.datum)
        beslissing, situatie = self._evaluate(feiten, uitslag, considered)
        return Trace(self.version, feiten, situatie.uitslag, tuple(considered), beslissing)

    # -- evaluation ---------------------------------------------------------------------------

    def _plan_index(self, soort: str, uitslag) -> _DateIndex:
        """The plans of one (soort, plaats): every row of every table that can apply to it,
        whatever the product, and the derivation rows when one of them asks for a kenmerk."""
        soort_key, where = (soort if soort in self._soorten else None), plaats(uitslag)
        zvh = where if where in self.zvh_ids else None
        status = "zuid-limburg" if zvh else where
        rows = [r for t in self._tables for r in t.rules if r.fits_place(soort_key, status, zvh)]
        if any(r.asks_kenmerken for r in rows):
            rows += [r for t in self._derivations for r in t.rules
                     if r.fits_place(soort_key, status, zvh)]
        index = self._plans[(soort_key, where)] = _DateIndex(rows, make=_Plan)
        return index

    def _evaluate(self, feiten: Feiten, uitslag, trace: list | None) -> tuple[Beslissing, Situatie]:
        s = Situatie(feiten, uitslag, self._derive, trace, self.deelname)
        if trace is None:
            select, first, collect = _Table.rules_for, _first, _collect
        else:
            select, first, collect = _Table.rules_in_force, _first_traced, _collect_traced
        fired: list[CompiledRule] = []
        for table in self._tables:
            rules = select(table, s)
            if table.first:
                hit = first(rules, s)
                if hit is not None:
                    fired.append(hit)
                    if hit.product is not None:
                        s.product = hit.product
                    if hit.ends:
                        break  # triage or doorverwijzen: nothing further to decide
            else:
                fired += collect(rules, s)
        rules_fired = _with_derivations(fired, s.derived) if s.derived else tuple(fired)
        return self._beslissing(s, rules_fired), s

    def _derive(self, s: Situatie) -> frozenset[str]:
        kenmerken: set[str] = set()
        for table in self._derivations:
            if s.trace is None:
                hits = _collect(table.rules_for(s), s)
            else:
                hits = _collect_traced(table.rules_in_force(s), s)
            for rule in hits:
                kenmerken |= rule.kenmerken
            s.derived = (s.derived or []) + hits
        return frozenset(kenmerken)

    def _beslissing(self, s: Situatie, rules: tuple[CompiledRule, ...]) -> Beslissing:
        pad = self._paden.get(rules) or self._pad(rules)
        deadline = s.ordinal + pad.dagen if pad.dagen is not None else None
        register = self.register
        values = tuple([_VALUES[name](s, register) for name in pad.velden])
        gemeente = s.uitslag.gemeente if s.uitslag.kind == "zuid-limburg" else None
        key = (rules, s.zvh, deadline, s.uitslag.note if s.status != "ontbreekt" else None, values,
               gemeente)
        beslissing = self._cache.get(key)
        if beslissing is None:
            beslissing = self._build(pad, rules, key[1], deadline, key[3],
                                     dict(zip(pad.velden, values, strict=True)), gemeente)
            if not self.memo:
                return beslissing
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = beslissing
        return beslissing

    def _pad(self, rules: tuple[CompiledRule, ...]) -> _Pad:
        terminal = next((r for r in rules if r.outcome in _DEFAULT_QUEUE), None)
        product = next((r.product for r in reversed(rules) if r.product is not None), None)
        outcome = terminal.outcome if terminal and terminal.outcome else ("routed" if product else "triage")
        queue = next((r.queue for r in reversed(rules) if r.queue is not None), None)
        labels: dict[str, None] = {}
        notify: dict[str, None] = {}
        for rule in rules:
            labels.update(dict.fromkeys(rule.labels))
            notify.update(dict.fromkeys(rule.notify))
        geen_regel = outcome == "triage" and terminal is None
        velden = [name for rule in rules for name in rule.velden]
        if geen_regel:
            velden += _fields(_GEEN_REGEL)
        pad = _Pad(
            outcome=outcome,
            product=product if outcome == "routed" else None,
            queue=queue or ("{zvh}/{product}" if outcome == "routed" else _DEFAULT_QUEUE[outcome]),
            labels=tuple(labels) if outcome == "routed" else (),
            notify=tuple(notify),
            dagen=next((r.deadline_dagen for r in reversed(rules) if r.deadline_dagen is not None),
                       None) if outcome == "routed" else None,
            velden=tuple(dict.fromkeys(velden)),
            geen_regel=geen_regel,
        )
        self._paden[rules] = pad
        return pad

    def _build(self, pad: _Pad, rules, zvh, deadline, note, values: dict,
               gemeente: str | None) -> Beslissing:
        reasons = []
        for rule in rules:
            reasons.append(rule.reden.format_map(values) if rule.velden else rule.reden)
            if len(reasons) == 1 and note:
                reasons.append(note)
        outcome, product = pad.outcome, pad.product
        if pad.geen_regel:
            reasons.append(_GEEN_REGEL.format_map(values))
        if deadline is not None and deadline > _OPEN_TOT:
            outcome, product, deadline = "triage", None, None
            reasons.append(_BUITEN_KALENDER)
        if outcome == "doorverwijzen":
            zvh = None
        queue = pad.queue if outcome == pad.outcome else _DEFAULT_QUEUE[outcome]
        return Beslissing(
            outcome=outcome,
            zvh=zvh,
            product=product,
            gemeente=gemeente,
            labels=pad.labels if outcome == "routed" else (),
            notify=pad.notify,
            queue=queue.format(zvh=zvh or "loket", product=product or outcome),
            deadline=date.fromordinal(deadline) if deadline is not None else None,
            ruleset=self.version,
            rules=tuple(r.id for r in rules),
            reasons=tuple(reasons),
        )


# What a `reden` template may say (schema.REDEN_PLACEHOLDERS), computed only when used.
_VALUES = {
    "gemeente": lambda s, reg: s.gemeente or (s.feiten.gemeente or "").strip() or "onbekend",
    "invoer": lambda s, reg: (s.feiten.gemeente or "").strip(),
    "zvh": lambda s, reg: s.zvh or "-",
    "zvh_naam": lambda s, reg: reg.zvh_namen.get(s.zvh, s.zvh) if s.zvh else "-",
    "regio": lambda s, reg: s.uitslag.regio or "-",
    "soort": lambda s, reg: s.feiten.soort,
    "bron": lambda s, reg: s.feiten.bron,
    "leeftijd": lambda s, reg: "onbekend" if s.feiten.leeftijd is None else s.feiten.leeftijd,
    "datum": lambda s, reg: s.feiten.datum.isoformat(),
    "delict": lambda s, reg: s.feiten.delict or "-",
    "bollenmodel": lambda s, reg: (s.feiten.bollenmodel or "-").strip().upper(),
    "product": lambda s, reg: s.product or "-",
}


# -- hit policies -----------------------------------------------------------------------------


def _first(rules, s: Situatie) -> CompiledRule | None:
    for rule in rules:
        for test in rule.tests:
            if not test(s):
                break
        else:
            return rule
    return None


def _collect(rules, s: Situatie) -> list[CompiledRule]:
    hits = []
    for rule in rules:
        for test in rule.tests:
            if not test(s):
                break
        else:
            hits.append(rule)
    return hits


def _first_traced(rules, s: Situatie) -> CompiledRule | None:
    for rule in rules:
        if _traced(rule, s):
            return rule
    return None


def _collect_traced(rules, s: Situatie) -> list[CompiledRule]:
    return [rule for rule in rules if _traced(rule, s)]


def _traced(rule: CompiledRule, s: Situatie) -> bool:
    """Evaluate every condition (no short cut) so the trace shows all that failed."""
    checks = tuple(
        ConditionCheck(c.column, c.expected, _show(c.actual(s)), bool(c.test(s)))
        for c in rule.checks
    )
    fired = all(c.matched for c in checks)
    assert s.trace is not None, "traced evaluation keeps a trace"
    s.trace.append(RuleCheck(rule.table, rule.hit_policy, rule.id, rule.bron, rule.priority,
                             rule.geldig(), checks, fired))
    return fired


def _show(value) -> str:
    if isinstance(value, (set, frozenset)):
        return "[" + ", ".join(sorted(map(str, value))) + "]"
    return "-" if value is None else str(value)


def _with_derivations(fired: list[CompiledRule], derived: list[CompiledRule]) -> tuple:
    """Put the derivation rows a fired row relied on just before it (the why of the why)."""
    result: list[CompiledRule] = []
    included: set[str] = set()
    for rule in fired:
        if rule.needs:
            for d in derived:
                if d.id not in included and d.kenmerken & rule.needs:
                    result.append(d)
                    included.add(d.id)
        result.append(rule)
    return tuple(result)


def load_ruleset(directory: Path | None = None, *, memo: bool = True) -> Ruleset:
    """Load, validate and compile a ruleset directory (default: the shipped `routing/rules`);
    `memo=False`: without remembering decisions (see `Ruleset`)."""
    return Ruleset(read_ruleset(directory), memo=memo)
