"""The Logboek Dataverwerkingen: every processing of personal data, one line per melding.

Modelled on the Logius standard "Logboek Dataverwerkingen" (LDV, component
Logboek): `trace_id` (16 bytes) and `span_id` (8 bytes) follow the W3C Trace
Context, so a read through the API carries the caller's trace; `naam`, `status`
(the LDV status codes), `begin`/`eind`, and the `dpl.core` attributes:
`verwerkingsactiviteit` (processing_activity_id, a URI into
privacy/verwerkingsactiviteiten.yaml), `betrokkene` (data_subject_id: the
keyed pseudonym, never the BSN) and `betrokkene_type` (data_subject_id_type).
The loket adds who (`actor`, `rol`), which melding, the purpose (`doel`) the
reader gave, the channel (cli, api, web) and whether access was granted: a refused
read is logged too.

Doelbinding: a read names one purpose of the register's activity (its code is what
the line keeps; `doel` below is the one check the CLI, the API and the pages share).
Whatever the reader adds in words (`doel_toelichting`) may be about the person, so it
is sealed under the subject's key like other free text, never kept in the clear.
Lines written before purposes had a list hold the reader's own text, and still read.

Each line is an aggregate with one event in the same event store as the
meldingen: append-only like every event, covered by the hash chain, and saved
before the data is handed out (no log line, no data).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

import yaml
from eventsourcing.domain import Aggregate, event

INZAGE = "urn:zlzvh:loket:verwerkingsactiviteit:inzage:2"
VERNIETIGING = "urn:zlzvh:loket:verwerkingsactiviteit:vernietiging:1"

# LDV status_code: UNSET for a processing without a server-side error (a refusal is a
# client-side one), OK when explicitly successful, ERROR for a server-side failure.
STATUS_UNSET, STATUS_OK, STATUS_ERROR = "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"

REGISTER = files("privacy") / "verwerkingsactiviteiten.yaml"


# A toelichting says in a sentence or two why; it is no place for a case file.
MAX_TOELICHTING = 500


def verwerkingsactiviteiten() -> dict[str, dict]:
    """The register the log lines point to, by id."""
    data = yaml.safe_load(REGISTER.read_text(encoding="utf-8"))
    return {a["id"]: a for a in data["verwerkingsactiviteiten"]}


@dataclass(frozen=True, slots=True)
class Doel:
    """A purpose personal data may be read for: its code (kept in the log line), a Dutch name, why."""

    code: str
    naam: str
    uitleg: str


class OngeldigDoel(ValueError):
    """A purpose outside the register, or a toelichting that cannot be taken; never repeats what was sent."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


@cache
def doelen(activiteit: str = INZAGE) -> dict[str, Doel]:
    """The purposes of an activity of the register, by code, in the register's order."""
    return {d["code"]: Doel(d["code"], d["naam"], d["uitleg"])
            for d in verwerkingsactiviteiten()[activiteit].get("doelen", ())}


def doel_uit_register(code: Any, activiteit: str = INZAGE) -> Doel:
    """The purpose a reader gave, if the register knows it."""
    known = doelen(activiteit)
    found = known.get(code.strip()) if isinstance(code, str) else None
    if found is None:
        # The value itself is not repeated: it may be anything, a name included.
        raise OngeldigDoel("doel", f"unknown purpose; give one of: {', '.join(known)}")
    return found


def lees_toelichting(tekst: Any) -> str | None:
    """The reader's free-text addition to the purpose: None when there is none."""
    if tekst is None:
        return None
    if not isinstance(tekst, str):
        raise OngeldigDoel("toelichting", "must be text")
    tekst = tekst.strip()
    if len(tekst) > MAX_TOELICHTING:
        raise OngeldigDoel("toelichting", f"at most {MAX_TOELICHTING} characters")
    return tekst or None


def trace_id() -> str:
    return os.urandom(16).hex()


def span_id() -> str:
    return os.urandom(8).hex()


class Dataverwerking(Aggregate):
    """One line of the Logboek Dataverwerkingen."""

    if TYPE_CHECKING:  # made by the @event decorator below (events/melding.py says why this is here)
        DataverwerkingVastgelegd: ClassVar[type[Aggregate.Created]]

    @event("DataverwerkingVastgelegd")
    def __init__(
        self,
        *,
        trace_id: str,
        span_id: str,
        parent_span_id: str | None,
        naam: str,
        status: str,
        begin: datetime,
        eind: datetime,
        verwerkingsactiviteit: str,
        betrokkene: str,
        betrokkene_type: str,
        melding_id: UUID,
        actor: str,
        rol: str,
        doel: str,
        kanaal: str,
        toegang: str,
        weigering: str | None,
        doel_toelichting: dict[str, Any] | None = None,
    ) -> None:
        self.trace_id = trace_id
        self.span_id = span_id
        self.parent_span_id = parent_span_id
        self.naam = naam
        self.status = status
        self.begin = begin
        self.eind = eind
        self.verwerkingsactiviteit = verwerkingsactiviteit
        self.betrokkene = betrokkene
        self.betrokkene_type = betrokkene_type
        self.melding_id = melding_id
        self.actor = actor
        self.rol = rol
        self.doel = doel
        self.kanaal = kanaal
        self.toegang = toegang
        self.weigering = weigering
        # Sealed (privacy.kluis envelope) under the subject's key; absent on lines from before.
        self.doel_toelichting = doel_toelichting
