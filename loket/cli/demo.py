"""`loket demo`: a synthetic year through the real pipeline, worked like a real year.

Intake and routing first (the same code as `loket ontvang`); then the houses
work their queues through the lifecycle commands: most routed meldingen are
accepted with a regisseur, some are sent back and decided again at the
loket, older ones are closed, a few PGA cases get Top X and are scaled down
again through the weegtafel, a few change regisseur; the loket informs most of
the parties the decisions name. Then the caseload and the year's statistics.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date
from pathlib import Path
from uuid import UUID

from rich.console import Console
from rich.table import Table

from events.handelingen import Gebruiker
from events.informeren import KANALEN
from events.status import IN_BEHANDELING, OPEN, TRIAGE
from events.toegang import BEHEER, COMPARTIMENTEN, INTAKE, ZVH, Rol
from loket import synthetic
from loket.cli.basis import dienst, emit
from loket.cli.intake import ontvang
from loket.cli.overzichten import caseload_table
from loket.progress import voortgang
from loket.service import Dienst
from loket.settings import Settings
from projections.caseload import tellingen

REGISSEURS = ["A. Janssen", "B. Smeets", "C. Hermans", "D. Peters", "E. Vliegen", "F. Willems"]
RESULTATEN = ["doelen behaald", "overgedragen aan het lokaal veld", "verhuisd buiten de regio",
              "geen medewerking; afgeschaald"]
# The simulated people: a house's staff, the loket's intake team, the weegtafel; the radicalisering
# casuïstiek is worked by those who hold its compartment.
_ALLES = frozenset(COMPARTIMENTEN)


def _medewerker(zvh: str | None) -> Gebruiker:
    if zvh is None:
        return Gebruiker("loket-intake", Rol(INTAKE, compartimenten=_ALLES))
    return Gebruiker(f"medewerker-{zvh}", Rol(ZVH, zvh, _ALLES))


def werk_het_jaar(d: Dienst, year: int, seed: int) -> dict[str, int]:
    """The houses and the loket work the year's meldingen through the lifecycle actions."""
    rng = random.Random(seed)
    regie = random.Random(seed + 1)  # its own sequence: the rest of the year is worked as before
    intake, weegtafel = _medewerker(None), Gebruiker("weegtafel", Rol(INTAKE, compartimenten=_ALLES))
    d.bij()
    rows = d.systeem.projecties.rows(
        "SELECT melding_id, zvh, product, datum, status FROM caseload_meldingen "
        "WHERE status IN (?, ?) ORDER BY datum, melding_id", (OPEN, TRIAGE)
    )
    done = {"geaccepteerd": 0, "teruggestuurd": 0, "triage besloten": 0, "gesloten": 0, "top x": 0,
            "regisseur gewisseld": 0, "geinformeerd": 0}
    year_end = date(year, 12, 31)
    with voortgang("zaken behandelen", len(rows)) as bar:
        for row in rows:
            melding_id, zvh = UUID(row["melding_id"]), row["zvh"]
            huis = _medewerker(zvh)
            if row["status"] == TRIAGE:
                bar.advance()
                continue  # decided below, with what was sent back
            r = rng.random()
            if r < 0.03:
                d.handel(huis, "return", melding_id, reden="Past niet bij dit product; graag opnieuw bekijken.")
                done["teruggestuurd"] += 1
            elif r < 0.88:
                m = d.handel(huis, "accept", melding_id, regisseur=rng.choice(REGISSEURS))
                done["geaccepteerd"] += 1
                if regie.random() < 0.04:
                    andere = regie.choice([n for n in REGISSEURS if n != m.regisseur])
                    m = d.handel(huis, "assign", melding_id, regisseur=andere)
                    done["regisseur gewisseld"] += 1
                if row["product"] == "pga" and rng.random() < 0.05 and "top-x" not in m.labels:
                    m = d.handel(intake, "topx-aan", melding_id, reden="Maatschappelijke onrust in de wijk.")
                    done["top x"] += 1
                age = (year_end - date.fromisoformat(row["datum"])).days
                if m.status == IN_BEHANDELING and age > 60 and rng.random() < 0.75:
                    if "top-x" in m.labels:
                        d.handel(weegtafel, "topx-af", melding_id, reden="Afgeschaald naar PGA.")
                    d.handel(huis, "close", melding_id, resultaat=rng.choice(RESULTATEN))
                    done["gesloten"] += 1
            bar.advance()
    # The loket works its triage queue: most items are decided after asking the melder.
    with d.overzicht(intake) as o:
        wachtend = o.triage()
    for item in wachtend:
        if rng.random() < 0.7:
            zvh = item["zvh"] or rng.choice(sorted(d.huizen))
            d.handel(intake, "decide", UUID(item["melding_id"]), zvh=zvh, product="c-en-a",
                     reden="Na navraag bij de melder: consult en advies.")
            done["triage besloten"] += 1
    # The loket tells most of the parties the decisions name; the rest stays on the worklist.
    with d.overzicht(intake) as o:
        taken = o.informeren(per_pagina=500)
        open_taken = [*taken.rijen, *(r for p in range(2, taken.paginas + 1)
                                      for r in o.informeren(pagina=p, per_pagina=500).rijen)]
    for taak in open_taken:
        if regie.random() < 0.85:
            d.handel(intake, "inform", UUID(taak["melding_id"]), taak=taak["taak"], kanaal=regie.choice(list(KANALEN)))
            done["geinformeerd"] += 1
    return done


def cmd_demo(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    db = Path(args.db)
    for suffix in ("", "-wal", "-shm", ".keys", ".keys-wal", ".keys-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    source = db.with_suffix(".jsonl")
    source.write_text("\n".join(synthetic.jaar(args.year, args.seed, args.scale)) + "\n", encoding="utf-8")
    console = Console()
    console.print(f"Demo: een synthetisch jaar {args.year} (seed {args.seed}) → {db}")
    started = time.perf_counter()
    beheer = Gebruiker(settings.user, Rol(BEHEER, compartimenten=_ALLES))
    with dienst(settings.with_db(db)) as d:
        summary = ontvang(d, str(source))
        intake_seconds = time.perf_counter() - started
        worked = werk_het_jaar(d, args.year, args.seed)
        with d.overzicht(beheer) as o:
            rows, stats, waiting = o.caseload(op=date(args.year, 12, 31)), o.statistiek(args.year), len(o.triage())
            statuses = tellingen(o.store)
        events = d.app.recorder.max_notification_id() or 0
    seconds = time.perf_counter() - started
    console.print(caseload_table(rows, f"Caseload eind {args.year}: lopende meldingen per ZVH en product"))
    console.print(_stats_table(stats, args.year))
    console.print(
        f"{summary.received} regels ontvangen: {summary.new} nieuwe meldingen, "
        f"{summary.duplicates} dubbel, {summary.rejected} afgewezen (loket afgewezen); "
        f"{statuses.get('doorverwezen', 0)} doorverwezen, {waiting} wachten in triage. "
        f"Behandeld: {worked['geaccepteerd']} geaccepteerd, {worked['gesloten']} gesloten, "
        f"{worked['teruggestuurd']} teruggestuurd, {worked['triage besloten']} triagebesluiten. "
        f"{events} events in {seconds:.1f} s (intake {intake_seconds:.1f} s)."
    )
    emit({**summary.as_dict(), **{k.replace(" ", "_"): v for k, v in worked.items()}, "events": events,
          "seconds": round(seconds, 2), "db": str(db)})
    return 0


def _stats_table(stats: list[dict], year: int) -> Table:
    per_product: dict[str, list[int]] = {}
    for r in stats:
        totals = per_product.setdefault(r["product"], [0, 0])
        totals[0] += r["dit_jaar"]
        totals[1] += r["gesloten"]
    table = Table(title=f"Statistiek {year}: gerouteerde meldingen per product (loket stats --year {year})")
    for column in ("product", "aangemeld", "gesloten"):
        table.add_column(column, justify="left" if column == "product" else "right")
    for product, (n, closed) in sorted(per_product.items()):
        table.add_row(product, str(n), str(closed))
    return table


def register(command) -> None:
    sp = command("demo", cmd_demo, "a synthetic year of meldingen through the pipeline, then the caseload")
    sp.add_argument("--year", type=int, default=2025)
    sp.add_argument("--seed", type=int, default=2025)
    sp.add_argument("--scale", type=float, default=1.0, help="volume factor (1.0 = a realistic year)")
    sp.add_argument("--db", default="loket-demo.sqlite", help="store for the demo (recreated)")
