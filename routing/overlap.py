"""Reasoning about rows as sets of meldingen: can two rows meet one melding, does one cover another.

Used where order matters: in a FIRST table two rows that can meet the same melding need distinct
priorities (loader), and a row that an earlier row always beats can never fire (lint). Both
answers are conservative: `can_meet` says "no" only when a column proves the rows disjoint, and
`covers` says "yes" only when every column of the earlier row provably holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from routing.schema import Als, Leeftijd, Rule

# Columns whose value is "one of" a set, and how a value is compared (as conditions.py does).
_SET_COLUMNS: dict[str, Callable[[str], str]] = {
    "soort": str, "bron": str, "gemeente_status": str, "zvh": str, "gemeente": str,
    "bollenmodel": str.upper, "delict": str.casefold, "product": str,
}
_FLAG_COLUMNS = ("leeftijd_bekend", "delict_bekend", "dwang_drang", "impact_omgeving",
                 "ernstig_veiligheidsprobleem", "maatschappelijke_onrust", "hic", "veelpleger",
                 "kinderen_betrokken", "verzoek_beschermingstafel")


def period(rule: Rule) -> tuple[date, date]:
    return rule.geldig_van or date.min, rule.geldig_tot or date.max


def can_meet(a: Rule, b: Rule) -> bool:
    """Could one melding, on one date, meet the conditions of both rows?"""
    (a_van, a_tot), (b_van, b_tot) = period(a), period(b)
    if a_tot < b_van or b_tot < a_van:
        return False
    return not _disjoint(a.als, b.als)


def covers(a: Rule, b: Rule) -> bool:
    """Does `a` hold for every melding `b` holds for, on every date `b` is in force?"""
    if _disjoint(a.als, a.als):
        return False  # a row that holds for nothing covers nothing
    (a_van, a_tot), (b_van, b_tot) = period(a), period(b)
    if not (a_van <= b_van and b_tot <= a_tot):
        return False
    return _implies(b.als, a.als)


def _values(als: Als, column: str) -> frozenset[str] | None:
    """The values a set column allows (None: any)."""
    if column == "gemeente_status":
        return _status(als)
    raw = getattr(als, column)
    if raw is None:
        return None
    return frozenset(_SET_COLUMNS[column](v) for v in raw)


def _status(als: Als) -> frozenset[str] | None:
    """gemeente_status, also where a zvh or gemeente column implies it."""
    status = None if als.gemeente_status is None else frozenset(als.gemeente_status)
    if als.zvh is not None or als.gemeente is not None:
        return frozenset({"zuid-limburg"}) & status if status is not None else frozenset(
            {"zuid-limburg"})
    return status


def _age(als: Als) -> tuple[float, float] | None:
    """The age range a row needs, or None when any age (also an unknown one) will do."""
    if als.leeftijd is None:
        return None
    return _bounds(als.leeftijd)


def _bounds(leeftijd: Leeftijd) -> tuple[float, float]:
    low = float("-inf") if leeftijd.min is None else leeftijd.min
    high = float("inf") if leeftijd.max is None else leeftijd.max
    return low, high


def _needs(als: Als, column: str) -> frozenset[bool]:
    """The values a yes/no column must have; both when the row contradicts itself."""
    value = getattr(als, column)
    needs = set() if value is None else {value}
    # a range needs a known age; a delict list needs a known delict
    if (column == "leeftijd_bekend" and als.leeftijd is not None) or (
            column == "delict_bekend" and als.delict is not None):
        needs.add(True)
    return frozenset(needs)


def _disjoint(a: Als, b: Als) -> bool:
    for column in _SET_COLUMNS:
        va, vb = _values(a, column), _values(b, column)
        if va is not None and vb is not None and not va & vb:
            return True
    for column in _FLAG_COLUMNS:
        if len(_needs(a, column) | _needs(b, column)) > 1:
            return True
    ra, rb = _age(a), _age(b)
    if ra is not None and rb is not None and (ra[1] < rb[0] or rb[1] < ra[0]):
        return True
    da, db = a.deelname or {}, b.deelname or {}
    if any(p in db and not set(da[p]) & set(db[p]) for p in da):
        return True
    ka, kb = a.kenmerken or {}, b.kenmerken or {}
    return any(k in kb and kb[k] != v for k, v in ka.items())


def _implies(narrow: Als, wide: Als) -> bool:
    """Every melding that meets `narrow` meets `wide` (column by column, conservatively)."""
    for column in _SET_COLUMNS:
        need, have = _values(wide, column), _values(narrow, column)
        if need is not None and (have is None or not have <= need):
            return False
    for column in _FLAG_COLUMNS:
        need_flag, have_flag = _needs(wide, column), _needs(narrow, column)
        if need_flag and not (have_flag and have_flag <= need_flag):
            return False
    need_age, have_age = _age(wide), _age(narrow)
    if need_age is not None and (
        have_age is None or have_age[0] < need_age[0] or have_age[1] > need_age[1]
    ):
        return False
    for column in ("leefgebieden_min", "ketens_min"):
        need_min = getattr(wide, column)
        if need_min is not None and (getattr(narrow, column) or 0) < need_min:
            return False
    for column in ("leefgebieden_bevat", "ketens_bevat"):
        need_all = getattr(wide, column)
        if need_all is not None:
            have_all = {v.casefold() for v in getattr(narrow, column) or ()}
            if not {v.casefold() for v in need_all} <= have_all:
                return False
    narrow_deelname = narrow.deelname or {}
    for product, antwoorden in (wide.deelname or {}).items():
        if product not in narrow_deelname or not set(narrow_deelname[product]) <= set(antwoorden):
            return False
    narrow_kenmerken = narrow.kenmerken or {}
    return all(narrow_kenmerken.get(k) == v for k, v in (wide.kenmerken or {}).items())
