"""The intake contract's errors as people at the loket read them: in Dutch, per field.

The validator (events/intake.py, routing/signalen.py) names each bad field and says in English
what is wrong, for partners' systems and the API. The pages show the same error in Dutch, next
to the field: this module is the one translation, from a stored or fresh error (field, message)
to a Dutch sentence. It reads only what the validator wrote, which never holds a value sent, so
the Dutch sentence holds none either. A message it does not know still reads as Dutch (the
field's name and that it breaks the contract), never as English developer text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from events.intake import ONBEKEND_VELD, VeldFout

# The Dutch name of every field of the contract, as the intake form labels it.
VELDNAMEN: dict[str, str] = {
    "melding": "de melding",
    ONBEKEND_VELD: "een veld dat niet in het intakecontract staat",
    "bron": "de bron",
    "soort": "de soort melding",
    "kenmerk": "het kenmerk",
    "ontvangen_op": "de datum en tijd van ontvangst",
    "gemeente": "de gemeente",
    "persoon": "de persoon",
    "persoon.bsn": "het BSN",
    "persoon.naam": "de naam",
    "persoon.geboortedatum": "de geboortedatum",
    "signalen": "de signalen",
    "signalen.leefgebieden": "de leefgebieden",
    "signalen.ketens": "de ketens",
    "signalen.dwang_drang": "dwang en drang",
    "signalen.impact_omgeving": "impact op de omgeving",
    "signalen.ernstig_veiligheidsprobleem": "ernstig veiligheidsprobleem",
    "signalen.maatschappelijke_onrust": "maatschappelijke onrust",
    "signalen.bollenmodel": "het bollenmodel",
    "signalen.delict": "het delict",
    "signalen.hic": "high impact crime (HIC)",
    "signalen.veelpleger": "veelpleger",
    "signalen.kinderen_betrokken": "kinderen betrokken",
    "signalen.verzoek_beschermingstafel": "verzoek beschermingstafel",
    "toelichting": "de toelichting",
}

# Fields chosen from a closed list on the form: an error there says "kies".
_KEUZE = {"bron", "soort", "signalen.bollenmodel", "signalen.delict", "signalen.leefgebieden", "signalen.ketens"}
_KEUZE_NAMEN = frozenset(VELDNAMEN[v] for v in _KEUZE)
_DATUMTIJD = "als dd-mm-jjjj uu:mm, bijvoorbeeld 04-03-2025 09:12"


def veldnaam(field: str) -> str:
    """A field's Dutch name; a list position (signalen.leefgebieden.2) is its list."""
    if field in VELDNAMEN:
        return VELDNAMEN[field]
    parent = field.rpartition(".")[0]
    return VELDNAMEN.get(parent, VELDNAMEN[ONBEKEND_VELD])


def veldlabel(field: str) -> str:
    """A field's name as a heading: without its article, with a capital."""
    naam = veldnaam(field)
    for lidwoord in ("de ", "het ", "een "):
        naam = naam.removeprefix(lidwoord)
    return _hoofdletter(naam)


def _hoofdletter(tekst: str) -> str:
    return tekst[:1].upper() + tekst[1:]


Vertaling = Callable[[str, re.Match[str]], str]

# (the validator's message, what it means in Dutch): the first that matches counts.
_VERTALINGEN: tuple[tuple[re.Pattern[str], Vertaling], ...] = tuple((re.compile(p), f) for p, f in (
    (r"^Field required$",
     lambda n, m: f"Kies {n}." if n in _KEUZE_NAMEN else f"Vul {n} in."),
    (r"^Input should be '.*' or '.*'$", lambda n, m: f"Kies {n} uit de lijst."),
    (r"^String should have at least 1 character", lambda n, m: f"Vul {n} in."),
    (r"^String should have at most (\d+) characters?$",
     lambda n, m: f"{_hoofdletter(n)} is te lang: ten hoogste {m[1]} tekens."),
    (r"^String should match pattern", lambda n, m: f"{_hoofdletter(n)} bevat tekens die niet mogen (zoals een "
     "regeleinde)."),
    (r"^must be an ISO 8601 date-time", lambda n, m: f"Vul {n} in {_DATUMTIJD}."),
    (r"^must carry a time zone offset",
     lambda n, m: f"{_hoofdletter(n)} mist de tijdzone (bijvoorbeeld +01:00); op het formulier geldt de Nederlandse "
     "tijd."),
    (r"^lies outside the calendar", lambda n, m: f"{_hoofdletter(n)} ligt buiten de kalender."),
    (r"^must be an ISO 8601 date", lambda n, m: f"Vul {n} in als dd-mm-jjjj, bijvoorbeeld 06-05-1990."),
    (r"^lies after ontvangen_op$", lambda n, m: "De geboortedatum ligt na de datum van ontvangst."),
    (r"^must be 9 digits$", lambda n, m: "Een BSN bestaat uit precies 9 cijfers."),
    (r"^fails the elfproef", lambda n, m: "Dit BSN bestaat niet: het klopt niet met de elfproef. Controleer de "
     "cijfers."),
    (r"^items? ([\d, ]+) (?:is|are) not (?:a )?known",
     lambda n, m: f"{_hoofdletter(n)}: " + (f"woord {m[1]} is" if "," not in m[1] else f"woorden {m[1]} zijn")
     + " onbekend. Kies uit de lijst."),
    (r"^item (\d+) must be text$", lambda n, m: f"{_hoofdletter(n)}: woord {m[1]} is geen tekst."),
    (r"^item (\d+) is longer than (\d+) characters$",
     lambda n, m: f"{_hoofdletter(n)}: woord {m[1]} is langer dan {m[2]} tekens."),
    (r"^has (\d+) items, at most (\d+)",
     lambda n, m: f"{_hoofdletter(n)}: {m[1]} woorden, ten hoogste {m[2]}."),
    (r"^must be a list of", lambda n, m: f"{_hoofdletter(n)} moeten een lijst zijn. Kies uit de lijst."),
    (r"^is not a known delict", lambda n, m: "Onbekend delict. Kies uit de lijst; voor een ander delict: "
     "“Ander delict”."),
    (r"^must be a \w+ id", lambda n, m: f"Kies {n} uit de lijst."),
    (r"^is longer than (\d+) characters$", lambda n, m: f"{_hoofdletter(n)} is langer dan {m[1]} tekens."),
    (r"^Input should be a valid boolean", lambda n, m: f"{_hoofdletter(n)} moet ja of nee zijn."),
    (r"^Input should be a valid string", lambda n, m: f"{_hoofdletter(n)} moet tekst zijn."),
    (r"^Input should be a valid (dictionary|object)", lambda n, m: f"{_hoofdletter(n)} moet een object zijn."),
    (r"^is not a field of the intake contract",
     lambda n, m: "De melding bevat een veld dat niet in het intakecontract staat."),
    (r"^appears more than once", lambda n, m: f"{_hoofdletter(n)} staat meer dan eens in de melding."),
    (r"^not valid JSON \(line (\d+), column (\d+)\)",
     lambda n, m: f"De melding is geen geldige JSON (regel {m[1]}, kolom {m[2]})."),
    (r"^must be a JSON object", lambda n, m: "De melding is geen JSON-object."),
    (r"^not valid UTF-8", lambda n, m: "De melding is geen geldige UTF-8-tekst."),
    (r"^JSON nested too deeply", lambda n, m: "De melding is te diep genest."),
    (r"^holds a number too large", lambda n, m: "De melding bevat een getal dat te groot is."),
    (r"^holds (?:an escaped )?(?:a )?code point", lambda n, m: f"{_hoofdletter(n)} bevat een teken dat geen tekst is."),
    (r"^is larger than the limit of (\d+) bytes",
     lambda n, m: f"De melding is groter dan {int(m[1]) // 1024} kB; alleen het begin is bewaard."),
    (r"^could not be \w+ \((\w+), a defect",
     lambda n, m: "De melding kon door een fout van het loket niet worden verwerkt; ze is bewaard als afgewezen "
     "en de fout is gemeld."),
))


def nederlands(field: str, message: str) -> str:
    """One error of the validator as a Dutch sentence about its field."""
    naam = veldnaam(field)
    for patroon, vertaal in _VERTALINGEN:
        found = patroon.search(message)
        if found:
            return vertaal(naam, found)
    return f"{_hoofdletter(naam)} klopt niet met het intakecontract."


def per_veld(errors: Iterable[VeldFout | Mapping[str, str]]) -> dict[str, list[str]]:
    """Errors in Dutch grouped by field, in the order given; a list position counts as its list."""
    uit: dict[str, list[str]] = {}
    for e in errors:
        field, message = (e.field, e.message) if isinstance(e, VeldFout) else (e["field"], e["message"])
        veld = field.rpartition(".")[0] if field.rpartition(".")[2].isdigit() else field
        tekst = nederlands(field, message)
        if tekst not in uit.setdefault(veld, []):
            uit[veld].append(tekst)
    return uit
