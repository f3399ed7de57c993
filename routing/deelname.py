"""Which gemeenten take part in a product that not all gemeenten of a house use (data, dated).

"Niet alle Parkstadgemeenten maken gebruik van deze mogelijkheid" (000, JPP): whether a melding
about a minor in Kerkrade goes to the JPP depends on Kerkrade, and the seeds do not say. The
answer per product, gemeente and date is `ja`, `nee` or `onbekend` (not listed for that date);
the rules route on `ja`, pass on `nee` and send `onbekend` to a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

import yaml

DEFAULT_PATH = Path(__file__).parent / "data" / "deelname.yaml"

Antwoord = Literal["ja", "nee", "onbekend"]
_OPEN_VAN = date.min.toordinal()
_OPEN_TOT = date.max.toordinal()


class DeelnameFout(ValueError):
    """The participation file is inconsistent; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Regel:
    product: str
    gemeente: str
    antwoord: Antwoord  # ja | nee
    van: int  # inclusive date ordinals
    tot: int
    bron: str


@dataclass(frozen=True, slots=True)
class Deelname:
    regels: tuple[Regel, ...]
    bronnen: dict[str, str]  # product -> the source of "not every gemeente"
    source: str = "<deelname>"

    @property
    def producten(self) -> frozenset[str]:
        return frozenset(self.bronnen)

    def antwoord(self, product: str, gemeente: str | None, datum: date) -> Antwoord:
        """ja, nee or onbekend for this gemeente (canonical name) on this date."""
        if gemeente is None:
            return "onbekend"
        dag = datum.toordinal()
        for regel in self.regels:
            if (regel.product == product and regel.gemeente == gemeente
                    and regel.van <= dag <= regel.tot):
                return regel.antwoord
        return "onbekend"

    def gemeenten(self) -> frozenset[str]:
        return frozenset(r.gemeente for r in self.regels)

    @classmethod
    def from_yaml(cls, path: Path = DEFAULT_PATH) -> Deelname:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DeelnameFout(f"{path}: invalid YAML: {exc}") from exc
        producten = (data or {}).get("producten") if isinstance(data, dict) else None
        if not isinstance(producten, dict):
            raise DeelnameFout(f"{path}: expected `producten:` with one entry per product")
        regels: list[Regel] = []
        bronnen: dict[str, str] = {}
        for product, entry in producten.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("bron"), str):
                raise DeelnameFout(f"{path}: {product}: needs a bron and gemeenten")
            bronnen[product] = entry["bron"]
            regels += [_regel(path, product, row) for row in entry.get("gemeenten") or []]
        _check_overlap(path, regels)
        return cls(tuple(regels), bronnen, str(path))


def _regel(path: Path, product: str, row: object) -> Regel:
    if not isinstance(row, dict) or not isinstance(row.get("naam"), str):
        raise DeelnameFout(f"{path}: {product}: entry without naam: {row!r}")
    naam = row["naam"]
    if row.get("deelname") not in ("ja", "nee"):
        raise DeelnameFout(f"{path}: {product}: {naam}: deelname must be ja or nee")
    if not isinstance(row.get("bron"), str) or not row["bron"].strip():
        raise DeelnameFout(f"{path}: {product}: {naam}: no bron")
    for field in ("geldig_van", "geldig_tot"):
        if row.get(field) is not None and not isinstance(row[field], date):
            raise DeelnameFout(f"{path}: {product}: {naam}: {field} is not a date")
    van = row["geldig_van"].toordinal() if row.get("geldig_van") else _OPEN_VAN
    tot = row["geldig_tot"].toordinal() if row.get("geldig_tot") else _OPEN_TOT
    if van > tot:
        raise DeelnameFout(f"{path}: {product}: {naam}: geldig_van after geldig_tot")
    return Regel(product, naam, row["deelname"], van, tot, row["bron"])


def _check_overlap(path: Path, regels: list[Regel]) -> None:
    for i, a in enumerate(regels):
        for b in regels[i + 1:]:
            if (a.product, a.gemeente) == (b.product, b.gemeente) and a.van <= b.tot and b.van <= a.tot:
                raise DeelnameFout(f"{path}: {a.product}: {a.gemeente} is listed twice for one "
                                   f"date: it must have one answer on every date")
