"""Growth: the per-event cost of intake when the event store holds 10k, 100k and 1M events.

    python bench/growth.py [--million] [--postgres] [--probe 6000] [--rounds 3] [--no-write]

One store per size is filled with synthetic years of meldingen (each year's
kenmerken made unique) through `Loket.ontvang_batch`. Then, round after round,
each store receives a probe of fresh meldingen (about --probe events), timed,
the stores taking turns batch by batch, so a busy spell of the machine slows
them alike. Every store is measured at rest: after filling, the benchmark waits
for its writes to reach the disk. The 10k store is filled afresh for every
round, so probes do not make it a bigger store; the others grow by the probes
only slightly. The median round of each counts (the best rounds are shown
beside it). Target: at 1M the cost per event is at most 1.3x the cost at 10k;
peak RSS after filling the 1M store (target < 500 MB). Writes the
"Scale: growth" section (or "Scale: growth, PostgreSQL") of bench/RESULTS.md.
"""

from __future__ import annotations

import itertools
import os
import resource
import statistics
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

from catchup import fresh_store, select_and_decode
from scale import machine, options, profile_seconds, store, werkmap

# scale has put this working copy first on sys.path: the project's imports come after it.
# isort: split

from events.application import Loket
from loket import synthetic
from loket.bootstrap import maak_loket
from loket.service import BATCH
from projections import Projecties
from projections.runner import catch_up
from results import write_section
from tests.pgserver import PostgresServer


def meldingen() -> Iterator[list[str]]:
    """Batches of lines, synthetic year after year, for ever; kenmerken unique across years."""
    year = 0
    while True:
        year += 1
        lines = [
            line.replace('"kenmerk": "', f'"kenmerk": "J{year}-', 1)
            for line in synthetic.jaar(2025, seed=year, scale=1.0)
        ]
        for i in range(0, len(lines), BATCH):
            yield lines[i : i + BATCH]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def written_bytes() -> int:
    """Bytes this process has sent to storage (Linux); SQLite writes in-process, PostgreSQL does not."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def settle() -> None:
    """Wait until what filling a store wrote has reached the disk.

    Filling the 1M store writes more than a gigabyte in minutes; the kernel writes it
    back for a good while after, and every probe's commit would wait behind that. A
    store of that size grew over years: the probes measure it at rest, as they do the
    small one.
    """
    os.sync()


def events_in(app: Loket) -> int:
    return app.recorder.max_notification_id() or 0


def receive(app: Loket, batches: Iterator[list[str]], events: int) -> tuple[int, float, float, int]:
    """Receive batches until `events` more events are stored: (events, wall s, CPU s, bytes written)."""
    start = now = events_in(app)
    wall = cpu = 0.0
    written = written_bytes()
    while now - start < events:
        batch = next(batches)
        w, c = time.perf_counter(), time.process_time()
        app.ontvang_batch(batch)
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
        now = events_in(app)
    return now - start, wall, cpu, written_bytes() - written


def probe(apps: dict[int, Loket], batches: Iterator[list[str]],
          events: int) -> dict[int, tuple[int, float, float, int]]:
    """Every store receives about `events` more events, one batch each in turn.

    Batch by batch rather than store after store: this machine is shared, and its slow
    spells last seconds, so stores taking turns every tenth of a second meet them alike.
    Per store: (events, wall s, CPU s, bytes written).
    """
    took = {size: (0, 0.0, 0.0, 0) for size in apps}
    while any(t[0] < events for t in took.values()):
        for size, app in apps.items():
            if took[size][0] < events:
                took[size] = tuple(a + b for a, b in zip(took[size], receive(app, batches, 1), strict=True))
    return took


def catch_up_speed(app: Loket, path: Path) -> tuple[float, float, float]:
    """All projections caught up from zero over the store, and the raw select + decode of the same
    notifications: (projection events/s, raw events/s, peak RSS after, MB)."""
    events = events_in(app)
    raw = select_and_decode(app, tuple(sorted({t for p in Projecties.projections for t in p.topics()})))
    views = fresh_store(path)
    started = time.perf_counter()
    catch_up(app, views)
    ours = time.perf_counter() - started
    views.datastore.close()
    return events / ours, events / raw, peak_rss_mb()


# Where intake's time goes, per event: the parts whose cost could grow with the stores.
PARTS = {
    "existence query": ("events/recorders.py", "existing"),
    "sealing: looking up subject keys": ("privacy/keystore.py", "live_keys"),
    "sealing: storing new keys (key store commit)": ("privacy/keystore.py", "add"),
    "hash chain": ("events/hashchain.py", "_chain"),
    "inserting the events (and committing)": ("eventsourcing/application.py", "_record"),
}


def _probe(received: list[int], app: Loket, batches: Iterator[list[str]], events: int) -> None:
    received.append(receive(app, batches, events)[0])


def where_it_grows(small: Loket, large: Loket, batches: Iterator[list[str]], events: int) -> list[str]:
    """cProfile a probe on the smallest and the largest store: each part's µs per event on both."""
    per: list[dict[str, float]] = []
    for app in (small, large):
        received: list[int] = []
        total, seconds = profile_seconds(partial(_probe, received, app, batches, events), PARTS)
        per.append({"all of intake": total / received[0] * 1e6,
                    **{k: v / received[0] * 1e6 for k, v in seconds.items()}})
    return [f"{label} {per[0][label]:.0f} → {per[1][label]:.0f}" for label in per[0]]


def main() -> None:
    p = options(__doc__)
    p.add_argument("--million", action="store_true", help="a 1M-event store too (several minutes to fill)")
    p.add_argument("--postgres", action="store_true", help="on a temporary PostgreSQL server instead of SQLite")
    p.add_argument("--probe", type=int, default=6_000, help="events received per store per round")
    p.add_argument("--sizes", type=lambda s: [int(n) for n in s.split(",")],
                   help="the stores' sizes in events, comma-separated, instead of 10k, 100k (and 1M)")
    args = p.parse_args()
    sizes = args.sizes or [10_000, 100_000] + ([1_000_000] if args.million else [])

    tmp = werkmap("bench-growth-")
    server = PostgresServer(durable=True).start() if args.postgres else None
    stored = "PostgreSQL (fsync on)" if server else "SQLite (WAL)"
    stores = itertools.count()

    def new_store() -> Loket:
        settings = store(tmp, f"s{next(stores)}", server.new_database() if server else None)
        return maak_loket(settings)

    batches = meldingen()
    try:
        print(f"growth on {stored}: stores of {', '.join(f'{s:,}' for s in sizes)} events")
        apps: dict[int, Loket] = {}
        rss: dict[int, float] = {}
        fill_minutes = 0.0
        for size in sizes:
            started = time.perf_counter()
            apps[size] = new_store()
            receive(apps[size], batches, size)
            settle()
            fill_minutes += (time.perf_counter() - started) / 60
            rss[size] = peak_rss_mb()
            print(f"  filled {events_in(apps[size]):,} events; peak RSS {rss[size]:.0f} MB", flush=True)

        rounds: dict[int, list[tuple[float, float]]] = {}  # per store: (wall, CPU) µs/event of each round
        written: dict[int, list[float]] = {size: [] for size in sizes}
        for r in range(args.rounds):
            if r:  # the smallest store afresh, so probes do not grow it
                apps[sizes[0]].close()
                apps[sizes[0]] = new_store()
                receive(apps[sizes[0]], batches, sizes[0])
                settle()
            at = {size: events_in(app) for size, app in apps.items()}
            took = probe(apps, batches, args.probe)
            for size, (events, wall, cpu, nbytes) in took.items():
                per = (wall / events * 1e6, cpu / events * 1e6)
                written[size].append(nbytes / events)
                print(f"  round {r + 1}: store of {at[size]:,}: {per[0]:.0f} us/event ({per[1]:.0f} CPU), "
                      f"{nbytes / events / 1024:.1f} KiB written/event", flush=True)
                rounds.setdefault(size, []).append(per)
        grows = where_it_grows(apps[sizes[0]], apps[sizes[-1]], batches, args.probe)
        catching_up = {}
        for size in sizes:
            catching_up[size] = catch_up_speed(apps[size], tmp / f"views-{size}.sqlite")
            print(f"  catch-up over {events_in(apps[size]):,} events: {catching_up[size][0]:,.0f} events/s, "
                  f"select + decode {catching_up[size][1]:,.0f} events/s", flush=True)
        final = {size: events_in(app) for size, app in apps.items()}
        for app in apps.values():
            app.close()
    finally:
        if server:
            server.stop()

    # The median round: this machine's slow spells come and go, so one lucky round of the small
    # store alone would make the best-round ratio look worse than it is, and one of the large alone better.
    median = {size: tuple(statistics.median(r[i] for r in rounds[size]) for i in (0, 1)) for size in sizes}
    best = {size: tuple(min(r[i] for r in rounds[size]) for i in (0, 1)) for size in sizes}
    base, base_best = median[sizes[0]], best[sizes[0]]
    table = [
        "| store holds | µs/event (wall, median round) | **ratio to 10k** (target ≤ 1.3×) | µs/event (CPU) "
        "| ratio to 10k | ratio, best rounds (wall) | KiB written by intake per event | peak RSS after filling |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        wall, cpu = median[size]
        kib = f"{statistics.median(written[size]) / 1024:.1f}" if not server else "(in the server)"
        table.append(
            f"| {size:,} | {wall:.0f} | **{wall / base[0]:.2f}×** | {cpu:.0f} | {cpu / base[1]:.2f}× "
            f"| {best[size][0] / base_best[0]:.2f}× | {kib} | {rss[size]:.0f} MB |"
        )
    catch_up_table = [
        "| store holds | events | catch-up, all projections, events/s | select + decode events/s | ratio "
        "| peak RSS after |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        ours, raw, after = catching_up[size]
        catch_up_table.append(
            f"| {size:,} | {final[size]:,} | {ours:,.0f} | {raw:,.0f} | {ours / raw:.2f}× | {after:.0f} MB |"
        )
    on_disk = why = ""
    if not server:
        kib = {size: statistics.median(written[size]) / 1024 for size in sizes}
        why = (
            " Why SQLite grew, and what still grows: SQLite writes whole pages, to its write-ahead log at every "
            "commit and into the file at every checkpoint, so what a batch costs grows with the pages it dirties. "
            "A melding's id was a hash of (bron, kenmerk), so each melding's events went to a page of the events' "
            "primary-key index at random; new meldingen get an id that grows with time (a UUIDv7, "
            "events/melding.py), so a batch's events go to that index's last pages, and the duplicate check asks "
            "a table of (bron, kenmerk) kept beside the events (events/recorders.py), which takes a batch's rows "
            "where each source's kenmerken lie (here within the year being received). What still grows is the key "
            "store's subject index: a subject is a keyed pseudonym, random by design, and keys are looked up by "
            "it, so in the large store each new subject of a batch dirties a page of that index of its own. "
            f"{kib[sizes[0]]:.1f} KiB written per event at {sizes[0]:,}, {kib[sizes[-1]]:.1f} KiB at "
            f"{sizes[-1]:,}. PostgreSQL's log holds the changed rows, not their pages; with PostgreSQL the key "
            "store here is still an SQLite file, and its subject index is what the KiB written there grow with."
        )
        biggest = tmp / f"s{len(sizes) - 1}.sqlite"
        on_disk = f" The largest SQLite file: {biggest.stat().st_size / 2**20:,.0f} MB for {final[sizes[-1]]:,} events."
    heading = "## Scale: growth" + (", PostgreSQL" if server else "")
    flags = "".join(f" --{f}" for f in ("million", "postgres") if getattr(args, f))
    section = "\n".join(
        [
            heading,
            "",
            f"`python bench/growth.py{flags}` on {machine()}; {stored}. Stores filled in {fill_minutes:.1f} min "
            f"in all, each then left to reach the disk; then {args.rounds} rounds in which each store received "
            f"about {args.probe:,} more events of fresh meldingen, the stores taking turns batch by batch (the "
            "10k store filled afresh each round); the median round counts, the best rounds beside it. "
            f"Peak RSS of the whole process.{on_disk}",
            "",
            *table,
            "",
            f"Where it grows (cProfile of one more probe on the {sizes[0]:,} and the {sizes[-1]:,} store, µs per "
            f"event, this run): {'; '.join(grows)}. KiB written counts what this process sends to storage: with "
            "SQLite the events, the key store and their write-ahead logs; with PostgreSQL only the key store, an "
            f"SQLite file (the events are written by the server).{why}",
            "",
            "Catch-up at each size: every projection (`loket projections rebuild`: "
            f"{', '.join(p.name for p in Projecties.projections)}) from zero into a fresh SQLite projection store, "
            "in the library's default pages, against selecting and decoding the same notifications; once per store.",
            "",
            *catch_up_table,
        ]
    )
    print(section)
    if not args.no_write:
        write_section(heading, section)


if __name__ == "__main__":
    main()
