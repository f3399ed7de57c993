"""Where a melding stands: the states of its life, and the words people read for them."""

from __future__ import annotations

ONTVANGEN = "ontvangen"  # stored, not decided yet (within one transaction: never seen outside it)
OPEN = "open"  # routed, waiting for the house to accept
IN_BEHANDELING = "in-behandeling"  # accepted by the house, a regisseur named
TRIAGE = "triage"  # a person at the loket must decide
DOORVERWEZEN = "doorverwezen"  # outside Zuid-Limburg
GESLOTEN = "gesloten"
AFGEWEZEN = "afgewezen"  # broke the intake contract; kept with its errors
HERSTELD = "hersteld"  # a rejected melding, corrected and sent again as a new melding

LABELS = {
    ONTVANGEN: "Ontvangen",
    OPEN: "Open",
    IN_BEHANDELING: "In behandeling",
    TRIAGE: "Triage",
    DOORVERWEZEN: "Doorverwezen",
    GESLOTEN: "Gesloten",
    AFGEWEZEN: "Afgewezen",
    HERSTELD: "Afgewezen, hersteld",
}

# The events of a melding's life as people read them in a trail or a timeline (the class names
# stay in the store and the API).
GEBEURTENISSEN = {
    "MeldingOntvangen": "Melding ontvangen",
    "MeldingAfgewezen": "Melding afgewezen (contract niet gevolgd)",
    "AfwijzingHersteld": "Hersteld en opnieuw ingediend",
    "MeldingGerouteerd": "Naar huis en product gerouteerd",
    "MeldingInTriage": "Naar triage bij het loket",
    "MeldingDoorverwezen": "Doorverwezen buiten Zuid-Limburg",
    "MeldingGeaccepteerd": "Geaccepteerd door het huis",
    "MeldingTeruggestuurd": "Teruggestuurd naar het loket",
    "MeldingHergerouteerd": "Opnieuw gerouteerd",
    "TriageBesloten": "Triage besloten",
    "TopXAan": "Top X aangezet",
    "TopXAf": "Top X uitgezet",
    "RegisseurToegewezen": "Regisseur toegewezen",
    "InformerenGevraagd": "Informeren gevraagd",
    "PartijGeinformeerd": "Geïnformeerd",
    "MeldingGesloten": "Gesloten",
    "PersoonsgegevensVernietigd": "Persoonsgegevens vernietigd",
    "DataverwerkingVastgelegd": "Persoonsgegevens ingezien",
}
