"""The Logboek Dataverwerkingen: every processing of personal data, one line per melding.

Modelled on the Logius standard "Logboek Dataverwerkingen" (LDV, component
Logboek): `trace_id` (16 bytes) and `span_id` (8 bytes) follow the W3C Trace
Context, so a read through the API carries the caller's trace; `naam`, `status`
(the LDV status codes), `begin`/`eind`, and the `dpl.core` attributes:
`verwerkingsactiviteit` (processing_activity_id, a URI into
privacy/verwerkingsactiviteiten.yaml), `betrokkene` (data_subject_id: the
keyed pseudonym, never the BSN) and `betrokkene_type` (data_subject_id_type).
The loket adds who (`actor`, `rol`), which melding, the purpose (`doel`) the
reader gave, the channel (cli, api) and whether access was granted: a refused
read is logged too.

Each line is an aggregate with one event in the same event store as the
meldingen: append-only like every event, covered by the hash chain, and saved
before the data is handed out (no log line, no data).
"""

from __future__ import annotations

import os
from datetime import datetime
from importlib.resources import files
from uuid import UUID

import yaml
from eventsourcing.domain import Aggregate, event

INZAGE = "urn:zlzvh:loket:verwerkingsactiviteit:inzage:1"
VERNIETIGING = "urn:zlzvh:loket:verwerkingsactiviteit:vernietiging:1"

# LDV status_code: UNSET for a processing without a server-side error (a refusal is a
# client-side one), OK when explicitly successful, ERROR for a server-side failure.
STATUS_UNSET, STATUS_OK, STATUS_ERROR = "STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR"

REGISTER = files("privacy") / "verwerkingsactiviteiten.yaml"


def verwerkingsactiviteiten() -> dict[str, dict]:
    """The register the log lines point to, by id."""
    data = yaml.safe_load(REGISTER.read_text(encoding="utf-8"))
    return {a["id"]: a for a in data["verwerkingsactiviteiten"]}


def trace_id() -> str:
    return os.urandom(16).hex()


def span_id() -> str:
    return os.urandom(8).hex()


class Dataverwerking(Aggregate):
    """One line of the Logboek Dataverwerkingen."""

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
