"""The lists people page through: a house's queue, the triage queue, a search by kenmerk, the deadlines.

Filtering, sorting and paging happen in SQL on the projection tables (WHERE, ORDER BY, LIMIT and
OFFSET), so one page of 50 costs about the same in a queue of 50 as in one of 5,000, and the count
is the count of what the reader may see. Who may see which row is part of the WHERE: the same
conditions as `events.toegang.weigering` (compartments, and a house's staff only what is routed to
their house); the service checks every row of a page against `weigering` again, and
tests/test_lijsten.py holds the two to each other.

A melding's `termijn` is its nearest open deadline (projections/deadlines.py), with its kind.
Where a sort key can be NULL the query says where NULLs go (SQLite puts them first in ascending
order, PostgreSQL last), so both stores give the same pages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from events.status import GESLOTEN, IN_BEHANDELING, OPEN, TRIAGE
from events.toegang import COMPARTIMENTEN, ZVH, Rol
from projections.store import ProjectionStore

PER_PAGINA = 50
MAX_PER_PAGINA = 75  # the most rows, with their actions, within the 150 KB budget of a list page

TERMIJN_FILTERS: tuple[str, ...] = ("verlopen", "week")
WEEK = 7  # "this week": due today or in the 7 days after


# The columns a list can be sorted by, as the URL names them, and what they sort on.
SORTEERBAAR: dict[str, str] = {
    "kenmerk": "c.kenmerk", "bron": "c.bron", "soort": "c.soort", "gemeente": "c.gemeente",
    "product": "c.product", "huis": "c.zvh", "ontvangen": "c.ontvangen_op", "termijn": "t.vervalt_op",
    "regisseur": "c.regisseur", "labels": "c.labels", "status": "c.status", "sinds": "c.status_sinds",
}

# The nearest open deadline of each melding (of two on one day, the first by kind).
_TERMIJN = ("LEFT JOIN (SELECT melding_id, soort AS termijn_soort, vervalt_op FROM ("
            "SELECT melding_id, soort, vervalt_op, "
            "ROW_NUMBER() OVER (PARTITION BY melding_id ORDER BY vervalt_op, soort) AS nr FROM deadlines "
            "WHERE afgehandeld = 0) open_termijnen WHERE nr = 1) t ON t.melding_id = c.melding_id")
_KOLOMMEN = ("c.melding_id, c.bron, c.kenmerk, c.soort, c.gemeente, c.zvh, c.product, c.queue, c.labels, "
             "c.datum, c.ontvangen_op, c.status, c.status_sinds AS sinds, c.regisseur, c.reden, c.compartiment, "
             "t.vervalt_op AS termijn, t.termijn_soort")


@dataclass(frozen=True, slots=True)
class Vraag:
    """What a person asks of a list: filters, a search, a sort column and a page. Empty: all of it,
    in the list's own order, first page."""

    zvh: str | None = None
    product: str | None = None
    soort: str | None = None
    gemeente: str | None = None
    status: str | None = None
    regisseur: str | None = None
    termijn: str | None = None  # one of TERMIJN_FILTERS
    zoek: str | None = None  # a kenmerk, whole or part, or BRON:KENMERK
    sorteer: str | None = None  # a key of SORTEERBAAR; None: the list's own order
    aflopend: bool = False
    pagina: int = 1
    per_pagina: int = PER_PAGINA


ALLES = Vraag()


@dataclass(frozen=True, slots=True)
class Pagina:
    """One page of a list, with the count of the whole list as filtered."""

    rijen: list[dict[str, Any]]
    totaal: int
    vraag: Vraag

    @property
    def paginas(self) -> int:
        return max(1, -(-self.totaal // self.vraag.per_pagina))

    @property
    def nummer(self) -> int:
        return self.vraag.pagina

    @property
    def grootte(self) -> int:
        return self.vraag.per_pagina

    def as_dict(self) -> dict[str, Any]:
        """As the API and the CLI give a page (`--json`)."""
        return {"totaal": self.totaal, "pagina": self.nummer, "per_pagina": self.grootte, "paginas": self.paginas,
                "rijen": self.rijen}

    @property
    def eerste(self) -> int:
        """The place in the list of this page's first row (1-based; 0 when the list is empty)."""
        return (self.vraag.pagina - 1) * self.vraag.per_pagina + 1 if self.rijen else 0

    @property
    def laatste(self) -> int:
        return self.eerste + len(self.rijen) - 1 if self.rijen else 0


class Voorwaarden:
    """A WHERE clause built up with named parameters."""

    def __init__(self) -> None:
        self.delen: list[str] = []
        self.params: dict[str, Any] = {}

    def en(self, sql: str, **params: Any) -> None:
        self.delen.append(sql)
        self.params.update(params)

    def sql(self) -> str:
        return " AND ".join(f"({d})" for d in self.delen) or "1 = 1"


def zichtbaar(w: Voorwaarden, rol: Rol) -> None:
    """The rows of caseload_meldingen `c` this role may see: `events.toegang.weigering` in SQL.
    A melding's compartment is its column, or the one its soort or product puts it in."""
    held = sorted(rol.compartimenten & COMPARTIMENTEN)
    namen = ", ".join(f"'{x}'" for x in sorted(COMPARTIMENTEN))
    effectief = (f"COALESCE(c.compartiment, CASE WHEN c.soort IN ({namen}) THEN c.soort "
                 f"WHEN c.product IN ({namen}) THEN c.product END)")
    marks = ", ".join(f":gehouden_{i}" for i in range(len(held)))
    w.en(f"{effectief} IS NULL" + (f" OR {effectief} IN ({marks})" if held else ""),
         **{f"gehouden_{i}": c for i, c in enumerate(held)})
    if rol.soort == ZVH:
        w.en("c.status IN (:zvh_open, :zvh_behandeling, :zvh_gesloten)",
             zvh_open=OPEN, zvh_behandeling=IN_BEHANDELING, zvh_gesloten=GESLOTEN)
        _van_huis(w, "rol_zvh", rol.zvh or "")


def _van_huis(w: Voorwaarden, naam: str, zvh: str) -> None:
    """Routed to this house: its caseload, or work in one of its queues (VIA for the whole region)."""
    w.en(f"c.zvh = :{naam} OR c.queue = :{naam} OR substr(c.queue, 1, length(:{naam}) + 1) = :{naam} || '/'",
         **{naam: zvh})


def _zoek(w: Voorwaarden, tekst: str) -> None:
    """A kenmerk, whole or a part of it, any case; or BRON:KENMERK (the bron whole, the kenmerk a part)."""
    bron, sep, kenmerk = tekst.partition(":")
    if sep and bron.strip() and kenmerk.strip():
        w.en("c.bron = :zoek_bron", zoek_bron=bron.strip().lower())
        tekst = kenmerk
    deel = tekst.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # LOWER on both sides: SQLite's LIKE ignores the case of ASCII letters, PostgreSQL's does not.
    w.en("LOWER(c.kenmerk) LIKE LOWER(:zoek) ESCAPE '\\'", zoek=f"%{deel}%")


def _filters(w: Voorwaarden, v: Vraag, vandaag: date) -> None:
    for veld in ("product", "soort", "gemeente", "status"):
        waarde = getattr(v, veld)
        if waarde:
            w.en(f"c.{veld} = :f_{veld}", **{f"f_{veld}": waarde})
    if v.zvh:
        _van_huis(w, "f_zvh", v.zvh)
    if v.regisseur:
        w.en("LOWER(c.regisseur) LIKE LOWER(:f_regisseur)", f_regisseur=f"%{v.regisseur.strip()}%")
    if v.zoek and v.zoek.strip():
        _zoek(w, v.zoek)
    if v.termijn == "verlopen":
        w.en("t.vervalt_op < :vandaag", vandaag=vandaag.isoformat())
    elif v.termijn == "week":
        w.en("t.vervalt_op >= :vandaag AND t.vervalt_op <= :over_een_week", vandaag=vandaag.isoformat(),
             over_een_week=(vandaag + timedelta(days=WEEK)).isoformat())


def _volgorde(v: Vraag, eigen: str) -> str:
    if v.sorteer is None:
        return f"{eigen}, c.melding_id"
    richting = "DESC" if v.aflopend else "ASC"
    return f"{SORTEERBAAR[v.sorteer]} {richting} NULLS LAST, c.ontvangen_op NULLS FIRST, c.melding_id"


def _pagina(store: ProjectionStore, w: Voorwaarden, v: Vraag, eigen: str) -> Pagina:
    vanaf = f"FROM caseload_meldingen c {_TERMIJN} WHERE {w.sql()}"
    [telling] = store.rows(f"SELECT COUNT(*) AS n {vanaf}", w.params)
    totaal = telling["n"]
    laatste = max(1, -(-totaal // v.per_pagina))
    if v.pagina > laatste:  # a page past the end (the list shrank since the link was made): the last one
        v = _met(v, pagina=laatste)
    rijen = store.rows(
        f"SELECT {_KOLOMMEN} {vanaf} ORDER BY {_volgorde(v, eigen)} LIMIT :limiet OFFSET :vanaf_rij",
        {**w.params, "limiet": v.per_pagina, "vanaf_rij": (v.pagina - 1) * v.per_pagina},
    )
    return Pagina(rijen, totaal, v)


def _met(v: Vraag, **changes: Any) -> Vraag:
    return replace(v, **changes)


def wachtrij(store: ProjectionStore, rol: Rol, zvh: str, v: Vraag, vandaag: date) -> Pagina:
    """A house's own queue, a page of it: to accept first, then in behandeling; oldest first."""
    w = Voorwaarden()
    zichtbaar(w, rol)
    w.en("c.status IN (:open, :behandeling)", open=OPEN, behandeling=IN_BEHANDELING)
    _van_huis(w, "huis", zvh)
    _filters(w, _met(v, zvh=None), vandaag)
    return _pagina(store, w, v, "c.status = :behandeling, c.ontvangen_op NULLS FIRST")


def triage(store: ProjectionStore, rol: Rol, v: Vraag, vandaag: date) -> Pagina:
    """What waits for a person at the loket, a page of it, oldest first."""
    w = Voorwaarden()
    zichtbaar(w, rol)
    w.en("c.status = :triage", triage=TRIAGE)
    _filters(w, v, vandaag)
    return _pagina(store, w, v, "c.ontvangen_op NULLS FIRST")


def zoek(store: ProjectionStore, rol: Rol, v: Vraag, vandaag: date) -> Pagina:
    """Every melding this role may see whose kenmerk holds the search, in any state; newest first."""
    w = Voorwaarden()
    zichtbaar(w, rol)
    _filters(w, v, vandaag)
    return _pagina(store, w, v, "c.ontvangen_op DESC NULLS LAST")


def keuzes(store: ProjectionStore, rol: Rol, kolom: str, *, zvh: str | None = None,
           statussen: tuple[str, ...] = ()) -> list[str]:
    """The values a column holds in a list (for its filter): gemeenten, regisseurs, products."""
    if kolom not in ("gemeente", "product", "soort", "regisseur"):
        raise ValueError(kolom)
    w = Voorwaarden()
    zichtbaar(w, rol)
    if statussen:
        w.en("c.status IN ({})".format(", ".join(f":k_status_{i}" for i in range(len(statussen)))),
             **{f"k_status_{i}": s for i, s in enumerate(statussen)})
    if zvh:
        _van_huis(w, "k_zvh", zvh)
    return [r["w"] for r in store.rows(
        f"SELECT DISTINCT c.{kolom} AS w FROM caseload_meldingen c WHERE {w.sql()} AND c.{kolom} IS NOT NULL "
        f"ORDER BY c.{kolom}", w.params)]


def termijn_soorten(store: ProjectionStore) -> list[str]:
    """The kinds of deadline the store holds open (`wvggz-termijn`, `huisverbod-einde`, `top-x-review`, ...)."""
    return [r["soort"] for r in store.rows(
        "SELECT DISTINCT soort FROM deadlines WHERE afgehandeld = 0 ORDER BY soort")]


TERMIJNEN_SORTEERBAAR: dict[str, str] = {
    "termijn": "d.vervalt_op", "kenmerk": "c.kenmerk", "soort": "d.soort", "product": "d.product",
    "gemeente": "c.gemeente", "huis": "c.zvh", "regisseur": "c.regisseur", "status": "c.status",
}


def termijnen(store: ProjectionStore, rol: Rol, v: Vraag, vandaag: date, *,
              soort: str | None = None) -> Pagina:
    """Open deadlines (Wvggz 14 days, huisverbod, Top X review), a page of them: overdue first, then
    the soonest. `soort` is the deadline's kind; `v.termijn` narrows to overdue or this week."""
    w = Voorwaarden()
    zichtbaar(w, rol)
    w.en("d.afgehandeld = 0")
    if soort:
        w.en("d.soort = :d_soort", d_soort=soort)
    if v.zvh:
        _van_huis(w, "d_zvh", v.zvh)
    if v.product:
        w.en("c.product = :d_product", d_product=v.product)
    if v.zoek and v.zoek.strip():
        _zoek(w, v.zoek)
    if v.termijn == "verlopen":
        w.en("d.vervalt_op < :vandaag", vandaag=vandaag.isoformat())
    elif v.termijn == "week":
        w.en("d.vervalt_op >= :vandaag AND d.vervalt_op <= :over_een_week", vandaag=vandaag.isoformat(),
             over_een_week=(vandaag + timedelta(days=WEEK)).isoformat())
    vanaf = f"FROM deadlines d JOIN caseload_meldingen c ON c.melding_id = d.melding_id WHERE {w.sql()}"
    [telling] = store.rows(f"SELECT COUNT(*) AS n {vanaf}", w.params)
    totaal = telling["n"]
    laatste = max(1, -(-totaal // v.per_pagina))
    if v.pagina > laatste:
        v = _met(v, pagina=laatste)
    volgorde = (f"{TERMIJNEN_SORTEERBAAR[v.sorteer]} {'DESC' if v.aflopend else 'ASC'} NULLS LAST, "
                if v.sorteer else "")
    rijen = store.rows(
        "SELECT d.melding_id, d.soort AS termijn_soort, d.vervalt_op AS termijn, c.zvh, c.product, c.bron, "
        "c.kenmerk, c.soort, c.gemeente, c.queue, c.status, c.regisseur, c.labels, "
        f"c.compartiment {vanaf} ORDER BY {volgorde}d.vervalt_op, d.melding_id, d.soort "
        "LIMIT :limiet OFFSET :vanaf_rij",
        {**w.params, "limiet": v.per_pagina, "vanaf_rij": (v.pagina - 1) * v.per_pagina},
    )
    return Pagina(rijen, totaal, v)
