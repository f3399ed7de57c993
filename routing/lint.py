"""Linting a ruleset (`loket rules check`): every problem at once, each naming its file and rule.

On top of what loading refuses (loader.py: unknown product, zvh, label or gemeente ids, periods
that end before they start, rows of a FIRST table that share a priority and can meet one
melding, rows without a priority, ...), the lint finds what loads but cannot be meant:

- a row that can never fire: its own conditions contradict each other, or in a FIRST table an
  earlier row holds for every melding it holds for, on every date it is in force;
- a soort without a deciding row on some date of the ruleset's span (from its earliest to its
  latest validity date): such meldingen would fall to a catch-all row;
- a soort the caller expects (the intake contract's) that the ruleset does not route;
- a row without a source: every row cites a seed (with a quoted phrase), a DOMAIN.md section or
  "besluit loket", and a "besluit loket" that decides without a person needs DOMAIN.md behind it
  (routing/bronnen.py); with `bronnen` (the directory of DOMAIN.md and seeds/) every quoted
  phrase must be found in the source it names. The participation data and the signal
  vocabularies are held to the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from routing import bronnen as bron_check
from routing.loader import (
    DEELNAME,
    DEFAULT_DIRECTORY,
    MANIFEST,
    LoadedRule,
    Probleem,
    RulesetSource,
    inspect_ruleset,
)
from routing.overlap import can_meet, covers, period
from routing.schema import Rule
from routing.signalen import DEFAULT_PATH as VOCABULAIRES_PATH
from routing.signalen import VELDEN, vocabulaires


@dataclass(frozen=True, slots=True)
class Rapport:
    directory: Path
    version: str | None
    problemen: tuple[Probleem, ...]
    samenvatting: str  # what was checked, for the OK line

    @property
    def ok(self) -> bool:
        return not self.problemen


def check(directory: Path | None = None, *, soorten: Iterable[str] = (),
          bronnen: Path | None = None) -> Rapport:
    """Lint a ruleset directory; `soorten` are soorten the ruleset must route (e.g. the intake
    contract's), on top of those its manifest declares; `bronnen`: the directory holding
    DOMAIN.md and seeds/, to find every quoted phrase in its source."""
    directory = Path(directory) if directory is not None else DEFAULT_DIRECTORY
    inspectie = inspect_ruleset(directory)
    source = inspectie.source
    if source is None:
        return Rapport(directory, None, inspectie.problemen, "")
    problemen = list(inspectie.problemen)
    for soort in sorted(set(soorten) - source.soorten):
        problemen.append(Probleem(MANIFEST, None, f"soort {soort!r} of the intake contract is "
                                  f"not among the soorten of this ruleset"))
    problemen += _never_firing(source)
    problemen += _sources(source, bronnen)
    span = _span(source)
    problemen += _gaps(source, sorted(source.soorten | set(soorten)), span)
    return Rapport(directory, source.version, tuple(problemen), _summary(source, span))


def _never_firing(source: RulesetSource) -> list[Probleem]:
    found = []
    for table in source.tables:
        earlier: list[LoadedRule] = []
        order = {id(r): i for i, r in enumerate(table.rules)}
        for loaded in sorted(table.rules, key=lambda r: (r.rule.priority, order[id(r)])):
            rule = loaded.rule
            if not can_meet(rule, rule):
                found.append(Probleem(loaded.bestand, rule.id,
                                      "can never fire: its conditions contradict each other"))
            elif table.spec.hit_policy == "FIRST":
                winner = next((a for a in earlier
                               if a.rule.priority < rule.priority and covers(a.rule, rule)), None)
                if winner is not None:
                    found.append(Probleem(
                        loaded.bestand, rule.id,
                        f"can never fire: {winner.rule.id!r} ({winner.bestand}, priority "
                        f"{winner.rule.priority}) comes first in FIRST table {table.spec.naam!r} "
                        f"and holds for every melding this rule holds for"))
            earlier.append(loaded)
    return found


def _sources(source: RulesetSource, bronnen: Path | None) -> list[Probleem]:
    """Every row, participation entry and vocabulary value names where it comes from."""
    found = []
    for table in source.tables:
        for loaded in table.rules:
            rule = loaded.rule
            fouten = bron_check.problemen(rule.bron, beslist=_beslist(rule),
                                          triage=rule.dan.outcome == "triage")
            if bronnen is not None:
                fouten += bron_check.controleer(rule.bron, bronnen)
            found += [Probleem(loaded.bestand, rule.id, f"bron: {fout}") for fout in fouten]
    deelname = source.deelname
    entries = [(f"deelname of {p}", b) for p, b in sorted(deelname.bronnen.items())]
    entries += [(f"deelname of {r.product} in {r.gemeente}", r.bron) for r in deelname.regels]
    found += _data_sources(DEELNAME, entries, bronnen)
    vocab = vocabulaires()
    entries = [(f"{naam} {w.id!r}", w.bron) for naam in VELDEN for w in vocab[naam].waarden]
    found += _data_sources(VOCABULAIRES_PATH.name, entries, bronnen)
    return found


def _data_sources(bestand: str, entries: list[tuple[str, str]],
                  bronnen: Path | None) -> list[Probleem]:
    found = []
    for wat, bron in entries:
        fouten = bron_check.verwijzingen(bron)[1]
        if bronnen is not None:
            fouten += bron_check.controleer(bron, bronnen)
        found += [Probleem(bestand, None, f"{wat}: bron: {fout}") for fout in fouten]
    return found


def _beslist(rule: Rule) -> bool:
    """Does the row decide something a person would otherwise decide?"""
    dan = rule.dan
    return bool(dan.product or dan.labels or dan.notify or dan.queue or dan.kenmerken
                or dan.deadline_dagen is not None or dan.outcome in ("routed", "doorverwijzen"))


def _span(source: RulesetSource) -> tuple[date, date] | None:
    """From the earliest to the latest validity date any row names; None when no row is dated."""
    dates = {d for t in source.tables for r in t.rules
             for d in (r.rule.geldig_van, r.rule.geldig_tot) if d is not None}
    return (min(dates), max(dates)) if dates else None


def _deciding_rows(source: RulesetSource) -> list[LoadedRule]:
    """Rows that decide for a named soort: those of FIRST tables with a soort column."""
    return [r for t in source.tables if t.spec.hit_policy == "FIRST" for r in t.rules
            if r.rule.als.soort is not None]


def _gaps(source: RulesetSource, soorten: list[str],
          span: tuple[date, date] | None) -> list[Probleem]:
    rows = _deciding_rows(source)
    found = []
    if span is None:
        for soort in soorten:
            if not any(soort in (r.rule.als.soort or ()) for r in rows):
                found.append(Probleem(MANIFEST, None, f"soort {soort!r} has no rule"))
        return found
    start, end = span
    # Which rows are in force only changes where some row starts or ends: check those dates.
    cuts = {start}
    for r in rows:
        van, tot = period(r.rule)
        cuts |= {d for d in (van, tot + timedelta(days=1) if tot < date.max else None)
                 if d is not None and start < d <= end}
    points = sorted(cuts)
    segments = [(p, (points[i + 1] - timedelta(days=1)) if i + 1 < len(points) else end)
                for i, p in enumerate(points)]
    for soort in soorten:
        uncovered = [(van, tot) for van, tot in segments
                     if not any(soort in (r.rule.als.soort or ())
                                and period(r.rule)[0] <= van <= period(r.rule)[1] for r in rows)]
        for van, tot in _merge(uncovered):
            found.append(Probleem(MANIFEST, None, f"soort {soort!r} has no rule in force from "
                                  f"{van.isoformat()} to {tot.isoformat()} (the ruleset spans "
                                  f"{start.isoformat()}..{end.isoformat()})"))
    return found


def _merge(segments: list[tuple[date, date]]) -> list[tuple[date, date]]:
    merged: list[tuple[date, date]] = []
    for van, tot in segments:
        if merged and merged[-1][1] + timedelta(days=1) == van:
            merged[-1] = (merged[-1][0], tot)
        else:
            merged.append((van, tot))
    return merged


def _summary(source: RulesetSource, span: tuple[date, date] | None) -> str:
    n_rules = sum(len(t.rules) for t in source.tables)
    dates = f" on every date from {span[0].isoformat()} to {span[1].isoformat()}" if span else ""
    return (f"{len(source.tables)} tables, {n_rules} rules in {len(source.files)} files; "
            f"{len(source.soorten)} soorten, each with a rule{dates}; "
            f"{len(source.register.zvh_namen)} houses in the gemeente register")
