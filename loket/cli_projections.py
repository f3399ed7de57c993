"""Read commands: caseload, triage queue, deadlines, statistics, audit trail; and rebuilds.

Each brings the live projections up to date first, or with --as-of replays the
event store into a fresh store as it stood then (the live projections stay untouched).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from loket.bootstrap import Systeem
from loket.cli import Fout, _bijwerken, _emit, _systeem
from loket.cli_lifecycle import resolve_id
from projections import Projecties
from projections.audit import trail
from projections.caseload import afgewezen, caseload, statistiek, triage_queue
from projections.deadlines import open_deadlines

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def parse_moment(text: str) -> datetime:
    """--as-of: an ISO date-time (without a zone: Dutch time), or a date (its end, Dutch time).

    The moment must exist both in UTC (how events are recorded) and in Dutch time (how days
    are counted): 9999-12-31T23:30:00Z is a date in the year 10000 in Amsterdam."""
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time.max, AMSTERDAM)
        else:
            moment = datetime.fromisoformat(text)
            moment = moment if moment.tzinfo else moment.replace(tzinfo=AMSTERDAM)
        moment.astimezone(timezone.utc)
        moment.astimezone(AMSTERDAM)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(
            f"not an ISO date or date-time within the calendar: {text[:40]} (e.g. 2025-06-30 or "
            "2025-06-30T17:00:00+02:00)"
        ) from None
    return moment


@contextmanager
def _view(args: argparse.Namespace) -> Iterator[tuple[Systeem, Projecties, date]]:
    """The projections to read: live and up to date, or as they stood at --as-of."""
    with _systeem() as systeem:
        moment = getattr(args, "as_of", None)
        if moment is None:
            _bijwerken(systeem, quiet=True)
            yield systeem, systeem.projecties, datetime.now(AMSTERDAM).date()
        else:
            store = systeem.als_op(moment)
            try:
                yield systeem, store, moment.astimezone(AMSTERDAM).date()
            finally:
                store.datastore.close()


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console().print(table)


def caseload_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("zvh", "product", "open", "in behandeling"):
        table.add_column(column, justify="left" if column in ("zvh", "product") else "right")
    per_product: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        per_product.setdefault((row["zvh"], row["product"]), Counter())[row["status"]] += row["count"]
    totals: Counter[str] = Counter()
    for (zvh, product), counts in sorted(per_product.items()):
        table.add_row(zvh, product, str(counts["open"]), str(counts["in-behandeling"]))
        totals.update(counts)
    table.add_section()
    table.add_row("totaal", "", str(totals["open"]), str(totals["in-behandeling"]))
    return table


def cmd_caseload(args: argparse.Namespace) -> int:
    with _view(args) as (_, store, on):
        rows = caseload(store, on)
    if args.json:
        _emit(rows)
    else:
        when = f" op {args.as_of.isoformat()}" if args.as_of else ""
        Console().print(caseload_table(rows, f"Caseload{when}: lopende meldingen per ZVH en product"))
    return 0


def cmd_afgewezen(args: argparse.Namespace) -> int:
    with _view(args) as (_, store, _on):
        rows = afgewezen(store)
    if args.json:
        _emit(rows)
        return 0
    _table(
        f"Afgewezen meldingen ({len(rows)})",
        ["melding", "bron", "kenmerk", "fouten"],
        [[r["melding_id"], r["bron"] or "?", r["kenmerk"] or "?",
          "; ".join(f"{e['field']}: {e['message']}" for e in r["errors"])] for r in rows],
    )
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    with _view(args) as (_, store, _on):
        rows = triage_queue(store)
    if args.json:
        _emit(rows)
        return 0
    _table(
        f"Triage: {len(rows)} meldingen wachten op een besluit (oudste eerst)",
        ["melding", "bron:kenmerk", "soort", "gemeente", "datum", "reden"],
        [[r["melding_id"], f"{r['bron']}:{r['kenmerk']}", r["soort"], r["gemeente"], r["datum"], r["reden"]]
         for r in rows],
    )
    return 0


def cmd_deadlines(args: argparse.Namespace) -> int:
    with _view(args) as (_, store, on):
        rows = open_deadlines(store, on)
    if args.overdue:
        rows = [r for r in rows if r["te_laat"]]
    if args.json:
        _emit(rows)
        return 0
    _table(
        f"Termijnen op {on.isoformat()}: {len(rows)} open, {sum(r['te_laat'] for r in rows)} te laat",
        ["vervalt op", "soort", "melding", "bron:kenmerk", "zvh", "te laat"],
        [[r["vervalt_op"], r["soort"], r["melding_id"], f"{r['bron']}:{r['kenmerk']}", r["zvh"],
          "TE LAAT" if r["te_laat"] else ""] for r in rows],
    )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with _view(args) as (_, store, _on):
        rows = statistiek(store, args.year)
    prev, year = str(args.year - 1), str(args.year)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["zvh", "product", "gemeente", prev, year, f"gesloten {year}"])
        for r in rows:
            writer.writerow([r["zvh"], r["product"], r["gemeente"], r["vorig_jaar"], r["dit_jaar"], r["gesloten"]])
        return 0
    if args.json:
        _emit(rows)
        return 0
    console = Console()
    per_product: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        per_product.setdefault((r["zvh"], r["product"]), []).append(r)
    for (zvh, product), group in per_product.items():
        table = Table(title=f"Cijfers {product} ({zvh}): uitgesplitst per gemeente")
        for column in ("Gemeente", prev, year):
            table.add_column(column, justify="left" if column == "Gemeente" else "right")
        for r in group:
            table.add_row(r["gemeente"] or "onbekend", str(r["vorig_jaar"]), str(r["dit_jaar"]))
        table.add_section()
        table.add_row("Totaal", str(sum(r["vorig_jaar"] for r in group)), str(sum(r["dit_jaar"] for r in group)))
        console.print(table)
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    if (args.id is None) == (args.kenmerk is None):
        raise Fout("give a melding id, or --kenmerk BRON:KENMERK")
    melding = resolve_id(args.id or args.kenmerk)
    with _view(args) as (_, store, _on):
        rows = trail(store, str(melding))
    if not rows:
        raise Fout(f"no melding {args.id or args.kenmerk} recorded" + (" by then" if args.as_of else ""))
    if args.json:
        _emit(rows)
        return 0
    _table(
        f"Audit trail van melding {melding}",
        ["versie", "tijdstip", "gebeurtenis", "actor", "ruleset", "rules", "details"],
        [[r["versie"], r["tijdstip"], r["gebeurtenis"], r["actor"], r["ruleset"], ", ".join(r["rules"]),
          "; ".join(f"{k}={v}" for k, v in r["details"].items() if v not in (None, [], ""))] for r in rows],
    )
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    with _systeem() as systeem:
        chosen = [p for p in systeem.projecties.projections if not args.only or p.name in args.only]
        for projection in chosen:
            systeem.projecties.reset(projection, systeem.app.name)
        read = _bijwerken(systeem, page_size=args.page_size)
    _emit({"rebuilt": [p.name for p in chosen], "events": read})
    return 0


def cmd_catch_up(args: argparse.Namespace) -> int:
    with _systeem() as systeem:
        read = _bijwerken(systeem, page_size=args.page_size, quiet=args.follow)
        if args.follow:
            read += _follow(systeem, args)
    _emit({"events": read})
    return 0


def _follow(systeem: Systeem, args: argparse.Namespace) -> int:
    """The projection worker: keep catching up until SIGTERM or SIGINT, then finish the page."""
    import signal
    import threading

    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    read = 0
    while not stopping.is_set():
        read += systeem.bij(page_size=args.page_size)
        stopping.wait(args.interval)
    return read


def register(command) -> None:
    def reader(name: str, handler, help: str, as_of: bool = True, json: bool = True) -> argparse.ArgumentParser:
        sp = command(name, handler, help)
        if json:
            sp.add_argument("--json", action="store_true", help="machine-readable output")
        if as_of:
            sp.add_argument("--as-of", type=parse_moment, default=None, metavar="DATETIME",
                            help="as it stood then (ISO date or date-time); replays, writes nothing")
        return sp

    reader("caseload", cmd_caseload, "open meldingen per zvh, product, gemeente and status, with their age")
    reader("afgewezen", cmd_afgewezen, "rejected meldingen with their errors")
    reader("triage", cmd_triage, "the triage queue: what waits for a person, oldest first")
    sp = reader("deadlines", cmd_deadlines, "open deadlines (Wvggz, huisverbod, Top X review), overdue flagged")
    sp.add_argument("--overdue", action="store_true", help="only the overdue ones")
    sp = reader("stats", cmd_stats, "routed meldingen per product and gemeente, a year and the one before")
    sp.add_argument("--year", type=int, required=True)
    sp.add_argument("--csv", action="store_true", help="CSV on stdout")
    sp = reader("audit", cmd_audit, "every event of a melding: time, actor, ruleset, rules")
    sp.add_argument("id", nargs="?", help="melding id")
    sp.add_argument("--kenmerk", metavar="BRON:KENMERK")

    sp = command("projections", lambda a: a.projections_handler(a), "maintain the projections")
    sub = sp.add_subparsers(dest="projections_command", required=True, metavar="ACTION")
    rb = sub.add_parser("rebuild", help="rebuild projections from zero (all, or --only NAME ...)")
    rb.add_argument("--only", nargs="*", choices=[p.name for p in Projecties.projections])
    rb.set_defaults(projections_handler=cmd_rebuild)
    cu = sub.add_parser("catch-up", help="bring projections up to date with the event store")
    cu.set_defaults(projections_handler=cmd_catch_up)
    for action in (rb, cu):
        action.add_argument("--page-size", type=int, default=2_000, help="notifications per transaction")
    cu.add_argument("--follow", action="store_true", help="keep following the event store until SIGTERM")
    cu.add_argument("--interval", type=float, default=1.0, help="seconds between polls with --follow")
