"""The loket application: the use cases that load, decide and save meldingen.

Persistence is chosen by the environment (PERSISTENCE_MODULE, SQLITE_DBNAME,
POSTGRES_*), never here; so is where personal data is sealed (LOKET_KEYSTORE,
LOKET_MASTER_KEY, see privacy/). Many meldingen are saved in one transaction
(group commit) without giving up idempotency or per-melding rejection.

Personal data (the person, the melder's toelichting, a rejected raw payload,
the free text of lifecycle commands) is sealed before it reaches an event; it
is opened in one place, `persoonsgegevens`, which checks the caller's role and
compartments and writes a line in the Logboek Dataverwerkingen first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, Literal, Protocol, cast, runtime_checkable
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder, PersistenceError, Transcoding
from eventsourcing.utils import Environment, get_topic

from events.bibliotheek import sla_op
from events.follower import Follower
from events.hashchain import HashChained
from events.intake import MAX_MELDING_BYTES, MeldingIn, Ongeldig, TeGroot, VeldFout, parse
from events.logboek import (
    INZAGE,
    STATUS_OK,
    STATUS_UNSET,
    VERNIETIGING,
    Dataverwerking,
    doel_uit_register,
    lees_toelichting,
    span_id,
    trace_id,
)
from events.melding import (
    AfgewezenMelding,
    Melding,
    MetPersoonsgegevens,
    OngeldigeOvergang,
    Verzegel,
    afgewezen_id,
    nieuw_melding_id,
    oude_melding_id,
    payload_hash,
)
from events.toegang import GeenToegang, Rol, compartiment_van, weigering
from privacy.keystore import CompartimentGesloten, Herhaling
from privacy.kluis import VERWIJDERD, Kluis, Sessie, is_envelope
from privacy.pseudonym import Betrokkene
from routing import Ruleset
from routing.decision import Beslissing
from routing.tijd import NL

Status = Literal["nieuw", "duplicaat", "afgewezen"]
log = structlog.get_logger(__name__)

# The recording clock: the moment the loket records what it is given, which is every event's
# `timestamp` (the recording time, by which "as of" reads the store), as distinct from a
# melding's business time (`ontvangen_op`, and when people acted). Without one the library's
# own clock stamps events: the real time. `loket demo` gives a synthetic clock, so that a
# simulated year is recorded at the moments it happened (loket/cli/demo.py).
Klok = Callable[[], datetime]

# Shreds as the events record them, of every aggregate that holds personal data (one event class).
_VERNIETIGD = (get_topic(MetPersoonsgegevens.PersoonsgegevensVernietigd),)
_HERHAAL_ONTHOUDEN = 10_000  # events read before the position is worth a write of its own



class OnbekendeMelding(LookupError):
    """No melding has this id."""


@runtime_checkable
class KnowsExisting(Protocol):
    """A recorder that tells which of many aggregates are stored, in one query (events/recorders.py)."""

    def existing(self, originator_ids: set[UUID]) -> set[UUID]: ...


@runtime_checkable
class KentKenmerken(Protocol):
    """A recorder that keeps which melding each (bron, kenmerk) is, beside the events, written with
    the melding's events (`insert_events(..., kenmerken=...)`, events/recorders.py)."""

    def melding_ids(self, kenmerken: Collection[tuple[str, str]]) -> dict[tuple[str, str], UUID]: ...


@dataclass(frozen=True, slots=True)
class Ontvangst:
    """What intake did with one input: the melding it is, and its decision (None where the service
    withholds it from a caller who may not read the melding)."""

    melding_id: UUID
    status: Status
    beslissing: Beslissing | None


@dataclass(frozen=True, slots=True)
class Vernietiging:
    """What shredding a subject did: the meldingen that now read as removed, the keys destroyed."""

    betrokkene: str
    meldingen: tuple[UUID, ...]
    sleutels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Gelezen:
    """One input line, parsed (or not), with the id of the melding it is."""

    raw: bytes
    melding_id: UUID  # a valid melding's: its old id (`oude_melding_id`) until intake gives it its own
    melding: MeldingIn | None
    errors: tuple[VeldFout, ...] = ()
    sha256: str = ""

    @property
    def sleutel(self) -> Hashable:
        """What makes two inputs the same melding: (bron, kenmerk), or a rejection's payload hash."""
        return (self.melding.bron, self.melding.kenmerk) if self.melding is not None else self.melding_id


@dataclass(frozen=True, slots=True)
class _Plan:
    """A new melding of a batch, decided, with whom its personal data is about; not sealed yet."""

    gelezen: _Gelezen
    beslissing: Beslissing
    betrokkene: Betrokkene
    compartiment: str | None
    gegevens: dict[str, Any]  # the person as received (JSON values), or a rejected payload's JSON object


@dataclass(frozen=True, slots=True)
class Beoordeling:
    """A decision without storing anything (`loket route`)."""

    melding: MeldingIn | None
    beslissing: Beslissing


def _as_bytes(raw: str | bytes | TeGroot) -> bytes | TeGroot:
    return raw if isinstance(raw, (bytes, TeGroot)) else raw.encode("utf-8", "surrogatepass")


def _json_object(raw: bytes) -> dict[str, Any]:
    """A rejected melding's JSON object where it can still be read, else empty."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


# A hint kept in the clear must be storable as UTF-8 and short: no control characters, no lone surrogates.
_LEESBAAR = re.compile(r"[^\x00-\x1f\x7f\ud800-\udfff]{1,100}")


def _hint(data: dict[str, Any], field: str) -> str | None:
    value = data.get(field)
    return value if isinstance(value, str) and _LEESBAAR.fullmatch(value) else None


def _now() -> datetime:
    return datetime.now(UTC)


_STAPPEN = {"read": "read", "decide": "decided", "seal": "sealed", "store": "stored"}


def _defect(stap: str, exc: Exception) -> VeldFout:
    """A melding that a defect of ours kept from being read, decided, sealed or stored: it is kept
    as rejected, and the defect is logged by its type only (its message may quote the input)."""
    log.error("intake.defect", stap=stap, fout=type(exc).__name__)
    return VeldFout(field="melding", message=f"could not be {_STAPPEN[stap]} ({type(exc).__name__}, a defect of "
                "the loket); it is kept as rejected and the defect is logged")


class BeslissingAlsContract(Transcoding):
    """A decision in an event is stored in the contract's JSON shape (routing/decision.py), as events held
    it as a plain dict before; read back, it is the typed value again (`Beslissing.van`)."""

    type = Beslissing
    name = "beslissing"

    def encode(self, obj: Beslissing) -> dict[str, Any]:
        return obj.as_contract()

    def decode(self, data: dict[str, Any]) -> Beslissing:
        return Beslissing.van(data)


class Loket(Application[UUID]):
    """The use cases on meldingen. Built by the composition root (loket/bootstrap.py), which
    gives it the persistence environment, the ruleset and the key vault: nothing here reads the
    process's environment."""

    name = "Loket"

    def __init__(self, env: Mapping[str, str], *, ruleset: Ruleset, kluis: Kluis, anker_elke: int = 1000,
                 anker_seconden: float = 600, klok: Klok | None = None) -> None:
        super().__init__(dict(env))
        self.ruleset = ruleset
        self.kluis = kluis
        self.klok = klok
        # A store that keeps (bron, kenmerk) beside the events gives new meldingen ids that grow
        # with time; one that does not (in memory) their old id from (bron, kenmerk).
        self.kenmerken: KentKenmerken | None = self.recorder if isinstance(self.recorder, KentKenmerken) else None
        if isinstance(self.recorder, HashChained):
            self.recorder.anchor_with(self.kluis.keten(), every=anker_elke, seconds=anker_seconden)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(BeslissingAlsContract())

    @classmethod
    def in_geheugen(cls, ruleset: Ruleset) -> Loket:
        """A loket that keeps nothing: events in memory, keys that live as long as the process
        (`loket route`, property tests)."""
        return cls({"PERSISTENCE_MODULE": "eventsourcing.popo"}, ruleset=ruleset, kluis=Kluis.in_geheugen())

    def construct_env(self, name: str, env: Mapping[str, str] | None = None) -> Environment:
        """The persistence environment as given, without the process's own: the composition root
        decides where events go (the library would read os.environ here)."""
        return Environment(name, {**type(self).env, **(env or {})})

    def close(self) -> None:
        super().close()
        self.kluis.close()

    # Recording time -------------------------------------------------------

    def nu(self) -> datetime:
        """Now, by the recording clock."""
        return self.klok() if self.klok is not None else _now()

    def vandaag(self) -> date:
        """Today in the Netherlands, by the recording clock."""
        return self.nu().astimezone(NL).date()

    def _tijdstip(self) -> datetime | None:
        """The timestamp for the events of one transaction: the recording clock's, or None for the
        library's own (the real clock; it is not read twice for the same moment)."""
        return self.klok() if self.klok is not None else None

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        """`Application.save`, the events of one transaction stamped with one moment of the recording
        clock where the loket has its own (the lifecycle, the access log, shredding)."""
        tijdstip = self._tijdstip()
        if tijdstip is not None:
            for obj in objs:
                if isinstance(obj, Aggregate):
                    # The events of an Aggregate are frozen dataclasses (the library types them by a protocol).
                    obj.pending_events[:] = [replace(cast(Aggregate.Event, e), timestamp=tijdstip)
                                             for e in obj.pending_events]
                    obj.modified_on = tijdstip
        return super().save(*objs, **kwargs)

    # Deciding -------------------------------------------------------------

    def afwijzing(self, errors: Sequence[VeldFout]) -> Beslissing:
        return Beslissing(
            outcome="rejected",
            ruleset=self.ruleset.version,
            reasons=("De melding voldoet niet aan het intakecontract.",),
            errors=tuple(e.model_dump() for e in errors),
        )

    def beoordeel(self, raw: str | bytes | dict | TeGroot) -> Beoordeling:
        """Validate and route one melding; store nothing."""
        if isinstance(raw, dict):
            try:
                melding = parse(raw)
            except Ongeldig as exc:
                return Beoordeling(None, self.afwijzing(exc.errors))
        else:
            gelezen = self._lees(_as_bytes(raw))
            if gelezen.melding is None:
                return Beoordeling(None, self.afwijzing(gelezen.errors))
            melding = gelezen.melding
        return Beoordeling(melding, self.ruleset.decide(melding.feiten()))

    # Intake ---------------------------------------------------------------

    def ontvang(self, raw: str | bytes | TeGroot) -> Ontvangst:
        return self.ontvang_batch([raw])[0]

    def ontvang_batch(self, raws: Iterable[str | bytes | TeGroot]) -> list[Ontvangst]:
        """Record a batch of meldingen in one transaction; duplicates change nothing.

        Every line's fate is its own: whatever goes wrong with one line (reading,
        validating, deciding, sealing, encoding, storing) makes that line a rejected
        melding with its error, and the rest of the batch is stored. Only the store
        itself failing (unreachable, full) fails the batch, with nothing stored.
        """
        gelezen = [self._lees(_as_bytes(raw)) for raw in raws]
        opgeslagen = self._bestaande(gelezen)
        nieuw: dict[Hashable, _Gelezen] = {}  # the first line of each melding not stored yet
        eerste: dict[Hashable, int] = {}
        for i, g in enumerate(gelezen):
            if g.sleutel not in opgeslagen and g.sleutel not in nieuw:
                nieuw[g.sleutel] = g if g.melding is None or self.kenmerken is None else replace(
                    g, melding_id=nieuw_melding_id())
                eerste[g.sleutel] = i
        # By melding: a line that could not be decided is planned as a rejection, under its id.
        eigen = {sleutel: self._plan(g) for sleutel, g in nieuw.items()}
        plannen = list(eigen.values())
        tijdstip = self._tijdstip()  # one transaction, one recording moment
        sessie = self.kluis.sessie()
        # The keys of all the batch's subjects in one query, not one per melding.
        sessie.zoek_sleutels((p.betrokkene.id, p.compartiment) for p in plannen)
        pending = {p.gelezen.melding_id: self._aggregaat(p, sessie, tijdstip) for p in plannen}
        if pending:
            # The keys first: ciphertext whose key was never stored could never be read.
            sessie.bewaar()
            pending, lost = self._bewaar(pending, sessie, {p.gelezen.melding_id: p.gelezen.raw for p in plannen})
        else:
            lost = set()
        results: list[Ontvangst] = []
        for i, g in enumerate(gelezen):
            plan = eigen.get(g.sleutel)
            eigen_id = plan.gelezen.melding_id if plan is not None else None
            aggregate = pending.get(eigen_id) if eigen_id is not None else None
            if eerste.get(g.sleutel) != i or eigen_id is None or eigen_id in lost or aggregate is None:
                if g.sleutel in opgeslagen:
                    stored = opgeslagen[g.sleutel]
                elif eigen_id is not None and eigen_id not in lost:
                    stored = eigen_id  # a melding this batch stores, sent twice in it
                else:
                    stored = self._opgeslagen_id(g)  # another writer stored it between our check and save
                results.append(self._duplicaat(stored, pending))
                continue
            status: Status = "afgewezen" if isinstance(aggregate, AfgewezenMelding) else "nieuw"
            results.append(Ontvangst(aggregate.id, status, aggregate.beslissing))
        return results

    def _lees(self, raw: bytes | TeGroot) -> _Gelezen:
        if isinstance(raw, TeGroot):
            fout = VeldFout(field="melding", message=f"is larger than the limit of {MAX_MELDING_BYTES} bytes; "
                        f"only its first {len(raw.begin)} bytes are kept")
            return _Gelezen(raw.begin, afgewezen_id(raw.sha256), None, (fout,), raw.sha256)
        try:
            melding = parse(raw)
        except Ongeldig as exc:
            return self._onleesbaar(raw, exc.errors)
        except Exception as exc:  # a defect in reading; the line is kept, the defect logged loudly
            return self._onleesbaar(raw, [_defect("read", exc)])
        return _Gelezen(raw, oude_melding_id(melding.bron, melding.kenmerk), melding)

    @staticmethod
    def _onleesbaar(raw: bytes, errors: Sequence[VeldFout]) -> _Gelezen:
        sha = payload_hash(raw)
        return _Gelezen(raw, afgewezen_id(sha), None, tuple(errors), sha)

    def _plan(self, g: _Gelezen) -> _Plan:
        """A new melding decided, and whom its personal data is about (the subject and compartment).

        Broken input is sealed whole: it may hold a BSN and free text like any
        melding. Its subject is read from the payload where it can be; a payload
        that says it is about radicalisering is sealed in that compartment.
        """
        if g.melding is not None:
            try:
                return self._plan_melding(g, g.melding)
            except Exception as exc:  # a defect in deciding: the melding is kept as rejected
                g = self._onleesbaar(g.raw, [_defect("decide", exc)])
        data = _json_object(g.raw)
        betrokkene = self.kluis.betrokkene(data.get("persoon"), g.melding_id)
        beslissing = self.afwijzing(g.errors)
        return _Plan(g, beslissing, betrokkene, compartiment_van(_hint(data, "soort"), None), data)

    def _plan_melding(self, g: _Gelezen, melding: MeldingIn) -> _Plan:
        beslissing = self.ruleset.decide(melding.feiten())
        persoon = melding.persoon.model_dump(mode="json")
        betrokkene = self.kluis.betrokkene(persoon, g.melding_id)
        return _Plan(g, beslissing, betrokkene, compartiment_van(melding.soort, beslissing.product), persoon)

    def _aggregaat(self, plan: _Plan, sessie: Sessie, tijdstip: datetime | None) -> Melding | AfgewezenMelding:
        if plan.gelezen.melding is None:
            return self._afgewezen(plan, sessie, tijdstip)
        try:
            return self._melding(plan, sessie, tijdstip)
        except Exception as exc:  # a defect in sealing or building: the melding is kept as rejected
            return self._afgewezen(self._plan(self._onleesbaar(plan.gelezen.raw, [_defect("seal", exc)])), sessie,
                                   tijdstip)

    def _melding(self, plan: _Plan, sessie: Sessie, tijdstip: datetime | None) -> Melding:
        melding, aggregate_id, betrokkene = plan.gelezen.melding, plan.gelezen.melding_id, plan.betrokkene
        assert melding is not None
        return Melding.ontvangen(
            aggregate_id,
            plan.beslissing,
            timestamp=tijdstip,
            bron=melding.bron,
            kenmerk=melding.kenmerk,
            soort=melding.soort,
            ontvangen_op=melding.ontvangen_op.isoformat(),
            gemeente=melding.gemeente,
            signalen=melding.signalen.model_dump(mode="json"),
            leeftijd=melding.leeftijd,
            betrokkene=betrokkene.id,
            betrokkene_soort=betrokkene.soort,
            compartiment=plan.compartiment,
            persoonsgegevens=sessie.verzegel(
                betrokkene.id, plan.compartiment, aggregate_id, "persoonsgegevens",
                {"persoon": plan.gegevens, "toelichting": melding.toelichting},
            ),
        )

    def _afgewezen(self, plan: _Plan, sessie: Sessie, tijdstip: datetime | None) -> AfgewezenMelding:
        g, data, betrokkene = plan.gelezen, plan.gegevens, plan.betrokkene
        return AfgewezenMelding.afgewezen(
            g.melding_id,
            timestamp=tijdstip,
            payload=sessie.verzegel(
                betrokkene.id, plan.compartiment, g.melding_id, "payload", g.raw.decode("utf-8", "replace")
            ),
            payload_sha256=g.sha256,
            errors=[e.model_dump() for e in g.errors],
            bron=_hint(data, "bron"),
            kenmerk=_hint(data, "kenmerk"),
            beslissing=plan.beslissing,
            betrokkene=betrokkene.id,
            betrokkene_soort=betrokkene.soort,
            compartiment=plan.compartiment,
        )

    def melding_id_van(self, bron: str, kenmerk: str) -> UUID:
        """The id of the melding stored as (bron, kenmerk); where none is, the id it would have had
        before ids grew with time (so that "no melding with id ..." names one)."""
        if self.kenmerken is not None and (found := self.kenmerken.melding_ids([(bron, kenmerk)])):
            return found[(bron, kenmerk)]
        return oude_melding_id(bron, kenmerk)

    def _opgeslagen_id(self, g: _Gelezen) -> UUID:
        return self.melding_id_van(g.melding.bron, g.melding.kenmerk) if g.melding is not None else g.melding_id

    def _bestaande(self, gelezen: Sequence[_Gelezen]) -> dict[Hashable, UUID]:
        """Which of these inputs are stored already, and as which melding (by `sleutel`).

        A (bron, kenmerk) is looked up in the store's table of them; one not there may still be a
        melding stored before the table was kept, under its old id, so that id is looked for with
        the rejections' ids, in the events: two queries a batch, where the store can, else one each.
        """
        kenmerken = {g.sleutel: g for g in gelezen if g.melding is not None}
        found: dict[Hashable, UUID] = {}
        if self.kenmerken is not None and kenmerken:
            found.update(self.kenmerken.melding_ids(list(kenmerken)))  # type: ignore[arg-type]
        ids = {g.melding_id: g.sleutel for g in gelezen if g.sleutel not in found}
        if isinstance(self.recorder, KnowsExisting):
            stored = self.recorder.existing(set(ids))
        else:
            stored = {i for i in ids if self.recorder.select_events(i, limit=1)}
        found.update((ids[i], i) for i in stored)
        return found

    def _duplicaat(
        self, aggregate_id: UUID, pending: dict[UUID, Melding | AfgewezenMelding]
    ) -> Ontvangst:
        aggregate = pending.get(aggregate_id) or self.repository.get(aggregate_id)
        return Ontvangst(aggregate_id, "duplicaat", aggregate.beslissing)

    def _bewaar(
        self, pending: dict[UUID, Melding | AfgewezenMelding], sessie: Sessie, raws: dict[UUID, bytes]
    ) -> tuple[dict[UUID, Melding | AfgewezenMelding], set[UUID]]:
        """Save the batch in one transaction; if that fails, melding by melding.

        Returns what was stored (a melding that could not be stored is replaced by its
        rejection) and the meldingen another writer stored first (they are duplicates).
        A store that fails as a store (PersistenceError) fails the batch: the caller
        tries again, and what was stored by then is a duplicate the second time.
        """
        # Take the new events off the aggregates first: a failed save must not lose them.
        events = {aggregate_id: aggregate.collect_events() for aggregate_id, aggregate in pending.items()}
        kenmerken = {aggregate_id: [(a.bron, a.kenmerk, aggregate_id)] for aggregate_id, a in pending.items()
                     if isinstance(a, Melding) and self.kenmerken is not None}
        try:
            sla_op(self, [e for per_melding in events.values() for e in per_melding],
                   **self._met_kenmerken([k for per_melding in kenmerken.values() for k in per_melding]))
            return pending, set()
        except IntegrityError:
            # Another writer stored one of these meldingen between our check and our save.
            pass
        except PersistenceError:
            raise
        except Exception as exc:  # one melding's events cannot be stored: find it, keep the rest
            log.error("intake batch: saving one by one after %s", type(exc).__name__)
        lost: set[UUID] = set()
        failed: dict[UUID, Exception] = {}
        for aggregate_id, per_melding in events.items():
            try:
                sla_op(self, per_melding, **self._met_kenmerken(kenmerken.get(aggregate_id, [])))
            except IntegrityError:
                lost.add(aggregate_id)
            except PersistenceError:
                raise
            except Exception as exc:
                failed[aggregate_id] = exc
        # No key-store row may point at a melding that has no events.
        sessie.vergeet(lost | set(failed))
        stored = {i: a for i, a in pending.items() if i not in lost and i not in failed}
        for aggregate_id, oorzaak in failed.items():
            if isinstance(pending[aggregate_id], AfgewezenMelding):
                # A rejection is built to be storable whatever the input: this is a defect to see.
                raise RuntimeError("a rejected melding could not be stored") from oorzaak
            stored[aggregate_id] = self._vervang(raws[aggregate_id], oorzaak)
        return stored, lost

    @staticmethod
    def _met_kenmerken(rows: list[tuple[str, str, UUID]]) -> dict[str, Any]:
        """The recorder's argument for the (bron, kenmerk) rows of new meldingen; none without rows."""
        return {"kenmerken": rows} if rows else {}

    def _vervang(self, raw: bytes, exc: Exception) -> AfgewezenMelding:
        """The rejection that takes the place of a melding whose events could not be stored."""
        g = self._onleesbaar(raw, [_defect("store", exc)])
        sessie = self.kluis.sessie()
        afgewezen = self._afgewezen(self._plan(g), sessie, self._tijdstip())
        sessie.bewaar()
        try:
            sla_op(self, afgewezen.collect_events())
        except IntegrityError:
            sessie.vergeet({afgewezen.id})
            found = self.melding(afgewezen.id)  # the same input was stored as rejected before
            assert isinstance(found, AfgewezenMelding)
            return found
        return afgewezen

    # Lifecycle ------------------------------------------------------------
    # `handel` does any action of the action table (events/handelingen.py) on a melding: the
    # aggregate checks the transition (an illegal one raises OngeldigeOvergang and records
    # nothing), free text is sealed under the melding's subject (and compartment) key on the
    # way in, and the melding is saved.

    def handel(self, melding: Melding | AfgewezenMelding, handeling: str, *, actor: str, **velden: str) -> Melding:
        """Do `handeling` (an id of the action table) on a loaded melding, with its fields."""
        if not actor or not actor.strip():
            raise OngeldigeOvergang("an actor is required: who does this (LOKET_USER)")
        if isinstance(melding, AfgewezenMelding):
            raise OngeldigeOvergang(f"melding {melding.id} was rejected at intake: send a corrected melding instead")
        match handeling:
            case "accept":
                return self._doe(melding, lambda m, _: m.accepteer(actor=actor, regisseur=velden["regisseur"]))
            case "return":
                return self._doe(melding, lambda m, v: m.retour(actor=actor, reden=velden["reden"], verzegel=v))
            case "reroute" | "decide":
                regel = "handmatig.herrouteerd" if handeling == "reroute" else "handmatig.triage"
                beslissing = self._handmatig(melding, velden["zvh"], velden["product"], actor, regel)
                doe = Melding.herrouteer if handeling == "reroute" else Melding.besluit_triage
                return self._doe(melding, lambda m, v: doe(m, actor=actor, beslissing=beslissing, reden=velden["reden"],
                                                           verzegel=v, op=self.vandaag()), product=velden["product"])
            case "topx-aan" | "topx-af":
                aan = handeling == "topx-aan"
                return self._doe(melding, lambda m, v: m.top_x(actor=actor, aan=aan, reden=velden["reden"], verzegel=v,
                                                               op=self.vandaag()))
            case "close":
                return self._doe(melding, lambda m, v: m.sluit(actor=actor, resultaat=velden["resultaat"], verzegel=v))
            case "assign":
                return self._doe(melding, lambda m, _: m.wijs_regisseur_toe(actor=actor, regisseur=velden["regisseur"]))
            case "inform":
                return self._doe(melding, lambda m, _: m.informeer(actor=actor, taak=velden["taak"],
                                                                   kanaal=velden["kanaal"]))
            case _:
                raise OngeldigeOvergang(f"no such action on a melding: {handeling}")

    def _doe(self, melding: Melding, command: Callable[[Melding, Verzegel], None],
             product: str | None = None) -> Melding:
        sessie = self.kluis.sessie()
        # Text that comes with a move into a compartment is already sealed there.
        compartiment = melding.compartiment or compartiment_van(None, product)

        def verzegel(veld: str, tekst: str) -> dict[str, Any]:
            return sessie.verzegel(melding.betrokkene, compartiment, melding.id, veld, tekst)

        command(melding, verzegel)
        sessie.bewaar()
        self.save(melding)
        return melding

    def _handmatig(self, melding: Melding, zvh: str, product: str, actor: str, rule: str) -> Beslissing:
        """A decision made by a person: it overrides the rules and says so.

        The person's reason is free text, so it is sealed with the event, not copied
        into the decision (which is in the clear, for statistics and replay).
        """
        if zvh not in self.ruleset.zvh_ids:
            raise OngeldigeOvergang(f"unknown zvh '{zvh}' (known: {', '.join(sorted(self.ruleset.zvh_ids))})")
        if product not in self.ruleset.producten:
            raise OngeldigeOvergang(f"unknown product '{product}'")
        vorige = melding.beslissing
        same_product = vorige is not None and vorige.product == product
        queue = self.ruleset.queue_voor(zvh, product)
        return Beslissing(
            outcome="routed",
            zvh=zvh,
            product=product,
            gemeente=vorige.gemeente if vorige else None,
            labels=vorige.labels if vorige and same_product else (),
            notify=vorige.notify if vorige and same_product else (),
            queue=queue,
            deadline=vorige.deadline if vorige and same_product else None,
            ruleset=self.ruleset.version,
            rules=(rule,),
            reasons=(f"Handmatig besloten door {actor}, in plaats van de regels (reden versleuteld bij de melding)",),
        )

    # Reading --------------------------------------------------------------

    def melding(self, aggregate_id: UUID) -> Melding | AfgewezenMelding:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise OnbekendeMelding(f"no melding with id {aggregate_id}") from None

    def persoonsgegevens(
        self,
        melding_id: UUID,
        *,
        actor: str,
        doel: str,
        rol: Rol,
        kanaal: str = "api",
        trace: str | None = None,
        parent_span: str | None = None,
        toelichting: str | None = None,
    ) -> dict[str, Any]:
        """The personal data of a melding: the one way to read it.

        `{"betrokkene", "persoon", "toelichting", "notities"}` (the free text of
        lifecycle commands, per event), or `{"betrokkene", "payload"}` for a
        rejected melding. Shredded values read `{"verwijderd": true}`.
        `doel` is a purpose of the register (doelbinding, events/logboek.py);
        `toelichting`, the reader's own words on it, is sealed into the log line.
        The caller's role decides (`events.toegang.weigering`); granted or
        refused, the read is written to the Logboek Dataverwerkingen before
        anything is returned. `trace`/`parent_span` carry the caller's W3C trace.
        Raises OngeldigDoel for a purpose outside the register (nothing is read or
        logged), GeenToegang (the message says why, never what the melding holds).
        """
        if not actor or not actor.strip():
            raise GeenToegang("an actor is required: who reads the personal data")
        gekozen, toegelicht = doel_uit_register(doel), lees_toelichting(toelichting)
        begin = self.nu()
        melding = self.melding(melding_id)
        refused = weigering(rol, melding.kenmerken(), persoonsgegevens=True)
        gegevens: dict[str, Any] = {}
        if refused is None:
            try:
                gegevens = self._open(melding, rol.compartimenten)
            except CompartimentGesloten:
                refused = "the melding lies in a restricted compartment the caller does not hold"
        verzegeld = None
        if toegelicht is not None:
            sessie = self.kluis.sessie()
            verzegeld = sessie.verzegel(melding.betrokkene, melding.compartiment, melding.id, "doel_toelichting",
                                        toegelicht)
            sessie.bewaar()
        self.save(self._logregel(
            melding, activiteit=INZAGE, naam="persoonsgegevens inzien", actor=actor, rol=str(rol), doel=gekozen.code,
            kanaal=kanaal, begin=begin, trace=trace, parent_span=parent_span, weigering=refused,
            doel_toelichting=verzegeld,
        ))
        if refused is not None:
            raise GeenToegang(f"no access to the personal data of melding {melding_id}: {refused}")
        return gegevens

    def _open(self, melding: Melding | AfgewezenMelding, compartimenten: frozenset[str]) -> dict[str, Any]:
        open_ = partial(self.kluis.open, melding_id=melding.id, compartimenten=compartimenten)
        if isinstance(melding, AfgewezenMelding):
            return {"betrokkene": melding.betrokkene, "payload": open_(melding.payload, veld="payload")}
        opened = open_(melding.persoonsgegevens, veld="persoonsgegevens")
        if opened == VERWIJDERD:
            opened = {"persoon": dict(VERWIJDERD), "toelichting": dict(VERWIJDERD)}
        notities = []
        # The library types stored events by a protocol without a timestamp; a melding's are all Aggregate.Events.
        for e in cast(Iterable[Aggregate.Event], self.repository.event_store.get(melding.id)):
            for veld in ("reden", "resultaat"):
                if is_envelope(getattr(e, veld, None)):
                    notities.append({
                        "versie": e.originator_version, "tijdstip": e.timestamp.isoformat(),
                        "gebeurtenis": type(e).__name__, "actor": getattr(e, "actor", None),
                        veld: open_(getattr(e, veld), veld=veld),
                    })
        return {"betrokkene": melding.betrokkene, "persoon": opened["persoon"],
                "toelichting": opened["toelichting"], "notities": notities}

    def _logregel(
        self, melding: Melding | AfgewezenMelding, *, activiteit: str, naam: str, actor: str, rol: str,
        doel: str, kanaal: str, begin: datetime, trace: str | None, parent_span: str | None,
        weigering: str | None = None, doel_toelichting: dict[str, Any] | None = None,
    ) -> Dataverwerking:
        return Dataverwerking(
            trace_id=trace or trace_id(), span_id=span_id(), parent_span_id=parent_span, naam=naam,
            status=STATUS_OK if weigering is None else STATUS_UNSET, begin=begin, eind=self.nu(),
            verwerkingsactiviteit=activiteit, betrokkene=melding.betrokkene,
            betrokkene_type=f"loket-pseudoniem:{melding.betrokkene_soort}", melding_id=melding.id,
            actor=actor, rol=rol, doel=doel, kanaal=kanaal,
            toegang="verleend" if weigering is None else "geweigerd", weigering=weigering,
            doel_toelichting=doel_toelichting,
        )

    # Erasure --------------------------------------------------------------

    def betrokkene_met_bsn(self, bsn: str) -> str:
        """The pseudonym a BSN is known by (the BSN itself is not kept)."""
        return self.kluis.pseudoniemen.bsn(bsn).id

    def betrokkene_met_naam(self, naam: str, geboortedatum: str) -> str:
        return self.kluis.pseudoniemen.naam_geboortedatum(naam, geboortedatum).id

    def vernietig(
        self, betrokkene: str, *, actor: str, reden: str, rol: Rol, kanaal: str = "cli",
        trace: str | None = None,
    ) -> Vernietiging:
        """Crypto-shredding: destroy every data key of a subject.

        Every event stays; what was sealed under those keys reads as removed,
        wherever it is (events, copies, backups of the event store). Each melding
        that held data of the subject gets a PersoonsgegevensVernietigd event, and
        the Logboek a line per melding, in the same transaction that must succeed
        before the keys are gone. Nothing held: nothing happens.
        """
        if not actor or not actor.strip():
            raise OngeldigeOvergang("an actor is required: who shreds (LOKET_USER)")
        if not reden or not reden.strip():
            raise OngeldigeOvergang("a reason is required: why the personal data is destroyed")
        keystore = self.kluis.keystore
        if not keystore.live_key_ids(betrokkene):
            return Vernietiging(betrokkene, (), ())
        begin = self.nu()
        meldingen = [m for m in map(self._gevonden, keystore.meldingen(betrokkene)) if m is not None]
        shared_trace = trace or trace_id()
        with keystore.destroy(betrokkene, reden.strip()) as sleutels:
            for m in meldingen:
                m.vernietig(actor=actor, reden=reden.strip(), betrokkene=betrokkene, sleutels=sleutels)
            lines = [
                self._logregel(m, activiteit=VERNIETIGING, naam="persoonsgegevens vernietigen", actor=actor,
                               rol=str(rol), doel=reden.strip(), kanaal=kanaal, begin=begin, trace=shared_trace,
                               parent_span=None)
                for m in meldingen
            ]
            self.save(*meldingen, *lines)
        return Vernietiging(betrokkene, tuple(m.id for m in meldingen), tuple(sleutels))

    def vernietigingen_herhalen(self) -> list[str]:
        """Apply again the shreds the events record after the position the key store has seen.

        The shred is recorded twice: keys destroyed in the key store, and a
        PersoonsgegevensVernietigd event per melding with the events. A key store restored from a
        backup older than the events' holds keys the events say were destroyed; this destroys
        them again, before anything can read with them (bootstrap runs it at every start). A key
        store that saw every shred reads only the events after its position: nothing, mostly.
        Returns the key ids destroyed again.
        """
        keystore = self.kluis.keystore
        follower = Follower(self, _VERNIETIGD)
        upto, vanaf = follower.last(), keystore.vernietigingen_tot()
        shreds = [
            Herhaling(e.betrokkene, tuple(e.sleutels) if getattr(e, "sleutels", None) is not None else None,
                      e.timestamp.astimezone(UTC).isoformat(), e.reden)
            for page in follower.pages(vanaf, upto) for _, e in page
        ]
        # How far it read is remembered only when that is worth a write to the key store: a shred
        # applied, or many events read. A read-only command (explain, whatif) on a store with no new
        # shred writes nothing; the next start reads those few events again.
        tot = upto if shreds or upto - vanaf >= _HERHAAL_ONTHOUDEN else vanaf
        return keystore.herhaal_vernietigingen(shreds, tot)

    def _gevonden(self, aggregate_id: str) -> Melding | AfgewezenMelding | None:
        """A melding the key store says holds data of a subject (None: its save never happened)."""
        try:
            return self.melding(UUID(aggregate_id))
        except OnbekendeMelding:
            return None
