"""The decision contract (DOMAIN.md): what routing answers for one melding."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["routed", "triage", "doorverwijzen", "rejected"]
Notify = Literal["burgemeester", "lokale-driehoek", "gemeente"]


class Beslissing(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    zvh: str | None = None
    product: str | None = None
    # The Zuid-Limburg gemeente the melding resolved to on its date (e.g. Schinnen in 2020
    # is Beekdaelen); None outside the region or when unknown. Caseloads count by it.
    gemeente: str | None = None
    labels: tuple[str, ...] = ()
    notify: tuple[Notify, ...] = ()
    queue: str | None = None
    deadline: date | None = None
    ruleset: str
    rules: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    errors: tuple[dict, ...] = Field(default=(), description="validation errors; only for rejected")

    def as_contract(self) -> dict:
        """The JSON shape of DOMAIN.md (errors only present when rejected)."""
        data = self.model_dump(mode="json")
        if self.outcome != "rejected":
            data.pop("errors")
        return data
