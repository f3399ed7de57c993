"""The decision contract of the domain brief: what routing answers for one melding (as JSON, the
`beslissing` of the event messages: docs/schemas/MeldingGerouteerd.schema.json).

A decision is a value from routing to the read models: events carry it as a `Beslissing`
(stored in the contract's JSON shape, see `Beslissing.van`), and `verschil` is the one
answer to "does this decision put the melding somewhere else than that one?".
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["routed", "triage", "doorverwijzen", "rejected"]
Notify = Literal["burgemeester", "lokale-driehoek", "gemeente"]

# What says where a decision puts a melding and what follows from it. The ruleset, the rule ids
# and the reasons say why; they change with every ruleset version without the melding moving.
PLAATS = ("outcome", "zvh", "product", "labels", "notify", "queue", "deadline")


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

    @classmethod
    def van(cls, value: Beslissing | Mapping[str, Any]) -> Beslissing:
        """The decision from its stored form, the contract's JSON shape (`as_contract`).

        Events hold that shape in their stored state, and held it as a plain dict before the
        decision was a typed value. A stored decision was made by this class, so validating it
        again only turns lists into tuples and the deadline into a date (pydantic's validator
        does that faster than `model_construct` and the conversions by hand). Catch-up reads
        the same decision for many meldingen (house, product, rules and reasons alike), so each
        distinct one is validated once and the value, frozen, is shared.
        """
        if isinstance(value, Beslissing):
            return value
        if value.get("errors"):  # a rejection: its errors are objects, no key; and rejections are few
            return cls.model_validate(value)
        key = (tuple(value), *[tuple(v) if type(v) is list else v for v in value.values()])
        found = _GELEZEN.get(key)
        if found is None:
            if len(_GELEZEN) >= _GELEZEN_MAX:
                _GELEZEN.clear()
            found = _GELEZEN[key] = cls.model_validate(value)
        return found

    def verschil(self, other: Beslissing) -> tuple[str, ...]:
        """The fields of `PLAATS` in which `other` differs: empty when both put the melding in
        the same place, with the same labels, notifications, queue and deadline."""
        return tuple(name for name in PLAATS if getattr(self, name) != getattr(other, name))


# Stored decisions read so far, by their stored values (`Beslissing.van`); emptied when full.
_GELEZEN: dict[tuple[Any, ...], Beslissing] = {}
_GELEZEN_MAX = 10_000
