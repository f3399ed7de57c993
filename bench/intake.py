"""Intake: meldingen/s through the whole pipeline vs raw inserts of the same lines.

Ours: `Loket.ontvang_batch` in the CLI's batches (parse, validate, decide, build
the aggregates, check for duplicates, store the events: group commit). Baselines:
the same lines inserted raw, keyed by (bron, kenmerk), with sqlite3 (WAL,
synchronous=FULL) and with psycopg against a temporary PostgreSQL server (fsync
on) started here: batched like ours (the same lines per durable commit; target:
ours >= 0.3x) and one durable commit per melding (target: ours >= 0.5x).

    python bench/intake.py [--meldingen 7000] [--rounds 3] [--no-postgres] [--no-write]

Rounds are interleaved and the best round of each counts. Writes the
"Scale: intake" section of bench/RESULTS.md.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import time
from pathlib import Path

from scale import interleaved, lines, machine, options, profile_shares, store, werkmap

# scale has put this working copy first on sys.path: the project's imports come after it.
# isort: split

from events.application import Loket
from loket.bootstrap import maak_loket
from loket.service import BATCH
from loket.settings import Settings
from results import write_section
from tests.pgserver import PostgresServer, bin_dir

TARGET_BATCHED, TARGET_PER_ROW = 0.3, 0.5
RAW_TABLE = "CREATE TABLE meldingen (bron TEXT, kenmerk TEXT, payload TEXT, PRIMARY KEY (bron, kenmerk))"
RAW_INSERT = "INSERT INTO meldingen VALUES ({0}, {0}, {0}) ON CONFLICT DO NOTHING"


def key(line: str) -> tuple[str, str]:
    """What a raw store would key a line on: (bron, kenmerk), or its hash when unreadable."""
    try:
        data = json.loads(line)
        return str(data["bron"]), str(data["kenmerk"])
    except (ValueError, KeyError, TypeError):
        return "?", hashlib.sha256(line.encode()).hexdigest()


def pipeline(settings: Settings, lines: list[str]) -> float:
    """Seconds to receive every line into the store of `settings`."""
    app = maak_loket(settings)
    started = time.perf_counter()
    receive(app, lines)
    seconds = time.perf_counter() - started
    app.close()
    return seconds


def receive(app: Loket, lines: list[str]) -> None:
    for i in range(0, len(lines), BATCH):
        app.ontvang_batch(lines[i : i + BATCH])


def where_the_time_goes(settings: Settings, lines: list[str]) -> str:
    app = maak_loket(settings)
    shares = profile_shares(
        lambda: receive(app, lines),
        {
            "parsing and validating the JSON": ("events/application.py", "_lees"),
            "the batch's existence query": ("events/application.py", "_bestaande"),
            "deciding and naming the subject (`_plan`)": ("events/application.py", "_plan"),
            "of which routing": ("routing/evaluator.py", "decide"),
            "looking up the subjects' keys": ("privacy/kluis.py", "zoek_sleutels"),
            "sealing and building the aggregates and their events (`_aggregaat`)": (
                "events/application.py", "_aggregaat"),
            "of which sealing personal data": ("privacy/kluis.py", "verzegel"),
            "storing new data keys": ("privacy/kluis.py", "bewaar"),
            "storing the events (`sla_op`)": ("events/bibliotheek.py", "sla_op"),
            "of which the hash chain and the SQL inserts": ("events/hashchain.py", "_insert_events"),
        },
    )
    app.close()
    return shares


def raw_sqlite(path: Path, lines: list[str], *, batch: int = 1) -> float:
    """Seconds to insert the lines raw, `batch` of them per durable commit (WAL, synchronous=FULL
    as our event store has it): 1 is a commit per row, BATCH is our group commit."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(RAW_TABLE)
    insert = RAW_INSERT.format("?")
    started = time.perf_counter()
    for i in range(0, len(lines), batch):
        conn.execute("BEGIN")
        conn.executemany(insert, [(*key(line), line) for line in lines[i : i + batch]])
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def raw_postgres(url: str, lines: list[str], *, batch: int = 1) -> float:
    """As `raw_sqlite`, on a PostgreSQL server with fsync on (a durable commit per `batch`)."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(RAW_TABLE)
        conn.commit()
        insert = RAW_INSERT.format("%s")
        started = time.perf_counter()
        with conn.cursor() as cursor:
            for i in range(0, len(lines), batch):
                cursor.executemany(insert, [(*key(line), line) for line in lines[i : i + batch]])
                conn.commit()
        return time.perf_counter() - started


def main() -> None:
    p = options(__doc__)
    p.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = p.parse_args()

    raws = lines(args.meldingen)
    tmp = werkmap("bench-intake-")
    stores = itertools.count()

    def sqlite_ours() -> float:
        return pipeline(store(tmp, f"ours-{next(stores)}"), raws)

    def sqlite_raw() -> float:
        return raw_sqlite(tmp / f"raw-{next(stores)}.sqlite", raws)

    def sqlite_batched() -> float:
        return raw_sqlite(tmp / f"raw-{next(stores)}.sqlite", raws, batch=BATCH)

    print("SQLite")
    rows = [("SQLite (WAL)", interleaved(args.rounds, ours=sqlite_ours, raw=sqlite_raw, batched=sqlite_batched))]
    if not args.no_postgres and bin_dir() is not None:
        with PostgresServer(durable=True) as pg:

            def pg_ours() -> float:
                return pipeline(store(tmp, f"pg-{next(stores)}", pg.new_database()), raws)

            def pg_raw() -> float:
                return raw_postgres(pg.new_database("raw"), raws)

            def pg_batched() -> float:
                return raw_postgres(pg.new_database("raw"), raws, batch=BATCH)

            print("PostgreSQL")
            rows.append(("PostgreSQL", interleaved(args.rounds, ours=pg_ours, raw=pg_raw, batched=pg_batched)))

    shares = where_the_time_goes(store(tmp, "profiled"), raws)
    n = len(raws)
    table = [
        f"| store | pipeline /s | raw, batched like ours ({BATCH} per commit) /s | **ratio to batched** "
        f"(target ≥ {TARGET_BATCHED}×) | raw, a commit per row /s | ratio to that (target ≥ {TARGET_PER_ROW}×) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in rows:
        table.append(
            f"| {name} | {n / t['ours']:,.0f} | {n / t['batched']:,.0f} | **{t['batched'] / t['ours']:.2f}×** "
            f"| {n / t['raw']:,.0f} | {t['raw'] / t['ours']:.2f}× |"
        )
    per_line = "; ".join(f"{name}: pipeline {1e6 * t['ours'] / n:.0f} µs, raw batched "
                         f"{1e6 * t['batched'] / n:.0f} µs" for name, t in rows)
    budget = " and ".join(f"{1e6 * t['batched'] / n / TARGET_BATCHED:.0f} µs ({name})" for name, t in rows)
    section = "\n".join(
        [
            "## Scale: intake",
            "",
            f"`python bench/intake.py` on {machine()}; {n:,} lines of synthetic years (resends and broken lines "
            f"included), best of {args.rounds} interleaved rounds, each into a fresh store. Pipeline: "
            f"`Loket.ontvang_batch` in batches of {BATCH} (group commit, one existence query per batch). Raw: "
            "the same lines keyed by (bron, kenmerk) with `ON CONFLICT DO NOTHING`, every commit durable "
            "(SQLite WAL with synchronous=FULL, PostgreSQL with fsync on), batched like ours: "
            f"{BATCH} lines in one `executemany` and one commit (the baseline of the target: the same "
            "group commit, so only what the pipeline does per melding counts), and one commit per row. "
            "The machine was shared with other work while measured: read the ratios, not the rates.",
            "",
            *table,
            "",
            "A durable commit per melding is bound by the disk's flush time, which group commit pays once per "
            "batch: the per-row ratio flatters the pipeline, and grows on a busy disk; the batched one does "
            f"not. Per line, {per_line}: the pipeline parses and validates the melding, routes it, names and "
            "seals the person, builds two events and chains them, where the raw insert stores one row; "
            f"{TARGET_BATCHED}× of the batched raw would leave the pipeline {budget} per line. "
            "Where the pipeline's time goes "
            f"(cProfile of one SQLite round, this run): {shares}. The rest of storing the events is the "
            "eventsourcing library encoding them (the json module, with a Python hook for each timestamp) and "
            "building its recordings; the rest of building is the library's aggregate and event construction. "
            "The existence check was one query per melding until this benchmark was written (a quarter of the "
            "time then). Since then intake hands its events to the library's recording step without `save`'s "
            "runtime-protocol checks per object, builds a new melding's events without the decorators' "
            "argument matching (`Melding.ontvangen`), looks up the data keys of a batch's subjects in one query, "
            "and stores a batch's new keys with one statement: together about a quarter less CPU per melding. "
            "Tried and left out: orjson as the event transcoder (byte-identical output needs a Python walk of "
            "each event for UUIDs and floats, which ate the gain) and pydantic's `model_validate_json` (no "
            "faster than `json.loads` + `model_validate` on these lines).",
        ]
    )
    print(section)
    if not args.no_write:
        write_section("## Scale: intake", section)


if __name__ == "__main__":
    main()
