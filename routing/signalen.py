"""The signal vocabularies: leefgebieden, ketens and delict as data (`routing/data/signalen.yaml`).

A partner writes "Wonen", "wonen " or "Financiën"; the rules speak of `wonen` and `financien`.
`sleutel` is the reading that ignores what does not change the word (case, accents, spacing,
hyphens, slashes, underscores); a vocabulary maps the key of every id and synonym to its id.
The intake contract reads each signal list through `lees_lijst`: known values become their ids,
each id once (so two spellings of one leefgebied count once), and anything unknown, too long or
too many is refused with a message that names what is known, never what was sent: a signal
list is not a place for a name or a BSN.

Routing itself never needs this module to decide: `Feiten` arrive with ids. The loader uses it
to check that a rule names known ids.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import yaml

DEFAULT_PATH = Path(__file__).parent / "data" / "signalen.yaml"
VELDEN = ("leefgebieden", "ketens", "delict")

_SCHEIDING = re.compile(r"[^0-9a-z]+")


class VocabulaireFout(ValueError):
    """The vocabulary file is inconsistent; the message names the file and the entry."""


@lru_cache(maxsize=4096)
def sleutel(value: str) -> str:
    """The key of a signal value: "Financiën", " financien" and "FINANCIEN" share `financien`,
    "Zwaar geweld" and "zwaar_geweld" share `zwaar-geweld`."""
    decomposed = unicodedata.normalize("NFKD", value)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SCHEIDING.sub("-", plain.casefold()).strip("-")


@dataclass(frozen=True, slots=True)
class Waarde:
    id: str
    label: str
    bron: str
    synoniemen: tuple[str, ...] = ()
    routering: str | None = None  # what the rules do with it, for the docs


@dataclass(frozen=True, slots=True)
class Vocabulaire:
    naam: str  # the contract field: leefgebieden, ketens, delict
    enkelvoud: str
    meervoud: str
    waarden: tuple[Waarde, ...]
    index: dict[str, str]  # key of an id or synonym -> id

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(w.id for w in self.waarden)

    def lees(self, value: str) -> str | None:
        """The id a value stands for, or None when the vocabulary does not know it."""
        return self.index.get(sleutel(value))

    def bekend(self) -> str:
        return "known: " + ", ".join(self.ids)


@dataclass(frozen=True, slots=True)
class Vocabulaires:
    max_items: int
    max_lengte: int
    leefgebieden: Vocabulaire
    ketens: Vocabulaire
    delict: Vocabulaire

    def __getitem__(self, naam: str) -> Vocabulaire:
        return {"leefgebieden": self.leefgebieden, "ketens": self.ketens,
                "delict": self.delict}[naam]

    # -- the contract's reading -------------------------------------------------------------

    def lees_lijst(self, naam: str, value: object, *, opgeslagen: bool = False) -> tuple[str, ...]:
        """A signal list as ids, each once, in the order first given.

        `opgeslagen`: a melding read back from the store was valid when received, perhaps under
        an older contract; a value this vocabulary does not know is kept as it was (and counts
        as itself), so history can still be explained and re-decided. Raises ValueError with a
        message that never contains a value sent."""
        vocab = self[naam]
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"must be a list of {vocab.enkelvoud} ids ({vocab.bekend()})")
        if not opgeslagen and len(value) > self.max_items:
            raise ValueError(f"has {len(value)} items, at most {self.max_items} are allowed")
        ids: dict[str, None] = {}
        onbekend: list[int] = []
        for positie, item in enumerate(value, start=1):
            if not isinstance(item, str):
                raise ValueError(f"item {positie} must be text")
            if not opgeslagen and len(item) > self.max_lengte:
                raise ValueError(f"item {positie} is longer than {self.max_lengte} characters")
            gelezen = vocab.lees(item)
            if gelezen is None and not opgeslagen:
                onbekend.append(positie)
            ids[gelezen if gelezen is not None else item] = None
        if onbekend:
            raise ValueError(_onbekend(vocab, onbekend))
        return tuple(ids)

    def lees_waarde(self, naam: str, value: object, *, opgeslagen: bool = False) -> str | None:
        """One signal value (the delict) as its id; absent or blank is None."""
        vocab = self[naam]
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError(f"must be a {vocab.enkelvoud} id ({vocab.bekend()})")
        if not value.strip():
            return None
        if not opgeslagen and len(value) > self.max_lengte:
            raise ValueError(f"is longer than {self.max_lengte} characters")
        gelezen = vocab.lees(value)
        if gelezen is None:
            if opgeslagen:
                return value
            raise ValueError(f"is not a known {vocab.enkelvoud}; {vocab.bekend()}")
        return gelezen


def _onbekend(vocab: Vocabulaire, posities: list[int]) -> str:
    if len(posities) == 1:
        return f"item {posities[0]} is not a known {vocab.enkelvoud}; {vocab.bekend()}"
    return (f"items {', '.join(map(str, posities))} are not known {vocab.meervoud}; "
            f"{vocab.bekend()}")


# -- loading ----------------------------------------------------------------------------------


def laad(path: Path = DEFAULT_PATH) -> Vocabulaires:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise VocabulaireFout(f"{path}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise VocabulaireFout(f"{path}: expected a mapping at top level")
    grenzen = data.get("grenzen") or {}
    try:
        max_items, max_lengte = int(grenzen["max_items"]), int(grenzen["max_lengte"])
    except (KeyError, TypeError, ValueError):
        raise VocabulaireFout(f"{path}: grenzen needs max_items and max_lengte (numbers)") from None
    vocabs = {naam: _vocabulaire(path, naam, data.get(naam), max_lengte) for naam in VELDEN}
    return Vocabulaires(max_items, max_lengte, **vocabs)


def _vocabulaire(path: Path, naam: str, data: object, max_lengte: int) -> Vocabulaire:
    if not isinstance(data, dict) or not data.get("waarden"):
        raise VocabulaireFout(f"{path}: {naam}: no waarden")
    waarden = tuple(_waarde(path, naam, row) for row in data["waarden"])
    index: dict[str, str] = {}
    for waarde in waarden:
        if sleutel(waarde.id) != waarde.id:
            raise VocabulaireFout(f"{path}: {naam}: id {waarde.id!r} is not in its own reading "
                                  f"({sleutel(waarde.id)!r}): write ids lower case with hyphens")
        for woord in (waarde.id, *waarde.synoniemen):
            key = sleutel(woord)
            if not key or len(woord) > max_lengte:
                raise VocabulaireFout(f"{path}: {naam}: {woord!r} is empty or too long")
            if index.setdefault(key, waarde.id) != waarde.id:
                raise VocabulaireFout(f"{path}: {naam}: {woord!r} reads as {key!r}, which already "
                                      f"stands for {index[key]!r}")
    return Vocabulaire(naam, str(data.get("enkelvoud") or naam), str(data.get("meervoud") or naam),
                       waarden, index)


def _waarde(path: Path, naam: str, row: object) -> Waarde:
    if not isinstance(row, dict) or not all(isinstance(row.get(k), str) and row[k].strip()
                                            for k in ("id", "label", "bron")):
        raise VocabulaireFout(f"{path}: {naam}: every value needs an id, a label and a bron: {row!r}")
    synoniemen = row.get("synoniemen") or []
    if not isinstance(synoniemen, list) or not all(isinstance(s, str) for s in synoniemen):
        raise VocabulaireFout(f"{path}: {naam}: {row['id']!r}: synoniemen must be a list of text")
    return Waarde(row["id"], row["label"], row["bron"], tuple(synoniemen), row.get("routering"))


@cache
def vocabulaires() -> Vocabulaires:
    """The shipped vocabularies: the ones the intake contract reads with."""
    return laad(DEFAULT_PATH)


def onbekende_ids(naam: str, ids: Iterable[str]) -> list[str]:
    """The ids among `ids` that the shipped vocabulary `naam` does not have (for the loader)."""
    vocab = vocabulaires()[naam]
    return [i for i in ids if vocab.lees(i) != i]
