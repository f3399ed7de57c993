"""Lifecycle commands: people act on routed meldingen. The actor is LOKET_USER."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any
from uuid import UUID

from events.application import OnbekendeMelding
from events.melding import Melding, OngeldigeOvergang, melding_id
from loket.cli import Fout, _emit, _systeem
from loket.settings import Settings


def resolve_id(text: str) -> UUID:
    """A melding id, or BRON:KENMERK as the source knows it."""
    try:
        return UUID(text)
    except ValueError:
        pass
    bron, sep, kenmerk = text.partition(":")
    if not sep or not bron or not kenmerk:
        raise Fout(f"not a melding id or BRON:KENMERK: {text}")
    return melding_id(bron, kenmerk)


def _summary(m: Melding) -> dict[str, Any]:
    b = m.beslissing
    return {
        "melding_id": str(m.id),
        "bron": m.bron,
        "kenmerk": m.kenmerk,
        "status": m.status,
        "zvh": b.zvh if b else None,
        "product": b.product if b else None,
        "labels": list(m.labels),
        "regisseur": m.regisseur,
        "versie": m.version,
    }


def _lifecycle(do: Callable[[Any, UUID, str, argparse.Namespace], Melding]):
    def handler(args: argparse.Namespace) -> int:
        actor = Settings.from_env().user
        with _systeem() as systeem:
            try:
                melding = do(systeem.app, resolve_id(args.id), actor, args)
            except (OngeldigeOvergang, OnbekendeMelding) as exc:
                raise Fout(str(exc)) from None
        summary = _summary(melding)
        if args.json:
            _emit(summary)
        else:
            print(f"{summary['melding_id']} ({summary['bron']}:{summary['kenmerk']}): {summary['status']}, "
                  f"{summary['zvh'] or '-'}/{summary['product'] or '-'}, door {actor}")
        return 0

    return handler


def register(command) -> None:
    def lifecycle(name: str, do, help: str) -> argparse.ArgumentParser:
        sp = command(name, _lifecycle(do), help)
        sp.add_argument("id", help="melding id, or BRON:KENMERK")
        sp.add_argument("--json", action="store_true")
        return sp

    sp = lifecycle("accept", lambda app, i, actor, a: app.accepteer(i, actor=actor, regisseur=a.regisseur),
                   "a house accepts a routed melding and names its regisseur")
    sp.add_argument("--regisseur", required=True)

    sp = lifecycle("return", lambda app, i, actor, a: app.retour(i, actor=actor, reden=a.reason),
                   "a house sends a melding back to the loket's triage queue")
    sp.add_argument("--reason", required=True)

    by_hand = {
        "reroute": (lambda app: app.herrouteer, "the intake team routes a melding by hand, overriding the rules"),
        "decide": (lambda app: app.besluit_triage, "decide a melding waiting in the triage queue"),
    }
    for name, (method, help) in by_hand.items():
        sp = lifecycle(
            name,
            lambda app, i, actor, a, method=method: method(app)(
                i, actor=actor, zvh=a.zvh, product=a.product, reden=a.reason
            ),
            help,
        )
        sp.add_argument("--zvh", required=True)
        sp.add_argument("--product", required=True)
        sp.add_argument("--reason", required=True)

    sp = lifecycle("topx", lambda app, i, actor, a: app.top_x(i, actor=actor, aan=a.state == "on", reden=a.reason),
                   "give a PGA case the Top X label, or scale it down (through the weegtafel)")
    sp.add_argument("state", choices=["on", "off"])
    sp.add_argument("--reason", required=True)

    sp = lifecycle("close", lambda app, i, actor, a: app.sluit(i, actor=actor, resultaat=a.result),
                   "close a melding with its result")
    sp.add_argument("--result", required=True)
