"""`loket rules check`, `loket explain`, `loket whatif`: the routing policy for the people who own it.

Policy people read the rules, change them for a date, see why a melding went where it went, and
see what a change would do before it takes effect. None of these commands writes to the store.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from loket.cli.basis import CommandoFout, dienst, emit, gebruiker
from loket.service import Dienst


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_rules_check(args: argparse.Namespace) -> int:
    rapport = Dienst.regels_controleren(args.rules, args.bronnen)
    if args.json:
        emit({"directory": str(rapport.directory), "version": rapport.version, "ok": rapport.ok,
              "problemen": [str(p) for p in rapport.problemen], "samenvatting": rapport.samenvatting})
    elif rapport.ok:
        print(f"OK {rapport.version}: {rapport.samenvatting}")
    else:
        for probleem in rapport.problemen:
            print(f"{rapport.directory}/{probleem}")
        print(f"{len(rapport.problemen)} problem(s) in {rapport.directory}")
    return 0 if rapport.ok else 1


def cmd_explain(args: argparse.Namespace) -> int:
    if args.kenmerk is not None and args.melding is not None:
        raise CommandoFout("give a melding id, - or --kenmerk BRON:KENMERK, not two of them")
    if args.melding is None and args.kenmerk is None:
        raise CommandoFout("give a melding id, - for a melding on stdin, or --kenmerk BRON:KENMERK")
    ruleset = Dienst.ruleset_uit(args.rules) if args.rules else None
    if args.melding == "-":
        raw = sys.stdin.buffer.read()
        if not raw.strip():
            raise CommandoFout("no melding on stdin")
        trace = Dienst.uitleg_invoer(raw, ruleset)
        if args.json:
            emit(trace.as_dict())
        else:
            print(trace.render())
        return 0
    if args.kenmerk is not None and ":" not in args.kenmerk:
        raise CommandoFout("--kenmerk needs BRON:KENMERK, e.g. politie:VIA-2025-000123")
    with dienst(bestaand=True) as d:
        melding_id = d.melding_id_van(args.kenmerk if args.kenmerk is not None else args.melding)
        uitleg = d.uitleg(gebruiker(d), melding_id, ruleset)
    if args.json:
        emit(uitleg.gegevens)
        return 0
    g = uitleg.gegevens
    if uitleg.trace is None:
        print(f"Melding {melding_id} is bij intake afgewezen (niet gerouteerd): ze voldoet niet aan "
              f"het intakecontract.")
        for error in g["opgeslagen_beslissing"].get("errors", ()):
            print(f"  - {error['field']}: {error['message']}")
        return 0
    print(f"Melding {melding_id} ({g['bron']}:{g['kenmerk']}), status {g['status']}")
    door_mens = [r for r in g["opgeslagen_beslissing"].get("rules", ()) if r.startswith("handmatig.")]
    if door_mens:
        print(f"LET OP: de huidige beslissing is door een medewerker genomen ({door_mens[0]}), "
              f"niet door de regels (wie en waarom: loket audit {melding_id}).")
    if not g["andere_ruleset"]:
        print(f"Beslist met {g['beslist_met']}, de ruleset waarmee hieronder wordt uitgelegd.")
    else:
        print(f"LET OP: beslist met {g['beslist_met']}; hieronder uitgelegd met {g['uitgelegd_met']}.")
    for key, (then, current) in g["verschil"].items():
        print(f"LET OP: {key} was {then!r}, onder {g['uitgelegd_met']} {current!r}")
    print(uitleg.trace.render())
    return 0


def cmd_whatif(args: argparse.Namespace) -> int:
    voorstel, basis = Dienst.ruleset_uit(args.rules), Dienst.ruleset_uit(args.basis, "basis")
    with dienst(bestaand=True) as d:
        uitkomst = d.wat_als(gebruiker(d), voorstel, basis, van=args.van, tot=args.tot)
    if args.json:
        emit(uitkomst.as_dict())
        return 0
    periode = (f"routeringsdatum {uitkomst.van or '...'} t/m {uitkomst.tot or '...'}"
               if uitkomst.van or uitkomst.tot else "alle datums")
    console = Console()
    console.print(f"Wat als {uitkomst.voorstel} ({args.rules}) in plaats van {uitkomst.basis}: "
                  f"{uitkomst.bekeken} meldingen bekeken ({periode}), "
                  f"{len(uitkomst.gewijzigd)} anders beslist.", soft_wrap=True)
    if not uitkomst.gewijzigd:
        return 0
    bewegingen = Table(title="Verschuivingen")
    for column in ("van", "naar", "aantal"):
        bewegingen.add_column(column, justify="right" if column == "aantal" else "left")
    for van, naar, n in uitkomst.bewegingen():
        bewegingen.add_row(van, naar, str(n))
    console.print(bewegingen)
    # whole ids, one per line, never cut to the terminal's width: they are meant to be used
    print("Meldingen die anders gaan (melding, bron:kenmerk, routeringsdatum, van -> naar):")
    for v in uitkomst.gewijzigd:
        print(f"  {v.melding_id}  {v.bron}:{v.kenmerk}  {v.datum.isoformat()}  {v.van} -> {v.naar}")
    return 0


def cmd_rules_on(args: argparse.Namespace) -> int:
    with dienst() as d:
        r = d.regels_op(gebruiker(d), args.datum)
    if args.json:
        emit({"datum": r.datum.isoformat(), "in_gebruik": r.in_gebruik, "besloten_op": r.besloten_op,
              "geladen": r.geladen, "zelfde": r.zelfde, "versies": r.versies, "regels": r.regels})
        return 0
    print(f"in force on {r.datum}: {r.in_gebruik or '(no decision recorded by then)'}"
          + (f" (last decision recorded {r.besloten_op})" if r.besloten_op else ""))
    print(f"this loket runs {r.geladen}" + ("" if r.zelfde else " (another version)"))
    table = Table(title=f"Rules valid on {r.datum}: {len(r.regels)}")
    for column in ("table", "rule", "valid", "product / outcome"):
        table.add_column(column)
    for g in r.regels:
        table.add_row(g["tabel"], g["id"], g["geldig"] or "always", g["product"] or g["outcome"] or "")
    Console().print(table)
    return 0


def register(command) -> None:
    def rules_option(sp: argparse.ArgumentParser, help: str, *, required: bool = False, flag: str = "--rules") -> None:
        sp.add_argument(flag, type=Path, metavar="DIR", required=required, help=help)

    sp = command("rules", cmd_rules_check, "the routing rules: `loket rules check` lints them")
    rules = sp.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)
    check = rules.add_parser(
        "check", help="lint a ruleset; exit 1 with one line per problem",
        description="Lint a ruleset directory: overlapping rows without a distinct priority, "
        "rows that can never fire, soorten without a rule on some date, unknown product, zvh, "
        "label, gemeente or signal ids, periods that end before they start, rows without a "
        "source (a seed and a quote from it, a section of the domain brief, or 'besluit loket').")
    check.set_defaults(handler=cmd_rules_check)
    rules_option(check, "ruleset directory (default: the shipped routing/rules)")
    check.add_argument("--bronnen", type=Path, metavar="DIR",
                       help="the sources, kept beside the repository (../shared): the domain brief "
                       "as DOMAIN.md, and seeds/; every quoted phrase must be found in the source it names")
    check.add_argument("--json", action="store_true", help="the report as JSON")
    op = rules.add_parser("on", help="which ruleset was in force on a day, and the rules valid then",
                          description="The ruleset version the loket decided with up to the end of DATE (as "
                          "recorded), every version it decided with, and the rows of the loaded rules valid on DATE.")
    op.set_defaults(handler=cmd_rules_on)
    op.add_argument("datum", type=_date, metavar="DATE")
    op.add_argument("--json", action="store_true")

    sp = command("explain", cmd_explain, "why a melding went where it went: every rule considered, each condition")
    sp.add_argument("melding", nargs="?",
                    help="a stored melding (its id, or BRON:KENMERK), or - for one melding (JSON) on stdin")
    sp.add_argument("--kenmerk", metavar="BRON:KENMERK", help="a stored melding by its source's key")
    rules_option(sp, "explain under this ruleset (default: the one in force, the shipped rules)")
    sp.add_argument("--json", action="store_true", help="the trace as JSON")

    sp = command("whatif", cmd_whatif, "re-decide stored meldingen under another ruleset; writes nothing")
    rules_option(sp, "the proposed ruleset directory", required=True)
    rules_option(sp, "the ruleset to compare with (default: the shipped rules)", flag="--basis")
    sp.add_argument("--from", dest="van", type=_date, metavar="DATE", help="first routing date (inclusive)")
    sp.add_argument("--to", dest="tot", type=_date, metavar="DATE", help="last routing date (inclusive)")
    sp.add_argument("--json", action="store_true", help="the movement and the meldingen as JSON")
