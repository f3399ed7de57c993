"""`loket rules check`, `loket explain`, `loket whatif`: the routing policy for the people who own it.

Policy people read the rules, change them for a date, see why a melding went where it went, and
see what a change would do before it takes effect. None of these commands writes to the store.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.table import Table

from loket.bootstrap import Systeem, bootstrap, store_exists
from loket.cli import Fout, _emit
from loket.settings import Settings

Command = Callable[..., argparse.ArgumentParser]


def _clear_errors(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A user error is one line on stderr and exit code 2, also when `loket.cli` runs as
    `__main__` (its own `Fout` is then another class than the one imported here)."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except Fout as exc:
            print(f"loket: {exc}", file=sys.stderr)
            return 2

    return run


def register(command: Command) -> None:
    sp = command("rules", _clear_errors(cmd_rules_check),
                 "the routing rules: `loket rules check` lints them")
    rules = sp.add_subparsers(dest="rules_command", metavar="SUBCOMMAND", required=True)
    check = rules.add_parser(
        "check", help="lint a ruleset; exit 1 with one line per problem",
        description="Lint a ruleset directory: overlapping rows without a distinct priority, "
        "rows that can never fire, soorten without a rule on some date, unknown product, zvh, "
        "label, gemeente or signal ids, periods that end before they start, rows without a "
        "source (a seed and a quote from it, a DOMAIN.md section, or 'besluit loket').")
    check.set_defaults(handler=_clear_errors(cmd_rules_check))
    _rules_option(check, "ruleset directory (default: the shipped routing/rules)")
    check.add_argument("--bronnen", type=Path, metavar="DIR",
                       help="the directory holding DOMAIN.md and seeds/: every quoted phrase "
                       "must be found in the source it names")
    check.add_argument("--json", action="store_true", help="the report as JSON")

    sp = command("explain", _clear_errors(cmd_explain),
                 "why a melding went where it went: every rule considered, each condition")
    sp.add_argument("melding", nargs="?",
                    help="a stored melding (its id, or BRON:KENMERK), or - for one melding "
                    "(JSON) on stdin")
    sp.add_argument("--kenmerk", metavar="BRON:KENMERK", help="a stored melding by its source's key")
    _rules_option(sp, "explain under this ruleset (default: the one in force, the shipped rules)")
    sp.add_argument("--json", action="store_true", help="the trace as JSON")

    sp = command("whatif", _clear_errors(cmd_whatif),
                 "re-decide stored meldingen under another ruleset; writes nothing")
    _rules_option(sp, "the proposed ruleset directory", required=True)
    _rules_option(sp, "the ruleset to compare with (default: the shipped rules)", flag="--basis")
    sp.add_argument("--from", dest="van", type=_date, metavar="DATE",
                    help="first routing date (inclusive)")
    sp.add_argument("--to", dest="tot", type=_date, metavar="DATE",
                    help="last routing date (inclusive)")
    sp.add_argument("--json", action="store_true", help="the movement and the meldingen as JSON")


def _rules_option(sp: argparse.ArgumentParser, help: str, *, required: bool = False,
                  flag: str = "--rules") -> None:
    sp.add_argument(flag, type=Path, metavar="DIR", required=required, help=help)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _ruleset(directory: Path | None):
    from routing import RulesetError, load_ruleset

    if directory is not None and not directory.is_dir():
        raise Fout(f"ruleset directory not found: {directory}")
    try:
        return load_ruleset(directory)
    except RulesetError as exc:
        raise Fout(f"ruleset {directory} cannot be used: {exc}; see `loket rules check "
                   f"--rules {directory}`") from None


@contextmanager
def _store() -> Iterator[Systeem]:
    """The existing store, opened to read: a missing store is an error, never created."""
    settings = Settings.from_env()
    if not store_exists(settings):
        where = settings.db if settings.database_url is None else "LOKET_DATABASE_URL (no loket tables there)"
        raise Fout(f"no store at {where} (set LOKET_DB or LOKET_DATABASE_URL)")
    systeem = bootstrap(settings)
    try:
        yield systeem
    finally:
        systeem.close()


# rules check ----------------------------------------------------------------


def cmd_rules_check(args: argparse.Namespace) -> int:
    from events.intake import SOORTEN
    from routing.lint import check

    if args.rules is not None and not args.rules.is_dir():
        raise Fout(f"ruleset directory not found: {args.rules}")
    if args.bronnen is not None and not (args.bronnen / "DOMAIN.md").is_file():
        raise Fout(f"no DOMAIN.md in {args.bronnen} (--bronnen wants the directory of DOMAIN.md "
                   f"and seeds/)")
    rapport = check(args.rules, soorten=SOORTEN, bronnen=args.bronnen)
    if args.json:
        _emit({"directory": str(rapport.directory), "version": rapport.version,
               "ok": rapport.ok, "problemen": [str(p) for p in rapport.problemen],
               "samenvatting": rapport.samenvatting})
    elif rapport.ok:
        print(f"OK {rapport.version}: {rapport.samenvatting}")
    else:
        for probleem in rapport.problemen:
            print(f"{rapport.directory}/{probleem}")
        print(f"{len(rapport.problemen)} problem(s) in {rapport.directory}")
    return 0 if rapport.ok else 1


# explain --------------------------------------------------------------------


def cmd_explain(args: argparse.Namespace) -> int:
    if args.kenmerk is not None and args.melding is not None:
        raise Fout("give a melding id, - or --kenmerk BRON:KENMERK, not two of them")
    if args.melding == "-":
        return _explain_stdin(args)
    if args.melding is None and args.kenmerk is None:
        raise Fout("give a melding id, - for a melding on stdin, or --kenmerk BRON:KENMERK")
    return _explain_stored(args, _melding_id(args))


def _melding_id(args: argparse.Namespace) -> UUID:
    from loket.cli_lifecycle import resolve_id

    if args.kenmerk is not None and ":" not in args.kenmerk:
        raise Fout("--kenmerk needs BRON:KENMERK, e.g. politie:VIA-2025-000123")
    return resolve_id(args.kenmerk if args.kenmerk is not None else args.melding)


def _explain_stdin(args: argparse.Namespace) -> int:
    from events.intake import Ongeldig, parse

    ruleset = _ruleset(args.rules)
    raw = sys.stdin.buffer.read()
    if not raw.strip():
        raise Fout("no melding on stdin")
    try:
        melding = parse(raw)
    except Ongeldig as exc:
        raise Fout("the melding breaks the intake contract: "
                   + "; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from None
    trace = ruleset.explain(melding.feiten())
    if args.json:
        _emit(trace.as_dict())
    else:
        print(trace.render())
    return 0


def _explain_stored(args: argparse.Namespace, melding_id: UUID) -> int:
    from events.application import OnbekendeMelding
    from events.melding import AfgewezenMelding

    ruleset = _ruleset(args.rules)
    with _store() as systeem:
        try:
            melding = systeem.app.melding(melding_id)
        except OnbekendeMelding:
            raise Fout(f"no melding {melding_id} in the store") from None
    if isinstance(melding, AfgewezenMelding):
        return _explain_rejected(args, melding_id, melding.beslissing.as_contract())
    explained, trace = uitleg(melding, ruleset)
    if args.json:
        _emit(explained)
        return 0
    decided_with, changed = explained["beslist_met"], explained["verschil"]
    print(f"Melding {melding_id} ({melding.bron}:{melding.kenmerk}), status {melding.status}")
    door_mens = [r for r in melding.beslissing.rules if r.startswith("handmatig.")]
    if door_mens:
        print(f"LET OP: de huidige beslissing is door een medewerker genomen ({door_mens[0]}), "
              f"niet door de regels (wie en waarom: loket audit {melding_id}).")
    if decided_with == ruleset.version:
        print(f"Beslist met {decided_with}, de ruleset waarmee hieronder wordt uitgelegd.")
    else:
        print(f"LET OP: beslist met {decided_with}; hieronder uitgelegd met {ruleset.version}.")
    for key, (then, current) in changed.items():
        print(f"LET OP: {key} was {then!r}, onder {ruleset.version} {current!r}")
    print(trace.render())
    return 0


def uitleg(melding: Any, ruleset: Any) -> tuple[dict[str, Any], Any]:
    """A stored melding's decision explained under `ruleset` (`loket explain --json`, the API):
    what was decided and with which ruleset, what the rules say now, and what differs; and
    the trace itself (None for a rejected melding: it was never routed)."""
    from events.melding import AfgewezenMelding

    recorded = melding.beslissing
    if isinstance(melding, AfgewezenMelding):
        return {"melding_id": str(melding.id), "status": "afgewezen",
                "opgeslagen_beslissing": recorded.as_contract()}, None
    trace = ruleset.explain(melding.feiten())
    then, now = recorded.as_contract(), trace.beslissing.as_contract()
    changed = {k: (then[k], now[k]) for k in recorded.verschil(trace.beslissing)}
    return {"melding_id": str(melding.id), "bron": melding.bron, "kenmerk": melding.kenmerk,
            "status": melding.status, "beslist_met": recorded.ruleset,
            "uitgelegd_met": ruleset.version, "andere_ruleset": recorded.ruleset != ruleset.version,
            "door_medewerker": any(r.startswith("handmatig.") for r in recorded.rules),
            "opgeslagen_beslissing": then, "verschil": changed, "trace": trace.as_dict()}, trace


def _explain_rejected(args: argparse.Namespace, melding_id: UUID, recorded: dict) -> int:
    if args.json:
        _emit({"melding_id": str(melding_id), "status": "afgewezen",
               "opgeslagen_beslissing": recorded})
        return 0
    print(f"Melding {melding_id} is bij intake afgewezen (niet gerouteerd): ze voldoet niet aan "
          f"het intakecontract.")
    for error in recorded.get("errors", ()):
        print(f"  - {error['field']}: {error['message']}")
    return 0


# whatif ---------------------------------------------------------------------


def cmd_whatif(args: argparse.Namespace) -> int:
    from projections.whatif import wat_als

    if args.van and args.tot and args.van > args.tot:
        raise Fout(f"--from {args.van} is after --to {args.tot}")
    voorstel, basis = _ruleset(args.rules), _ruleset(args.basis)
    with _store() as systeem:
        uitkomst = wat_als(systeem.app, basis, voorstel, van=args.van, tot=args.tot)
    if args.json:
        _emit(uitkomst.as_dict())
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
        print(f"  {v.melding_id}  {v.bron}:{v.kenmerk}  {v.datum.isoformat()}  "
              f"{v.van} -> {v.naar}")
    return 0
