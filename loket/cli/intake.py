"""`loket route`, `loket ontvang`: meldingen in."""

from __future__ import annotations

import argparse
import sys

from loket.cli.basis import bijwerken_voortgang, dienst, emit, gebruiker, open_input, regels, tel_regels
from loket.progress import voortgang
from loket.service import Dienst, Samenvatting


def cmd_route(args: argparse.Namespace) -> int:
    """Decide each line as intake would, storing nothing."""
    beoordeel = Dienst.beoordelaar()
    with open_input(args.file) as stream:
        for line in regels(stream):
            emit(beoordeel(line).beslissing.as_contract())
            sys.stdout.flush()
    return 0


def ontvang(d: Dienst, name: str, *, quiet: bool = False) -> Samenvatting:
    """Store every line of a file (group commit per batch), then bring the projections up to date."""
    wie = gebruiker(d)
    with open_input(name) as stream, voortgang("meldingen ontvangen", tel_regels(name), quiet=quiet) as bar:
        summary = d.ontvang_regels(wie, regels(stream), na_batch=bar.advance, bij=False)
    with bijwerken_voortgang(d, quiet=quiet) as na_pagina:
        d.bij(na_pagina=na_pagina)
    return summary


def cmd_ontvang(args: argparse.Namespace) -> int:
    with dienst() as d:
        emit(ontvang(d, args.file).as_dict())
    return 0


def register(command) -> None:
    sp = command("route", cmd_route, "decide JSON-lines meldingen without storing them")
    sp.add_argument("file", nargs="?", default="-", help="JSON lines file, or - for stdin (default)")

    sp = command("ontvang", cmd_ontvang, "store JSON-lines meldingen; prints a JSON summary last")
    sp.add_argument("file", help="JSON lines file, or - for stdin")
