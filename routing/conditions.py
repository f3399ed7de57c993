"""Condition columns compiled to closures over the situation of one melding.

Each column of an `als` block becomes a `Check`: a predicate built once at load time (values
frozen into sets, case folded once) plus what the trace shows. Deciding a melding then costs a
few closure calls per candidate rule, never a look at the YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from routing.deelname import Deelname
from routing.facts import Feiten
from routing.gemeenten import ONTBREEKT, GemeenteUitslag
from routing.schema import Als

BOOLEAN_SIGNALS = ("dwang_drang", "impact_omgeving", "ernstig_veiligheidsprobleem",
                   "maatschappelijke_onrust", "hic", "veelpleger", "kinderen_betrokken",
                   "verzoek_beschermingstafel")


def plaats(uitslag: GemeenteUitslag) -> str:
    """The house, or why there is none: one of the six values the evaluator indexes on."""
    return uitslag.zvh or ("ontbreekt" if uitslag is ONTBREEKT else uitslag.kind)


# The `Feiten` fields a condition column reads. gemeente_status, zvh and gemeente come from the
# gemeente resolution, product from the rows fired before, kenmerken from the derivation tables:
# none of them reads a field of its own.
_READS: dict[str, tuple[str, ...]] = {
    "soort": ("soort",), "bron": ("bron",), "leeftijd": ("leeftijd",),
    "leeftijd_bekend": ("leeftijd",), "leefgebieden_min": ("leefgebieden",),
    "leefgebieden_bevat": ("leefgebieden",), "ketens_min": ("ketens",),
    "ketens_bevat": ("ketens",), "bollenmodel": ("bollenmodel",), "delict": ("delict",),
    "delict_bekend": ("delict",), **{column: (column,) for column in BOOLEAN_SIGNALS},
}


# A participation column (`deelname: {jpp: ja}`) compiles to a check named "deelname jpp".
_DEELNAME = "deelname "


def reads(check: Check) -> tuple[str, ...]:
    if check.column.startswith(_DEELNAME):
        # the gemeente is part of every decision's key; the answer also depends on the date
        return ("datum",)
    return _READS.get(check.column, ())


class Situatie:
    """What the rules look at for one melding: the facts plus what routing derived from them."""

    __slots__ = ("feiten", "ordinal", "uitslag", "status", "zvh", "plaats", "gemeente", "product",
                 "trace", "derived", "deelname", "_kenmerken", "_derive")

    def __init__(self, feiten: Feiten, uitslag: GemeenteUitslag, derive, trace: list | None,
                 deelname: Deelname | None = None):
        self.feiten = feiten
        self.ordinal = feiten.datum.toordinal()
        self.uitslag = uitslag
        self.status = "ontbreekt" if uitslag is ONTBREEKT else uitslag.kind
        self.zvh = uitslag.zvh
        self.plaats = plaats(uitslag)
        self.gemeente = uitslag.gemeente
        self.product: str | None = None
        self.trace = trace
        self.derived: list | None = None  # derivation rows that fired, in order
        self.deelname = deelname
        self._kenmerken: frozenset[str] | None = None
        self._derive = derive

    def deelname_van(self, product: str) -> str:
        """Does the residence's gemeente take part in `product` on the melding's date."""
        if self.deelname is None:
            return "onbekend"
        return self.deelname.antwoord(product, self.gemeente, self.feiten.datum)

    def kenmerken(self) -> frozenset[str]:
        """Derived on first use: most meldingen (VIA, detentie) never need the criteria."""
        if self._kenmerken is None:
            self._kenmerken = self._derive(self)
        return self._kenmerken


Predicate = Callable[[Situatie], bool]


@dataclass(frozen=True, slots=True)
class Check:
    column: str
    expected: str  # readable, for the trace
    test: Predicate
    actual: Callable[[Situatie], object]
    indexed: bool = False  # guaranteed by the evaluator's index; skipped when deciding


def compile_als(als: Als) -> tuple[Check, ...]:
    """One check per column. soort, gemeente_status, zvh and product are marked `indexed`: the
    evaluator looks rows up by them, so deciding never runs those predicates (explain does).
    Order is cost: plain comparisons first, kenmerken last as they may run the derivation."""
    checks: list[Check] = []
    if als.soort is not None:
        checks.append(_one_of("soort", als.soort, attrgetter("feiten.soort"), indexed=True))
    if als.gemeente_status is not None:
        checks.append(_one_of("gemeente_status", als.gemeente_status, attrgetter("status"),
                              indexed=True))
    if als.zvh is not None:
        checks.append(_one_of("zvh", als.zvh, attrgetter("zvh"), indexed=True))
    if als.gemeente is not None:
        checks.append(_one_of("gemeente", als.gemeente, attrgetter("gemeente")))
    if als.bron is not None:
        checks.append(_one_of("bron", als.bron, attrgetter("feiten.bron")))
    if als.leeftijd_bekend is not None:
        checks.append(_is("leeftijd_bekend", als.leeftijd_bekend,
                          lambda s: s.feiten.leeftijd is not None))
    if als.leeftijd is not None:
        checks.append(_leeftijd(als.leeftijd.min, als.leeftijd.max))
    for column in BOOLEAN_SIGNALS:
        expected = getattr(als, column)
        if expected is not None:
            checks.append(_is(column, expected, attrgetter(f"feiten.{column}")))
    if als.leefgebieden_min is not None:
        checks.append(_at_least("leefgebieden_min", als.leefgebieden_min, "leefgebieden"))
    if als.ketens_min is not None:
        checks.append(_at_least("ketens_min", als.ketens_min, "ketens"))
    if als.leefgebieden_bevat is not None:
        checks.append(_contains("leefgebieden_bevat", als.leefgebieden_bevat, "leefgebieden"))
    if als.ketens_bevat is not None:
        checks.append(_contains("ketens_bevat", als.ketens_bevat, "ketens"))
    if als.bollenmodel is not None:
        checks.append(_one_of("bollenmodel", [v.upper() for v in als.bollenmodel], _bollenmodel))
    if als.delict is not None:
        checks.append(_one_of("delict", [v.casefold() for v in als.delict], _delict))
    if als.delict_bekend is not None:
        checks.append(_is("delict_bekend", als.delict_bekend, lambda s: _delict(s) is not None))
    for product, antwoorden in (als.deelname or {}).items():
        checks.append(_one_of(f"{_DEELNAME}{product}", antwoorden, _deelname(product)))
    for kenmerk, expected in (als.kenmerken or {}).items():
        checks.append(_is(f"kenmerk {kenmerk}", expected, _has_kenmerk(kenmerk)))
    if als.product is not None:
        checks.append(_one_of("product", als.product, attrgetter("product"), indexed=True))
    return tuple(checks)


def required_kenmerken(als: Als) -> frozenset[str]:
    """Kenmerken a row needs present: their derivation is part of the row's why."""
    return frozenset(k for k, expected in (als.kenmerken or {}).items() if expected)


# -- builders ---------------------------------------------------------------------------------


def _one_of(column: str, values, get, indexed: bool = False) -> Check:
    allowed = frozenset(values)

    def test(s: Situatie) -> bool:
        return get(s) in allowed

    return Check(column, " | ".join(sorted(map(str, allowed))), test, get, indexed)


def _is(column: str, expected: bool, get) -> Check:
    if expected:
        def test(s: Situatie) -> bool:
            return bool(get(s))
    else:
        def test(s: Situatie) -> bool:
            return not get(s)
    return Check(column, str(expected).lower(), test, get)


def _leeftijd(low: int | None, high: int | None) -> Check:
    lo = low if low is not None else -(10**9)
    hi = high if high is not None else 10**9

    def test(s: Situatie) -> bool:
        age = s.feiten.leeftijd
        return age is not None and lo <= age <= hi

    expected = f"{'' if low is None else low}..{'' if high is None else high}"
    return Check("leeftijd", expected, test, attrgetter("feiten.leeftijd"))


def _at_least(column: str, minimum: int, field: str) -> Check:
    get = attrgetter(f"feiten.{field}")

    def test(s: Situatie) -> bool:
        return len(get(s)) >= minimum

    return Check(column, f">= {minimum}", test, lambda s: len(get(s)))


def _contains(column: str, values, field: str) -> Check:
    needed = frozenset(v.casefold() for v in values)
    get = attrgetter(f"feiten.{field}")

    def test(s: Situatie) -> bool:
        present = get(s)
        # exact match first: signal values are lower case in practice
        return needed <= present or needed <= {str(v).strip().casefold() for v in present}

    return Check(column, " & ".join(sorted(needed)), test, lambda s: sorted(map(str, get(s))))


def _bollenmodel(s: Situatie) -> str | None:
    value = s.feiten.bollenmodel
    return None if value is None else value.strip().upper()


def _delict(s: Situatie) -> str | None:
    value = s.feiten.delict
    if value is None:
        return None
    folded = value.strip().casefold()
    return folded or None


def _deelname(product: str):
    def get(s: Situatie) -> str:
        return s.deelname_van(product)

    return get


def _has_kenmerk(kenmerk: str):
    def get(s: Situatie) -> bool:
        return kenmerk in s.kenmerken()

    return get
