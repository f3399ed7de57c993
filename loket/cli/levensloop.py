"""The lifecycle commands, one per action of the action table (events/handelingen.py): accept,
return, reroute, decide, topx, assign, inform, close. The actor is LOKET_USER, in the role LOKET_ROLE."""

from __future__ import annotations

import argparse
from typing import Any

from events.handelingen import LEVENSLOOP, Handeling
from events.informeren import KANALEN
from events.melding import Melding
from loket.cli.basis import dienst, emit, gebruiker

# The action table's fields as the command line names them.
OPTIES = {"regisseur": "--regisseur", "reden": "--reason", "resultaat": "--result", "zvh": "--zvh",
          "product": "--product", "taak": "--task", "kanaal": "--channel"}
KEUZES = {"kanaal": list(KANALEN)}


def samenvatting(m: Melding) -> dict[str, Any]:
    b = m.beslissing
    return {"melding_id": str(m.id), "bron": m.bron, "kenmerk": m.kenmerk, "status": m.status,
            "zvh": b.zvh if b else None, "product": b.product if b else None, "labels": list(m.labels),
            "regisseur": m.regisseur, "versie": m.version}


def _handeling(args: argparse.Namespace, handeling: Handeling) -> str:
    if handeling.id.startswith("topx-"):
        return "topx-aan" if args.state == "on" else "topx-af"
    return handeling.id


def cmd_handel(args: argparse.Namespace) -> int:
    with dienst() as d:
        wie = gebruiker(d)
        handeling = _handeling(args, args.handeling)
        velden = {veld: getattr(args, veld) for veld in args.handeling.velden}
        melding = d.handel(wie, handeling, d.melding_id_van(args.id), **velden)
    summary = samenvatting(melding)
    if args.json:
        emit(summary)
    else:
        print(f"{summary['melding_id']} ({summary['bron']}:{summary['kenmerk']}): {summary['status']}, "
              f"{summary['zvh'] or '-'}/{summary['product'] or '-'}, door {wie.naam}")
    return 0


def register(command) -> None:
    for handeling in LEVENSLOOP:
        if handeling.id == "topx-af":
            continue  # one command, `topx ID on|off`
        name = "topx" if handeling.id == "topx-aan" else handeling.id
        help = ("give a PGA case the Top X label, or scale it down (through the weegtafel)" if name == "topx"
                else f"{handeling.beschrijving} (roles: {', '.join(sorted(handeling.rollen))})")
        sp = command(name, cmd_handel, help)
        sp.set_defaults(handeling=handeling)
        sp.add_argument("id", help="melding id, or BRON:KENMERK")
        if name == "topx":
            sp.add_argument("state", choices=["on", "off"])
        for veld in handeling.velden:
            sp.add_argument(OPTIES[veld], dest=veld, required=True, choices=KEUZES.get(veld))
        sp.add_argument("--json", action="store_true")
