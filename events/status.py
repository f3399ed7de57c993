"""Where a melding stands: the states of its life, and the words people read for them."""

from __future__ import annotations

ONTVANGEN = "ontvangen"  # stored, not decided yet (within one transaction: never seen outside it)
OPEN = "open"  # routed, waiting for the house to accept
IN_BEHANDELING = "in-behandeling"  # accepted by the house, a regisseur named
TRIAGE = "triage"  # a person at the loket must decide
DOORVERWEZEN = "doorverwezen"  # outside Zuid-Limburg
GESLOTEN = "gesloten"
AFGEWEZEN = "afgewezen"  # broke the intake contract; kept with its errors

LABELS = {
    ONTVANGEN: "Ontvangen",
    OPEN: "Open",
    IN_BEHANDELING: "In behandeling",
    TRIAGE: "Triage",
    DOORVERWEZEN: "Doorverwezen",
    GESLOTEN: "Gesloten",
    AFGEWEZEN: "Afgewezen",
}
