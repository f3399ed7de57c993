"""The intake contract (DOMAIN.md): one JSON object per melding, validated strictly.

Errors name the field and never echo its value: the input may hold a BSN,
a name or free text, which must not travel into logs or answers.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from routing.facts import Feiten
from routing.signalen import vocabulaires

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

Bron = Literal[
    "politie", "zsm", "veilig-thuis", "dji", "gemeente", "om", "reclassering", "ketenpartner"
]
Soort = Literal[
    "via",
    "zsm-buikpijn",
    "vt-routeertafel",
    "detentie-in",
    "detentie-uit",
    "art18",
    "aanmelding",
    "wvggz",
    "huisverbod",
    "mensenhandel",
    "radicalisering",
    "jpp",
]
BRONNEN: tuple[str, ...] = Bron.__args__  # type: ignore[attr-defined]
SOORTEN: tuple[str, ...] = Soort.__args__  # type: ignore[attr-defined]


def _iso_datetime_with_zone(value: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date-time, e.g. 2025-03-04T09:12:00+01:00") from None
    else:
        raise ValueError("must be an ISO 8601 date-time string")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError("must carry a time zone offset, e.g. +01:00 or Z")
    try:
        parsed.astimezone(AMSTERDAM)  # the routing date must exist
    except OverflowError:
        raise ValueError("lies outside the calendar in the Netherlands' time zone") from None
    return parsed


def _iso_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an ISO 8601 date, e.g. 1990-05-06") from None
    raise ValueError("must be an ISO 8601 date string")


def _elfproef(bsn: str) -> bool:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(int(d) * w for d, w in zip(bsn, weights, strict=True)) % 11 == 0


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_datetime_with_zone)]
IsoDate = Annotated[date | None, BeforeValidator(_iso_date)]


class Persoon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    bsn: str | None = None
    naam: str | None = Field(default=None, max_length=300)
    geboortedatum: IsoDate = None

    @field_validator("bsn")
    @classmethod
    def _valid_bsn(cls, bsn: str | None) -> str | None:
        if bsn is None:
            return None
        if len(bsn) != 9 or not bsn.isdigit():
            raise ValueError("must be 9 digits")
        if not _elfproef(bsn):
            raise ValueError("fails the elfproef (BSN check digit)")
        return bsn


# A melding read back from the store (events/melding.py) is validated with this context: it was
# valid when received, perhaps under an older vocabulary, and must stay readable (see
# routing.signalen.Vocabulaires.lees_lijst).
OPGESLAGEN = {"opgeslagen": True}
VOCABULAIRES = vocabulaires()


def _opgeslagen(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get("opgeslagen"))


def _signaallijst(naam: str) -> Any:
    """A signal list of the vocabulary `naam` (routing/data/signalen.yaml), read as its ids."""
    vocab = VOCABULAIRES[naam]

    def lees(value: Any, info: ValidationInfo) -> tuple[str, ...]:
        return VOCABULAIRES.lees_lijst(naam, value, opgeslagen=_opgeslagen(info))

    schema = {"type": "array", "maxItems": VOCABULAIRES.max_items,
              "items": {"type": "string", "maxLength": VOCABULAIRES.max_lengte},
              "description": f"{vocab.meervoud.capitalize()}: ids of docs/signalen.md "
              f"({', '.join(vocab.ids)}); case, accents and spacing do not count, synonyms are "
              f"read as their id, each id counts once; any other value is refused."}
    return Annotated[tuple[str, ...], BeforeValidator(lees), WithJsonSchema(schema)]


Leefgebieden = _signaallijst("leefgebieden")
Ketens = _signaallijst("ketens")


def _lees_delict(value: Any, info: ValidationInfo) -> str | None:
    return VOCABULAIRES.lees_waarde("delict", value, opgeslagen=_opgeslagen(info))


Delict = Annotated[
    str | None,
    BeforeValidator(_lees_delict),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": VOCABULAIRES.max_lengte},
                              {"type": "null"}],
                    "description": "Delict: one id of docs/signalen.md "
                    f"({', '.join(VOCABULAIRES.delict.ids)}); read like the signal lists; "
                    "blank is no delict."}),
]


class Signalen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    leefgebieden: Leefgebieden = ()
    ketens: Ketens = ()
    dwang_drang: bool = False
    impact_omgeving: bool = False
    ernstig_veiligheidsprobleem: bool = False
    maatschappelijke_onrust: bool = False
    bollenmodel: Literal["I", "II", "III", "IV"] | None = None
    delict: Delict = None
    hic: bool = False
    # 001 RIO: "(ex) gedetineerden met Multi-problematiek welke zich kenmerken door het plegen
    # van veel delicten"
    veelpleger: bool = Field(
        default=False, description="The person commits many delicts (a veelpleger); docs/signalen.md.")
    kinderen_betrokken: bool = False
    # 000 Beschermingstafel: "het verzoek dat de betrokken hulpverlener (vaak team Jeugd van
    # de gemeente) heeft ingediend"
    verzoek_beschermingstafel: bool = Field(
        default=False,
        description="The hulpverlener involved asks for the beschermingstafel; docs/signalen.md.")


class MeldingIn(BaseModel):
    """One melding as it arrives at the loket."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bron: Bron
    soort: Soort
    kenmerk: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f]+$")
    ontvangen_op: IsoDateTime
    gemeente: str | None = Field(default=None, max_length=100)
    persoon: Persoon = Persoon()
    signalen: Signalen = Signalen()
    toelichting: str | None = Field(default=None, max_length=20_000)

    @field_validator("gemeente")
    @classmethod
    def _blank_is_missing(cls, gemeente: str | None) -> str | None:
        return gemeente.strip() or None if gemeente is not None else None

    @model_validator(mode="after")
    def _born_before_received(self) -> MeldingIn:
        born = self.persoon.geboortedatum
        if born is not None and born > self.routing_date:
            raise ValueError("persoon.geboortedatum lies after ontvangen_op")
        return self

    @property
    def routing_date(self) -> date:
        """The day the melding is routed on: ontvangen_op as a date in the Netherlands."""
        return self.ontvangen_op.astimezone(AMSTERDAM).date()

    @property
    def leeftijd(self) -> int | None:
        born = self.persoon.geboortedatum
        if born is None:
            return None
        on = self.routing_date
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def feiten(self) -> Feiten:
        s = self.signalen
        return Feiten(
            soort=self.soort,
            bron=self.bron,
            datum=self.routing_date,
            gemeente=self.gemeente,
            leeftijd=self.leeftijd,
            leefgebieden=frozenset(s.leefgebieden),
            ketens=frozenset(s.ketens),
            dwang_drang=s.dwang_drang,
            impact_omgeving=s.impact_omgeving,
            ernstig_veiligheidsprobleem=s.ernstig_veiligheidsprobleem,
            maatschappelijke_onrust=s.maatschappelijke_onrust,
            bollenmodel=s.bollenmodel,
            delict=s.delict,
            hic=s.hic,
            veelpleger=s.veelpleger,
            kinderen_betrokken=s.kinderen_betrokken,
            verzoek_beschermingstafel=s.verzoek_beschermingstafel,
        )


class Fout(BaseModel):
    """One validation error: the field (dotted path) and what is wrong with it."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str


class Ongeldig(Exception):
    """Raised by `parse` for input that breaks the contract; carries the errors."""

    def __init__(self, errors: list[Fout]):
        self.errors = errors
        super().__init__(f"{len(errors)} validation error(s): " + ", ".join(e.field for e in errors))


def _fouten(exc: ValidationError) -> list[Fout]:
    errors = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        message = err["msg"]
        if err["type"] == "value_error":
            message = message.removeprefix("Value error, ")
            if message.startswith("persoon.geboortedatum"):
                loc, message = "persoon.geboortedatum", message.removeprefix("persoon.geboortedatum ")
        errors.append(Fout(field=loc or "melding", message=message))
    return errors


def parse(raw: str | bytes | dict) -> MeldingIn:
    """Validate one melding (a JSON text or an already decoded object)."""
    if isinstance(raw, (str, bytes)):
        try:
            data = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            msg = f"not valid JSON (line {exc.lineno}, column {exc.colno})" if isinstance(
                exc, json.JSONDecodeError
            ) else "not valid UTF-8 text"
            raise Ongeldig([Fout(field="melding", message=msg)]) from None
        except RecursionError:
            # The decoder gives up on arrays or objects nested thousands deep.
            raise Ongeldig([Fout(field="melding", message="JSON nested too deeply")]) from None
    else:
        data = raw
    if not isinstance(data, dict):
        raise Ongeldig([Fout(field="melding", message="must be a JSON object")])
    try:
        return MeldingIn.model_validate(data)
    except ValidationError as exc:
        raise Ongeldig(_fouten(exc)) from None
