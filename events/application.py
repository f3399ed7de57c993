"""The loket application: the use cases that load, decide and save meldingen.

Persistence is chosen by the environment (PERSISTENCE_MODULE, SQLITE_DBNAME,
POSTGRES_*), never here. Many meldingen are saved in one transaction (group
commit) without giving up idempotency or per-melding rejection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from events.intake import Fout, MeldingIn, Ongeldig, parse
from events.melding import (
    AfgewezenMelding,
    Melding,
    OngeldigeOvergang,
    afgewezen_id,
    melding_id,
    payload_hash,
)
from routing import Ruleset, load_ruleset
from routing.decision import Beslissing

Status = Literal["nieuw", "duplicaat", "afgewezen"]

# The one VIA team works for the whole region from Westelijke Mijnstreek (002, 003).
VIA_QUEUE = "westelijke-mijnstreek/via"


class OnbekendeMelding(LookupError):
    """No melding has this id."""


@dataclass(frozen=True, slots=True)
class Ontvangst:
    """What intake did with one input: the melding it is, and its decision."""

    melding_id: UUID
    status: Status
    beslissing: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Beoordeling:
    """A decision without storing anything (`loket route`)."""

    melding: MeldingIn | None
    beslissing: Beslissing


def _as_bytes(raw: str | bytes) -> bytes:
    return raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")


def _identity_hint(raw: bytes) -> tuple[str | None, str | None]:
    """bron and kenmerk of a rejected melding where they can still be read, to find it back."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    bron, kenmerk = data.get("bron"), data.get("kenmerk")
    return (
        bron if isinstance(bron, str) and len(bron) <= 100 else None,
        kenmerk if isinstance(kenmerk, str) and len(kenmerk) <= 100 else None,
    )


class Loket(Application[UUID]):
    name = "Loket"

    def __init__(self, env: dict[str, str] | None = None, ruleset: Ruleset | None = None):
        super().__init__(env)
        self.ruleset = ruleset or load_ruleset()

    # Deciding -------------------------------------------------------------

    def afwijzing(self, errors: Sequence[Fout]) -> Beslissing:
        return Beslissing(
            outcome="rejected",
            ruleset=self.ruleset.version,
            reasons=("De melding voldoet niet aan het intakecontract.",),
            errors=tuple(e.model_dump() for e in errors),
        )

    def beoordeel(self, raw: str | bytes | dict) -> Beoordeling:
        """Validate and route one melding; store nothing."""
        try:
            melding = parse(raw)
        except Ongeldig as exc:
            return Beoordeling(None, self.afwijzing(exc.errors))
        return Beoordeling(melding, self.ruleset.decide(melding.feiten()))

    # Intake ---------------------------------------------------------------

    def ontvang(self, raw: str | bytes) -> Ontvangst:
        return self.ontvang_batch([raw])[0]

    def ontvang_batch(self, raws: Iterable[str | bytes]) -> list[Ontvangst]:
        """Record a batch of meldingen in one transaction; duplicates change nothing."""
        pending: dict[UUID, Melding | AfgewezenMelding] = {}
        results: list[Ontvangst] = []
        for raw in raws:
            aggregate_or_id = self._neem_aan(_as_bytes(raw), pending)
            if isinstance(aggregate_or_id, UUID):
                results.append(self._duplicaat(aggregate_or_id, pending))
            else:
                pending[aggregate_or_id.id] = aggregate_or_id
                status: Status = "afgewezen" if isinstance(aggregate_or_id, AfgewezenMelding) else "nieuw"
                results.append(Ontvangst(aggregate_or_id.id, status, aggregate_or_id.beslissing))
        if pending:
            results = self._bewaar(list(pending.values()), results)
        return results

    def _neem_aan(
        self, raw: bytes, pending: dict[UUID, Melding | AfgewezenMelding]
    ) -> Melding | AfgewezenMelding | UUID:
        """A new aggregate for this input, or the id of the melding it duplicates."""
        try:
            melding = parse(raw)
        except Ongeldig as exc:
            sha = payload_hash(raw)
            existing = afgewezen_id(sha)
            if existing in pending or self._bestaat(existing):
                return existing
            bron, kenmerk = _identity_hint(raw)
            return AfgewezenMelding(
                payload=raw.decode("utf-8", "replace"),
                payload_sha256=sha,
                errors=[e.model_dump() for e in exc.errors],
                bron=bron,
                kenmerk=kenmerk,
                beslissing=self.afwijzing(exc.errors).as_contract(),
            )
        existing = melding_id(melding.bron, melding.kenmerk)
        if existing in pending or self._bestaat(existing):
            return existing
        aggregate = Melding(
            bron=melding.bron,
            kenmerk=melding.kenmerk,
            soort=melding.soort,
            ontvangen_op=melding.ontvangen_op.isoformat(),
            gemeente=melding.gemeente,
            signalen=melding.signalen.model_dump(mode="json"),
            persoon=melding.persoon.model_dump(mode="json"),
            toelichting=melding.toelichting,
        )
        aggregate.beslis(self.ruleset.decide(melding.feiten()).as_contract())
        return aggregate

    def _bestaat(self, aggregate_id: UUID) -> bool:
        return bool(self.recorder.select_events(aggregate_id, limit=1))

    def _duplicaat(
        self, aggregate_id: UUID, pending: dict[UUID, Melding | AfgewezenMelding]
    ) -> Ontvangst:
        aggregate = pending.get(aggregate_id) or self.repository.get(aggregate_id)
        return Ontvangst(aggregate_id, "duplicaat", aggregate.beslissing)

    def _bewaar(
        self, aggregates: list[Melding | AfgewezenMelding], results: list[Ontvangst]
    ) -> list[Ontvangst]:
        try:
            self.save(*aggregates)
            return results
        except IntegrityError:
            # Another writer stored one of these meldingen between our check and our
            # save. Save one by one so only the meldingen really stored elsewhere
            # become duplicates; the rest of the batch is kept.
            pass
        lost: set[UUID] = set()
        for aggregate in aggregates:
            try:
                self.save(aggregate)
            except IntegrityError:
                lost.add(aggregate.id)
        return [
            self._duplicaat(r.melding_id, {}) if r.melding_id in lost and r.status != "duplicaat" else r
            for r in results
        ]

    # Lifecycle ------------------------------------------------------------
    # Each command loads the melding, lets the aggregate check the transition (an
    # illegal one raises OngeldigeOvergang and records nothing), and saves.

    def accepteer(self, melding_id: UUID, *, actor: str, regisseur: str) -> Melding:
        return self._doe(melding_id, actor, lambda m: m.accepteer(actor=actor, regisseur=regisseur))

    def retour(self, melding_id: UUID, *, actor: str, reden: str) -> Melding:
        return self._doe(melding_id, actor, lambda m: m.retour(actor=actor, reden=reden))

    def herrouteer(self, melding_id: UUID, *, actor: str, zvh: str, product: str, reden: str) -> Melding:
        def command(m: Melding) -> None:
            beslissing = self._handmatig(m, zvh, product, actor, reden, "handmatig.herrouteerd")
            m.herrouteer(actor=actor, beslissing=beslissing, reden=reden)

        return self._doe(melding_id, actor, command)

    def besluit_triage(
        self, melding_id: UUID, *, actor: str, zvh: str, product: str, reden: str
    ) -> Melding:
        def command(m: Melding) -> None:
            beslissing = self._handmatig(m, zvh, product, actor, reden, "handmatig.triage")
            m.besluit_triage(actor=actor, beslissing=beslissing, reden=reden)

        return self._doe(melding_id, actor, command)

    def top_x(self, melding_id: UUID, *, actor: str, aan: bool, reden: str) -> Melding:
        return self._doe(melding_id, actor, lambda m: m.top_x(actor=actor, aan=aan, reden=reden))

    def sluit(self, melding_id: UUID, *, actor: str, resultaat: str) -> Melding:
        return self._doe(melding_id, actor, lambda m: m.sluit(actor=actor, resultaat=resultaat))

    def _doe(self, melding_id: UUID, actor: str, command: Any) -> Melding:
        if not actor or not actor.strip():
            raise OngeldigeOvergang("an actor is required: who does this (LOKET_USER)")
        melding = self.melding(melding_id)
        if isinstance(melding, AfgewezenMelding):
            raise OngeldigeOvergang(
                f"melding {melding_id} was rejected at intake: send a corrected melding instead"
            )
        command(melding)
        self.save(melding)
        return melding

    def _handmatig(
        self, melding: Melding, zvh: str, product: str, actor: str, reden: str, rule: str
    ) -> dict[str, Any]:
        """A decision made by a person: it overrides the rules and says so."""
        if zvh not in self.ruleset.zvh_ids:
            raise OngeldigeOvergang(f"unknown zvh '{zvh}' (known: {', '.join(sorted(self.ruleset.zvh_ids))})")
        if product not in self.ruleset.producten:
            raise OngeldigeOvergang(f"unknown product '{product}'")
        vorige = melding.beslissing or {}
        same_product = vorige.get("product") == product
        queue = VIA_QUEUE if product == "via" else f"{zvh}/{product}"
        return Beslissing(
            outcome="routed",
            zvh=zvh,
            product=product,
            gemeente=vorige.get("gemeente"),
            labels=tuple(vorige.get("labels") or ()) if same_product else (),
            notify=tuple(vorige.get("notify") or ()) if same_product else (),
            queue=queue,
            deadline=vorige.get("deadline") if same_product else None,
            ruleset=self.ruleset.version,
            rules=(rule,),
            reasons=(f"Handmatig besloten door {actor}, in plaats van de regels: {reden.strip()}",),
        ).as_contract()

    # Reading --------------------------------------------------------------

    def melding(self, aggregate_id: UUID) -> Melding | AfgewezenMelding:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise OnbekendeMelding(f"no melding with id {aggregate_id}") from None

    def persoonsgegevens(self, melding_id: UUID, *, actor: str, doel: str) -> dict[str, Any]:
        """The personal data of a melding (persoon, toelichting): the one way to read it.

        Every read of personal data must be traceable: this is where it is recorded.
        """
        melding = self.melding(melding_id)
        if isinstance(melding, AfgewezenMelding):
            return {"payload": melding.payload}
        return {"persoon": melding.persoon, "toelichting": melding.toelichting}

    def zoek(self, bron: str, kenmerk: str) -> Melding:
        """A melding by its identity at the source (only valid meldingen have one)."""
        return self.melding(melding_id(bron, kenmerk))
