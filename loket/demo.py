"""`loket demo`: a synthetic year through the real pipeline, worked like a real year.

Intake and routing first (the same code as `loket ontvang`); then the houses
work their queues through the lifecycle commands: most routed meldingen are
accepted with a regisseur, some are sent back and decided again at the
loket, older ones are closed, a few PGA cases get Top X and are scaled down
again through the weegtafel. Then the caseload and the year's statistics.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date
from pathlib import Path
from uuid import UUID

from rich.console import Console

from events.melding import IN_BEHANDELING, OPEN, TRIAGE, Melding
from loket import synthetic
from loket.bootstrap import Systeem
from loket.cli import _bijwerken, _emit, _systeem, ontvang
from loket.cli_projections import caseload_table
from loket.progress import voortgang
from loket.settings import Settings
from projections.caseload import caseload, statistiek, tellingen, triage_queue

REGISSEURS = ["A. Janssen", "B. Smeets", "C. Hermans", "D. Peters", "E. Vliegen", "F. Willems"]
RESULTATEN = ["doelen behaald", "overgedragen aan het lokaal veld", "verhuisd buiten de regio",
              "geen medewerking; afgeschaald"]


def werk_het_jaar(systeem: Systeem, year: int, seed: int) -> dict[str, int]:
    """The houses and the loket work the year's meldingen through the lifecycle commands."""
    rng = random.Random(seed)
    app = systeem.app
    _bijwerken(systeem, quiet=True)
    rows = systeem.projecties.rows(
        "SELECT melding_id, zvh, product, datum, status FROM caseload_meldingen "
        "WHERE status IN (?, ?) ORDER BY datum, melding_id", (OPEN, TRIAGE)
    )
    done = {"geaccepteerd": 0, "teruggestuurd": 0, "triage besloten": 0, "gesloten": 0, "top x": 0}
    year_end = date(year, 12, 31)
    with voortgang("zaken behandelen", len(rows)) as bar:
        for row in rows:
            melding_id, zvh = UUID(row["melding_id"]), row["zvh"]
            actor = f"medewerker-{zvh}" if zvh else "loket-intake"
            if row["status"] == TRIAGE:
                bar.advance()
                continue  # decided below, with what was sent back
            r = rng.random()
            if r < 0.03:
                app.retour(melding_id, actor=actor, reden="Past niet bij dit product; graag opnieuw bekijken.")
                done["teruggestuurd"] += 1
            elif r < 0.88:
                m: Melding = app.accepteer(melding_id, actor=actor, regisseur=rng.choice(REGISSEURS))
                done["geaccepteerd"] += 1
                if row["product"] == "pga" and rng.random() < 0.05 and "top-x" not in m.labels:
                    app.top_x(melding_id, actor=actor, aan=True, reden="Maatschappelijke onrust in de wijk.")
                    done["top x"] += 1
                age = (year_end - date.fromisoformat(row["datum"])).days
                if m.status == IN_BEHANDELING and age > 60 and rng.random() < 0.75:
                    if "top-x" in app.melding(melding_id).labels:
                        app.top_x(melding_id, actor="weegtafel", aan=False, reden="Afgeschaald naar PGA.")
                    app.sluit(melding_id, actor=actor, resultaat=rng.choice(RESULTATEN))
                    done["gesloten"] += 1
            bar.advance()
    # The loket works its triage queue: most items are decided after asking the melder.
    _bijwerken(systeem, quiet=True)
    for item in triage_queue(systeem.projecties):
        if rng.random() < 0.7:
            zvh = item["zvh"] or rng.choice(sorted(app.ruleset.zvh_ids))
            app.besluit_triage(UUID(item["melding_id"]), actor="loket-intake", zvh=zvh, product="c-en-a",
                               reden="Na navraag bij de melder: consult en advies.")
            done["triage besloten"] += 1
    return done


def demo(args: argparse.Namespace) -> int:
    db = Path(args.db)
    for suffix in ("", "-wal", "-shm", ".keys", ".keys-wal", ".keys-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    source = db.with_suffix(".jsonl")
    source.write_text("\n".join(synthetic.jaar(args.year, args.seed, args.scale)) + "\n", encoding="utf-8")
    console = Console()
    console.print(f"Demo: een synthetisch jaar {args.year} (seed {args.seed}) → {db}")
    started = time.perf_counter()
    with _systeem(Settings.from_env().with_db(db)) as systeem:
        summary = ontvang(systeem, str(source))
        intake_seconds = time.perf_counter() - started
        worked = werk_het_jaar(systeem, args.year, args.seed)
        _bijwerken(systeem, quiet=True)
        store = systeem.projecties
        rows = caseload(store, date(args.year, 12, 31))
        stats = statistiek(store, args.year)
        statuses = tellingen(store)
        waiting = len(triage_queue(store))
        events = systeem.app.recorder.max_notification_id() or 0
    seconds = time.perf_counter() - started
    console.print(caseload_table(rows, f"Caseload eind {args.year}: lopende meldingen per ZVH en product"))
    console.print(_stats_table(stats, args.year))
    console.print(
        f"{summary['received']} regels ontvangen: {summary['new']} nieuwe meldingen, "
        f"{summary['duplicates']} dubbel, {summary['rejected']} afgewezen (loket afgewezen); "
        f"{statuses.get('doorverwezen', 0)} doorverwezen, {waiting} wachten in triage. "
        f"Behandeld: {worked['geaccepteerd']} geaccepteerd, {worked['gesloten']} gesloten, "
        f"{worked['teruggestuurd']} teruggestuurd, {worked['triage besloten']} triagebesluiten. "
        f"{events} events in {seconds:.1f} s (intake {intake_seconds:.1f} s)."
    )
    _emit({**summary, **{k.replace(" ", "_"): v for k, v in worked.items()}, "events": events,
           "seconds": round(seconds, 2), "db": str(db)})
    return 0


def _stats_table(stats: list[dict], year: int):
    from rich.table import Table

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
