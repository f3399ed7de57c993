"""The action table: one row per thing a person can do, read by everyone who must know.

A row says which roles may do it, in which states of a melding (for actions on one
melding), which fields the person must fill in, and the words people see. The
aggregate's guard, the service's check, the pages' buttons, the API's routes and the
CLI's commands all read the same row: there is no second list of who may do what.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.status import DOORVERWEZEN, GESLOTEN, IN_BEHANDELING, OPEN, TRIAGE
from events.toegang import AUDITOR, BEHEER, INTAKE, ZVH, Rol, RolSoort


@dataclass(frozen=True, slots=True)
class Handeling:
    id: str  # as the API and the CLI name it: accept, return, ...
    naam: str  # as a sentence says it: "accepteren"
    rollen: frozenset[RolSoort]
    statussen: tuple[str, ...] = ()  # the states a melding must be in; none: not an action on one melding
    velden: tuple[str, ...] = ()  # what the person must fill in
    titel: str = ""  # the heading of its form
    knop: str = ""  # the button
    klaar: str = ""  # its key in a page's address after it is done (the banner's key)
    bericht: str = ""  # the banner after it; {melding} names the melding as the store holds it
    bevestigen: bool = False  # it ends something: the page asks first
    beschrijving: str = ""  # what it does, for the CLI's help and the API's description

    def mag(self, rol: Rol) -> bool:
        return rol.soort in self.rollen

    def kan(self, status: str) -> bool:
        """Whether a melding in this state allows it (to offer only what can be done)."""
        return status in self.statussen


def _rollen(*soorten: RolSoort) -> frozenset[RolSoort]:
    return frozenset(soorten)


ALLE = _rollen(INTAKE, ZVH, AUDITOR, BEHEER)

_TABEL = (
    # On one melding, changing where it stands (the lifecycle).
    Handeling("accept", "accepteren", _rollen(ZVH, BEHEER), (OPEN,), ("regisseur",),
              titel="Accepteren", knop="Accepteren", klaar="geaccepteerd", bericht="{melding} is geaccepteerd.",
              beschrijving="a house accepts a routed melding and names its regisseur"),
    Handeling("return", "terugsturen", _rollen(ZVH, BEHEER), (OPEN, IN_BEHANDELING), ("reden",),
              titel="Terugsturen naar het loket", knop="Terugsturen", klaar="teruggestuurd",
              bericht="{melding} is teruggestuurd naar het loket.",
              beschrijving="a house sends a melding back to the loket's triage queue, with a reason"),
    Handeling("reroute", "herrouteren", _rollen(INTAKE, BEHEER), (OPEN, IN_BEHANDELING, TRIAGE, DOORVERWEZEN),
              ("zvh", "product", "reden"), titel="Herrouteren", knop="Herrouteren", klaar="herrouteerd",
              bericht="{melding} is geherrouteerd.",
              beschrijving="the intake team routes a melding by hand, overriding the rules"),
    Handeling("decide", "triage besluiten", _rollen(INTAKE, BEHEER), (TRIAGE,), ("zvh", "product", "reden"),
              titel="Triagebesluit", knop="Besluit vastleggen", klaar="besloten",
              bericht="{melding} is besloten en staat niet meer in de triagewachtrij.",
              beschrijving="decide a melding waiting in the triage queue"),
    Handeling("topx-aan", "Top X toekennen", _rollen(INTAKE, BEHEER), (OPEN, IN_BEHANDELING), ("reden",),
              titel="Top X toekennen", knop="Top X toekennen", klaar="topx-aan",
              bericht="{melding} heeft het label Top X.", beschrijving="give a PGA case the Top X label"),
    Handeling("topx-af", "Top X afschalen", _rollen(INTAKE, BEHEER), (OPEN, IN_BEHANDELING), ("reden",),
              titel="Top X afschalen (weegtafel)", knop="Afschalen", klaar="topx-af",
              bericht="{melding} is afgeschaald: geen Top X meer.",
              beschrijving="scale a Top X case down, through the weegtafel"),
    # Regie: the house names who has procesregie; the first at accepting, another at any time after.
    Handeling("assign", "regisseur toewijzen", _rollen(ZVH, BEHEER), (IN_BEHANDELING,), ("regisseur",),
              titel="Regisseur toewijzen", knop="Regisseur toewijzen", klaar="toegewezen",
              bericht="{melding} heeft een andere regisseur.",
              beschrijving="a house assigns another regisseur to a melding it works on"),
    # A party a decision names (notify) was told: who told whom, when, through which channel.
    # Also after closing: a closed case may still have to be reported.
    Handeling("inform", "geïnformeerd vastleggen", _rollen(INTAKE, ZVH, BEHEER),
              (OPEN, IN_BEHANDELING, TRIAGE, DOORVERWEZEN, GESLOTEN), ("taak", "kanaal"),
              titel="Geïnformeerd", knop="Geïnformeerd", klaar="geinformeerd",
              bericht="{melding}: vastgelegd wie is geïnformeerd, wanneer en hoe.",
              beschrijving="record that a party a decision names (notify) was informed, and how"),
    Handeling("close", "sluiten", _rollen(ZVH, INTAKE, BEHEER), (OPEN, IN_BEHANDELING, TRIAGE, DOORVERWEZEN),
              ("resultaat",), titel="Sluiten", knop="Sluiten", klaar="gesloten", bericht="{melding} is gesloten.",
              bevestigen=True, beschrijving="close a melding with its result"),
    # Reading and running the system.
    Handeling("ontvangen", "meldingen ontvangen", _rollen(INTAKE, BEHEER)),
    Handeling("lezen", "meldingen lezen", ALLE),
    Handeling("audit", "het audittrail lezen", ALLE),
    Handeling("als_op", "de stand op een moment lezen", _rollen(INTAKE, AUDITOR, BEHEER)),
    Handeling("triage", "de triagewachtrij lezen", _rollen(INTAKE, AUDITOR, BEHEER)),
    Handeling("informeren", "de werklijst informeren lezen", _rollen(INTAKE, ZVH, AUDITOR, BEHEER)),
    Handeling("persoonsgegevens", "persoonsgegevens inzien", _rollen(INTAKE, ZVH)),
    Handeling("toegangslog", "het logboek dataverwerkingen lezen", _rollen(AUDITOR, BEHEER)),
    Handeling("vernietigen", "persoonsgegevens vernietigen", _rollen(BEHEER)),
    Handeling("beheer", "het systeem beheren", _rollen(BEHEER)),
)
HANDELINGEN: dict[str, Handeling] = {h.id: h for h in _TABEL}
LEVENSLOOP: tuple[Handeling, ...] = tuple(h for h in _TABEL if h.statussen)


@dataclass(frozen=True, slots=True)
class Gebruiker:
    """Who acts: a person's name (the actor in events and the access log) and their role."""

    naam: str
    rol: Rol

    @property
    def soort(self) -> str:
        return self.rol.soort

    @property
    def zvh(self) -> str | None:
        return self.rol.zvh

    @property
    def compartimenten(self) -> frozenset[str]:
        return self.rol.compartimenten

    def mag(self, handeling: str) -> bool:
        """Whether the action table lets this role do `handeling` (an id of HANDELINGEN)."""
        return HANDELINGEN[handeling].mag(self.rol)

    def as_dict(self) -> dict[str, object]:
        return {"naam": self.naam, **self.rol.as_dict()}
