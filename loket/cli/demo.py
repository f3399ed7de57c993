"""`loket demo`: a synthetic year through the real pipeline, worked like a real year, and
recorded when it happened.

The year is played in the order of its moments. Each melding is received when it arrives:
the lines of a block of four hours are taken in together, recorded at the moment the last of
them came in (one transaction each, as the loket's intake takes in what is waiting);
then the houses and the loket act on it later in the year, as people do: routed meldingen
are accepted with a regisseur days (now and then weeks) after they came in, some are sent back and
decided again at the loket, a few PGA cases get Top X and are scaled down again through the
weegtafel, a few change regisseur, the loket informs most of the parties the decisions
name (the rest stays on the worklist), and cases are closed after the time their product takes. What waits in triage is
decided by the loket as a worker would: the house that serves the melding's gemeente on its
date, and the product the rules give once the missing fact is known (or the one that fits
the stream). Then the caseload and the year's statistics.

The synthetic clock (loket/synthetic.py, `Klok`) is the demo's recording clock: every event
is recorded at the simulated moment it happened, so "as of" any day of the year (`loket
caseload --as-of 2025-06-30`, the pages' "Stand op") shows what the loket knew that day.
The store is kept (`--db`); the input lines are not.
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from itertools import count
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.table import Table

from events.handelingen import Gebruiker
from events.informeren import KANALEN
from events.melding import Melding
from events.status import IN_BEHANDELING
from events.toegang import BEHEER, COMPARTIMENTEN, INTAKE, ZVH, Rol
from loket import synthetic
from loket.cli.basis import CommandoFout, dienst, emit
from loket.cli.overzichten import caseload_table
from loket.progress import voortgang
from loket.service import Dienst
from loket.settings import Settings
from projections.caseload import tellingen
from routing.gemeenten import default_register
from routing.tijd import NL

REGISSEURS = ["A. Janssen", "B. Smeets", "C. Hermans", "D. Peters", "E. Vliegen", "F. Willems"]
RESULTATEN = ["doelen behaald", "overgedragen aan het lokaal veld", "verhuisd buiten de regio",
              "geen medewerking; afgeschaald"]
# The simulated people: a house's staff, the loket's intake team, the weegtafel; the radicalisering
# casuïstiek is worked by those who hold its compartment.
_ALLES = frozenset(COMPARTIMENTEN)
# How long a case runs once accepted, in days (short for a VIA melding or advice, long for procesregie).
LOOPTIJD: dict[str, tuple[int, int]] = {
    "via": (7, 60), "c-en-a": (7, 45), "lokaal-veld": (7, 45), "huisverbod": (10, 120), "wvggz": (10, 30),
    "bij": (14, 90), "rvdk": (30, 180), "pga": (60, 420), "nazorg": (60, 300),
}
STANDAARD_LOOPTIJD = (30, 240)
# The product a loket worker gives a melding the rules leave to a person even once the gemeente is
# known: what the stream is for where the rules cannot tell (no age, a JPP outside Parkstad).
PRODUCT_VAN_DE_STROOM = {
    "detentie-in": "nazorg", "detentie-uit": "nazorg", "art18": "nazorg", "jpp": "lokaal-veld",
    "zsm-buikpijn": "lokaal-veld",
}


def _medewerker(zvh: str | None) -> Gebruiker:
    if zvh is None:
        return Gebruiker("loket-intake", Rol(INTAKE, compartimenten=_ALLES))
    return Gebruiker(f"medewerker-{zvh}", Rol(ZVH, zvh, _ALLES))


@dataclass(order=True)
class _Stap:
    """Something that happens at a moment of the simulated year."""

    moment: datetime
    volgnummer: int
    doe: Callable[[], None] = field(compare=False)


class _Jaar:
    """The simulated year: a time line of what happens, played in order on the recording clock."""

    def __init__(self, d: Dienst, klok: synthetic.Klok, year: int, seed: int) -> None:
        self.d, self.klok, self.year, self.rng = d, klok, year, random.Random(seed)
        self.einde = datetime(year + 1, 1, 1, tzinfo=NL)
        self.stappen: list[_Stap] = []
        self.volgnummer = count()
        self.intake, self.weegtafel = _medewerker(None), Gebruiker("weegtafel", Rol(INTAKE, compartimenten=_ALLES))
        self.met_top_x: set[UUID] = set()  # the cases under Top X now: scaled down before they close
        self.regie = random.Random(seed + 1)  # its own sequence: the rest of the year is played as before
        self.gedaan = {"geaccepteerd": 0, "teruggestuurd": 0, "triage besloten": 0, "gesloten": 0, "top x": 0,
                       "regisseur gewisseld": 0, "geinformeerd": 0}
        self.samenvatting = {"received": 0, "new": 0, "duplicates": 0, "rejected": 0, "routed": 0, "triage": 0,
                             "doorverwijzen": 0}

    def later(self, moment: datetime, doe: Callable[[], None]) -> None:
        """`doe` at `moment`, if that is still within the year."""
        if moment < self.einde:
            heapq.heappush(self.stappen, _Stap(moment, next(self.volgnummer), doe))

    def werkmoment(self, na: datetime, dagen: tuple[float, float]) -> datetime:
        """A moment during office hours, some days after `na`."""
        dag = (na.astimezone(NL) + timedelta(days=self.rng.uniform(*dagen))).date()
        while dag.weekday() >= 5:
            dag += timedelta(days=1)
        moment = datetime(dag.year, dag.month, dag.day, self.rng.randint(8, 16), self.rng.randrange(60), tzinfo=NL)
        return max(moment, na + timedelta(minutes=5))

    def speel(self, regels: list[str]) -> None:
        for moment, blok in _per_blok(regels):
            self.later(moment, partial(self.ontvang, blok))
        dagen = (self.einde.date() - date(self.year, 1, 1)).days
        with voortgang(f"{self.year} spelen (dagen)", dagen) as bar:
            dag = date(self.year, 1, 1)
            while self.stappen:
                stap = heapq.heappop(self.stappen)
                self.klok.zet(stap.moment)
                stap.doe()
                nu = stap.moment.astimezone(NL).date()
                if nu > dag:
                    bar.advance((nu - dag).days)
                    dag = nu

    # What happens -----------------------------------------------------------------------

    def ontvang(self, regels: list[str]) -> None:
        s = self.samenvatting
        for o in self.d.ontvang_batch(self.intake, [r.encode() for r in regels]):
            s["received"] += 1
            s[{"nieuw": "new", "duplicaat": "duplicates", "afgewezen": "rejected"}[o.status]] += 1
            if o.status != "nieuw" or o.beslissing is None:
                continue
            s[o.beslissing.outcome] += 1
            if o.beslissing.notify:
                self.later_informeren(o.melding_id)
            if o.beslissing.outcome == "routed" and o.beslissing.zvh is not None:
                self.later(self.werkmoment(self.klok(), self.reactietijd()),
                           partial(self.huis_reageert, o.melding_id, o.beslissing.zvh))
            elif o.beslissing.outcome == "triage" and self.rng.random() < 0.85:
                self.later(self.werkmoment(self.klok(), (0.5, 8)), partial(self.loket_beslist, o.melding_id))

    def reactietijd(self) -> tuple[float, float]:
        """Days until a house takes up what was routed to it: mostly within the week, now and then weeks."""
        return (0.1, 6) if self.rng.random() < 0.9 else (14, 45)

    def huis_reageert(self, melding_id: UUID, zvh: str, na_triage: bool = False) -> None:
        huis = _medewerker(zvh)
        if self.rng.random() < 0.03 and not na_triage:
            self.d.handel(huis, "return", melding_id, reden="Past niet bij dit product; graag opnieuw bekijken.")
            self.gedaan["teruggestuurd"] += 1
            self.later(self.werkmoment(self.klok(), (0.5, 5)), partial(self.loket_beslist, melding_id))
            return
        m = self.d.handel(huis, "accept", melding_id, regisseur=self.rng.choice(REGISSEURS))
        self.gedaan["geaccepteerd"] += 1
        if self.regie.random() < 0.04:
            self.later(self.werkmoment(self.klok(), (3, 30)), partial(self.wissel_regisseur, melding_id, zvh))
        product = m.beslissing.product if m.beslissing else None
        if "top-x" in m.labels:
            self.met_top_x.add(melding_id)
        elif product == "pga" and self.rng.random() < 0.05:
            self.later(self.werkmoment(self.klok(), (1, 14)), partial(self.top_x, melding_id))
        self.later(self.werkmoment(self.klok(), LOOPTIJD.get(product or "", STANDAARD_LOOPTIJD)),
                   partial(self.sluit, melding_id, zvh))

    def top_x(self, melding_id: UUID) -> None:
        self.d.handel(self.intake, "topx-aan", melding_id, reden="Maatschappelijke onrust in de wijk.")
        self.met_top_x.add(melding_id)
        self.gedaan["top x"] += 1
        self.later_informeren(melding_id)  # the lokale driehoek, always (003)
        # Top X is short-lived (003): the weegtafel scales it down to PGA once the unrest is over.
        self.later(self.werkmoment(self.klok(), (14, 60)), partial(self.top_x_af, melding_id))

    def top_x_af(self, melding_id: UUID) -> None:
        if melding_id in self.met_top_x:
            self.d.handel(self.weegtafel, "topx-af", melding_id, reden="Afgeschaald naar PGA.")
            self.met_top_x.discard(melding_id)

    def wissel_regisseur(self, melding_id: UUID, zvh: str) -> None:
        huis = _medewerker(zvh)
        m = self.d.melding(huis, melding_id)
        if isinstance(m, Melding) and m.status == IN_BEHANDELING:
            andere = self.regie.choice([n for n in REGISSEURS if n != m.regisseur])
            self.d.handel(huis, "assign", melding_id, regisseur=andere)
            self.gedaan["regisseur gewisseld"] += 1

    def later_informeren(self, melding_id: UUID) -> None:
        """Most parties a decision or Top X names are told within days; the rest stays on the worklist."""
        if self.regie.random() < 0.85:
            self.later(self.werkmoment(self.klok(), (0.1, 3)), partial(self.informeer, melding_id))

    def informeer(self, melding_id: UUID) -> None:
        m = self.d.melding(self.intake, melding_id)
        assert isinstance(m, Melding)
        for taak, gevraagd in list(m.informeren.items()):
            if gevraagd["open"]:
                self.d.handel(self.intake, "inform", melding_id, taak=taak, kanaal=self.regie.choice(list(KANALEN)))
                self.gedaan["geinformeerd"] += 1

    def sluit(self, melding_id: UUID, zvh: str) -> None:
        self.top_x_af(melding_id)
        self.d.handel(_medewerker(zvh), "close", melding_id, resultaat=self.rng.choice(RESULTATEN))
        self.gedaan["gesloten"] += 1

    def loket_beslist(self, melding_id: UUID) -> None:
        m = self.d.melding(self.intake, melding_id)
        assert isinstance(m, Melding)
        zvh, product = beslissing_van_het_loket(self.d, m, self.rng)
        self.d.handel(self.intake, "decide", melding_id, zvh=zvh, product=product,
                      reden="Na navraag bij de melder besloten.")
        self.gedaan["triage besloten"] += 1
        if m.beslissing is None or m.beslissing.outcome != "routed":
            self.later_informeren(melding_id)  # a decision by hand may name parties too
        self.later(self.werkmoment(self.klok(), self.reactietijd()),
                   partial(self.huis_reageert, melding_id, zvh, na_triage=True))


def beslissing_van_het_loket(d: Dienst, m: Melding, rng: random.Random) -> tuple[str, str]:
    """What a loket worker decides for a melding in triage: the house that serves its gemeente on
    its routing date, and the product the rules give once the worker has asked the melder what was
    missing (the gemeente where it was unknown); where the rules still leave it to a person, the
    product the stream is for, or advice (C&A). A melding the house sent back gets advice from that
    house."""
    feiten = m.feiten()
    register = default_register()
    uitslag = register.resolve(feiten.gemeente, feiten.datum)
    if uitslag.kind != "zuid-limburg":
        # The melder names the gemeente the person lives in (in the synthetic year: any of that day).
        feiten = replace(feiten, gemeente=synthetic.kies_gemeente(rng, feiten.datum))
        uitslag = register.resolve(feiten.gemeente, feiten.datum)
    assert uitslag.zvh is not None
    if m.beslissing is not None and m.beslissing.outcome == "routed":  # sent back by the house
        return uitslag.zvh, "c-en-a"
    regels = d.ruleset.decide(feiten)
    if regels.outcome == "routed" and regels.zvh == uitslag.zvh and regels.product:
        return uitslag.zvh, regels.product
    return uitslag.zvh, PRODUCT_VAN_DE_STROOM.get(feiten.soort, "c-en-a")


def _per_blok(regels: list[str]) -> Iterator[tuple[datetime, list[str]]]:
    """The lines grouped by the block of four hours they arrive in, each group with the moment its
    last line came in. A line whose time cannot be read (broken input) arrives with the line before."""
    blok: list[str] = []
    laatste: datetime | None = None
    for regel in regels:
        moment = _aankomst(regel) or laatste
        if blok and moment is not None and laatste is not None and _blok(moment) != _blok(laatste):
            yield laatste, blok
            blok = []
        blok.append(regel)
        laatste = moment or laatste
    if blok and laatste is not None:
        yield laatste, blok


def _blok(moment: datetime) -> tuple[date, int]:
    lokaal = moment.astimezone(NL)
    return lokaal.date(), lokaal.hour // 4


def _aankomst(regel: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(json.loads(regel)["ontvangen_op"])
    except (ValueError, KeyError, TypeError):
        return None
    return moment if moment.tzinfo is not None else None


def speel_jaar(d: Dienst, klok: synthetic.Klok, regels: list[str], year: int, seed: int) -> tuple[dict, dict]:
    """Play a synthetic year on the service whose loket records on `klok`: intake at the moments
    the lines arrive, the people's actions after. Returns what intake did and what people did."""
    jaar = _Jaar(d, klok, year, seed)
    jaar.speel(regels)
    return jaar.samenvatting, jaar.gedaan


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    db = Path(args.db)
    try:
        regels = list(synthetic.jaar(args.year, args.seed, args.scale))
    except ValueError as exc:  # a year before the gemeenten whose inhabitants the synthetic year knows
        raise CommandoFout(f"--year {args.year}: {exc}") from None
    for suffix in ("", "-wal", "-shm", ".keys", ".keys-wal", ".keys-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    console = Console()
    console.print(f"Demo: een synthetisch jaar {args.year} (seed {args.seed}) → {db}, opgenomen op de gesimuleerde "
                  "tijdstippen (de synthetische klok)")
    started = time.perf_counter()
    beheer = Gebruiker(settings.user, Rol(BEHEER, compartimenten=_ALLES))
    klok = synthetic.Klok(datetime(args.year, 1, 1, tzinfo=NL))
    try:
        # The demo's store is made again by running the demo again: its commits need not wait for the disk.
        with dienst(replace(settings.with_db(db), events_rebuildable=True), klok=klok) as d:
            summary, worked = speel_jaar(d, klok, regels, args.year, args.seed)
            d.bij()
            with d.overzicht(beheer) as o:
                rows, stats, waiting = o.caseload(op=date(args.year, 12, 31)), o.statistiek(args.year), len(o.triage())
                statuses = tellingen(o.store)
            events = d.app.recorder.max_notification_id() or 0
    finally:
        # The lock that keeps two processes from creating a store's tables at once: of no use once
        # the demo's store is made, and not to be left in the directory the demo was run in.
        Path(f"{db}.lock").unlink(missing_ok=True)
        Path(f"{db}.projecties.lock").unlink(missing_ok=True)  # the projection writer's (loket/bootstrap.py)
    seconds = time.perf_counter() - started
    console.print(caseload_table(rows, f"Caseload eind {args.year}: lopende meldingen per ZVH en product"))
    console.print(_stats_table(stats, args.year))
    console.print(
        f"{summary['received']} regels ontvangen: {summary['new']} nieuwe meldingen, "
        f"{summary['duplicates']} dubbel, {summary['rejected']} afgewezen (loket afgewezen); "
        f"{statuses.get('doorverwezen', 0)} doorverwezen, {waiting} wachten in triage. "
        f"Behandeld: {worked['geaccepteerd']} geaccepteerd, {worked['gesloten']} gesloten, "
        f"{worked['teruggestuurd']} teruggestuurd, {worked['triage besloten']} triagebesluiten, "
        f"{worked['regisseur gewisseld']} keer een andere regisseur, {worked['geinformeerd']} partijen geïnformeerd. "
        f"{events} events in {seconds:.1f} s. Terugkijken: loket caseload --as-of {args.year}-06-30 "
        f"(LOKET_DB={db})."
    )
    emit({**summary, **{k.replace(" ", "_"): v for k, v in worked.items()}, "events": events,
          "seconds": round(seconds, 2), "db": str(db)})
    return 0


def _stats_table(stats: list[dict], year: int) -> Table:
    per_product: dict[str, list[int]] = {}
    for r in stats:
        totals = per_product.setdefault(r["product"], [0, 0])
        totals[0] += r["dit_jaar"]
        totals[1] += r["gesloten"]
    table = Table(title=f"Statistiek {year}: gerouteerde meldingen per product (loket stats --year {year})")
    for column in ("product", "aangemeld", "gesloten"):
        table.add_column(column, justify="left" if column == "product" else "right")
    for product, (n, closed) in sorted(per_product.items()):
        table.add_row(product, str(n), str(closed))
    return table


def register(command) -> None:
    sp = command("demo", cmd_demo, "a synthetic year of meldingen through the pipeline, then the caseload")
    sp.add_argument("--year", type=int, default=2025)
    sp.add_argument("--seed", type=int, default=2025)
    sp.add_argument("--scale", type=float, default=1.0, help="volume factor (1.0 = a realistic year)")
    sp.add_argument("--db", default="loket-demo.sqlite", help="store for the demo (recreated)")
