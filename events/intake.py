"""The intake contract (docs/schemas/melding.schema.json): one JSON object per melding, validated strictly.

Errors name the field and never echo its value: the input may hold a BSN,
a name or free text, which must not travel into logs or answers.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

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
from routing.tijd import routing_datum

# One melding is a few kilobytes; every entry point (API, CLI, Kafka) refuses more than this.
MAX_MELDING_BYTES = 1 << 20
# What is kept, sealed, of a melding over the limit: enough to see what it was.
TE_GROOT_BEWAARD = 64 << 10

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
        routing_datum(parsed)  # the routing date must exist
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


if TYPE_CHECKING:  # what the validators make of them; the type checker cannot read a type built at run time
    Leefgebieden = tuple[str, ...]
    Ketens = tuple[str, ...]
else:
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
        return routing_datum(self.ontvangen_op)

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


@dataclass(frozen=True, slots=True)
class TeGroot:
    """Input over MAX_MELDING_BYTES, never held whole: its beginning and the SHA-256 of what was read."""

    begin: bytes
    sha256: str

    @classmethod
    def van(cls, value: bytes) -> TeGroot:
        return cls(value[:TE_GROOT_BEWAARD], hashlib.sha256(value).hexdigest())


def begrensd(value: bytes) -> bytes | TeGroot:
    """A message as intake takes it: itself, or what is kept of it when it is over the limit."""
    return value if len(value) <= MAX_MELDING_BYTES else TeGroot.van(value)


class VeldFout(BaseModel):
    """One validation error: the field (dotted path) and what is wrong with it."""

    model_config = ConfigDict(frozen=True)

    field: str
    message: str


class Ongeldig(Exception):
    """Raised by `parse` for input that breaks the contract; carries the errors."""

    def __init__(self, errors: list[VeldFout]):
        self.errors = errors
        super().__init__(f"{len(errors)} validation error(s): " + ", ".join(e.field for e in errors))


# Every field name the contract knows, per object: an error names the field where it is one of
# these, and never a key the sender made up (a key can hold a name or a BSN as easily as a value).
ONBEKEND_VELD = "(onbekend veld)"
_VELDNAMEN: dict[str, frozenset[str]] = {
    "": frozenset(MeldingIn.model_fields),
    "persoon": frozenset(Persoon.model_fields),
    "signalen": frozenset(Signalen.model_fields),
}
_LIJSTEN = frozenset({"signalen.leefgebieden", "signalen.ketens"})


def veilig_veld(loc: tuple[str | int, ...] | list[str | int] | str) -> str:
    """A field's dotted path as errors, logs and read models may show it: the contract's own
    names and list positions; any other key becomes ONBEKEND_VELD, and nothing follows it."""
    parts = loc.split(".") if isinstance(loc, str) else [str(p) for p in loc]
    if parts == ["melding"]:  # the input as a whole
        return "melding"
    path: list[str] = []
    for part in parts:
        parent = ".".join(path)
        if parent in _LIJSTEN and part.isdigit() and len(part) <= 6:
            path.append(part)
            continue
        if parent in _VELDNAMEN and part in _VELDNAMEN[parent]:
            path.append(part)
            continue
        path.append(ONBEKEND_VELD)
        break
    return ".".join(path) if path else "melding"


def veilige_fouten(errors: list[dict[str, str]] | tuple[dict[str, str], ...]) -> list[dict[str, str]]:
    """Stored errors as they may be shown: rejections stored before field names were made safe
    may name a key the sender made up, and such a key can be a name."""
    return [{"field": veilig_veld(e.get("field") or "melding"), "message": e.get("message", "")} for e in errors]


def veldpaden() -> frozenset[str]:
    """Every path `veilig_veld` can give, list positions written as `*`: a closed set (metrics)."""
    paths = {"melding", ONBEKEND_VELD}
    for parent, names in _VELDNAMEN.items():
        for name in names:
            path = f"{parent}.{name}" if parent else name
            paths.add(path)
            if path in _VELDNAMEN:
                paths.add(f"{path}.{ONBEKEND_VELD}")
    paths.update(f"{lijst}.*" for lijst in _LIJSTEN)
    paths.update(f"{lijst}.{ONBEKEND_VELD}" for lijst in _LIJSTEN)
    return frozenset(paths)


def _fouten(exc: ValidationError) -> list[VeldFout]:
    errors = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = veilig_veld(err["loc"])
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            parent = ".".join(str(p) for p in err["loc"][:-1])
            known = ", ".join(sorted(_VELDNAMEN.get(parent, ())))
            message = f"is not a field of the intake contract here (known: {known})"
        elif err["type"] == "value_error":
            message = message.removeprefix("Value error, ")
            if message.startswith("persoon.geboortedatum"):
                loc, message = "persoon.geboortedatum", message.removeprefix("persoon.geboortedatum ")
        errors.append(VeldFout(field=loc, message=message))
    return errors


class _DubbelVeld(ValueError):
    def __init__(self, naam: str):
        super().__init__(naam)
        self.naam = naam


def _zonder_dubbele_velden(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all different: with two `soort` keys, which one counts
    depends on the parser, so another system may read a melding differently than we do."""
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DubbelVeld(key)
            seen.add(key)
    return data


def _dubbel_veld(naam: str) -> VeldFout:
    known = any(naam in names for names in _VELDNAMEN.values())
    return VeldFout(field=naam if known else ONBEKEND_VELD,
                message="appears more than once in its object; send each field once")


def _ongeldige_tekst(data: Any) -> str | None:
    """The place of the first text that is not Unicode (a lone surrogate, from an escape such as
    \\ud800): it cannot be stored, nor sent on, as UTF-8. Walked without recursion."""
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return veilig_veld(loc)
        elif isinstance(value, dict):
            for key, item in value.items():
                try:
                    key.encode("utf-8")
                except UnicodeEncodeError:
                    return veilig_veld((*loc, ONBEKEND_VELD))
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in enumerate(value))
    return None


def _decode(raw: str | bytes) -> Any:
    try:
        data = json.loads(raw, object_pairs_hook=_zonder_dubbele_velden)
    except _DubbelVeld as exc:
        raise Ongeldig([_dubbel_veld(exc.naam)]) from None
    except json.JSONDecodeError as exc:
        plek = f"line {exc.lineno}, column {exc.colno}"
        raise Ongeldig([VeldFout(field="melding", message=f"not valid JSON ({plek})")]) from None
    except UnicodeDecodeError:
        raise Ongeldig([VeldFout(field="melding", message="not valid UTF-8 text")]) from None
    except RecursionError:
        # The decoder gives up on arrays or objects nested thousands deep.
        raise Ongeldig([VeldFout(field="melding", message="JSON nested too deeply")]) from None
    except ValueError:
        # Python refuses to convert integers of more than 4,300 digits (a guard against slow parsing).
        raise Ongeldig([VeldFout(field="melding", message="holds a number too large to read")]) from None
    escaped = b"\\u" in raw if isinstance(raw, bytes) else "\\u" in raw
    if escaped and (waar := _ongeldige_tekst(data)) is not None:
        raise Ongeldig([VeldFout(field=waar, message="holds an escaped code point that is not Unicode text "
                             "(a lone surrogate such as \\ud800)")])
    return data


def parse(raw: str | bytes | dict) -> MeldingIn:
    """Validate one melding (a JSON text or an already decoded object)."""
    if isinstance(raw, (str, bytes)):
        data = _decode(raw)
    elif (waar := _ongeldige_tekst(raw)) is not None:
        raise Ongeldig([VeldFout(field=waar, message="holds a code point that is not Unicode text")])
    else:
        data = raw
    if not isinstance(data, dict):
        raise Ongeldig([VeldFout(field="melding", message="must be a JSON object")])
    try:
        return MeldingIn.model_validate(data)
    except ValidationError as exc:
        raise Ongeldig(_fouten(exc)) from None
