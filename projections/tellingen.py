"""Counts of meldingen for the figures of a year (projections/cijfers.py), kept so that a year's
figures cost the same however long the log grows, live and as of a moment.

Each melding counts in a few cells, each a row of `cijfers_tellingen` with its count `n`:

- `jaar`: per year of its routing date, soort, gemeente, house, product, whether it was routed
  (`outcome`), its state (`status`: lopend, gesloten or anders) and compartment: the tables per
  product and gemeente and the annual report's;
- `maand`: a melding placed at a house, per month of its routing date, house, product, state and the
  month it was closed (recording time, UTC, as `status_sinds`): inflow and open caseload per month;
- `termijn`: each of its deadlines, per month of the melding's routing date, house, product, state,
  month closed, month the deadline falls (`waarde`) and whether it is still to be met (`vlag`):
  overdue per month;
- `doorloop`: per month of its routing date, soort, house, whether it was sent back or rerouted
  (`vlag`) and the hours from receipt to the first decision that placed it (`waarde`, in fixed
  buckets, see `bak`; '' before that decision); `acceptatie`: the hours from that decision to the
  house's acceptance, in the same buckets: the lead times' median and 90th percentile.

An event that changes a melding moves it out of its old cells and into its new ones. To know the
old ones, the projection keeps each melding's state (`cijfers_stand`, what the cells are made of)
and reads the states of a page's meldingen, and the counts of the cells they touch, before it
writes the page: a page is then a few statements, whatever its size. Every version of a cell's
count is kept with the positions from which and until which it held (projections/store.py,
"History"; a version holds the cell's number, its kind and year, and its count: what a cell is
never changes, the live row says it), so an as-of read of the figures reads the cells as they stood,
through the same interval tree. Versions of one cell recorded at the same moment are one version (no
moment maps between them, projections/tijdlijn.py), and a version with the count of the one before
it is none: a melding received and routed at one moment leaves the cells it passed through as they
were. The history has no key of its own: the version that holds is found through the interval
tree's index on `tot`, whose key goes on to the cell's number.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from events.melding import Melding
from events.status import GESLOTEN, IN_BEHANDELING, OPEN, TRIAGE
from events.toegang import compartiment_van
from projections.store import TOP, Collector, Lezer, Projection, Statement, geldig_op, knoop
from routing.tijd import NL, routing_datum

# The key columns of a cell, in order; all text but `vlag`, '' where a melding has no value.
KOLOMMEN = ("maat", "jaar", "maand", "soort", "gemeente", "zvh", "product", "outcome", "status", "gesloten",
            "compartiment", "vlag", "waarde")
_COLS_SQL = """maat TEXT NOT NULL, jaar TEXT NOT NULL, maand TEXT NOT NULL, soort TEXT NOT NULL,
            gemeente TEXT NOT NULL, zvh TEXT NOT NULL, product TEXT NOT NULL, outcome TEXT NOT NULL,
            status TEXT NOT NULL, gesloten TEXT NOT NULL, compartiment TEXT NOT NULL, vlag INTEGER NOT NULL,
            waarde TEXT NOT NULL, n INTEGER NOT NULL"""
_ALLE = ("id", "sleutel", *KOLOMMEN, "n", "van")
TERMIJN_REVIEW_DAGEN = 90  # Top X review (projections/deadlines.py)
REGIE_NA_HUISVERBOD = 365

# Events that put a melding at a house (or outside the region): "op de juiste plek".
BESLUITEN = frozenset({"MeldingGerouteerd", "TriageBesloten", "MeldingHergerouteerd", "MeldingDoorverwezen"})
TERUG_OF_OM = frozenset({"MeldingTeruggestuurd", "MeldingHergerouteerd"})


def bak(uren: float) -> float:
    """The bucket of a lead time in hours: tenths of an hour below 48 hours, whole hours up to 30
    days, whole days up to 90 days, 30 days beyond; each the value rounded to that resolution.
    Rounding keeps the order, so the median and 90th percentile read from the buckets are the exact
    ones (nearest rank), rounded to the resolution of the bucket they fall in. A group of meldingen
    (month, stream, house) has at most about 480 + 670 + 60 buckets below 90 days, however many
    meldingen it holds."""
    if uren < 48:
        return round(uren, 1)
    if uren < 720:
        return float(round(uren))
    if uren < 2160:
        return float(round(uren / 24) * 24)
    return float(round(uren / 720) * 720)


def _moment(text: str) -> datetime:
    found = datetime.fromisoformat(text)
    return found if found.tzinfo else found.replace(tzinfo=NL)


def _uren(van: datetime, tot: datetime) -> float:
    return max(0.0, (tot - van).total_seconds() / 3600)


def cellen(m: dict[str, Any]) -> dict[tuple[Any, ...], int]:
    """The cells a melding counts in, from its state, with how often it counts in each (a cell
    twice: two deadlines alike), in the order they are named."""
    d = m["datum"]
    if not d:
        return {}
    jaar, maand, comp, zvh, product, soort = d[:4], d[:7], m["compartiment"], m["zvh"], m["product"], m["soort"]
    status = m["status"]
    klasse = "lopend" if status in _LOPEND else "gesloten" if status == GESLOTEN else "anders"
    uit = {("jaar", jaar, "", soort, m["gemeente"], zvh, product, "routed" if m["outcome"] == "routed" else "",
            klasse, "", comp, 0, ""): 1}
    if zvh and klasse != "anders":
        gesloten = m["gesloten"] if klasse == "gesloten" else ""
        uit[("maand", jaar, maand, "", "", zvh, product, "", klasse, gesloten, comp, 0, "")] = 1
        for vervalt, dzvh, dproduct, af in m["termijnen"].values():
            cel = ("termijn", jaar, maand, "", "", dzvh or zvh, dproduct or product, "", klasse, gesloten, comp,
                   int(not af or klasse == "gesloten"), vervalt[:7])
            uit[cel] = uit.get(cel, 0) + 1
    if soort:
        uit[("doorloop", jaar, maand, soort, "", zvh, "", "", "", "", comp, m["terug"], m["besluit"])] = 1
        if m["acceptatie"]:
            uit[("acceptatie", jaar, maand, soort, "", zvh, "", "", "", "", comp, 0, m["acceptatie"])] = 1
    return uit


_LOPEND = frozenset({OPEN, IN_BEHANDELING})


# What each event does to a melding's state: a function of the state, the event's moment and what
# it takes from the event (taken when the event is read, so the page does not hold the events).

def _ontvangen(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
    soort, gemeente, ontvangen_op, compartiment = e
    m.update({"datum": routing_datum(ontvangen_op).isoformat(), "soort": soort or "", "gemeente": gemeente or "",
              "zvh": "", "product": "", "outcome": "", "status": "ontvangen", "gesloten": "",
              "compartiment": compartiment or compartiment_van(soort, None) or "", "ontvangen_op": ontvangen_op,
              "beslist": "", "besluit": "", "acceptatie": "", "terug": 0, "termijnen": {}})


def _beslist(klasse: type, status: str, eerste: bool = False) -> Callable[..., None]:
    """What a decision event (of `klasse`) does: what it decided, where it puts the melding
    (`status`), and, for the first decision that placed it, its lead time."""
    naam = klasse.__name__
    besluit, terug = naam in BESLUITEN, naam in TERUG_OF_OM
    plaatst = naam in ("MeldingGerouteerd", "MeldingHergerouteerd", "TriageBesloten")

    def doe(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
        outcome, zvh, product, gemeente, deadline = e
        m["outcome"], m["zvh"], m["product"], m["status"] = outcome, zvh or "", product or "", status
        if gemeente is not None:
            m["gemeente"] = gemeente
        if (compartiment := compartiment_van(None, product)) is not None:
            m["compartiment"] = compartiment
        if besluit and not m["beslist"]:
            m["beslist"] = t.isoformat()
            m["besluit"] = repr(bak(_uren(_moment(m["ontvangen_op"]), t)))
        if terug:
            m["terug"] = 1
        if not plaatst:
            return
        termijnen = m["termijnen"]
        if not eerste and termijnen:  # a new decision replaces the deadlines of the one before
            for soort in [s for s in termijnen if s != "top-x-review"]:
                del termijnen[soort]
        if outcome != "routed" or deadline is None:
            return
        if product == "huisverbod":
            termijnen["huisverbod-einde"] = [deadline.isoformat(), zvh, product, 0]
            regie = deadline + timedelta(days=REGIE_NA_HUISVERBOD)
            termijnen["regie-na-huisverbod"] = [regie.isoformat(), zvh, product, 0]
        else:
            termijnen[f"{product}-termijn"] = [deadline.isoformat(), zvh, product, 0]

    return doe


def _uit_besluit(e: Any) -> tuple[Any, ...]:
    b = e.beslissing
    return (b.outcome, b.zvh, b.product, b.gemeente, b.deadline)


def _geaccepteerd(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
    m["status"] = IN_BEHANDELING
    if m["beslist"] and not m["acceptatie"]:
        m["acceptatie"] = repr(bak(_uren(datetime.fromisoformat(m["beslist"]), t)))


def _teruggestuurd(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
    m.update({"status": TRIAGE, "outcome": "triage", "terug": 1})


def _gesloten(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
    m.update({"status": GESLOTEN, "gesloten": t.isoformat()[:7]})
    for termijn in m["termijnen"].values():
        termijn[3] = 1


def _top_x_aan(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
    due = t.date() + timedelta(days=TERMIJN_REVIEW_DAGEN)
    m["termijnen"]["top-x-review"] = [due.isoformat(), None, "pga", 0]


def _top_x_af(m: dict[str, Any], t: datetime, e: tuple[Any, ...]) -> None:
    if (termijn := m["termijnen"].get("top-x-review")) is not None:
        termijn[3] = 1


def _niets(e: Any) -> tuple[Any, ...]:
    return ()


# Per event class: what it does to the state, and what it takes from the event.
WERK: dict[type, tuple[Callable[..., None], Callable[[Any], tuple[Any, ...]]]] = {
    Melding.MeldingOntvangen: (_ontvangen, lambda e: (e.soort, e.gemeente, e.ontvangen_op,
                                                      e.compartiment)),
    Melding.MeldingGerouteerd: (_beslist(Melding.MeldingGerouteerd, OPEN, eerste=True), _uit_besluit),
    Melding.MeldingInTriage: (_beslist(Melding.MeldingInTriage, TRIAGE), _uit_besluit),
    Melding.MeldingDoorverwezen: (_beslist(Melding.MeldingDoorverwezen, "doorverwezen"), _uit_besluit),
    Melding.MeldingHergerouteerd: (_beslist(Melding.MeldingHergerouteerd, OPEN), _uit_besluit),
    Melding.TriageBesloten: (_beslist(Melding.TriageBesloten, OPEN), _uit_besluit),
    Melding.MeldingGeaccepteerd: (_geaccepteerd, _niets),
    Melding.MeldingTeruggestuurd: (_teruggestuurd, _niets),
    Melding.TopXAan: (_top_x_aan, _niets),
    Melding.TopXAf: (_top_x_af, _niets),
    Melding.MeldingGesloten: (_gesloten, _niets),
}

# A melding's state is kept as the JSON list of its values, in the order `_ontvangen` gives its fields
# (the only place a state is made): shorter to write and read than an object with its names.
VELDEN = ("datum", "soort", "gemeente", "zvh", "product", "outcome", "status", "gesloten", "compartiment",
          "ontvangen_op", "beslist", "besluit", "acceptatie", "terug", "termijnen")
_json = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode
_STAND = ("INSERT INTO cijfers_stand (melding_id, staat) VALUES (?, ?) "
          "ON CONFLICT (melding_id) DO UPDATE SET staat = excluded.staat")
_TELLING = (f"INSERT INTO cijfers_tellingen ({', '.join(_ALLE)}) VALUES ({', '.join('?' * len(_ALLE))}) "
            "ON CONFLICT (id) DO UPDATE SET n = excluded.n, van = excluded.van")
# The version of a cell that holds still is found by its node (that of a version until `TOP`), kind and
# year, `TOP` and the cell's number: a prefix of the index the as-of reads use, so that the history
# needs no key of its own to keep up to date beside it.
_SLUIT = ("UPDATE cijfers_tellingen_historie SET tot = ?, knoop = ? "
          f"WHERE knoop = ? AND maat = ? AND jaar = ? AND tot = {TOP} AND id = ?")
_VERSIE = "INSERT INTO cijfers_tellingen_historie (id, maat, jaar, n, van, tot, knoop) VALUES (?, ?, ?, ?, ?, ?, ?)"


def _sleutel(cel: tuple[Any, ...]) -> str:
    return "\x1f".join(map(str, cel))


def _in_delen(lees: Lezer, sql: str, ids: list[str]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.extend(lees(sql.format(", ".join("?" * len(chunk))), chunk))
    return found


class TellingenPage:
    """A page of the counts: what each event does to its melding, kept in order; when the page is
    written, the states and counts it builds on are read first, then the page is worked through and
    written in a few statements."""

    __slots__ = ("werk", "namen")

    def __init__(self) -> None:
        self.werk: list[tuple[int, datetime, str, Callable[..., None], tuple[Any, ...]]] = []
        self.namen: dict[int, str] = {}  # a melding's id as text, by its number: once per melding

    def add(self, event: Any, at: int = 0) -> None:
        gevonden = WERK.get(type(event))
        if gevonden is not None:
            doe, neem = gevonden
            nummer = event.originator_id.int
            if (mid := self.namen.get(nummer)) is None:
                mid = self.namen[nummer] = str(event.originator_id)
            self.werk.append((at, event.timestamp, mid, doe, neem(event)))

    def statements(self) -> Callable[[Lezer], list[Statement]]:
        return self.schrijf

    def schrijf(self, lees: Lezer) -> list[Statement]:
        if not self.werk:
            return []
        nieuw = {mid for _, _, mid, doe, _ in self.werk if doe is _ontvangen}
        eerder = sorted({mid for _, _, mid, _, _ in self.werk} - nieuw)
        staten: dict[str, dict[str, Any]] = {
            row["melding_id"]: dict(zip(VELDEN, json.loads(row["staat"]), strict=True))
            for row in _in_delen(lees, "SELECT melding_id, staat FROM cijfers_stand WHERE melding_id IN ({})", eerder)}
        voor = {mid: cellen(m) for mid, m in staten.items()}
        # Per cell its versions in the page, [van, moment, n]: n the count's difference from where the
        # page found it, the last one's as the page goes.
        versies: dict[tuple[Any, ...], list[list[Any]]] = {}
        geen: dict[tuple[Any, ...], int] = {}
        for at, t, mid, doe, uit in self.werk:
            m = staten.get(mid)
            if doe is _ontvangen:
                m = staten[mid] = {}
            elif m is None:
                continue  # not a melding this projection saw received (none in a well-formed log)
            doe(m, t, uit)
            na = cellen(m)
            oud = voor.get(mid, geen)
            voor[mid] = na
            if na == oud:
                continue
            if oud:
                verschil = [(cel, k - oud.get(cel, 0)) for cel, k in na.items()]
                verschil += [(cel, -k) for cel, k in oud.items() if cel not in na]
            else:
                verschil = list(na.items())
            for cel, d in verschil:
                if d:
                    rij = versies.get(cel)
                    if rij is None:
                        versies[cel] = [[at, t, d]]
                    elif (laatst := rij[-1])[1] == t:
                        laatst[2] += d
                    else:
                        rij.append([at, t, laatst[2] + d])
        sleutels = {cel: _sleutel(cel) for cel in versies}
        eerdere = {row["sleutel"]: (row["id"], row["n"], row["van"]) for row in _in_delen(
            lees, "SELECT sleutel, id, n, van FROM cijfers_tellingen WHERE sleutel IN ({})", sorted(sleutels.values()))}
        hoogste = lees("SELECT MAX(id) AS hoogste FROM cijfers_tellingen", ())[0]["hoogste"]
        volgend = (hoogste or 0) + 1  # a new cell's number: one writer at a time (the page's transaction)
        tellingen: list[tuple[Any, ...]] = []
        sluiten: list[tuple[Any, ...]] = []
        nieuwe: list[tuple[Any, ...]] = []
        for cel, rij in versies.items():
            sleutel = sleutels[cel]
            gevonden = eerdere.get(sleutel)
            # A version with the count of the one before it is no new version (a melding moved out
            # of a cell and into another at one moment leaves the first as it was): it is left out,
            # and the version before it holds on. A new cell keeps its first version, whatever its count.
            vorige = None if gevonden is None else 0
            rij = [v for v in rij if v[2] != vorige and (vorige := v[2]) is not None]
            if not rij:
                continue
            maat, jaar = cel[0], cel[1]
            if gevonden is None:
                nummer, basis = volgend, 0
                volgend += 1
            else:
                nummer, basis, oud_van = gevonden
                sluiten.append((rij[0][0], knoop(oud_van, rij[0][0]), knoop(oud_van, TOP), maat, jaar, nummer))
            for i, (van, _, n) in enumerate(rij):
                tot = rij[i + 1][0] if i + 1 < len(rij) else TOP
                nieuwe.append((nummer, maat, jaar, basis + n, van, tot, knoop(van, tot)))
            tellingen.append((nummer, sleutel, *cel, basis + rij[-1][2], rij[-1][0]))
        out: list[Statement] = [(_STAND, (mid, _json(list(m.values())))) for mid, m in staten.items()]
        out += [(_TELLING, r) for r in tellingen]
        out += [(_SLUIT, r) for r in sluiten]
        out += [(_VERSIE, r) for r in nieuwe]
        return out


class Tellingen(Projection):
    name = "cijfers"
    version = 4
    tables = ("cijfers_stand", "cijfers_tellingen", "cijfers_tellingen_historie")
    create = (
        "CREATE TABLE IF NOT EXISTS cijfers_stand (melding_id TEXT PRIMARY KEY, staat TEXT NOT NULL)",
        f"""CREATE TABLE IF NOT EXISTS cijfers_tellingen (id INTEGER PRIMARY KEY, sleutel TEXT NOT NULL UNIQUE,
            {_COLS_SQL}, van INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS cijfers_tellingen_maat ON cijfers_tellingen (maat, jaar)",
        # The history as projections/store.py's `historie_ddl` has it, without its key (id, van): the
        # versions are found by the interval tree's indexes, the one by `tot` going on to the cell's number.
        # Each index holds every column of a version, so an as-of read finds the versions in the index
        # alone: on a long history they lie far apart in the table, one page read each.
        """CREATE TABLE IF NOT EXISTS cijfers_tellingen_historie (id INTEGER NOT NULL, maat TEXT NOT NULL,
            jaar TEXT NOT NULL, n INTEGER NOT NULL, van INTEGER NOT NULL, tot INTEGER NOT NULL,
            knoop INTEGER NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS cijfers_tellingen_historie_van ON cijfers_tellingen_historie "
        "(knoop, maat, jaar, van, id, n, tot)",
        "CREATE INDEX IF NOT EXISTS cijfers_tellingen_historie_tot ON cijfers_tellingen_historie "
        "(knoop, maat, jaar, tot, id, n, van)",
    )
    handlers = {event_class: _niets for event_class in WERK}

    @classmethod
    def page(cls) -> Collector:
        return TellingenPage()

    @classmethod
    def als_op(cls, table: str, positie: int) -> str | None:
        if table != "cijfers_tellingen":
            return None
        # A version holds a cell's number, kind, year and count; what the cell counts comes from the
        # live row (it never changes). Kind and year are the version's, for the index.
        kolommen = ", ".join(f"h.{k}" if k in ("id", "maat", "jaar", "n", "van") else f"t.{k}" for k in _ALLE)
        return (f"SELECT {kolommen} FROM cijfers_tellingen_historie h JOIN cijfers_tellingen t ON t.id = h.id "
                f"WHERE {geldig_op(positie, 'h.van', 'h.tot', 'h.knoop')}")

