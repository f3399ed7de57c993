"""The Melding aggregate: one melding's life, as events.

Its id comes from `(bron, kenmerk)`, so the same melding sent twice lands on
the same aggregate and is recognised as a duplicate. A melding that breaks the
contract is still recorded, as an `AfgewezenMelding` whose id comes from the
raw payload: the same broken line sent twice is one rejected melding, and a
corrected resend under the same kenmerk is accepted as the real melding.
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.intake import MeldingIn
from routing.facts import Feiten

# A fixed namespace: the same (bron, kenmerk) gives the same id on every machine, forever.
MELDING_NAMESPACE = uuid5(NAMESPACE_URL, "https://zorgenveiligheidshuis.zuid-limburg/melding")


def melding_id(bron: str, kenmerk: str) -> UUID:
    return uuid5(MELDING_NAMESPACE, f"{bron}:{kenmerk}")


def payload_hash(raw: bytes) -> str:
    return hashlib.sha256(raw.strip()).hexdigest()


def afgewezen_id(sha256: str) -> UUID:
    return uuid5(MELDING_NAMESPACE, "afgewezen:" + sha256)


class Melding(Aggregate):
    """A valid melding, from receipt through routing."""

    @staticmethod
    def create_id(bron: str, kenmerk: str) -> UUID:
        return melding_id(bron, kenmerk)

    @event("MeldingOntvangen")
    def __init__(
        self,
        bron: str,
        kenmerk: str,
        soort: str,
        ontvangen_op: str,
        gemeente: str | None,
        signalen: dict[str, Any],
        persoon: dict[str, Any],
        toelichting: str | None,
    ) -> None:
        self.bron = bron
        self.kenmerk = kenmerk
        self.soort = soort
        self.ontvangen_op = ontvangen_op
        self.gemeente = gemeente
        self.signalen = signalen
        # Special-category personal data: kept apart from the routing facts.
        self.persoon = persoon
        self.toelichting = toelichting
        self.status = "ontvangen"
        self.beslissing: dict[str, Any] | None = None

    @event("MeldingGerouteerd")
    def gerouteerd(self, beslissing: dict[str, Any]) -> None:
        self.beslissing = beslissing
        self.status = "open"

    @event("MeldingInTriage")
    def in_triage(self, beslissing: dict[str, Any]) -> None:
        self.beslissing = beslissing
        self.status = "triage"

    @event("MeldingDoorverwezen")
    def doorverwezen(self, beslissing: dict[str, Any]) -> None:
        self.beslissing = beslissing
        self.status = "doorverwezen"

    def intake(self) -> MeldingIn:
        """The melding as it was received (validated again: it was valid when stored)."""
        return MeldingIn.model_validate(
            {
                "bron": self.bron,
                "soort": self.soort,
                "kenmerk": self.kenmerk,
                "ontvangen_op": self.ontvangen_op,
                "gemeente": self.gemeente,
                "persoon": self.persoon,
                "signalen": self.signalen,
                "toelichting": self.toelichting,
            }
        )

    def feiten(self) -> Feiten:
        """What routing decides on, to re-decide or explain a stored melding."""
        return self.intake().feiten()

    def beslis(self, beslissing: dict[str, Any]) -> None:
        """Record the routing decision with the event that fits its outcome."""
        record = {
            "routed": self.gerouteerd,
            "triage": self.in_triage,
            "doorverwijzen": self.doorverwezen,
        }[beslissing["outcome"]]
        record(beslissing)


class AfgewezenMelding(Aggregate):
    """Input that broke the contract, kept whole with its errors: nothing is dropped."""

    @staticmethod
    def create_id(payload_sha256: str) -> UUID:
        return afgewezen_id(payload_sha256)

    @event("MeldingAfgewezen")
    def __init__(
        self,
        payload: str,
        payload_sha256: str,
        errors: list[dict[str, str]],
        bron: str | None,
        kenmerk: str | None,
        beslissing: dict[str, Any],
    ) -> None:
        self.payload = payload  # decoded with replacement characters where not UTF-8
        self.payload_sha256 = payload_sha256
        self.errors = errors
        self.bron = bron
        self.kenmerk = kenmerk
        self.beslissing = beslissing
        self.status = "afgewezen"
