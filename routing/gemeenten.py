"""Effective-dated gemeente -> Zorg- en Veiligheidshuis register.

The mapping is data (`routing/data/gemeenten.yaml`), not code: gemeenten merge (Beekdaelen on
2019-01-01 took Schinnen from Westelijke Mijnstreek to Parkstad), so "which house serves this
name" only has an answer on a date. A replay of 2018 must see Schinnen in Westelijke Mijnstreek.

Resolution never guesses: a name that is not in the register, or that means more than one
gemeente, comes back as `onbekend` and routing sends it to manual triage.
"""

from __future__ import annotations

import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal

import yaml

DEFAULT_PATH = Path(__file__).parent / "data" / "gemeenten.yaml"

Kind = Literal["zuid-limburg", "buiten-regio", "onbekend"]


class RegisterError(ValueError):
    """The register file is inconsistent; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class GemeenteUitslag:
    """What a gemeente name means on a date."""

    kind: Kind
    gemeente: str | None  # canonical gemeente name on that date
    zvh: str | None = None  # house id, only for zuid-limburg
    regio: str | None = None  # region to refer to, only for buiten-regio
    entries: tuple[str, ...] = ()  # ids of the register entries used, in resolution order
    note: str | None = None  # set when a former gemeente, place name or alias was mapped


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    naam: str
    soort: str  # gemeente | buiten-regio | voormalige-gemeente | kern | alias | dubbelzinnig
    van: int  # inclusive date ordinals; 1 and date.max are "open"
    tot: int
    zvh: str | None = None
    regio: str | None = None
    doel: str | None = None  # the gemeente a place name stands for
    opties: tuple[str, ...] = ()


# The answer for a melding without a gemeente; routing tells it apart from an unknown name.
ONTBREEKT = GemeenteUitslag("onbekend", None, note="Geen gemeente opgegeven.")

_OPEN_VAN = date.min.toordinal()
_OPEN_TOT = date.max.toordinal()
_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc"
_SEPARATORS = "-\u2010\u2011\u2012\u2013\u2014_(),"
_TRANSLATE = str.maketrans({**{c: "" for c in _APOSTROPHES + "."}, **{c: " " for c in _SEPARATORS}})


@lru_cache(maxsize=8192)
def normalize(name: str) -> str:
    """The matching key of a name: case, diacritics, apostrophes, hyphens and spacing ignored.

    "'s-Hertogenbosch", "s Hertogenbosch" and "S-HERTOGENBOSCH" share one key, and so do
    "Súdwest-Fryslân" and "sudwest fryslan". A leading "gemeente " is dropped.
    """
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    key = " ".join(plain.casefold().translate(_TRANSLATE).split())
    if key.startswith("gemeente "):
        key = key[len("gemeente ") :]
    return key


def _ordinal(value: date | None, open_value: int) -> int:
    return open_value if value is None else value.toordinal()


def _iso(ordinal: int) -> str:
    if ordinal in (_OPEN_VAN, _OPEN_TOT):
        return ""
    return date.fromordinal(ordinal).isoformat()


class GemeenteRegister:
    """Name -> meaning on a date, precomputed as date segments per name for O(log n) lookups."""

    def __init__(self, data: dict, source: str = "<register>") -> None:
        self.source = source
        self.zvh_namen: dict[str, str] = dict(data.get("zvh") or {})
        entries = list(self._read_entries(data))
        self._by_key: dict[str, list[_Entry]] = {}
        for entry in entries:
            self._by_key.setdefault(normalize(entry.naam), []).append(entry)
        self._check(entries)
        self._segments = {key: self._segment(key) for key in self._by_key}

    @classmethod
    def from_yaml(cls, path: Path = DEFAULT_PATH) -> GemeenteRegister:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise RegisterError(f"{path}: invalid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise RegisterError(f"{path}: expected a mapping at top level")
        return cls(data, source=str(path))

    # -- public -------------------------------------------------------------------------------

    def resolve(self, name: str | None, on: date) -> GemeenteUitslag:
        if name is None or not name.strip():
            return ONTBREEKT
        key = normalize(name)
        segments = self._segments.get(key)
        if segments is None:
            return GemeenteUitslag(
                "onbekend", None, note=f"'{name.strip()}' staat niet in het gemeenteregister."
            )
        starts, results = segments
        return results[bisect_right(starts, on.toordinal()) - 1]

    def gemeenten_op(self, on: date) -> dict[str, str]:
        """The Zuid-Limburg gemeenten on a date, each with the house that serves it then."""
        day = on.toordinal()
        return {e.naam: e.zvh for es in self._by_key.values() for e in es
                if e.soort == "gemeente" and e.zvh is not None and e.van <= day <= e.tot}

    def zuid_limburg_gemeenten(self) -> frozenset[str]:
        """Canonical names of every Zuid-Limburg gemeente the register knows, at any date."""
        return frozenset(
            e.naam for es in self._by_key.values() for e in es if e.soort == "gemeente"
        )

    # -- loading ------------------------------------------------------------------------------

    def _read_entries(self, data: dict):
        for row in data.get("gemeenten") or []:
            zvh = row.get("zvh")
            if zvh not in self.zvh_namen:
                raise RegisterError(
                    f"{self.source}: gemeente {row.get('naam')!r}: unknown zvh {zvh!r}")
            yield self._entry(row, "gemeente", zvh=zvh)
        for row in data.get("plaatsnamen") or []:
            if not row.get("gemeente"):
                raise RegisterError(f"{self.source}: plaatsnaam {row.get('naam')!r}: no gemeente")
            yield self._entry(row, row.get("soort", "kern"), doel=row["gemeente"])
        for row in data.get("dubbelzinnig") or []:
            yield self._entry(row, "dubbelzinnig", opties=tuple(row.get("opties") or ()))
        for regio in data.get("buiten_regio") or []:
            for naam in regio.get("gemeenten") or []:
                yield self._entry({"naam": naam}, "buiten-regio", regio=regio["regio"])

    def _entry(self, row: dict, soort: str, **extra) -> _Entry:
        naam = row.get("naam")
        if not isinstance(naam, str) or not naam.strip():
            raise RegisterError(f"{self.source}: entry without naam: {row!r}")
        for field in ("geldig_van", "geldig_tot"):
            if row.get(field) is not None and not isinstance(row[field], date):
                raise RegisterError(
                    f"{self.source}: {naam!r}: {field} is not a date: {row[field]!r}")
        van = _ordinal(row.get("geldig_van"), _OPEN_VAN)
        tot = _ordinal(row.get("geldig_tot"), _OPEN_TOT)
        if van > tot:
            raise RegisterError(f"{self.source}: {naam!r}: geldig_van after geldig_tot")
        entry_id = f"{soort}:{naam}@{_iso(van)}..{_iso(tot)}"
        return _Entry(entry_id, naam, soort, van, tot, **extra)

    def _check(self, entries: list[_Entry]) -> None:
        for key, same_name in self._by_key.items():
            ordered = sorted(same_name, key=lambda e: e.van)
            for before, after in pairwise(ordered):
                if after.van <= before.tot:
                    raise RegisterError(
                        f"{self.source}: {before.id} and {after.id} overlap: "
                        f"the name '{key}' must mean one thing on every date"
                    )
        for entry in entries:
            for target in (entry.doel, *entry.opties):
                if target is not None and normalize(target) not in self._by_key:
                    raise RegisterError(f"{self.source}: {entry.id} points to unknown {target!r}")
        for key in self._by_key:
            self._reachable(key, ())  # raises on cycles

    def _reachable(self, key: str, path: tuple[str, ...]) -> set[str]:
        if key in path:
            raise RegisterError(f"{self.source}: cycle in plaatsnamen: {' -> '.join((*path, key))}")
        found = {key}
        for entry in self._by_key[key]:
            if entry.doel is not None:
                found |= self._reachable(normalize(entry.doel), (*path, key))
        return found

    def _segment(self, key: str) -> tuple[list[int], list[GemeenteUitslag]]:
        """Cut the time line where any entry on the name's chain starts or ends."""
        cuts = {_OPEN_VAN}
        for reachable in self._reachable(key, ()):
            for e in self._by_key[reachable]:
                cuts.add(e.van)
                if e.tot < _OPEN_TOT:
                    cuts.add(e.tot + 1)
        starts: list[int] = []
        results: list[GemeenteUitslag] = []
        for start in sorted(cuts):
            result = self._resolve_at(key, start)
            if results and results[-1] == result:
                continue
            starts.append(start)
            results.append(result)
        return starts, results

    def _resolve_at(self, key: str, ordinal: int) -> GemeenteUitslag:
        used: list[str] = []
        first_mapping: _Entry | None = None
        while True:
            entry = next((e for e in self._by_key[key] if e.van <= ordinal <= e.tot), None)
            if entry is None:
                known = self._by_key[key]
                periods = ", ".join(f"{_iso(e.van)}..{_iso(e.tot)}" for e in known)
                note: str | None = f"{known[0].naam} staat op die datum niet in het register (wel: {periods})."
                return GemeenteUitslag("onbekend", None, entries=tuple(used), note=note)
            used.append(entry.id)
            if entry.soort == "gemeente":
                note = _mapping_note(first_mapping, entry.naam)
                return GemeenteUitslag("zuid-limburg", entry.naam, zvh=entry.zvh,
                                       entries=tuple(used), note=note)
            if entry.soort == "buiten-regio":
                note = _mapping_note(first_mapping, entry.naam)
                return GemeenteUitslag("buiten-regio", entry.naam, regio=entry.regio,
                                       entries=tuple(used), note=note)
            if entry.soort == "dubbelzinnig":
                note = f"{entry.naam} kan meerdere gemeenten zijn: {', '.join(entry.opties)}."
                return GemeenteUitslag("onbekend", None, entries=tuple(used), note=note)
            first_mapping = first_mapping or entry
            key = normalize(entry.doel)


def _mapping_note(mapping: _Entry | None, gemeente: str) -> str | None:
    if mapping is None:
        return None
    if mapping.soort == "voormalige-gemeente":
        since = f"sinds {_iso(mapping.van)} " if mapping.van != _OPEN_VAN else ""
        return f"{mapping.naam} is {since}geen gemeente meer; het valt onder gemeente {gemeente}."
    if mapping.soort == "alias":
        return f"{mapping.naam} staat voor gemeente {gemeente}."
    return f"{mapping.naam} is een kern van gemeente {gemeente}."


@cache
def default_register() -> GemeenteRegister:
    return GemeenteRegister.from_yaml(DEFAULT_PATH)


def resolve(name: str | None, on: date) -> GemeenteUitslag:
    """Resolve a gemeente name on a date against the shipped register."""
    return default_register().resolve(name, on)
