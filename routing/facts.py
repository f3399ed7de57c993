"""The facts routing decides on: what a melding says, minus the person.

Routing never sees personal data. The event side turns a validated melding
into `Feiten` (age instead of birth date, no name, no BSN, no free text); the signal
values are the ids of routing/data/signalen.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Feiten:
    soort: str
    bron: str
    datum: date  # routing date: the local (Europe/Amsterdam) date of ontvangen_op
    gemeente: str | None = None
    leeftijd: int | None = None  # whole years at ontvangen_op; None when unknown
    leefgebieden: frozenset[str] = field(default_factory=frozenset)
    ketens: frozenset[str] = field(default_factory=frozenset)
    dwang_drang: bool = False
    impact_omgeving: bool = False
    ernstig_veiligheidsprobleem: bool = False
    maatschappelijke_onrust: bool = False
    bollenmodel: str | None = None
    delict: str | None = None
    hic: bool = False
    veelpleger: bool = False  # commits many delicts (001 RIO's second target group)
    kinderen_betrokken: bool = False
    verzoek_beschermingstafel: bool = False  # a hulpverlener asks for the beschermingstafel
