"""Privacy and integrity commands: read personal data, shred, retention, access log, verify.

Reads of personal data are made as LOKET_USER in the role LOKET_ROLE with the
compartments LOKET_COMPARTMENTS, and recorded in the access log like any API
read. A BSN given to `shred` is turned into its pseudonym at once: it is never
stored, logged or printed.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from rich.console import Console
from rich.table import Table

from events.application import OnbekendeMelding
from events.hashchain import HashChained, public_key_text
from events.intake import Persoon
from events.logboek import MAX_TOELICHTING, OngeldigDoel, doelen
from events.melding import OngeldigeOvergang
from events.toegang import GeenToegang
from loket.cli import Fout, _bijwerken, _emit, _systeem
from loket.cli_lifecycle import resolve_id
from loket.settings import Settings
from privacy.retention import load_bewaartermijnen, verlopen
from privacy.vernietiging import GRONDEN
from projections.bewaring import bewaarregels
from projections.toegangslog import toegangslog


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
    settings = Settings.from_env()
    melding_id = resolve_id(args.id)
    with _systeem() as systeem:
        try:
            data = systeem.app.persoonsgegevens(
                melding_id, actor=settings.user, doel=args.purpose, rol=settings.role,
                compartimenten=settings.compartments, kanaal="cli", toelichting=args.note,
            )
        except OngeldigDoel as exc:
            raise Fout(f"--{'purpose' if exc.field == 'doel' else 'note'}: {exc.message}") from None
        except (GeenToegang, OnbekendeMelding) as exc:
            raise Fout(str(exc)) from None
    if args.json:
        _emit({"melding_id": str(melding_id), **data})
    else:
        _print_persoonsgegevens(str(melding_id), data)
        print(f"(recorded in the access log: {settings.user} as {settings.role}, doel: {args.purpose.strip()}"
              + (", with the note sealed" if args.note else "") + ")", file=sys.stderr)
    return 0


def _bsn(args: argparse.Namespace) -> str:
    text = sys.stdin.readline() if args.bsn == "-" else args.bsn
    try:
        return Persoon(bsn=text.strip()).bsn or ""
    except ValueError:
        # Never echo it: a mistyped BSN is still someone's.
        raise Fout("--bsn is not a valid BSN (9 digits that pass the elfproef)") from None


def _subject(app: Any, args: argparse.Namespace) -> str:
    if args.geboortedatum and args.naam is None:
        raise Fout("--geboortedatum goes with --naam")
    if args.bsn is not None:
        return app.betrokkene_met_bsn(_bsn(args))
    if args.naam is not None:
        if not args.geboortedatum:
            raise Fout("--naam needs --geboortedatum: a name alone could be someone else")
        try:
            born = date.fromisoformat(args.geboortedatum)
        except ValueError:
            raise Fout("--geboortedatum must be an ISO date, e.g. 1990-05-06") from None
        return app.betrokkene_met_naam(args.naam, born.isoformat())
    subject = args.subject.strip().lower()
    if len(subject) != 64 or any(c not in "0123456789abcdef" for c in subject):
        raise Fout("--subject must be a pseudonym: 64 hexadecimal characters (loket show prints it)")
    return subject


def cmd_shred(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with _systeem() as systeem:
        subject = _subject(systeem.app, args)
        try:
            done = systeem.app.vernietig(subject, actor=settings.user, reden=args.reason, rol=settings.role)
        except OngeldigeOvergang as exc:
            raise Fout(str(exc)) from None
        # Shredding again, with nothing left to destroy, empties what an earlier one could not.
        keystore = systeem.app.kluis.keystore
        emptied = keystore.log_emptied if done.sleutels else keystore.empty_log()
        _bijwerken(systeem, quiet=True)
    _emit({"betrokkene": subject, "meldingen": [str(m) for m in done.meldingen], "sleutels": len(done.sleutels)})
    if not done.sleutels:
        print("loket: no personal data is held for this subject (nothing to destroy)", file=sys.stderr)
    elif args.bsn is not None:
        print("loket: meldingen registered without a BSN are found by --naam with --geboortedatum", file=sys.stderr)
    return 0 if emptied else _log_not_emptied(keystore.path)


def _log_not_emptied(path: str) -> int:
    print(f"loket: another process reads an older snapshot of the key store, so the former bytes of destroyed keys "
          f"stay in {path}-wal; run `loket shred` again when it has finished (exit 1)", file=sys.stderr)
    return 1


def _grond(text: str) -> str:
    """A ground for shredding from the closed list; what was typed is never echoed (it may name the person)."""
    if text not in GRONDEN:
        raise argparse.ArgumentTypeError(f"give one of the grounds: {', '.join(GRONDEN)} (loket shred --help)")
    return text


def cmd_retention(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    on = args.as_of or date.today()
    termijnen = load_bewaartermijnen()
    with _systeem() as systeem:
        _bijwerken(systeem, quiet=True)
        due = verlopen(bewaarregels(systeem.projecties), termijnen, on)
        shredded = []
        if args.apply:
            for v in due:
                reden = f"bewaartermijn verstreken: {v.product or 'standaard'} {v.termijn} na afloop, op {v.verlopen_op}"
                shredded.append(systeem.app.vernietig(v.betrokkene, actor=settings.user, reden=reden, rol=settings.role))
            _bijwerken(systeem, quiet=True)
        keystore = systeem.app.kluis.keystore
        emptied = keystore.empty_log() if shredded else True
    rows = [{"betrokkene": v.betrokkene, "meldingen": v.meldingen, "verlopen_op": v.verlopen_op.isoformat(),
             "product": v.product, "termijn": v.termijn} for v in due]
    if args.json:
        _emit({"op": on.isoformat(), "verlopen": rows, "vernietigd": sum(len(s.meldingen) > 0 for s in shredded)})
        return 0 if emptied else _log_not_emptied(keystore.path)
    table = Table(title=f"Bewaartermijn verstreken op {on.isoformat()}: {len(rows)} betrokkenen"
                        + (" (vernietigd)" if args.apply else " (loket retention --apply vernietigt)"))
    for column in ("betrokkene", "meldingen", "verlopen op", "product", "termijn"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["betrokkene"], str(r["meldingen"]), r["verlopen_op"], r["product"] or "-", r["termijn"])
    Console().print(table)
    return 0 if emptied else _log_not_emptied(keystore.path)


def cmd_access_log(args: argparse.Namespace) -> int:
    melding = str(resolve_id(args.melding)) if args.melding else None
    with _systeem() as systeem:
        _bijwerken(systeem, quiet=True)
        rows = toegangslog(systeem.projecties, melding_id=melding, actor=args.actor)
    if args.json:
        _emit(rows)
        return 0
    table = Table(title=f"Logboek dataverwerkingen: {len(rows)} regels")
    for column in ("begin", "actor", "rol", "melding", "doel", "handeling", "toegang", "kanaal", "trace"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["begin"], r["actor"], r["rol"], r["melding_id"], r["doel"], r["naam"],
                      r["toegang"] + (f" ({r['weigering']})" if r["weigering"] else ""), r["kanaal"], r["trace_id"])
    Console().print(table)
    return 0


def _public_key(text: str) -> Ed25519PublicKey:
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError:
        raise Fout("--public-key must be the anchor key as 64 hexadecimal characters") from None


def cmd_verify(args: argparse.Namespace) -> int:
    with _systeem() as systeem:
        recorder = systeem.app.recorder
        if not isinstance(recorder, HashChained):
            raise Fout("this event store keeps no hash chain (APPLICATION_RECORDER_TOPIC)")
        key = _public_key(args.public_key) if args.public_key else systeem.app.kluis.anker_sleutel().public_key()
        result = recorder.verify(key)
    summary = {"intact": result.intact, "events": result.events, "anchors": result.anchors,
               "head": result.head, "head_position": result.head_position, "anchor_key": public_key_text(key),
               "kept_head_position": result.kept_head_position, "keyed_from": result.keyed_from,
               "broken_at": result.broken_at, "reason": result.reason}
    if args.json:
        _emit(summary)
    elif result.intact:
        keyed = "every link keyed" if result.keyed_from == 1 else f"links keyed from number {result.keyed_from}"
        print(f"intact: {result.events} events, {result.anchors} signed anchors, {keyed}; head {result.head} "
              f"at position {result.head_position}, kept in the key store at position {result.kept_head_position} "
              f"(anchor key {summary['anchor_key']})")
    if not result.intact:
        print(f"loket: the event store is BROKEN at position {result.broken_at}: {result.reason}", file=sys.stderr)
        return 1
    return 0


def _as_of_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text} (e.g. 2031-01-01)") from None


def register(command) -> None:
    sp = command("show", cmd_show, "read a melding's personal data (recorded in the access log)")
    sp.add_argument("id", help="melding id, or BRON:KENMERK")
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
    sp.add_argument("--geboortedatum", help="with --naam: the birth date (ISO)")
    sp.add_argument("--reason", required=True, type=_grond, metavar="GROUND",
                    help="why, recorded: " + "; ".join(f"{k}: {v}" for k, v in GRONDEN.items()))

    sp = command("retention", cmd_retention, "subjects whose meldingen all ended longer ago than their term")
    sp.add_argument("--apply", action="store_true", help="shred them")
    sp.add_argument("--as-of", type=_as_of_date, default=None, metavar="DATE", help="judge on this day (default today)")
    sp.add_argument("--json", action="store_true")

    sp = command("access-log", cmd_access_log, "who read or destroyed which personal data, when, why (auditors)")
    sp.add_argument("--melding", metavar="ID", help="melding id, or BRON:KENMERK")
    sp.add_argument("--actor", metavar="NAME")
    sp.add_argument("--json", action="store_true")

    sp = command("verify", cmd_verify, "walk the hash chain over the events; exit 1 at the first broken position")
    sp.add_argument("--public-key", metavar="HEX", help="the anchor key to check against (default: from the master key)")
    sp.add_argument("--json", action="store_true")
