"""Read commands: caseload, rejected meldingen, triage queue, deadlines, statistics, audit trail;
and the projections' upkeep.

Each brings the live projections up to date first, and reads them as they stand, or with --as-of
as they stood at the last event recorded by then, from the history they keep (nothing is written). What is shown is
what the role LOKET_ROLE with LOKET_COMPARTMENTS may see, as on the web.
"""

from __future__ import annotations

import argparse
import csv
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from events.informeren import PARTIJEN
from loket.cli.basis import CommandoFout, bijwerken_voortgang, dienst, emit, gebruiker
from loket.service import OngeldigVeld, moment
from loket.uitvoer import cijfer_bladen, csv_bytes, xlsx_bytes
from projections import Projecties


def als_op(text: str) -> Any:
    """--as-of: a date or date-time, Dutch (30-06-2025 17:00) or ISO (Dutch time without a zone), within
    the calendar."""
    try:
        return moment(text)
    except OngeldigVeld as exc:
        raise argparse.ArgumentTypeError(f"{text[:40]}: {exc.message}") from None


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
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        rows = o.caseload()
    if args.json:
        emit(rows)
    else:
        when = f" op {args.as_of.isoformat()} (opnametijd: wat het systeem toen wist)" if args.as_of else ""
        Console().print(caseload_table(rows, f"Caseload{when}: lopende meldingen per ZVH en product"))
    return 0


def cmd_afgewezen(args: argparse.Namespace) -> int:
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        rows = o.afgewezen()
    if args.json:
        emit(rows)
        return 0
    _table(
        f"Afgewezen meldingen ({len(rows)})",
        ["melding", "bron", "kenmerk", "fouten"],
        [[r["melding_id"], r["bron"] or "?", r["kenmerk"] or "?",
          "; ".join(f"{e['field']}: {e['message']}" for e in r["errors"])] for r in rows],
    )
    return 0


def cmd_triage(args: argparse.Namespace) -> int:
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        rows = o.triage()
    if args.json:
        emit(rows)
        return 0
    _table(
        f"Triage: {len(rows)} meldingen wachten op een besluit (oudste eerst)",
        ["melding", "bron:kenmerk", "soort", "gemeente", "datum", "reden"],
        [[r["melding_id"], f"{r['bron']}:{r['kenmerk']}", r["soort"], r["gemeente"], r["datum"], r["reden"]]
         for r in rows],
    )
    return 0


def cmd_deadlines(args: argparse.Namespace) -> int:
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        rows, on = o.deadlines(overdue=args.overdue), o.on
    if args.json:
        emit(rows)
        return 0
    _table(
        f"Termijnen op {on.isoformat()}: {len(rows)} open, {sum(r['te_laat'] for r in rows)} te laat",
        ["vervalt op", "soort", "melding", "bron:kenmerk", "zvh", "te laat"],
        [[r["vervalt_op"], r["soort"], r["melding_id"], f"{r['bron']}:{r['kenmerk']}", r["zvh"],
          "TE LAAT" if r["te_laat"] else ""] for r in rows],
    )
    return 0


def cmd_notices(args: argparse.Namespace) -> int:
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        blad, on = o.informeren(open_only=not args.all, partij=args.party, gemeente=args.gemeente,
                                verlopen=args.overdue, pagina=args.page, per_pagina=args.per_page), o.on
    if args.json:
        emit(blad.as_dict())
        return 0
    _table(
        f"Informeren op {on.isoformat()}: {blad.totaal} {'taken' if args.all else 'open'} "
        f"(pagina {blad.nummer} van {blad.paginas})",
        ["uiterlijk", "partij", "gemeente", "bron:kenmerk", "taak", "te laat", "gedaan"],
        [[r["uiterlijk"], r["partij"], r["gemeente"], f"{r['bron']}:{r['kenmerk']}", r["taak"],
          "TE LAAT" if r["te_laat"] else "",
          "" if r["open"] else f"{r['gedaan_op']} {r['gedaan_door']} ({r['kanaal']})"] for r in blad.rijen],
    )
    return 0


def cmd_my_cases(args: argparse.Namespace) -> int:
    with dienst() as d:
        wie = gebruiker(d)
        with d.overzicht(wie, args.as_of) as o:
            blad = o.mijn_zaken(pagina=args.page, per_pagina=args.per_page)
    if args.json:
        emit(blad.as_dict())
        return 0
    _table(
        f"Zaken met {wie.naam} als regisseur: {blad.totaal} (pagina {blad.nummer} van {blad.paginas})",
        ["melding", "bron:kenmerk", "soort", "gemeente", "product", "status", "sinds"],
        [[r["melding_id"], f"{r['bron']}:{r['kenmerk']}", r["soort"], r["gemeente"], r["product"], r["status"],
          r["sinds"]] for r in blad.rijen],
    )
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        rows = o.statistiek(args.year)
    prev, year = str(args.year - 1), str(args.year)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(["zvh", "product", "gemeente", prev, year, f"gesloten {year}"])
        for r in rows:
            writer.writerow([r["zvh"], r["product"], r["gemeente"], r["vorig_jaar"], r["dit_jaar"], r["gesloten"]])
        return 0
    if args.xlsx or args.sheet:
        with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
            bladen = cijfer_bladen(o.cijfers(args.year))
        if args.sheet:
            [blad] = [b for b in bladen if b.id == args.sheet]
            sys.stdout.buffer.write(csv_bytes(blad))
        if args.xlsx:
            args.xlsx.write_bytes(xlsx_bytes(bladen))
            print(f"loket: {len(bladen)} sheets written to {args.xlsx}", file=sys.stderr)
        return 0
    if args.json:
        emit(rows)
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
        raise CommandoFout("give a melding id, or --kenmerk BRON:KENMERK")
    with dienst() as d, d.overzicht(gebruiker(d), args.as_of) as o:
        melding = d.melding_id_van(args.id or args.kenmerk)
        rows = o.audit(melding)
    if args.json:
        emit(rows)
        return 0
    _table(
        f"Audit trail van melding {melding}",
        ["versie", "tijdstip", "gebeurtenis", "actor", "ruleset", "rules", "details"],
        [[r["versie"], r["tijdstip"], r["gebeurtenis"], r["actor"], r["ruleset"], ", ".join(r["rules"]),
          "; ".join(f"{k}={v}" for k, v in r["details"].items() if v not in (None, [], ""))] for r in rows],
    )
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    with dienst() as d, bijwerken_voortgang(d) as na_pagina:
        rebuilt, read = d.herbouw(gebruiker(d), args.only or (), na_pagina=na_pagina, page_size=args.page_size)
    emit({"rebuilt": rebuilt, "events": read})
    return 0


def cmd_catch_up(args: argparse.Namespace) -> int:
    if args.metrics_port and not args.follow:
        raise CommandoFout("--metrics-port goes with --follow: a worker that keeps running")
    with dienst() as d:
        wie = gebruiker(d)
        d.vereist(wie, "beheer")
        if args.follow:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
            if args.metrics_port:
                from prometheus_client import start_http_server

                from loket.metrics import REGISTRY

                start_http_server(args.metrics_port, registry=REGISTRY)  # a daemon thread: ends with us
            read = d.volg(wie, stop, interval=args.interval, page_size=args.page_size, wachten=args.standby,
                          meten=bool(args.metrics_port))
        else:
            with bijwerken_voortgang(d) as na_pagina:
                read = d.bij(na_pagina=na_pagina, page_size=args.page_size)
    emit({"events": read})
    return 0


def register(command) -> None:
    def reader(name: str, handler, help: str) -> argparse.ArgumentParser:
        sp = command(name, handler, help)
        sp.add_argument("--json", action="store_true", help="machine-readable output")
        sp.add_argument("--as-of", type=als_op, default=None, metavar="DATETIME",
                        help="as it stood then, by recording time: what the system knew at that moment "
                             "(a date or date-time: 30-06-2025, 30-06-2025 17:00, ISO); replays, writes nothing")
        return sp

    reader("caseload", cmd_caseload, "open meldingen per zvh, product, gemeente and status, with their age")
    reader("afgewezen", cmd_afgewezen, "rejected meldingen with their errors")
    reader("triage", cmd_triage, "the triage queue: what waits for a person, oldest first")
    sp = reader("deadlines", cmd_deadlines, "open deadlines (Wvggz, huisverbod, Top X review), overdue flagged")
    sp.add_argument("--overdue", action="store_true", help="only the overdue ones")
    sp = reader("notices", cmd_notices, "parties to inform (a decision's notify, Top X): open ones, most urgent "
                "first; `inform ID --task T --channel C` records one done")
    sp.add_argument("--all", action="store_true", help="every task, done ones too, the latest first")
    sp.add_argument("--party", choices=PARTIJEN, help="only this party's")
    sp.add_argument("--gemeente", help="only this gemeente's")
    sp.add_argument("--overdue", action="store_true", help="only those past their term")
    paged = [sp, reader("my-cases", cmd_my_cases, "the open meldingen whose regisseur is LOKET_USER")]
    for p in paged:
        p.add_argument("--page", type=int, default=1)
        p.add_argument("--per-page", type=int, default=50)
    sp = reader("stats", cmd_stats, "routed meldingen per product and gemeente, a year and the one before")
    sp.add_argument("--year", type=int, required=True)
    sp.add_argument("--csv", action="store_true", help="CSV on stdout (ids, per product and gemeente)")
    sp.add_argument("--sheet", choices=["jaarverslag", "per-product", "per-maand", "doorlooptijden"],
                    help="one table of the figures as CSV on stdout, Dutch heads and words (as the web downloads)")
    sp.add_argument("--xlsx", type=Path, metavar="FILE", help="every table of the figures as a spreadsheet")
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
    cu.add_argument("--standby", action="store_true",
                    help="with --follow, while another worker writes the projections: wait to take over "
                    "(without it, this one stops with exit code 5)")
    cu.add_argument("--metrics-port", type=int, metavar="PORT",
                    help="with --follow, serve the metrics (loket_projectie_achterstand) for Prometheus on this port")
