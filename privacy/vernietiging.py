"""Why personal data is destroyed: a closed list of grounds, never free text.

Shredding records why (in its events, the access log and the key store's
tombstones), and that record outlives the data on purpose. Free text there would
be written about the person ("verzoek van mevrouw ...") and could not be shredded
in turn: it would be sealed under the very key being destroyed. So the reason is
one of these grounds; the request itself is documented where the FG keeps it.
"""

from __future__ import annotations

# id -> what it means (AVG art. 17 lid 1, and the bewaartermijnen of privacy/bewaartermijnen.yaml)
GRONDEN: dict[str, str] = {
    "verzoek-betrokkene": "verzoek van de betrokkene om wissing (AVG art. 17)",
    "niet-meer-nodig": "niet langer nodig voor het doel waarvoor verzameld (AVG art. 17 lid 1 sub a)",
    "bezwaar": "gegrond bezwaar van de betrokkene (AVG art. 17 lid 1 sub c, art. 21)",
    "onrechtmatig": "onrechtmatig verwerkt (AVG art. 17 lid 1 sub d)",
    "wettelijke-plicht": "wettelijke verplichting of rechterlijke uitspraak (AVG art. 17 lid 1 sub e)",
    "bewaartermijn": "bewaartermijn verstreken (AVG art. 5 lid 1 sub e)",
}
