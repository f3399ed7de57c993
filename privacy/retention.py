"""Bewaartermijnen as data (privacy/bewaartermijnen.yaml), and who is due for shredding.

A subject is due when every melding that still holds their personal data has
ended and, for each, its product's term has passed since it ended; the latest
of those dates is when the subject became due.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from typing import Any

import yaml

BESTAND = files("privacy") / "bewaartermijnen.yaml"


@dataclass(frozen=True, slots=True)
class Termijn:
    jaren: int = 0
    maanden: int = 0
    waarom: str = ""

    def __str__(self) -> str:
        parts = [f"{self.jaren} jaar"] if self.jaren else []
        parts += [f"{self.maanden} maanden"] if self.maanden else []
        return " en ".join(parts) or "0 maanden"

    def na(self, einde: date) -> date:
        """The day this term has passed for something that ended on `einde`."""
        months = einde.month - 1 + self.maanden + 12 * self.jaren
        year, month = einde.year + months // 12, months % 12 + 1
        return einde.replace(year=year, month=month, day=min(einde.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Bewaartermijnen:
    standaard: Termijn
    producten: Mapping[str, Termijn]

    def voor(self, product: str | None) -> Termijn:
        return self.producten.get(product or "", self.standaard)


def _termijn(data: Mapping[str, Any], where: str) -> Termijn:
    unknown = set(data) - {"jaren", "maanden", "waarom"}
    if unknown or not (data.get("jaren") or data.get("maanden")):
        raise ValueError(f"{where}: a term is jaren and/or maanden (with its waarom)")
    return Termijn(int(data.get("jaren") or 0), int(data.get("maanden") or 0), str(data.get("waarom") or ""))


def load_bewaartermijnen(text: str | None = None) -> Bewaartermijnen:
    data = yaml.safe_load(text if text is not None else BESTAND.read_text(encoding="utf-8"))
    return Bewaartermijnen(
        standaard=_termijn(data["standaard"], "standaard"),
        producten={p: _termijn(t, p) for p, t in (data.get("producten") or {}).items()},
    )


@dataclass(frozen=True, slots=True)
class Verlopen:
    """A subject whose data is due for destruction, and why."""

    betrokkene: str
    meldingen: int
    verlopen_op: date  # the day the last of their terms passed
    product: str | None  # whose term passed last
    termijn: str


def verlopen(rows: Iterable[Mapping[str, Any]], termijnen: Bewaartermijnen, on: date) -> list[Verlopen]:
    """Subjects due on `on`, from rows of (betrokkene, product, einde: date | None)."""
    per_subject: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        per_subject.setdefault(row["betrokkene"], []).append(row)
    due = []
    for subject, meldingen in per_subject.items():
        if any(m["einde"] is None for m in meldingen):
            continue  # something still runs: everything of this person is kept
        last = max(meldingen, key=lambda m: termijnen.voor(m["product"]).na(m["einde"]))
        termijn = termijnen.voor(last["product"])
        verloopt = termijn.na(last["einde"])
        if verloopt <= on:
            due.append(Verlopen(subject, len(meldingen), verloopt, last["product"], str(termijn)))
    return sorted(due, key=lambda v: (v.verlopen_op, v.betrokkene))
