"""Catch-up: projection events/s vs the raw notification select + decode.

    python bench/catchup.py [--meldingen 20000] [--rounds 3] [--no-postgres] [--no-write]

Ours: `projections.runner.catch_up` of the caseload projection into a fresh
projection store (read a page, decode, write the rows and the position in one
transaction). Baseline: the same pages read with `recorder.select_notifications`
and decoded with `mapper.to_domain_event`, nothing written. Both read the same
event store; with PostgreSQL events, once into an SQLite projection store and
once into a PostgreSQL one (a fresh schema of the events' database, as
`loket.bootstrap` has it). Target: ours >= 0.5x the baseline.
Both sides once more with the cyclic garbage collector off (as `timeit` does),
and one cProfile run, to show where the time goes. Rounds are interleaved and
the best round of each counts. Writes the "Scale: catch-up" section of
bench/RESULTS.md.
"""

from __future__ import annotations

import gc
import itertools
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from scale import interleaved, lines, machine, options, profile_seconds, profile_shares, store, werkmap

# scale has put this working copy first on sys.path: the project's imports come after it.
# isort: split

from events.application import Loket
from events.datastore import Datastore, projectie_datastore
from loket.bootstrap import maak_loket
from loket.service import BATCH
from loket.settings import Settings, postgres_env
from projections import Projecties
from projections.caseload import Caseload
from projections.runner import catch_up
from projections.store import Projection
from projections.tellingen import Tellingen
from results import write_section
from tests.pgserver import PostgresServer, bin_dir

PAGE = 2_000  # catch_up's default page size


def fill(settings: Settings, raws: list[str]) -> Loket:
    app = maak_loket(settings)
    for i in range(0, len(raws), BATCH):
        app.ontvang_batch(raws[i : i + BATCH])
    return app


def fresh_store(path: Path) -> Projecties:
    store = Projecties(Datastore(db_name=str(path), rebuildable=True))
    store.create_table()
    return store


def fresh_postgres_store(url: str, schema: str) -> Projecties:
    store = Projecties(projectie_datastore(postgres_env(url), schema))
    store.create_table()
    return store


def projection(app: Loket, path: Path, url: str | None = None, projectie: type[Projection] = Caseload) -> float:
    """Seconds to catch `projectie` up into a fresh store: an SQLite file at `path`, or with `url` a
    fresh schema (named after `path`) of that PostgreSQL database."""
    store = fresh_store(path) if url is None else fresh_postgres_store(url, path.stem.replace("-", "_"))
    started = time.perf_counter()
    catch_up(app, store, [projectie], page_size=PAGE)
    seconds = time.perf_counter() - started
    store.datastore.close()
    return seconds


def select_and_decode(app: Loket, topics: tuple[str, ...] = Caseload.topics()) -> float:
    last = app.recorder.max_notification_id() or 0
    position = 0
    started = time.perf_counter()
    while position < last:
        page = app.recorder.select_notifications(
            start=position, limit=PAGE, stop=last, topics=topics, inclusive_of_start=False
        )
        if not page:
            break
        for n in page:
            app.mapper.to_domain_event(n)
        position = page[-1].id
    return time.perf_counter() - started


def without_gc(side: Callable[[], float]) -> Callable[[], float]:
    def run() -> float:
        gc.collect()
        gc.disable()
        try:
            return side()
        finally:
            gc.enable()

    return run


def statement_cache(app: Loket, path: Path) -> dict[int, float]:
    """Seconds to run the caseload's statements for the whole store, by sqlite3 statement cache size.

    The eventsourcing library connects with cached_statements=True, which sqlite3 reads as 1: the
    projection's INSERT and UPDATE alternate, so each is compiled again every time.
    """
    notifications = app.recorder.select_notifications(start=1, limit=10**7, topics=Caseload.topics())
    statements = Caseload.statements(app.mapper.to_domain_event(n) for n in notifications)
    seconds = {}
    for size in (1, 128):
        conn = sqlite3.connect(path.with_suffix(f".cache{size}"), isolation_level=None, cached_statements=size)
        for ddl in Caseload.create:
            conn.execute(ddl)
        started = time.perf_counter()
        conn.execute("BEGIN")
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
        seconds[size] = time.perf_counter() - started
        conn.close()
    return seconds


def main() -> None:
    p = options(__doc__)
    p.set_defaults(meldingen=20_000)
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = p.parse_args()

    raws = lines(args.meldingen)
    tmp = werkmap("bench-catchup-")
    views = itertools.count()
    rows = []

    def measure(name: str, app: Loket, url: str | None = None) -> None:
        print(name)
        ours = lambda: projection(app, tmp / f"views-{next(views)}.sqlite", url)  # noqa: E731
        raw = lambda: select_and_decode(app)  # noqa: E731
        t = interleaved(args.rounds, ours=ours, raw=raw, ours_nogc=without_gc(ours), raw_nogc=without_gc(raw))
        rows.append((name, app.recorder.max_notification_id() or 0, t))

    sqlite_app = fill(store(tmp, "events"), raws)
    measure("SQLite", sqlite_app)
    print("SQLite, the counts of the figures")
    tellingen = interleaved(
        args.rounds, ours=lambda: projection(sqlite_app, tmp / f"views-{next(views)}.sqlite",
                                                projectie=Tellingen),
        raw=lambda: select_and_decode(sqlite_app, Tellingen.topics()))
    shares = profile_shares(
        lambda: catch_up(sqlite_app, fresh_store(tmp / "profiled.sqlite"), [Caseload], page_size=PAGE),
        {
            "selecting pages": ("eventsourcing/sqlite.py", "select_notifications"),
            "decoding events": ("eventsourcing/persistence.py", "to_domain_event"),
            "handing events to the projections (building rows)": ("projections/store.py", "add"),
            "running them and the tracking insert": ("projections/store.py", "apply"),
        },
    )
    # The counts alone, profiled the same way: what building their rows and writing them add.
    totaal, delen = profile_seconds(
        lambda: catch_up(sqlite_app, fresh_store(tmp / "profiled-counts.sqlite"), [Tellingen], page_size=PAGE),
        {
            "selecting": ("eventsourcing/sqlite.py", "select_notifications"),
            "decoding": ("eventsourcing/persistence.py", "to_domain_event"),
            "taking": ("projections/tellingen.py", "add"),
            "working": ("projections/tellingen.py", "schrijf"),
            "apply": ("projections/store.py", "apply"),
        },
    )
    tellingen_shares = ", ".join(f"{label} {seconds / totaal:.0%}" for label, seconds in (
        ("selecting pages", delen["selecting"]),
        ("decoding events", delen["decoding"]),
        ("taking from each event what the counts need", delen["taking"]),
        ("working a page through (states read and changed, cells, versions, rows built)", delen["working"]),
        ("running the rows and the tracking insert", delen["apply"] - delen["working"]),
    ))
    cache = statement_cache(sqlite_app, tmp / "statements")
    sqlite_app.close()
    if not args.no_postgres and bin_dir() is not None:
        with PostgresServer(durable=True) as pg:
            url = pg.new_database()
            pg_app = fill(store(tmp, "pg", url), raws)
            measure("PostgreSQL events, SQLite projection store", pg_app)
            measure("PostgreSQL events, PostgreSQL projection store", pg_app, url)
            pg_app.close()

    table = [
        "| event store | events | projection events/s | select + decode events/s | **ratio** (target ≥ 0.5×) "
        "| ratio, GC off on both sides |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, events, t in rows:
        table.append(
            f"| {name} | {events:,} | {events / t['ours']:,.0f} | {events / t['raw']:,.0f} "
            f"| **{t['raw'] / t['ours']:.2f}×** | {t['raw_nogc'] / t['ours_nogc']:.2f}× |"
        )
    tellingen_ratio = tellingen["raw"] / tellingen["ours"]
    section = "\n".join(
        [
            "## Scale: catch-up",
            "",
            f"`python bench/catchup.py` on {machine()}; the caseload projection caught up from zero over the "
            f"events of {len(raws):,} ingested lines, pages of {PAGE:,}, against reading and decoding the same "
            f"pages and writing nothing; best of {args.rounds} interleaved rounds.",
            "",
            *table,
            "",
            f"Where catch-up's time goes (cProfile, SQLite, this run): {shares}. Selecting and decoding are "
            "the baseline itself, so the ratio is what building and writing the rows add to it. Catch-up "
            "decodes each event once, hands it to every projection that has not seen it and lets it go (a "
            "page's events are never all held at once), with the cyclic garbage collector paused for the page; "
            "a melding received and routed in one page becomes one row insert, with positional parameters, "
            "and a page's inserts run as one executemany. The projection store commits without waiting for the "
            "disk (`synchronous=NORMAL`: it is rebuilt from the events) and copies its write-ahead log into the "
            "file every 10,000 pages. The store connects with sqlite3's statement cache of 128 (the library "
            f"asks for 1): the caseload statements for all these events took {cache[1]:.2f} s with a cache of 1 "
            f"and {cache[128]:.2f} s with 128 (this run). The PostgreSQL projection store (the one `loket."
            "bootstrap` uses with LOKET_DATABASE_URL) writes a page as one transaction on one connection, in "
            "psycopg's pipeline mode (one round trip per run of statements, not per row), committing without "
            "waiting for the server's disk (`synchronous_commit = off`: rebuildable). psycopg adapts an "
            "executemany's parameters row by row in Python (about 25 µs a row in cProfile) and the server runs "
            "each row as a statement of its own (one INSERT of 500 rows instead was 2.5× slower: the server "
            "parses and plans 10,000 parameters each time), so a run of 50 or more inserts of plain values (a "
            "page's new caseload rows, its audit entries) goes by COPY, which psycopg formats in C: straight "
            "into its table, or, with ON CONFLICT DO NOTHING, into a temporary table and from there by one "
            "INSERT ... SELECT with the same clause, in its place among the page's statements "
            "(`PostgresSchrijver`; updates and upserts stay statements). What is left is the server's own "
            "work (inserting the rows and their versions, seven index entries a melding), about as long as "
            "reading and decoding a page; so catch-up writes a page on a thread of its own while it reads and "
            "builds the next (projections/runner.py), each page still one transaction, in order. That needs a "
            "free core for the server: on a busy machine the ratio drops towards what it was without. On SQLite "
            "the thread made catch-up slower (its writes run in this process), so there a page is written "
            "before the next is read, as before. "
            "With history, a live row keeps "
            "the position from which its version holds, and the holding versions of the rows a page inserted "
            "are copied from the live rows in one statement (`RowProjection.overgenomen`) instead of being "
            "bound row by row; a version's values are taken only when a later one closes it.",
            "",
            f"The counts behind the figures of a year (projections/tellingen.py), caught up alone from zero over "
            f"the same events (SQLite, best of {args.rounds}): **{tellingen_ratio:.2f}×** select + decode of their "
            f"events ({tellingen['ours']:.2f} s against {tellingen['raw']:.2f} s). Where their catch-up's time goes "
            f"(cProfile, this run): {tellingen_shares}. A page reads its meldingen's states and the counts of the "
            "cells they touch, works its events through in order, and writes each melding's state (the JSON list "
            "of its values) and a version of every cell whose count changed at a moment: a melding received and "
            "routed at one moment moves out of its first cells at the moment it moved into them, and a version "
            "with the count of the one before it is not written, so about three versions per melding (year, "
            "month, lead time) where there were five. A melding's lead-time buckets are kept in its state when "
            "they become known, not computed from its times at every event; the history has no key of its own "
            "(the version that holds is found through the as-of index), so a version keeps two indexes up to "
            "date, not three.",
        ]
    )
    print(section)
    if not args.no_write:
        write_section("## Scale: catch-up", section)


if __name__ == "__main__":
    main()
