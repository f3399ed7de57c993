"""Who personal data is about, as a keyed pseudonym: never the BSN itself.

HMAC-SHA256 under a key derived from the master key, so the pseudonym cannot
be recomputed from a BSN (a small, checkable number space) without that key.
The subject is the BSN when there is one; otherwise the normalised name and
birth date together (a name alone would merge different people, and shredding
one would shred the other); otherwise the melding itself, so nothing links it
to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

SubjectSoort = Literal["bsn", "naam-geboortedatum", "melding"]


@dataclass(frozen=True, slots=True)
class Betrokkene:
    """A data subject as the store knows it: the pseudonym and what it was computed from."""

    id: str
    soort: SubjectSoort


def normaliseer_naam(naam: str) -> str:
    """The same person written differently gives the same name: accents, case, spacing, punctuation."""
    decomposed = unicodedata.normalize("NFKD", naam)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    kept = "".join(c if c.isalnum() else " " for c in letters.casefold())
    return " ".join(kept.split())


class Pseudonimiseerder:
    def __init__(self, key: bytes):
        self._key = key

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()

    def bsn(self, bsn: str) -> Betrokkene:
        return Betrokkene(self._mac("bsn:" + bsn.strip()), "bsn")

    def naam_geboortedatum(self, naam: str, geboortedatum: str) -> Betrokkene:
        return Betrokkene(self._mac(f"naam:{normaliseer_naam(naam)}|{geboortedatum}"), "naam-geboortedatum")

    def melding(self, melding_id: UUID) -> Betrokkene:
        return Betrokkene(self._mac(f"melding:{melding_id}"), "melding")

    def van(self, persoon: dict[str, Any] | None, melding_id: UUID) -> Betrokkene:
        """The subject of a melding's `persoon` (as received; may be partial or malformed)."""
        persoon = persoon if isinstance(persoon, dict) else {}
        bsn, naam, geboren = persoon.get("bsn"), persoon.get("naam"), persoon.get("geboortedatum")
        if isinstance(bsn, str) and len(bsn.strip()) == 9 and bsn.strip().isdigit():
            return self.bsn(bsn)
        if isinstance(naam, str) and normaliseer_naam(naam) and isinstance(geboren, str) and geboren.strip():
            return self.naam_geboortedatum(naam, geboren.strip())
        return self.melding(melding_id)
