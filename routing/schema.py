"""The shape of a ruleset on disk: decision tables as typed rows (DMN-like).

A ruleset directory holds `ruleset.yaml` (name, tables in evaluation order with their hit policy,
the product and label vocabulary) and one or more rule files, each `tabel: <name>` with rows.
A row is `id`, `bron` (a seed and a quote from it, a DOMAIN.md section, or "besluit loket"), a
validity period, a `priority` within its table, `als` (condition columns, all must hold) and
`dan` (the outcome).
"""

from __future__ import annotations

import string
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

HitPolicy = Literal["FIRST", "COLLECT"]
Deelname = Literal["ja", "nee", "onbekend"]
GemeenteStatus = Literal["ontbreekt", "onbekend", "buiten-regio", "zuid-limburg"]
Notify = Literal["burgemeester", "lokale-driehoek", "gemeente"]

# Placeholders a `reden` or `queue` template may use; filled from the melding's situation.
REDEN_PLACEHOLDERS = frozenset(
    {"gemeente", "invoer", "zvh", "zvh_naam", "regio", "soort", "bron", "leeftijd", "datum",
     "delict", "bollenmodel", "product"}
)
QUEUE_PLACEHOLDERS = frozenset({"zvh", "product"})


def _as_tuple(value):
    """Let a policy author write `soort: via` for a one-item column."""
    if isinstance(value, (str, int)):
        return (value,)
    return value


Names = Annotated[tuple[str, ...], BeforeValidator(_as_tuple)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Leeftijd(_Strict):
    """Age range in whole years, both ends inclusive. An unknown age never matches a range."""

    min: int | None = None
    max: int | None = None

    @model_validator(mode="after")
    def _range(self) -> Leeftijd:
        if self.min is None and self.max is None:
            raise ValueError("leeftijd needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"leeftijd min {self.min} > max {self.max}")
        return self


class Als(_Strict):
    """Condition columns. Absent = any value. Lists mean "one of"; `_bevat` means "all of"."""

    soort: Names | None = None
    bron: Names | None = None
    gemeente_status: Annotated[tuple[GemeenteStatus, ...], BeforeValidator(_as_tuple)] | None = None
    zvh: Names | None = None
    gemeente: Names | None = None
    leeftijd: Leeftijd | None = None
    leeftijd_bekend: bool | None = None
    leefgebieden_min: int | None = Field(default=None, ge=0)
    ketens_min: int | None = Field(default=None, ge=0)
    leefgebieden_bevat: Names | None = None
    ketens_bevat: Names | None = None
    dwang_drang: bool | None = None
    impact_omgeving: bool | None = None
    ernstig_veiligheidsprobleem: bool | None = None
    maatschappelijke_onrust: bool | None = None
    hic: bool | None = None
    veelpleger: bool | None = None
    kinderen_betrokken: bool | None = None
    verzoek_beschermingstafel: bool | None = None
    bollenmodel: Names | None = None
    delict: Names | None = None
    delict_bekend: bool | None = None
    kenmerken: dict[str, bool] | None = None
    # Does the residence's gemeente take part in a product (routing/data/deelname.yaml) on the
    # melding's date: {jpp: ja}, {jpp: onbekend}, {jpp: [nee, onbekend]}.
    deelname: dict[str, Annotated[tuple[Deelname, ...], BeforeValidator(_as_tuple)]] | None = None
    product: Names | None = None


class Dan(_Strict):
    """Outcome of a row. `outcome` absent = the row adds to the decision without ending it."""

    outcome: Literal["routed", "triage", "doorverwijzen"] | None = None
    product: str | None = None
    queue: str | None = None
    labels: Names = ()
    notify: Annotated[tuple[Notify, ...], BeforeValidator(_as_tuple)] = ()
    deadline_dagen: int | None = Field(default=None, ge=0, le=3660)
    kenmerken: Names = ()
    reden: str = Field(min_length=1)

    @model_validator(mode="after")
    def _templates(self) -> Dan:
        _check_template(self.reden, REDEN_PLACEHOLDERS, "reden")
        if self.queue is not None:
            _check_template(self.queue, QUEUE_PLACEHOLDERS, "queue")
        if self.outcome in ("triage", "doorverwijzen") and self.product is not None:
            raise ValueError(f"an outcome {self.outcome} has no product")
        return self


def _references(value):
    """`bron` may be written as a list of references; it is kept as one text, joined by "; "."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "; ".join(v.strip() for v in value)
    return value


class Rule(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    # Where the rule comes from: references separated by "; ", each a seed (its file number
    # and a quoted phrase), a DOMAIN.md section, or "besluit loket" (routing/bronnen.py).
    bron: Annotated[str, BeforeValidator(_references)] = Field(min_length=1)
    geldig_van: date | None = None
    geldig_tot: date | None = None  # inclusive
    priority: int
    als: Als = Als()
    dan: Dan

    @model_validator(mode="after")
    def _period(self) -> Rule:
        if self.geldig_van and self.geldig_tot and self.geldig_van > self.geldig_tot:
            raise ValueError(f"geldig_van {self.geldig_van} is after geldig_tot {self.geldig_tot}")
        return self


class RuleFile(_Strict):
    tabel: str
    hit_policy: HitPolicy
    beschrijving: str | None = None
    rules: list[dict] = Field(min_length=1)  # validated one by one, to name the failing rule


class TableSpec(_Strict):
    naam: str
    hit_policy: HitPolicy
    beschrijving: str | None = None


class Manifest(_Strict):
    ruleset: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    beschrijving: str | None = None
    tabellen: list[TableSpec] = Field(min_length=1)
    producten: Names
    labels: Names = ()
    # The soorten this ruleset routes: a rule may name no other, and `loket rules check` wants
    # a rule for each on every date of the ruleset's span. Absent = the soorten the rules name.
    soorten: Names | None = None


def _check_template(template: str, allowed: frozenset[str], what: str) -> None:
    try:
        parsed = [(name, spec, conversion)
                  for _, name, spec, conversion in string.Formatter().parse(template)
                  if name is not None]
    except ValueError as exc:
        raise ValueError(f"{what} template {template!r}: {exc}") from exc
    if any(spec or conversion for _, spec, conversion in parsed):
        # a format spec could fail on a value at decide time; decide must never raise
        raise ValueError(f"{what} template {template!r}: use plain {{name}} placeholders")
    fields = [name for name, _, _ in parsed]
    unknown = sorted(set(fields) - allowed)
    if unknown or any(name == "" for name in fields):
        raise ValueError(f"{what} template {template!r} uses unknown placeholders {unknown}; "
                         f"allowed: {sorted(allowed)}")
