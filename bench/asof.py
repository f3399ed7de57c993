"""As of: an as-of read from the projections' history against the same live read, at 10k, 100k, 1M events.

    python bench/asof.py [--million] [--postgres] [--sizes 10000,100000] [--rounds 5] [--no-write]

One store per size is filled with meldingen that go through their lifecycle: synthetic years
received in batches (`Loket.ontvang_batch`; kenmerken unique across years), and a few batches
later the routed ones accepted and the triage ones decided, and later still closed (a tenth sent
back to the loket first, decided again, accepted and closed in turn); so the open caseload stays
about the same size while the history grows, as a loket's does. The projections are then caught up.

Each read is one overview of an auditor, through the service (`Dienst.overzicht`): the caseload
and its flow per month (what /web/caseload shows), a page of the triage queue, the overdue
deadlines, a page of a house's queue and one melding's audit trail ("the page"); and, apart, a
year's statistics as /web/statistiek shows them (`Overzicht.cijfers`: per product and gemeente,
the annual report's tables, inflow, open and overdue per month, the lead times per month), read
from the counts of projections/tellingen.py.
Live: as they stand now; as of: at the moment the store's middle
event was recorded. The page and the year's figures are also read as of one point of the history that every
store shares (each is filled from the same first batch on): the moment the smallest store's
middle event was recorded, the same question with the same answer in stores 1x, 10x and 100x as
long. Round after round every store and both sides take turns, so a busy spell of
the machine slows them alike; the median round counts. Targets: as of costs at most 2x the same
live read, and at 1M at most 1.3x what it costs at 10k. Writes the "As of" section (or "As of,
PostgreSQL") of bench/RESULTS.md.
"""

from __future__ import annotations

import itertools
import shutil
import statistics
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from growth import meldingen, settle
from scale import machine, options, profile_shares, store

# scale has put this working copy first on sys.path: the project's imports come after it.
# isort: split

from events.application import Loket
from events.melding import Melding
from events.toegang import Rol
from loket.bootstrap import Systeem, bootstrap
from loket.service import Dienst, Gebruiker
from projections.lijsten import Vraag
from results import write_section
from tests.pgserver import PostgresServer

AUDITOR = Gebruiker("bench", Rol("auditor"))
ACCEPT_NA, SLUIT_NA = 3, 12  # batches after intake: accepted (or decided), closed
# The same questions in every store: the page and 2025's figures as of one point of the history they share.
SAME_PAGE, SAME = "page, one moment", "statistics, one moment"
LEVEND = {SAME_PAGE: "page", SAME: "statistics"}  # their live side: the live read of the same kind
PER_BATCH = 50  # meldingen received at once: a 10k store sees many batches, so its caseload is steady too


def events_in(app: Loket) -> int:
    return app.recorder.max_notification_id() or 0


class Levensloop:
    """Meldingen received batch by batch, then accepted or decided, then closed."""

    def __init__(self, app: Loket) -> None:
        self.app = app
        self.batches = 0
        self.te_accepteren: deque[tuple[int, list[UUID], list[UUID]]] = deque()
        self.te_sluiten: deque[tuple[int, list[Melding], bool]] = deque()

    def stap(self, batch: list[str]) -> None:
        self.batches += 1
        routed, triage = [], []
        for o in self.app.ontvang_batch(batch):
            if o.beslissing is None or o.status != "nieuw":
                continue
            if o.beslissing.outcome == "routed":
                routed.append(o.melding_id)
            elif o.beslissing.outcome == "triage":
                triage.append(o.melding_id)
        self.te_accepteren.append((self.batches + ACCEPT_NA, routed, triage))
        while self.te_accepteren and self.te_accepteren[0][0] <= self.batches:
            _, routed, triage = self.te_accepteren.popleft()
            beslist = [self.app.handel(self.app.melding(i), "decide", actor="loket", zvh="parkstad",
                                       product="c-en-a", reden="Besloten.") for i in triage]
            meldingen = [self.app.melding(i) for i in routed] + beslist
            self._samen(meldingen, lambda m, _: m.accepteer(actor="medewerker", regisseur="R. Egisseur"))
            self.te_sluiten.append((self.batches + SLUIT_NA, meldingen, True))
        while self.te_sluiten and self.te_sluiten[0][0] <= self.batches:
            _, meldingen, terugsturen = self.te_sluiten.popleft()
            terug = meldingen[::10] if terugsturen else []
            self._samen(terug, lambda m, v: m.retour(actor="medewerker", reden="Hoort elders.", verzegel=v))
            # Sent back, decided again, accepted by the house it went to, and closed in turn.
            terug = [self.app.handel(m, "decide", actor="loket", zvh="parkstad", product="c-en-a",
                                     reden="Opnieuw besloten.") for m in terug]
            self._samen(terug, lambda m, _: m.accepteer(actor="medewerker", regisseur="R. Egisseur"))
            self.te_sluiten.append((self.batches + SLUIT_NA, terug, False))
            self._samen([m for i, m in enumerate(meldingen) if not terugsturen or i % 10],
                        lambda m, v: m.sluit(actor="medewerker", resultaat="Afgerond.", verzegel=v))

    def _samen(self, meldingen: list[Melding], command: Callable[[Melding, Any], None]) -> None:
        """One action on many meldingen (kept loaded from one action to the next), in one transaction."""
        if not meldingen:
            return
        sessie = self.app.kluis.sessie()
        for m in meldingen:
            def verzegel(veld: str, tekst: str, m: Melding = m) -> dict[str, Any]:
                return sessie.verzegel(m.betrokkene, m.compartiment, m.id, veld, tekst)
            command(m, verzegel)
        sessie.bewaar()
        self.app.save(*meldingen)


def kleiner(batches: Iterator[list[str]]) -> Iterator[list[str]]:
    for batch in batches:
        for i in range(0, len(batch), PER_BATCH):
            yield batch[i : i + PER_BATCH]


def fill(systeem: Systeem, batches: Iterator[list[str]], events: int) -> None:
    loop = Levensloop(systeem.app)
    while events_in(systeem.app) < events:
        loop.stap(next(batches))


def midden(systeem: Systeem) -> tuple[datetime, UUID]:
    """The moment the store's middle event was recorded, and a melding the auditor may read then."""
    return toen(systeem, events_in(systeem.app) // 2)


def toen(systeem: Systeem, positie: int) -> tuple[datetime, UUID]:
    """The moment the event at this position was recorded, and a melding the auditor may read then."""
    [rij] = systeem.projecties.rows("SELECT positie, tijdstip FROM tijdlijn WHERE positie >= :p ORDER BY positie "
                                    "LIMIT 1", {"p": positie})
    [melding] = systeem.projecties.rows(
        "SELECT melding_id FROM audit_trail WHERE positie <= :p AND positie > :p - 5000 AND gebeurtenis = "
        "'MeldingGeaccepteerd' ORDER BY positie DESC LIMIT 1", {"p": rij["positie"]})
    moment = datetime.strptime(rij["tijdstip"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return moment, UUID(melding["melding_id"])


def pagina(d: Dienst, moment: datetime | None, melding: UUID) -> Callable[[], float]:
    def lees() -> float:
        started = time.perf_counter()
        with d.overzicht(AUDITOR, moment) as o:
            o.caseload()
            o.verloop()
            o.triage_pagina(Vraag())
            o.termijnen(Vraag(termijn="verlopen"))
            o.wachtrij_pagina("parkstad", Vraag())
            o.audit(melding)
        return time.perf_counter() - started

    return lees


def cijfers(d: Dienst, moment: datetime | None) -> Callable[[], float]:
    def lees() -> float:
        started = time.perf_counter()
        with d.overzicht(AUDITOR, moment) as o:
            o.cijfers(2025)
        return time.perf_counter() - started

    return lees


def main() -> None:
    p = options(__doc__)
    p.set_defaults(rounds=5)
    p.add_argument("--million", action="store_true", help="a 1M-event store too (many minutes to fill)")
    p.add_argument("--postgres", action="store_true", help="events on a temporary PostgreSQL server")
    p.add_argument("--sizes", type=lambda s: [int(n) for n in s.split(",")],
                   help="the stores' sizes in events, comma-separated, instead of 10k, 100k (and 1M)")
    p.add_argument("--reads", type=int, default=5, help="reads of each kind per store and side per round")
    args = p.parse_args()
    sizes = args.sizes or [10_000, 100_000] + ([1_000_000] if args.million else [])
    tmp = Path(tempfile.mkdtemp(prefix="bench-asof-"))
    server = PostgresServer(durable=True).start() if args.postgres else None
    stored = "PostgreSQL (fsync on), events and projections" if server else "SQLite (WAL)"
    names = itertools.count()
    systemen: dict[int, Systeem] = {}
    cellen: dict[int, int] = {}
    fill_minutes = catch_up_minutes = 0.0
    try:
        print(f"as of on {stored}: stores of {', '.join(f'{s:,}' for s in sizes)} events", flush=True)
        for size in sizes:
            settings = store(tmp, f"s{next(names)}", server.new_database() if server else None)
            systeem = systemen[size] = bootstrap(settings)
            started = time.perf_counter()
            # Every store from the same first batch: the history of the smallest is the start of each.
            fill(systeem, kleiner(meldingen()), size)
            settle()
            fill_minutes += (time.perf_counter() - started) / 60
            started = time.perf_counter()
            systeem.bij()
            catch_up_minutes += (time.perf_counter() - started) / 60
            versies = systeem.projecties.rows("SELECT COUNT(*) AS n FROM caseload_meldingen_historie")[0]["n"]
            lopend = systeem.projecties.rows("SELECT COUNT(*) AS n FROM caseload_meldingen WHERE status IN "
                                             "('open', 'in-behandeling', 'triage')")[0]["n"]
            cellen[size] = systeem.projecties.rows(
                "SELECT COUNT(*) AS n FROM cijfers_tellingen WHERE jaar = '2025' AND n > 0")[0]["n"]
            print(f"  filled {events_in(systeem.app):,} events, {versies:,} caseload versions, "
                  f"{lopend:,} meldingen open or in triage, {cellen[size]:,} cells of 2025 counted", flush=True)
        sides: dict[tuple[int, str, str], Callable[[], float]] = {}
        vroeg = events_in(systemen[sizes[0]].app) // 2  # the smallest store's middle, in every store
        for size, systeem in systemen.items():
            d = Dienst(systeem)
            moment, melding = midden(systeem)
            for kant, at in (("live", None), ("as of", moment)):
                sides[(size, "page", kant)] = pagina(d, at, melding)
                sides[(size, "statistics", kant)] = cijfers(d, at)
                sides[(size, "page", kant)]()  # warm: the first read of a store opens its caches
            eerder, eerder_melding = toen(systeem, vroeg)
            sides[(size, SAME_PAGE, "as of")] = pagina(d, eerder, eerder_melding)  # live: "page" live
            sides[(size, SAME, "as of")] = cijfers(d, eerder)  # live: "statistics" live
        took: dict[tuple[int, str, str], list[float]] = {k: [] for k in sides}
        for r in range(args.rounds):
            for key, side in sides.items():
                took[key].append(min(side() for _ in range(args.reads)))
            print(f"  round {r + 1}: " + ", ".join(
                f"{k[0]:,} {k[1]} {k[2]} {took[k][-1] * 1e3:.1f} ms" for k in sides), flush=True)
        largest = systemen[sizes[-1]]
        d = Dienst(largest)
        moment, melding = midden(largest)
        shares = profile_shares(lambda: [pagina(d, moment, melding)() for _ in range(20)], {
            "finding the position (time line)": ("projections/tijdlijn.py", "positie_op"),
            "rewriting the queries": ("projections/store.py", "historisch"),
            "running the queries": ("projections/store.py", "rows"),
            "reading the melding from the event store (access check)": ("loket/service.py", "melding"),
            "the projections' positions (up to date?)": ("loket/service.py", "_bijgewerkt"),
        })
        events = {size: events_in(s.app) for size, s in systemen.items()}
    finally:
        for s in systemen.values():
            s.close()
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # the 1M store is gigabytes

    med = {k: statistics.median(v) for k, v in took.items()}
    table = [
        "| store holds | read | live ms (median round) | as of ms | **as of / live** (target ≤ 2×) "
        "| **as of, ratio to the smallest store** (target ≤ 1.3× at 1M) | live, ratio to the smallest store |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for read in ("page", SAME_PAGE, "statistics", SAME):
        levend = LEVEND.get(read, read)  # one live read of each kind for both its rows
        for size in sizes:
            live, asof = med[(size, levend, "live")], med[(size, read, "as of")]
            table.append(
                f"| {events[size]:,} | {read} | {live * 1e3:.1f} | {asof * 1e3:.1f} | **{asof / live:.2f}×** "
                f"| **{asof / med[(sizes[0], read, 'as of')]:.2f}×** | {live / med[(sizes[0], levend, 'live')]:.2f}× |")
    heading = "## As of" + (", PostgreSQL" if server else "")
    section = "\n".join([
        heading,
        "",
        f"`python bench/asof.py{' --million' if args.million else ''}{' --postgres' if server else ''}` on "
        f"{machine()}; {stored}. Stores filled with meldingen through their lifecycle (received; "
        f"{ACCEPT_NA} batches later accepted or decided from triage; {SLUIT_NA} batches after that closed, a "
        f"tenth sent back first, decided again, accepted and closed {SLUIT_NA} batches later) in "
        f"{fill_minutes:.1f} min, projections caught up in {catch_up_minutes:.1f} min in all. "
        f"{args.rounds} rounds, every store and side in turn, each the best "
        f"of {args.reads} reads; the median round counts. \"page\": an auditor's overview through the service "
        "(the caseload and its flow per month as /web/caseload shows them, a page of triage, the overdue "
        "deadlines, a page of Parkstad's queue, one melding's audit trail); \"statistics\": a year's figures "
        "as /web/statistiek shows them (per product and gemeente, the annual report's tables, inflow, open "
        "and overdue per month, lead times per month). "
        "As of: the moment the store's middle event was recorded. \"page, one moment\" and \"statistics, one "
        f"moment\": the same page and year's figures as of the moment event {vroeg:,} was recorded, the smallest "
        "store's middle; every store is filled from the same first batch on, so these are the same questions "
        "with the same answers in each, asked of histories "
        f"{', '.join(f'{events[n] / events[sizes[0]]:.0f}×' for n in sizes)} as long (live: the page and the "
        "year's figures now, as in \"page\" and \"statistics\").",
        "",
        *table,
        "",
        "Cells of 2025 the statistics read (counts above zero): "
        + ", ".join(f"{cellen[size]:,} at {events[size]:,} events" for size in sizes)
        + ". The bench's meldingen are the synthetic year 2025 again and again, received in order of date, so "
        "the smallest store holds the first months of it only and has fewer cells; from a full year on the "
        "cells stay as they are (the lead times' buckets: receipt in 2025, decisions recorded today). So "
        "\"statistics\" asks a smaller question of the smallest store than of the others, and \"statistics, "
        "one moment\" asks them all the same one (so too the caseload's flow per month on the page: a month "
        "for each the store has seen)"
        + (f"; from the {events[sizes[1]]:,}-event store to the largest the statistics read as of grew "
           f"{med[(sizes[-1], 'statistics', 'as of')] / med[(sizes[1], 'statistics', 'as of')]:.2f}× and "
           f"live {med[(sizes[-1], 'statistics', 'live')] / med[(sizes[1], 'statistics', 'live')]:.2f}×"
           if len(sizes) > 2 else "") + ".",
        "",
        f"Where an as-of page's time goes (cProfile, the largest store, this run): {shares}.",
        "",
        "How: the caseload, deadline and informeren projections keep every version of their rows with the "
        "positions in the log from which and until which it held (`<table>_historie`), the audit trail each "
        "entry's position, and a time line maps a moment to the last position recorded by then (one index "
        "seek). An as-of read runs the live queries with each table replaced by its versions holding at that "
        "position, found through a relational interval tree: each version carries a node, and the versions "
        "holding at a position are those at the at most 40 nodes on its path, each one index range "
        "(node, status, position), so a read of the open meldingen seeks only those. \"statistics\" reads counts, "
        "not meldingen: cells per year or month, product, gemeente, house and stream (projections/tellingen.py), "
        "each count's versions kept the same way and indexed by (node, kind of cell, year, position), each index "
        "holding what the read takes from a version (the cell's number, its count, from when it held), so a "
        "year's figures read the versions of that year's cells from the index alone and no melding (the months' "
        "figures, which count meldingen of earlier years still open, name those years one by one: a range on "
        "the year would leave the position unbounded and read every version at a node); lead times are counted "
        "in buckets (0.1 h below 48 h, 1 h up to 30 days, 1 day up to 90 days, 30 days beyond), their median and "
        "90th percentile exact to that.",
    ])
    print(section)
    if not args.no_write:
        write_section(heading, section)


if __name__ == "__main__":
    main()
