"""The Melding aggregate: one melding's life, as events.

Its id is made when it is first stored, and grows with time (`nieuw_melding_id`);
the event store keeps beside the events which melding each `(bron, kenmerk)` is
(events/recorders.py), so the same melding sent twice is recognised as a
duplicate. Meldingen stored before got their id from `(bron, kenmerk)`
(`oude_melding_id`), and are still found by it. A melding that breaks the
contract is still recorded, as an `AfgewezenMelding` whose id comes from the
raw payload: the same broken line sent twice is one rejected melding, and a
corrected resend under the same kenmerk is accepted as the real melding.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, datetime_now_with_tzinfo, event

from events.bibliotheek import nieuw_aggregaat
from events.handelingen import HANDELINGEN, Handeling
from events.informeren import KANALEN, taak_id, uiterlijk
from events.intake import OPGESLAGEN, MeldingIn, veilige_fouten
from events.status import AFGEWEZEN, DOORVERWEZEN, GESLOTEN, HERSTELD, IN_BEHANDELING, ONTVANGEN, OPEN, TRIAGE
from events.toegang import Kenmerken, compartiment_van
from routing.decision import Beslissing
from routing.facts import Feiten
from routing.tijd import NL, vandaag

# Seals free text about the person (field name, text) into an envelope: `Loket` supplies
# it, bound to the melding's subject and compartment. Free text written in a lifecycle
# command (a reason, a result) is personal data like the melder's toelichting: people
# write about the person there, so it is sealed the same way.
Verzegel = Callable[[str, str], dict[str, Any]]

# A fixed namespace: the same (bron, kenmerk) gives the same id on every machine, forever.
MELDING_NAMESPACE = uuid5(NAMESPACE_URL, "https://zorgenveiligheidshuis.zuid-limburg/melding")


def oude_melding_id(bron: str, kenmerk: str) -> UUID:
    """The id a melding got from its (bron, kenmerk) when it was stored before ids grew with time.

    Still how those meldingen are found (intake's duplicate check, BRON:KENMERK), and the
    id of every melding in a store that keeps no (bron, kenmerk) index (in memory).
    """
    return uuid5(MELDING_NAMESPACE, f"{bron}:{kenmerk}")


_laatste_tijd = 0
_tijd_slot = threading.Lock()


def nieuw_melding_id() -> UUID:
    """A new melding's id: a UUIDv7 (RFC 9562), its first 60 bits the time, then 62 random bits.

    A hash of (bron, kenmerk) put every melding's events at a random place of the events'
    index, so each melding of a batch dirtied an index page of its own and intake slowed as
    the store grew (bench/RESULTS.md, "Scale: growth"). Ids that grow with time put a batch's
    events at the index's end. Unix milliseconds (48 bits) and the fraction of the
    millisecond (12 bits), strictly increasing within a process; the random bits keep ids
    of several processes apart and unguessable. Python 3.11 has no uuid7 of its own; this
    is the whole of it.
    """
    global _laatste_tijd
    with _tijd_slot:
        ns = time.time_ns()
        tijd = (ns // 1_000_000) << 12 | (ns % 1_000_000) * 4096 // 1_000_000
        tijd = _laatste_tijd = max(tijd, _laatste_tijd + 1)
    toeval = int.from_bytes(os.urandom(8)) & (1 << 62) - 1
    return UUID(int=(tijd >> 12) << 80 | 0x7 << 76 | (tijd & 0xFFF) << 64 | 0b10 << 62 | toeval)


def payload_hash(raw: bytes) -> str:
    return hashlib.sha256(raw.strip()).hexdigest()


def afgewezen_id(sha256: str) -> UUID:
    return uuid5(MELDING_NAMESPACE, "afgewezen:" + sha256)


class OngeldigeOvergang(Exception):
    """A lifecycle command that does not fit the melding's state; no event is recorded."""


def _handeling(id: str) -> Handeling:
    return HANDELINGEN[id]


def _verplicht(naam: str, waarde: str) -> None:
    if not waarde or not waarde.strip():
        raise OngeldigeOvergang(f"{naam} is required")


class MetPersoonsgegevens(Aggregate):
    """An aggregate holding sealed personal data of one subject (`betrokkene`, a keyed pseudonym).

    Shredding destroys the subject's keys in the key store; the aggregate records
    that it happened (who, why), and what it sealed reads as removed from then on.
    """

    vernietigd = False  # (no annotations here: they would become constructor fields)

    if TYPE_CHECKING:
        # The @event decorators make the event classes when the class is made; the type checker
        # cannot see that. Declared for it only (at run time annotations here would be fields).
        PersoonsgegevensVernietigd: ClassVar[type[Aggregate.Event]]

    def vernietig(self, *, actor: str, reden: str, betrokkene: str, sleutels: Sequence[str] = ()) -> None:
        self._vernietigd(actor=actor, reden=reden, betrokkene=betrokkene, sleutels=list(sleutels))

    # `sleutels`: the ids of the data keys destroyed (not the keys), so that a key store restored
    # from a backup older than this event destroys them again (`Loket.vernietigingen_herhalen`).
    # Events stored before it was recorded lack it.
    @event("PersoonsgegevensVernietigd")
    def _vernietigd(self, actor: str, reden: str, betrokkene: str, sleutels: list[str] | None = None) -> None:
        self.vernietigd = True

    def kenmerken(self) -> Kenmerken:
        """What access to this melding depends on (events/toegang.py): never personal data."""
        b: Beslissing | None = getattr(self, "beslissing", None)
        return Kenmerken(getattr(self, "compartiment", None), b.zvh if b else None, b.queue if b else None,
                         getattr(self, "status", ""))


class Melding(MetPersoonsgegevens):
    """A valid melding, from receipt through routing, acceptance and closing.

    The routing facts are in the clear (soort, gemeente, dates, signalen, the age
    at receipt, every decision). The person and the melder's toelichting are one
    sealed envelope (`persoonsgegevens`), under the data key of the subject
    (`betrokkene`, a keyed pseudonym), or of the compartment the melding belongs
    to; only `Loket.persoonsgegevens` opens it, and records that it did.
    """

    if TYPE_CHECKING:  # made by the @event decorators below (see MetPersoonsgegevens)
        MeldingOntvangen: ClassVar[type[Aggregate.Created]]
        MeldingGerouteerd: ClassVar[type[Aggregate.Event]]
        MeldingInTriage: ClassVar[type[Aggregate.Event]]
        MeldingDoorverwezen: ClassVar[type[Aggregate.Event]]
        MeldingGeaccepteerd: ClassVar[type[Aggregate.Event]]
        MeldingTeruggestuurd: ClassVar[type[Aggregate.Event]]
        MeldingHergerouteerd: ClassVar[type[Aggregate.Event]]
        TriageBesloten: ClassVar[type[Aggregate.Event]]
        TopXAan: ClassVar[type[Aggregate.Event]]
        TopXAf: ClassVar[type[Aggregate.Event]]
        MeldingGesloten: ClassVar[type[Aggregate.Event]]
        RegisseurToegewezen: ClassVar[type[Aggregate.Event]]
        InformerenGevraagd: ClassVar[type[Aggregate.Event]]
        PartijGeinformeerd: ClassVar[type[Aggregate.Event]]

    @staticmethod
    def create_id(bron: str, kenmerk: str) -> UUID:
        return nieuw_melding_id()

    @event("MeldingOntvangen")
    def __init__(
        self,
        bron: str,
        kenmerk: str,
        soort: str,
        ontvangen_op: str,
        gemeente: str | None,
        signalen: dict[str, Any],
        leeftijd: int | None,
        betrokkene: str,
        betrokkene_soort: str,
        compartiment: str | None,
        persoonsgegevens: dict[str, Any],
    ) -> None:
        self.bron = bron
        self.kenmerk = kenmerk
        self.soort = soort
        self.ontvangen_op = ontvangen_op
        self.gemeente = gemeente
        self.signalen = signalen
        # The age at ontvangen_op is all routing needs of the birth date: it stays in
        # the clear so a melding can be decided again or explained without opening
        # personal data, also after shredding (the birth date itself is sealed).
        self.leeftijd = leeftijd
        self.betrokkene = betrokkene
        self.betrokkene_soort = betrokkene_soort
        self.compartiment = compartiment
        self.persoonsgegevens = persoonsgegevens  # sealed: {"persoon": ..., "toelichting": ...}
        self.status = ONTVANGEN
        self.beslissing: Beslissing | None = None
        self.regisseur: str | None = None
        self.resultaat: dict[str, Any] | None = None  # sealed

    def _besloten(self, beslissing: Beslissing, status: str) -> None:
        self.beslissing = beslissing
        self.status = status
        # Once a melding is restricted it stays so: what was read under the convenant stays under it.
        self.compartiment = self.compartiment or compartiment_van(None, beslissing.product)

    @event("MeldingGerouteerd")
    def gerouteerd(self, beslissing: Beslissing) -> None:
        self._besloten(beslissing, OPEN)

    @event("MeldingInTriage")
    def in_triage(self, beslissing: Beslissing) -> None:
        self._besloten(beslissing, TRIAGE)

    @event("MeldingDoorverwezen")
    def doorverwezen(self, beslissing: Beslissing) -> None:
        self._besloten(beslissing, DOORVERWEZEN)

    # Lifecycle: commands check the state first, so an illegal one leaves no event.

    def _mag(self, id: str) -> None:
        """The action table's states for this action (events/handelingen.py), checked before any event."""
        handeling = _handeling(id)
        if not handeling.kan(self.status):
            raise OngeldigeOvergang(
                f"melding {self.id} is {self.status}: {handeling.naam} is not allowed "
                f"(only when {' or '.join(handeling.statussen)})"
            )

    def accepteer(self, *, actor: str, regisseur: str) -> None:
        self._mag("accept")
        _verplicht("regisseur", regisseur)
        self._geaccepteerd(actor=actor, regisseur=regisseur.strip())

    @event("MeldingGeaccepteerd")
    def _geaccepteerd(self, actor: str, regisseur: str) -> None:
        self.regisseur = regisseur
        self.status = IN_BEHANDELING

    def retour(self, *, actor: str, reden: str, verzegel: Verzegel) -> None:
        self._mag("return")
        _verplicht("reden", reden)
        self._teruggestuurd(actor=actor, reden=verzegel("reden", reden.strip()), zvh=self._beslist.zvh)

    @event("MeldingTeruggestuurd")
    def _teruggestuurd(self, actor: str, reden: dict[str, Any], zvh: str | None) -> None:
        self.regisseur = None
        self.status = TRIAGE

    def herrouteer(self, *, actor: str, beslissing: Beslissing, reden: str, verzegel: Verzegel,
                   op: date | None = None) -> None:
        """The intake team overrides the rules; the decision records that it did."""
        self._mag("reroute")
        _verplicht("reden", reden)
        self._hergerouteerd(actor=actor, beslissing=beslissing, reden=verzegel("reden", reden.strip()))
        self._vraag_informeren(beslissing.notify, "besluit", actor=actor, op=op)

    @event("MeldingHergerouteerd")
    def _hergerouteerd(self, actor: str, beslissing: Beslissing, reden: dict[str, Any]) -> None:
        self._besloten(beslissing, OPEN)
        self.regisseur = None

    def besluit_triage(self, *, actor: str, beslissing: Beslissing, reden: str, verzegel: Verzegel,
                       op: date | None = None) -> None:
        self._mag("decide")
        _verplicht("reden", reden)
        self._triage_besloten(actor=actor, beslissing=beslissing, reden=verzegel("reden", reden.strip()))
        self._vraag_informeren(beslissing.notify, "besluit", actor=actor, op=op)

    @event("TriageBesloten")
    def _triage_besloten(self, actor: str, beslissing: Beslissing, reden: dict[str, Any]) -> None:
        self._besloten(beslissing, OPEN)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.beslissing.labels if self.beslissing else ()

    @property
    def _beslist(self) -> Beslissing:
        """The decision of a melding past intake (every lifecycle command comes after one)."""
        assert self.beslissing is not None, f"melding {self.id} has no decision"
        return self.beslissing

    def top_x(self, *, actor: str, aan: bool, reden: str, verzegel: Verzegel, op: date | None = None) -> None:
        """Top X is a label on a PGA case (003); it is only scaled down through the weegtafel."""
        _verplicht("reden", reden)
        if aan:
            self._mag("topx-aan")
            if self._beslist.product != "pga":
                raise OngeldigeOvergang(f"melding {self.id}: Top X is a label on a PGA case only")
            if "top-x" in self.labels:
                raise OngeldigeOvergang(f"melding {self.id} is already Top X")
            self._top_x_aan(actor=actor, reden=verzegel("reden", reden.strip()))
            # The driehoek is told of every Top X case (003): also when the label is given again later.
            self._vraag_informeren(("lokale-driehoek",), "top-x", actor=actor, opnieuw=True, op=op)
        else:
            self._mag("topx-af")
            if "top-x" not in self.labels:
                raise OngeldigeOvergang(f"melding {self.id} is not Top X")
            self._top_x_af(actor=actor, reden=verzegel("reden", reden.strip()), via="weegtafel")

    @event("TopXAan")
    def _top_x_aan(self, actor: str, reden: dict[str, Any]) -> None:
        notify = tuple(dict.fromkeys((*self._beslist.notify, "lokale-driehoek")))
        self.beslissing = self._beslist.model_copy(update={"labels": (*self.labels, "top-x"), "notify": notify})

    @event("TopXAf")
    def _top_x_af(self, actor: str, reden: dict[str, Any], via: str) -> None:
        labels = tuple(label for label in self.labels if label != "top-x")
        self.beslissing = self._beslist.model_copy(update={"labels": labels})

    # Regie ---------------------------------------------------------------------------

    def wijs_regisseur_toe(self, *, actor: str, regisseur: str) -> None:
        """Another regisseur for a melding the house works on (the first is named at accepting)."""
        self._mag("assign")
        _verplicht("regisseur", regisseur)
        if regisseur.strip() == self.regisseur:
            raise OngeldigeOvergang(f"melding {self.id}: this regisseur is already assigned")
        self._regisseur_toegewezen(actor=actor, regisseur=regisseur.strip(), vorige=self.regisseur)

    @event("RegisseurToegewezen")
    def _regisseur_toegewezen(self, actor: str, regisseur: str, vorige: str | None) -> None:
        self.regisseur = regisseur

    # Informing the parties a decision names (events/informeren.py) -----------------------

    @property
    def informeren(self) -> dict[str, dict[str, Any]]:
        """The tasks to inform a party, by task id: partij, gemeente, uiterlijk, open."""
        taken: dict[str, dict[str, Any]] | None = self.__dict__.get("_informeren")
        if taken is None:
            taken = self.__dict__["_informeren"] = {}
        return taken

    def _vraag_informeren(self, partijen: tuple[str, ...], aanleiding: str, *, actor: str,
                          opnieuw: bool = False, op: date | None = None, timestamp: datetime | None = None) -> None:
        """A task for each party: a decision names a party once for a melding (a reroute that keeps
        it asks nothing new); with `opnieuw` (Top X given again) a party is asked again, unless a
        task to tell it is still open. Its term runs from `op`, the day by the loket's recording
        clock (None: today); recorded at `timestamp` where the caller records at a moment of its own
        (intake on a recording clock), else as the aggregate's other events."""
        b = self.beslissing
        gemeente = (b.gemeente if b else None) or self.gemeente
        for partij in partijen:
            eerder = [t for t in self.informeren.values() if t["partij"] == partij]
            if (eerder and not opnieuw) or any(t["open"] for t in eerder):
                continue
            self.trigger_event(
                self.InformerenGevraagd, actor=actor, taak=taak_id(self.id, partij, len(eerder)), partij=partij,
                gemeente=gemeente, uiterlijk=uiterlijk(partij, op or vandaag()).isoformat(), aanleiding=aanleiding,
                timestamp=timestamp,
            )

    @event("InformerenGevraagd")
    def _informeren_gevraagd(self, actor: str, taak: str, partij: str, gemeente: str | None, uiterlijk: str,
                             aanleiding: str) -> None:
        self.informeren[taak] = {"partij": partij, "gemeente": gemeente, "uiterlijk": uiterlijk, "open": True}

    def informeer(self, *, actor: str, taak: str, kanaal: str) -> None:
        """Record that the party of an open task was told, through `kanaal` (events/informeren.py)."""
        self._mag("inform")
        gevraagd = self.informeren.get(taak.strip())
        if gevraagd is None:
            raise OngeldigeOvergang(f"melding {self.id} has no such task to inform a party")
        if not gevraagd["open"]:
            raise OngeldigeOvergang(f"melding {self.id}: this party was already informed")
        if kanaal not in KANALEN:
            raise OngeldigeOvergang(f"unknown kanaal (known: {', '.join(KANALEN)})")
        self._geinformeerd(actor=actor, taak=taak.strip(), partij=gevraagd["partij"], kanaal=kanaal)

    @event("PartijGeinformeerd")
    def _geinformeerd(self, actor: str, taak: str, partij: str, kanaal: str) -> None:
        self.informeren[taak] = {**self.informeren[taak], "open": False}

    def sluit(self, *, actor: str, resultaat: str, verzegel: Verzegel) -> None:
        self._mag("close")
        _verplicht("resultaat", resultaat)
        self._gesloten(actor=actor, resultaat=verzegel("resultaat", resultaat.strip()))

    @event("MeldingGesloten")
    def _gesloten(self, actor: str, resultaat: dict[str, Any]) -> None:
        self.resultaat = resultaat
        self.status = GESLOTEN

    def intake(self, persoonsgegevens: dict[str, Any] | None = None) -> MeldingIn:
        """The melding as it was received (validated again: it was valid when stored).

        Without `persoonsgegevens` (opened through `Loket.persoonsgegevens`) it is
        the routing facts only: no person, no toelichting.
        """
        opened = persoonsgegevens or {}
        return MeldingIn.model_validate(
            {
                "bron": self.bron,
                "soort": self.soort,
                "kenmerk": self.kenmerk,
                "ontvangen_op": self.ontvangen_op,
                "gemeente": self.gemeente,
                "persoon": opened.get("persoon") or {},
                "signalen": self.signalen,
                "toelichting": opened.get("toelichting"),
            },
            context=OPGESLAGEN,
        )

    def feiten(self) -> Feiten:
        """What routing decides on, to re-decide or explain a stored melding (no decryption)."""
        return replace(self.intake().feiten(), leeftijd=self.leeftijd)

    @classmethod
    def ontvangen(cls, aggregate_id: UUID, beslissing: Beslissing, *, timestamp: datetime | None = None,
                  **velden: Any) -> Melding:
        """A new melding and its routing decision (MeldingOntvangen, then the event of its outcome),
        all recorded at `timestamp` (None: now, by the library's clock, read once).

        Intake builds thousands of meldingen a batch. The decorators match every
        call's arguments against the method's signature (twice: the command, then
        the event); here the events are triggered directly with the same names and
        values, and the id is the one intake already computed from (bron, kenmerk).
        """
        if timestamp is None:
            # One moment for the melding, its decision and its tasks, as the recording clock gives the
            # events of one transaction (Loket.save): each event reading the clock anew would put
            # microseconds between what was recorded together, and an as-of read could stop between.
            timestamp = datetime_now_with_tzinfo()
        melding = nieuw_aggregaat(cls, cls.MeldingOntvangen, aggregate_id, timestamp=timestamp, **velden)
        besluit = {
            "routed": cls.MeldingGerouteerd,
            "triage": cls.MeldingInTriage,
            "doorverwijzen": cls.MeldingDoorverwezen,
        }[beslissing.outcome]
        melding.trigger_event(besluit, beslissing=beslissing, timestamp=timestamp)
        if beslissing.notify:
            op = timestamp.astimezone(NL).date() if timestamp is not None else None
            melding._vraag_informeren(beslissing.notify, "besluit", actor="regels", op=op, timestamp=timestamp)
        return melding


class AfgewezenMelding(MetPersoonsgegevens):
    """Input that broke the contract, kept whole with its errors: nothing is dropped."""

    if TYPE_CHECKING:  # made by the @event decorators below (see MetPersoonsgegevens)
        MeldingAfgewezen: ClassVar[type[Aggregate.Created]]
        AfwijzingHersteld: ClassVar[type[Aggregate.Event]]
        hersteld_als: str | None
    else:
        hersteld_als = None  # the melding id of its correction (an annotation would become a constructor field)

    @staticmethod
    def create_id(payload_sha256: str) -> UUID:
        return afgewezen_id(payload_sha256)

    @event("MeldingAfgewezen")
    def __init__(
        self,
        payload: dict[str, Any],
        payload_sha256: str,
        errors: list[dict[str, str]],
        bron: str | None,
        kenmerk: str | None,
        beslissing: Beslissing,
        betrokkene: str,
        betrokkene_soort: str,
        compartiment: str | None,
    ) -> None:
        # Sealed: the raw input (decoded with replacement characters where not UTF-8)
        # holds whatever the melder sent, a BSN and free text included.
        self.payload = payload
        self.payload_sha256 = payload_sha256
        # As they may be shown (older rejections may name a key the sender made up).
        self.errors = veilige_fouten(errors)
        self.bron = bron
        self.kenmerk = kenmerk
        self.beslissing = beslissing.model_copy(update={"errors": tuple(veilige_fouten(list(beslissing.errors)))})
        self.betrokkene = betrokkene
        self.betrokkene_soort = betrokkene_soort
        self.compartiment = compartiment
        self.status = AFGEWEZEN

    def herstel(self, *, actor: str, melding_id: UUID, bron: str, kenmerk: str) -> None:
        """Corrected and sent again: the rejection stays, marked, and points at the melding that
        took its place (ids and the kenmerk only: what was corrected is in the new melding)."""
        if self.status != AFGEWEZEN:
            raise OngeldigeOvergang(f"rejected melding {self.id} was corrected before, as {self.hersteld_als}")
        _verplicht("actor", actor)
        self._hersteld(actor=actor, melding_id=str(melding_id), bron=bron, kenmerk=kenmerk)

    @event("AfwijzingHersteld")
    def _hersteld(self, actor: str, melding_id: str, bron: str, kenmerk: str) -> None:
        self.hersteld_als = melding_id
        self.status = HERSTELD

    @classmethod
    def afgewezen(cls, aggregate_id: UUID, *, timestamp: datetime | None = None, **velden: Any) -> AfgewezenMelding:
        """A rejected melding recorded at `timestamp` (None: now, by the library's clock); its id is
        `afgewezen_id` of the payload's hash, as intake computed it."""
        return nieuw_aggregaat(cls, cls.MeldingAfgewezen, aggregate_id, timestamp=timestamp, **velden)


def _beslissing_als_waarde(state: dict[str, Any]) -> None:
    state["beslissing"] = Beslissing.van(state["beslissing"])


# The events that carry a decision hold a `Beslissing` from their class version 2 on (stored
# through its transcoding, events/application.py). Those stored before hold the contract's
# JSON object: the library's mapper upcasts them as it reads them, so the aggregate, the
# projections and the relay get the value whatever the event's age.
for _besluit in (Melding.MeldingGerouteerd, Melding.MeldingInTriage, Melding.MeldingDoorverwezen,
                 Melding.MeldingHergerouteerd, Melding.TriageBesloten, AfgewezenMelding.MeldingAfgewezen):
    # The library looks these up with getattr: they are no declared attributes of an event class.
    setattr(_besluit, "class_version", 2)  # noqa: B010
    setattr(_besluit, "upcast_v1_v2", staticmethod(_beslissing_als_waarde))  # noqa: B010
