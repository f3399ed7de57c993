"""Where a rule comes from: its `bron`, read as references, and checked against the sources.

A rule's `bron` is one or more references separated by "; ":

- a seed: its file number (000 to 004) and at least one phrase quoted from it in double quotes,
  e.g. `000 Beschermingstafel "het verzoek dat de betrokken hulpverlener"`;
- a section of the domain brief (DOMAIN.md, which lives beside the repository with the seeds, in
  ../shared, not in it): `DOMAIN <words of its heading>`, e.g. `DOMAIN gemeenten and houses`,
  with quoted phrases where it helps;
- `besluit loket`: the loket's own choice where the sources are silent. Such a choice sends the
  melding to a person (outcome triage) unless DOMAIN.md states it.

`problemen` reads the form; `controleer` also finds each quoted phrase in the named source
(whitespace, case and typographic quotes aside), given the directory that holds DOMAIN.md and
seeds/ (`loket rules check --bronnen ../shared`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

BESLUIT_LOKET = "besluit loket"
_CITAAT = re.compile(r'"([^"]+)"')
_SEED = re.compile(r"^(00[0-4])(?:\s|$)")
_DOMAIN = re.compile(r"^DOMAIN(?:\.md)?\s+(?P<sectie>[^\"(:;]+)")


@dataclass(frozen=True, slots=True)
class Verwijzing:
    soort: str  # seed | domain | besluit
    bron: str  # the seed number, "DOMAIN" or "besluit loket"
    sectie: str | None
    citaten: tuple[str, ...]


def verwijzingen(bron: str) -> tuple[list[Verwijzing], list[str]]:
    """The references of a `bron`, and what is wrong with its form."""
    found: list[Verwijzing] = []
    fouten: list[str] = []
    for deel in _delen(bron):
        citaten = tuple(_CITAAT.findall(deel))
        if (seed := _SEED.match(deel)) is not None:
            if not citaten:
                fouten.append(f"the reference to seed {seed.group(1)} quotes nothing from it "
                              f"(add a short phrase in double quotes)")
            found.append(Verwijzing("seed", seed.group(1), None, citaten))
        elif (domain := _DOMAIN.match(deel)) is not None:
            found.append(Verwijzing("domain", "DOMAIN", domain.group("sectie").strip(), citaten))
        elif deel.casefold().startswith(BESLUIT_LOKET):
            found.append(Verwijzing("besluit", BESLUIT_LOKET, None, ()))
        elif citaten and found:
            # a further quote from the source just named: `000 X "a"; "b"`
            found[-1] = Verwijzing(found[-1].soort, found[-1].bron, found[-1].sectie,
                                   found[-1].citaten + citaten)
        else:
            fouten.append(f"{deel!r} is neither a seed (000 to 004 with a quoted phrase), a "
                          f"DOMAIN.md section, nor 'besluit loket'")
    return found, fouten


def _delen(bron: str) -> list[str]:
    """Split on "; " outside quotes."""
    delen: list[str] = []
    huidig: list[str] = []
    in_citaat = False
    for teken in bron:
        if teken == '"':
            in_citaat = not in_citaat
        if teken == ";" and not in_citaat:
            delen.append("".join(huidig))
            huidig = []
        else:
            huidig.append(teken)
    delen.append("".join(huidig))
    return [d.strip() for d in delen if d.strip()]


def problemen(bron: str, *, beslist: bool, triage: bool) -> list[str]:
    """What is wrong with a rule's `bron`. `beslist`: the row decides something (a product,
    label, notification, queue, deadline, kenmerk or referral); `triage`: it sends to a person."""
    found, fouten = verwijzingen(bron)
    if not found and not fouten:
        return ["names no source: cite a seed (its number and a quoted phrase), a DOMAIN.md "
                "section, or 'besluit loket'"]
    basis = {v.soort for v in found}
    if "besluit" in basis and "domain" not in basis and beslist and not triage:
        fouten.append("is a 'besluit loket' that decides without a person: where the seeds are "
                      "silent the melding goes to triage, unless DOMAIN.md states the choice")
    if basis == {"besluit"} and not triage:
        fouten.append("rests on 'besluit loket' alone and does not send the melding to triage")
    return fouten


# -- against the sources ----------------------------------------------------------------------


def controleer(bron: str, map_: Path) -> list[str]:
    """Each quoted phrase found in its source; each DOMAIN section found among its headings.
    `map_` holds DOMAIN.md and seeds/NNN_*.txt."""
    found, _ = verwijzingen(bron)
    fouten = []
    for v in found:
        if v.soort == "besluit":
            continue
        tekst = _tekst(map_, v.bron)
        if tekst is None:
            fouten.append(f"source {v.bron} not found in {map_}")
            continue
        if v.soort == "domain" and v.sectie and _vlak(v.sectie) not in _koppen(map_):
            fouten.append(f"DOMAIN.md has no section {v.sectie!r}")
        for citaat in v.citaten:
            if _vlak(citaat) not in tekst:
                fouten.append(f"{v.bron} does not say {citaat!r}")
    return fouten


_TEKENS = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "`": None, "*": None})


def _vlak(tekst: str) -> str:
    """Text for comparing quotes: typographic quotes, markdown marks, case and line breaks aside."""
    tekst = unicodedata.normalize("NFKC", tekst).translate(_TEKENS)
    return " ".join(tekst.casefold().split())


@cache
def _tekst(map_: Path, bron: str) -> str | None:
    """The source as comparable text; twice, the second with words hyphenated across a line
    break joined again ("Multi-\nproblematiek" reads "Multi-problematiek")."""
    path: Path | None
    if bron == "DOMAIN":
        path = map_ / "DOMAIN.md"
    else:
        path = next(iter(sorted((map_ / "seeds").glob(f"{bron}_*.txt"))), None)
    if path is None or not path.is_file():
        return None
    raw = path.read_text(encoding="utf-8")
    return _vlak(raw) + "\n" + _vlak(re.sub(r"(?<=\w)-\n\s*", "-", raw))


@cache
def _koppen(map_: Path) -> str:
    path = map_ / "DOMAIN.md"
    if not path.is_file():
        return ""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(_vlak(line) for line in lines if line.startswith(("#", "**")))
