"""Privacy and integrity commands: read personal data, shred, retention, access log, verify.

Reads of personal data are made as LOKET_USER in the role LOKET_ROLE (intake, or zvh:<house>)
with the compartments LOKET_COMPARTMENTS, and recorded in the access log like any API read. A
BSN given to `shred` is turned into its pseudonym at once: it is never stored, logged or printed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from events.logboek import MAX_TOELICHTING, doelen
from loket.cli.basis import CommandoFout, dienst, emit, gebruiker, gebruiker_uit
from loket.service import OngeldigVeld, datum, verhuis_sleutels
from loket.settings import Settings
from loket.uitvoer import csv_bytes, toegangslog_blad
from privacy.vernietiging import GRONDEN
from routing import load_ruleset


def _print_persoonsgegevens(melding_id: str, data: dict[str, Any]) -> None:
    print(f"melding {melding_id}, betrokkene {data['betrokkene']}")
    if "payload" in data:
        print(f"payload (afgewezen): {data['payload']}")
        return
    print(f"persoon: {data['persoon']}")
    print(f"toelichting: {data['toelichting']}")
    for n in data["notities"]:
        tekst = n.get("reden", n.get("resultaat"))
        print(f"  v{n['versie']} {n['tijdstip']} {n['gebeurtenis']} door {n['actor']}: {tekst}")


def cmd_show(args: argparse.Namespace) -> int:
    with dienst() as d:
        melding_id = d.melding_id_van(args.id)
        wie = gebruiker(d)
        try:
            data = d.persoonsgegevens(wie, melding_id, args.purpose, kanaal="cli", toelichting=args.note)
        except OngeldigVeld as exc:
            # The command line's names for the fields; the message lists the purposes, never the value.
            raise OngeldigVeld("--purpose" if exc.field == "doel" else "--note", exc.message) from None
    if args.json:
        emit({"melding_id": str(melding_id), **data})
    else:
        _print_persoonsgegevens(str(melding_id), data)
        print(f"(recorded in the access log: {wie.naam} as {wie.rol}, doel: {args.purpose.strip()}"
              + (", with the note sealed" if args.note else "") + ")", file=sys.stderr)
    return 0


def _log_not_emptied(where: str) -> int:
    print(f"loket: another process reads an older snapshot of the key store, so the former bytes of destroyed keys "
          f"stay in {where}; run `loket shred` again when it has finished (exit 1)", file=sys.stderr)
    return 1


def cmd_keystore_import(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    moved = verhuis_sleutels(gebruiker_uit(settings, load_ruleset().zvh_ids), settings, args.file)
    emit(moved)
    print(f"loket: the keys of {args.file} are in LOKET_KEYSTORE_URL now. That file is a copy of every key, the ones "
          f"shredded from now on included: destroy it (shred -u, and its -wal) and every copy of it", file=sys.stderr)
    return 0


def _grond(text: str) -> str:
    """A ground for shredding from the closed list; what was typed is never echoed (it may name the person)."""
    if text not in GRONDEN:
        raise argparse.ArgumentTypeError(f"give one of the grounds: {', '.join(GRONDEN)} (loket shred --help)")
    return text


def cmd_shred(args: argparse.Namespace) -> int:
    with dienst() as d:
        wie = gebruiker(d)
        bsn = sys.stdin.readline() if args.bsn == "-" else args.bsn
        subject = d.betrokkene(wie, bsn=bsn, naam=args.naam, geboortedatum=args.geboortedatum, pseudoniem=args.subject)
        done = d.vernietig(wie, subject, args.reason)
        keystore_path = d.app.kluis.keystore.leftovers
    v = done.vernietiging
    emit({"betrokkene": subject, "meldingen": [str(m) for m in v.meldingen], "sleutels": len(v.sleutels)})
    if not v.sleutels:
        print("loket: no personal data is held for this subject (nothing to destroy)", file=sys.stderr)
    elif args.bsn is not None:
        print("loket: meldingen registered without a BSN are found by --naam with --geboortedatum", file=sys.stderr)
    return 0 if done.log_geleegd else _log_not_emptied(keystore_path)


def cmd_retention(args: argparse.Namespace) -> int:
    with dienst() as d:
        bewaring = d.bewaartermijnen(gebruiker(d), args.as_of, toepassen=args.apply)
        keystore_path = d.app.kluis.keystore.leftovers
    code = 0 if bewaring.log_geleegd else _log_not_emptied(keystore_path)
    if args.json:
        emit({"op": bewaring.op.isoformat(), "verlopen": bewaring.verlopen, "vernietigd": bewaring.vernietigd})
        return code
    table = Table(title=f"Bewaartermijn verstreken op {bewaring.op.isoformat()}: {len(bewaring.verlopen)} betrokkenen"
                        + (" (vernietigd)" if args.apply else " (loket retention --apply vernietigt)"))
    for column in ("betrokkene", "meldingen", "verlopen op", "product", "termijn"):
        table.add_column(column)
    for r in bewaring.verlopen:
        table.add_row(r["betrokkene"], str(r["meldingen"]), r["verlopen_op"], r["product"] or "-", r["termijn"])
    Console().print(table)
    return code


def _dag(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a date (YYYY-MM-DD)") from None


def cmd_access_log(args: argparse.Namespace) -> int:
    with dienst() as d:
        melding = d.melding_id_van(args.melding) if args.melding else None
        rows = d.toegangslog(gebruiker(d), melding=melding, actor=args.actor, van=args.van, tot=args.tot,
                             doel=args.purpose, betrokkene=args.subject)
    if args.csv:
        sys.stdout.buffer.write(csv_bytes(toegangslog_blad(rows)))
        return 0
    if args.json:
        emit(rows)
        return 0
    table = Table(title=f"Logboek dataverwerkingen: {len(rows)} regels")
    for column in ("begin", "actor", "rol", "melding", "doel", "handeling", "toegang", "kanaal", "trace"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["begin"], r["actor"], r["rol"], r["melding_id"], r["doel"], r["naam"],
                      r["toegang"] + (f" ({r['weigering']})" if r["weigering"] else ""), r["kanaal"], r["trace_id"])
    Console().print(table)
    return 0


def cmd_subject_access(args: argparse.Namespace) -> int:
    if (args.id is None) == (args.subject is None):
        raise CommandoFout("give a melding id (or BRON:KENMERK), or --subject PSEUDONYM")
    with dienst() as d:
        wie = gebruiker(d)
        if args.subject is not None:
            emit(d.inzageverzoek_betrokkene(wie, args.subject, kanaal="cli"))
        else:
            emit(d.inzageverzoek(wie, d.melding_id_van(args.id), kanaal="cli"))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    with dienst() as d:
        summary = d.verifieer(gebruiker(d), args.public_key)
    if args.json:
        emit(summary)
    elif summary["intact"]:
        keyed = ("every link keyed" if summary["keyed_from"] == 1
                 else f"links keyed from number {summary['keyed_from']}")
        print(f"intact: {summary['events']} events, {summary['anchors']} signed anchors, {keyed}; head "
              f"{summary['head']} at position {summary['head_position']}, kept in the key store at position "
              f"{summary['kept_head_position']} (anchor key {summary['anchor_key']})")
    if not summary["intact"]:
        print(f"loket: the event store is BROKEN at position {summary['broken_at']}: {summary['reason']}",
              file=sys.stderr)
        return 1
    return 0


def _as_of_date(text: str) -> date:
    try:
        return datum(text, "as-of")
    except OngeldigVeld:
        raise argparse.ArgumentTypeError(f"not a date: {text[:40]} (e.g. 01-01-2031 or 2031-01-01)") from None


def register(command) -> None:
    sp = command("show", cmd_show, "read a melding's personal data (recorded in the access log)")
    sp.add_argument("id", nargs="?", help="melding id, or BRON:KENMERK")
    sp.add_argument("--subject", metavar="PSEUDONYM", help="every melding about one person instead")
    sp.add_argument("--purpose", required=True, metavar="DOEL",
                    help=f"why you read it, a purpose of the register: {', '.join(doelen())}; recorded with the read")
    sp.add_argument("--note", metavar="TEXT", help=f"a toelichting on the purpose (at most {MAX_TOELICHTING} "
                    "characters); sealed in the access log, never kept in the clear")
    sp.add_argument("--json", action="store_true")

    sp = command("shred", cmd_shred, "destroy a subject's keys: their personal data reads as removed, events stay")
    who = sp.add_mutually_exclusive_group(required=True)
    who.add_argument("--bsn", help="the subject's BSN, or - to read it from stdin (keeps it out of ps and history)")
    who.add_argument("--subject", help="the subject's pseudonym (as loket show prints it)")
    who.add_argument("--naam", help="for meldingen without a BSN: the name, with --geboortedatum")
    sp.add_argument("--geboortedatum", help="with --naam: the birth date (30-06-1990 or 1990-06-30)")
    sp.add_argument("--reason", required=True, type=_grond, metavar="GROUND",
                    help="why, recorded: " + "; ".join(f"{k}: {v}" for k, v in GRONDEN.items()))

    sp = command("retention", cmd_retention, "subjects whose meldingen all ended longer ago than their term")
    sp.add_argument("--apply", action="store_true", help="shred them")
    sp.add_argument("--as-of", type=_as_of_date, default=None, metavar="DATE", help="judge on this day (default today)")
    sp.add_argument("--json", action="store_true")

    sp = command("access-log", cmd_access_log, "who read or destroyed which personal data, when, why (auditors)")
    sp.add_argument("--melding", metavar="ID", help="melding id, or BRON:KENMERK")
    sp.add_argument("--actor", metavar="NAME")
    sp.add_argument("--from", dest="van", type=_dag, metavar="DATE", help="first day (Dutch time, inclusive)")
    sp.add_argument("--to", dest="tot", type=_dag, metavar="DATE", help="last day (Dutch time, inclusive)")
    sp.add_argument("--purpose", metavar="DOEL", help="one purpose of the register: " + ", ".join(doelen()))
    sp.add_argument("--subject", metavar="PSEUDONYM", help="every line about one subject (as `loket show` prints it)")
    sp.add_argument("--json", action="store_true")
    sp.add_argument("--csv", action="store_true", help="CSV on stdout, Dutch column heads")

    sp = command("subject-access", cmd_subject_access,
                 "a melding's whole trail as one JSON document for a subject access request (AVG art. 15); "
                 "its personal data only for a role that reads them (that read is recorded)")
    sp.add_argument("id", nargs="?", help="melding id, or BRON:KENMERK")
    sp.add_argument("--subject", metavar="PSEUDONYM", help="every melding about one person instead")

    sp = command("keystore", lambda a: a.keystore_handler(a), "the key store of personal data")
    sub = sp.add_subparsers(dest="keystore_command", required=True, metavar="ACTION")
    move = sub.add_parser("import", help="move a key store file into the empty PostgreSQL key store of "
                                         "LOKET_KEYSTORE_URL, before any process starts on it (docs/privacy.md)")
    move.add_argument("file", type=Path, help="the key store file (LOKET_KEYSTORE, default <LOKET_DB>.keys)")
    move.set_defaults(keystore_handler=cmd_keystore_import)

    sp = command("verify", cmd_verify, "walk the hash chain over the events; exit 1 at the first broken position")
    sp.add_argument("--public-key", metavar="HEX",
                    help="the anchor key to check against (default: from the master key)")
    sp.add_argument("--json", action="store_true")
