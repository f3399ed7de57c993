"""The help page: per role, what each screen is for, what the states mean and how the rules route.

What a person may do is read from the action table (events/handelingen.py), the states' words from
events/status.py, the routing steps from the ruleset's own descriptions: the help cannot say
something the system does not do.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import Response

from events import status
from events.handelingen import HANDELINGEN, Gebruiker
from loket.web.auth import Diensten
from loket.web.pages import Wie, render

router = APIRouter()


@dataclass(frozen=True)
class Scherm:
    naam: str
    adres: str
    handeling: str  # the action-table row that opens it to a role
    uitleg: str
    alleen: tuple[str, ...] = ()  # role kinds it is for (empty: every kind the row allows)


SCHERMEN = (
    Scherm("Triage", "/web/triage", "triage",
           "Meldingen die de regels niet zelf aan een huis kunnen toewijzen: zonder of met een onbekende "
           "gemeente, teruggestuurd door een huis, of waar een mens moet wegen. Open een melding, lees "
           "waarom ze in triage staat en leg het besluit vast: welk huis, welk product en waarom. "
           "Het oudste staat bovenaan.", alleen=("intake", "beheer")),
    Scherm("Wachtrij", "/web/wachtrij", "lezen",
           "De meldingen die bij een huis liggen, per pagina van 50. Filter op product, soort, gemeente, "
           "status, regisseur of termijn; zoek op (een deel van) het kenmerk. De filters staan in het "
           "adres van de pagina: bewaar het als bladwijzer. Een huis ziet alleen de eigen wachtrij en "
           "kan een melding accepteren (met de naam van de regisseur) of terugsturen naar het loket."),
    Scherm("Termijnen", "/web/termijnen", "lezen",
           "Wat op tijd moet gebeuren: het verkennend onderzoek na een Wvggz-melding (14 dagen), de regie "
           "na een tijdelijk huisverbod, de herbeoordeling van een Top X-casus. Verlopen termijnen staan "
           "bovenaan."),
    Scherm("Nieuwe melding", "/web/meldingen/nieuw", "ontvangen",
           "Een melding met de hand invoeren, bijvoorbeeld na een telefoontje. Na het invullen ziet u eerst "
           "wat de regels zullen besluiten en waarom; pas na uw bevestiging wordt de melding opgeslagen."),
    Scherm("Afgewezen meldingen", "/web/afgewezen", "ontvangen",
           "Meldingen die niet aan het meldingscontract voldeden, met per veld wat er mis is. Niets gaat "
           "verloren: open een afgewezen melding, verbeter haar in hetzelfde formulier en verstuur haar "
           "opnieuw onder hetzelfde kenmerk."),
    Scherm("Mijn zaken", "/web/mijn-zaken", "lezen",
           "De lopende meldingen waarvan u de regisseur bent. Een collega van uw huis kan een zaak aan een "
           "andere regisseur toewijzen; dan verschijnt ze in diens lijst.", alleen=("zvh",)),
    Scherm("Informeren", "/web/informeren", "informeren",
           "Wie moet worden ingelicht, over welke melding en uiterlijk wanneer: de burgemeester bij een "
           "art. 18- of BIJ-melding, de lokale driehoek bij elke Top X-casus, de gemeente waar de regels dat "
           "vragen. Leg vast wanneer en hoe (telefoon, e-mail, overleg, brief, koppeling) u dat deed; "
           "wat nog open staat, blijft op de lijst."),
    Scherm("Caseload", "/web/caseload", "lezen",
           "Hoeveel meldingen per huis en product lopen, en het verloop per maand."),
    Scherm("Cijfers", "/web/statistiek", "lezen",
           "De cijfers van een jaar zoals de jaarverslagen van de huizen ze tonen (per gemeente, met het "
           "jaar ervoor ernaast), grafieken per maand, en hoe snel een melding op de juiste plek is; te "
           "downloaden als CSV of Excel. Radicalisering ziet alleen wie tot dat compartiment is toegelaten."),
    Scherm("Logboek dataverwerkingen", "/web/toegangslog", "toegangslog",
           "Wie welke persoonsgegevens inzag, wanneer, in welke rol en voor welk doel; te filteren en te "
           "downloaden. Ook de uitvoer voor een inzageverzoek (AVG art. 15)."),
    Scherm("Regels op een datum", "/web/regels", "lezen",
           "Welke regels op een dag golden en met welke versie het loket toen besliste."),
    Scherm("Audit en terugkijken", "/web/audit", "audit",
           "Het audittrail van één melding: elke gebeurtenis, wie het deed en welke regels besloten. "
           "Met 'Stand op' ziet u wat het systeem op een eerder moment wist (de tijd van vastleggen, niet "
           "de datum waarop iets in werkelijkheid gebeurde)."),
)

STATUSSEN = {
    status.OPEN: "Door de regels of door het loket naar een huis gestuurd; het huis moet de melding nog accepteren.",
    status.IN_BEHANDELING: "Het huis heeft de melding geaccepteerd en een regisseur genoemd.",
    status.TRIAGE: "Een medewerker van het loket moet besluiten welk huis en welk product.",
    status.DOORVERWEZEN: "De persoon woont buiten Zuid-Limburg: doorverwijzen naar het huis van die regio.",
    status.GESLOTEN: "Afgerond, met een resultaat.",
    status.AFGEWEZEN: "De melding voldeed niet aan het contract; ze is bewaard met haar fouten en kan verbeterd "
                      "opnieuw worden verstuurd.",
    status.HERSTELD: "Een afgewezen melding die verbeterd opnieuw is verstuurd; ze blijft bewaard en wijst naar de "
                     "melding die haar plaats innam.",
}

ROLNAMEN = {
    "intake": "medewerker van het loket (intake)",
    "zvh": "medewerker van een Zorg- en Veiligheidshuis",
    "auditor": "auditor",
    "beheer": "beheerder",
}


def schermen_voor(wie: Gebruiker) -> list[Scherm]:
    return [s for s in SCHERMEN if wie.mag(s.handeling) and (not s.alleen or wie.soort in s.alleen)]


@router.get("/help")
def help_pagina(request: Request, wie: Wie, d: Diensten) -> Response:
    ruleset = d.ruleset
    return render(
        request, "help.html", wie=wie, actief="help",
        rol=ROLNAMEN.get(wie.soort, wie.soort),
        handelingen=[h for h in HANDELINGEN.values() if h.mag(wie.rol)],
        schermen=schermen_voor(wie), statussen=[(status.LABELS[s], uitleg) for s, uitleg in STATUSSEN.items()],
        stappen=ruleset.stappen, ruleset=ruleset,
    )
