"""The service layer: every use case of the loket, once, for every way in.

The CLI, the web pages, the JSON API and the Kafka consumer only translate their input
into a call here and its answer into their output. A use case is a method of `Dienst`:
it checks the user's role against the action table (events/handelingen.py), reads or
changes the store through the application, and answers with values. What a user may
not see does not exist for them (NietGevonden, as for an id never used); what their
role may not do is Verboden; a bad field is OngeldigVeld, naming it; a transition the
melding's state does not allow is OngeldigeOvergang (from the aggregate).

SQLite has one writer at a time, and a server answers many requests at once: every
write (intake, lifecycle actions, catching the projections up, reading personal data,
which is recorded) holds one lock. One process at a time writes the projections (the
writer's lock, loket/bootstrap.py `Schrijfslot`): the projection worker, or, in the
embedded default (LOKET_CATCH_UP_ON_READ), a reader that brings them up to date with what
any process stored before it reads, so a read shows what was written before it. With
the setting off, processes only read, say how far behind the projections are, and a
write can wait for its own position (`wacht_op`). `as_of` replays into a fresh store
and touches nothing live.
"""

from __future__ import annotations

import re
import threading
import time as time_module
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from events.application import Beoordeling, Loket, OnbekendeMelding, Ontvangst, Vernietiging
from events.follower import lag
from events.handelingen import HANDELINGEN, Gebruiker
from events.hashchain import HashChained, public_key_text
from events.intake import SOORTEN, Ongeldig, Persoon, TeGroot, parse
from events.logboek import OngeldigDoel
from events.melding import AfgewezenMelding, Melding, OngeldigeOvergang, melding_id
from events.toegang import GeenToegang, Kenmerken, mag_telling_zien, mag_zien, weigering
from loket import logs, metrics
from loket.bootstrap import SlotBezet, Systeem, onbereikbaar
from loket.tokens import OngeldigToken, TokenInfo, Tokens
from privacy.retention import load_bewaartermijnen, verlopen
from privacy.vernietiging import GRONDEN
from projections import Projecties
from projections.audit import trail
from projections.bewaring import bewaarregels
from projections.caseload import afgewezen, caseload, statistiek, toegang, triage_queue, verloop, wachtrij
from projections.deadlines import open_deadlines
from projections.toegangslog import toegangslog
from projections.whatif import WatAls, wat_als
from routing import Ruleset, RulesetError, Trace, load_ruleset
from routing.lint import Rapport, check
from routing.tijd import NL, vandaag

log = logs.logger("loket.service")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_PSEUDONIEM = re.compile(r"^[0-9a-f]{64}$")
BATCH = 500  # meldingen stored in one transaction (group commit)
ACHTERSTAND_GELDIG = 1.0  # seconds a measured lag is told again before it is measured anew
LEES_WACHT = 2.0  # seconds a read waits for another process writing the projections (embedded mode)
WACHT_STAP = 0.05  # seconds between looks at the projections' positions while waiting
MAX_WACHT = 10.0  # seconds a write through the API may wait for its own position, at most


class NietGevonden(LookupError):
    """No such melding, or none this user may see (the two are not told apart)."""


class Verboden(PermissionError):
    """The user's role does not allow this."""


class ProjectiesAchter(RuntimeError):
    """The projections are too far behind for what was asked (the projection worker does not keep up)."""


class OngeldigVeld(ValueError):
    """A field of the request that cannot be used; the message never repeats its value."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def moment(text: str, field: str = "as_of") -> datetime:
    """A moment as people give it: an ISO date-time (without a zone: Dutch time), or a date (its
    end, Dutch time). It must exist in UTC (how events are recorded) and in Dutch time (how days
    are counted): 9999-12-31T23:30:00Z is a day of the year 10000 in Amsterdam."""
    try:
        if len(text) == 10:
            found = datetime.combine(date.fromisoformat(text), time.max, NL)
        else:
            parsed = datetime.fromisoformat(text)
            found = parsed if parsed.tzinfo else parsed.replace(tzinfo=NL)
        found.astimezone(UTC)
        found.astimezone(NL)
    except (ValueError, OverflowError):
        raise OngeldigVeld(field, "not an ISO date or date-time within the calendar (e.g. 2025-06-30 or "
                           "2025-06-30T17:00:00+02:00)") from None
    return found


def melding_id_van(tekst: str, field: str = "id") -> UUID:
    """A melding by its id, or by BRON:KENMERK as its source knows it."""
    tekst = tekst.strip()
    try:
        return UUID(tekst)
    except ValueError:
        pass
    bron, sep, kenmerk = tekst.partition(":")
    if not sep or not bron or not kenmerk:
        raise OngeldigVeld(field, "not a melding id or BRON:KENMERK (e.g. politie:VIA-2025-000123)")
    return melding_id(bron, kenmerk)


@dataclass(frozen=True, slots=True)
class Samenvatting:
    """What a stream of lines did: received = new + duplicates + rejected."""

    received: int
    new: int
    duplicates: int
    rejected: int
    routed: int
    triage: int
    doorverwijzen: int

    def as_dict(self) -> dict[str, int]:
        return {"received": self.received, "new": self.new, "duplicates": self.duplicates,
                "rejected": self.rejected, "routed": self.routed, "triage": self.triage,
                "doorverwijzen": self.doorverwijzen}


@dataclass(frozen=True, slots=True)
class Uitleg:
    """Why the rules decide what they decide for a stored melding: as a dict (the API, `loket
    explain --json`) and its trace (None for a rejected melding: it was never routed)."""

    gegevens: dict[str, Any]
    trace: Trace | None


@dataclass(frozen=True, slots=True)
class Bewaring:
    """What `retention` found on a day, and how many subjects it shredded."""

    op: date
    verlopen: list[dict[str, Any]]
    vernietigd: int
    log_geleegd: bool


@dataclass(frozen=True, slots=True)
class Shred:
    vernietiging: Vernietiging
    log_geleegd: bool  # the key store's log holds no former key bytes (else: a reader held an old snapshot)


def _vereist(wie: Gebruiker, handeling: str) -> None:
    if not wie.mag(handeling):
        raise Verboden(f"role {wie.rol} may not do this ({HANDELINGEN[handeling].naam})")


def _afgewezen(o: Ontvangst) -> bool:
    return o.beslissing is not None and o.beslissing.outcome == "rejected"


class Dienst:
    def __init__(self, systeem: Systeem):
        self.systeem = systeem
        self.schrijven = threading.RLock()
        self._achterstand = (-float("inf"), 0)  # (when measured, events behind)

    @property
    def app(self) -> Any:
        return self.systeem.app

    @property
    def ruleset(self) -> Ruleset:
        return self.systeem.ruleset

    @property
    def huizen(self) -> frozenset[str]:
        return self.ruleset.zvh_ids

    @property
    def producten(self) -> frozenset[str]:
        return self.ruleset.producten

    @staticmethod
    def vereist(wie: Gebruiker, handeling: str) -> None:
        """The action table decides: this user's role may do `handeling`, or Verboden."""
        _vereist(wie, handeling)

    # Intake -----------------------------------------------------------------

    def ontvang(self, wie: Gebruiker, raw: bytes | TeGroot) -> Ontvangst:
        """One melding in, answered with its decision. A new melding's decision follows from what
        the user sent; a duplicate's is what is stored (perhaps of other content, changed since by
        people), so it is told only to a user who may read that melding: a resent kenmerk of a
        melding outside their sight (another house's, a compartment's) tells nothing of it."""
        [ontvangst] = self._ontvang(wie, [raw])
        if ontvangst.status != "duplicaat":
            return ontvangst
        if not mag_zien(wie.rol, self.app.melding(ontvangst.melding_id).kenmerken()):
            return replace(ontvangst, beslissing=None)
        return ontvangst

    def ontvang_batch(self, wie: Gebruiker, raws: list[bytes | TeGroot]) -> list[Ontvangst]:
        """Many meldingen in one transaction (the CLI, Kafka). Whoever sends a batch reads its counts
        and the errors of what it sent, never a stored decision of a melding: a duplicate answers
        without one, unless it is a rejection (the same bytes again: its errors are the sender's own,
        and a consumer that crashed before dead-lettering it must still be able to)."""
        return [replace(o, beslissing=None) if o.status == "duplicaat" and not _afgewezen(o) else o
                for o in self._ontvang(wie, raws)]

    def _ontvang(self, wie: Gebruiker, raws: list[bytes | TeGroot]) -> list[Ontvangst]:
        self.vereist(wie, "ontvangen")
        with self.schrijven:
            ontvangsten = self.app.ontvang_batch(raws)
        for raw, o in zip(raws, ontvangsten, strict=True):
            if o.beslissing is not None:
                metrics.ontvangst(raw if isinstance(raw, bytes) else b"", o.status, o.beslissing)
        if len(ontvangsten) == 1:
            [o] = ontvangsten
            log.info("melding ontvangen", melding_id=str(o.melding_id), status=o.status,
                     outcome=o.beslissing.outcome if o.beslissing else None, gebruiker=wie.naam)
        else:
            counts = Counter(o.status for o in ontvangsten)
            log.info("meldingen ontvangen", meldingen=len(ontvangsten), nieuw=counts["nieuw"],
                     duplicaat=counts["duplicaat"], afgewezen=counts["afgewezen"], gebruiker=wie.naam)
        return ontvangsten

    def ontvang_regels(
        self, wie: Gebruiker, regels: Iterable[bytes | TeGroot], *,
        na_batch: Callable[[int], None] | None = None, bij: bool = True,
        na_pagina: Callable[[int, int], None] | None = None,
    ) -> Samenvatting:
        """A stream of lines (a file, stdin), stored in batches; then the projections brought up to
        date. `na_batch(n)` and `na_pagina(position, last)` report progress."""
        counts: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        batch: list[bytes | TeGroot] = []

        def store() -> None:
            for o in self.ontvang_batch(wie, batch):
                counts[o.status] += 1
                if o.status != "duplicaat" and o.beslissing is not None:
                    outcomes[o.beslissing.outcome] += 1
            if na_batch is not None:
                na_batch(len(batch))
            batch.clear()

        for regel in regels:
            batch.append(regel)
            if len(batch) == BATCH:
                store()
        if batch:
            store()
        if bij:
            self.bij(na_pagina=na_pagina)
        return Samenvatting(sum(counts.values()), counts["nieuw"], counts["duplicaat"], counts["afgewezen"],
                            outcomes["routed"], outcomes["triage"], outcomes["doorverwijzen"])

    @staticmethod
    def beoordelaar(ruleset: Ruleset | None = None) -> Callable[[bytes | TeGroot], Beoordeling]:
        """Decide meldingen as intake would, in a loket that keeps nothing and needs no store
        (`loket route`): validated and routed, never stored."""
        return Loket.in_geheugen(ruleset or load_ruleset()).beoordeel

    # One melding ------------------------------------------------------------

    def melding(self, wie: Gebruiker, melding_id: UUID) -> Melding | AfgewezenMelding:
        try:
            found = self.app.melding(melding_id)
        except OnbekendeMelding:
            raise NietGevonden(f"no melding with id {melding_id}") from None
        if not mag_zien(wie.rol, found.kenmerken()):
            raise NietGevonden(f"no melding with id {melding_id}")
        return found

    def handel(self, wie: Gebruiker, handeling: str, melding_id: UUID, **velden: str) -> Melding:
        """An action of the action table by this user on one melding, with the fields its row names."""
        row = HANDELINGEN.get(handeling)
        if row is None or not row.statussen:
            raise NietGevonden(f"no such action on a melding: {handeling}")
        self.vereist(wie, handeling)
        for veld in row.velden:
            if not (velden.get(veld) or "").strip():
                raise OngeldigVeld(veld, "is required")
        if "zvh" in row.velden and velden["zvh"] not in self.huizen:
            raise OngeldigVeld("zvh", f"unknown zvh (known: {', '.join(sorted(self.huizen))})")
        if "product" in row.velden and velden["product"] not in self.producten:
            raise OngeldigVeld("product", "unknown product")
        with self.schrijven:
            found = self.melding(wie, melding_id)
            done = self.app.handel(found, handeling, actor=wie.naam, **{v: velden[v] for v in row.velden})
        metrics.HANDELINGEN.labels(handeling=handeling).inc()
        log.info("handeling", handeling=handeling, melding_id=str(melding_id), status=done.status,
                 gebruiker=wie.naam)
        if handeling in ("reroute", "decide"):
            metrics.beslissing_geteld(done.beslissing, door="handmatig", compartiment=done.compartiment)
        return done

    def persoonsgegevens(
        self, wie: Gebruiker, melding_id: UUID, doel: str, *, kanaal: str, toelichting: str | None = None,
    ) -> dict[str, Any]:
        """The one way to read personal data: the purpose from the register, the role decided by
        the application, and the read, granted or refused, written to the access log."""
        self.vereist(wie, "persoonsgegevens")
        request_id = str(logs.gebonden().get("request_id", ""))
        with self.schrijven:
            try:
                gegevens = self.app.persoonsgegevens(
                    melding_id, actor=wie.naam, doel=doel, rol=wie.rol, kanaal=kanaal, toelichting=toelichting,
                    # Our request ids are W3C trace ids when we make them; others are not passed on.
                    trace=request_id if _TRACE_ID.match(request_id) else None,
                )
            except OngeldigDoel as exc:
                raise OngeldigVeld(exc.field, exc.message) from None
            except OnbekendeMelding:
                raise NietGevonden(f"no melding with id {melding_id}") from None
            except GeenToegang as exc:
                # The refusal is in the access log; a melding the role may not see at all does not
                # exist for it here either.
                self.melding(wie, melding_id)
                raise Verboden(str(exc)) from None
        # Who looked, at which melding, for which purpose of the register; never what they saw.
        log.info("persoonsgegevens ingezien", melding_id=str(melding_id), gebruiker=wie.naam, doel=doel.strip())
        return gegevens

    def uitleg(self, wie: Gebruiker, melding_id: UUID, ruleset: Ruleset | None = None) -> Uitleg:
        """Why the rules (today's, or `ruleset`) decide what they decide for a stored melding, beside
        what was decided then and with which ruleset, and what differs."""
        self.vereist(wie, "lezen")
        found = self.melding(wie, melding_id)
        ruleset = ruleset or self.ruleset
        if isinstance(found, AfgewezenMelding):
            return Uitleg({"melding_id": str(found.id), "status": "afgewezen",
                           "opgeslagen_beslissing": found.beslissing.as_contract()}, None)
        recorded = found.beslissing
        assert recorded is not None, "a melding is stored together with its decision"
        trace = ruleset.explain(found.feiten())
        then, now = recorded.as_contract(), trace.beslissing.as_contract()
        return Uitleg({
            "melding_id": str(found.id), "bron": found.bron, "kenmerk": found.kenmerk, "status": found.status,
            "beslist_met": recorded.ruleset, "uitgelegd_met": ruleset.version,
            "andere_ruleset": recorded.ruleset != ruleset.version,
            "door_medewerker": any(r.startswith("handmatig.") for r in recorded.rules),
            "opgeslagen_beslissing": then,
            "verschil": {k: (then[k], now[k]) for k in recorded.verschil(trace.beslissing)},
            "trace": trace.as_dict(),
        }, trace)

    @staticmethod
    def uitleg_invoer(raw: bytes, ruleset: Ruleset | None = None) -> Trace:
        """Why the rules would decide what they decide for a melding not stored (explain from stdin)."""
        try:
            found = parse(raw)
        except Ongeldig as exc:
            raise OngeldigVeld("melding", "breaks the intake contract: "
                               + "; ".join(f"{e.field}: {e.message}" for e in exc.errors)) from None
        return (ruleset or load_ruleset()).explain(found.feiten())

    # The routing policy -----------------------------------------------------

    @staticmethod
    def ruleset_uit(directory: Path | None, field: str = "rules") -> Ruleset:
        """A ruleset directory loaded and checked (None: the shipped rules)."""
        if directory is not None and not directory.is_dir():
            raise OngeldigVeld(field, f"ruleset directory not found: {directory}")
        try:
            return load_ruleset(directory)
        except RulesetError as exc:
            raise OngeldigVeld(field, f"ruleset {directory} cannot be used: {exc}; see `loket rules check "
                               f"--rules {directory}`") from None

    @staticmethod
    def regels_controleren(directory: Path | None, bronnen: Path | None = None) -> Rapport:
        """Lint a ruleset directory (None: the shipped rules); with `bronnen` (the sources beside the
        repository: the domain brief as DOMAIN.md, and seeds/) every quoted phrase must be found in
        the source it names."""
        if directory is not None and not directory.is_dir():
            raise OngeldigVeld("rules", f"ruleset directory not found: {directory}")
        if bronnen is not None and not (bronnen / "DOMAIN.md").is_file():
            raise OngeldigVeld("bronnen", f"no DOMAIN.md in {bronnen} (the directory of DOMAIN.md and seeds/)")
        return check(directory, soorten=SOORTEN, bronnen=bronnen)

    def wat_als(self, wie: Gebruiker, voorstel: Ruleset, basis: Ruleset | None = None, *,
                van: date | None = None, tot: date | None = None) -> WatAls:
        """Every stored melding re-decided under a proposed ruleset beside the one in force; writes nothing."""
        self.vereist(wie, "lezen")
        if van and tot and van > tot:
            raise OngeldigVeld("from", f"{van} is after the end of the period {tot}")
        return wat_als(self.app, basis or self.ruleset, voorstel, van=van, tot=tot)

    # Read models ------------------------------------------------------------

    def bij(self, *, na_pagina: Callable[[int, int], None] | None = None, page_size: int = 2_000) -> int:
        """Bring the projections up to date with the event store, unless another process writes them
        (holds the writer's lock: the projection worker): then it does, and this reads nothing.
        Returns the events read."""
        slot = self.systeem.schrijfslot
        with self.schrijven:
            if not slot.neem():
                return 0
            try:
                return self.systeem.bij(on_page=na_pagina, page_size=page_size)
            finally:
                slot.los()

    def achterstand(self, posities: dict[str, int] | None = None) -> dict[str, int]:
        """Events each live projection has still to process (from its position, read now unless
        given); also set as a metric, and kept for `achterstand_kort`."""
        achter = lag(self.app, self.systeem.projecties.positions(self.app.name) if posities is None else posities)
        for name, n in achter.items():
            metrics.PROJECTIE_ACHTERSTAND.labels(projectie=name).set(n)
        self._achterstand = (time_module.monotonic(), max(achter.values(), default=0))
        return achter

    def achterstand_kort(self, *, hooguit: float = ACHTERSTAND_GELDIG) -> int:
        """How far behind the furthest projection is, in events: as last measured if that was at
        most `hooguit` seconds ago (every answer says it; measuring costs a few queries)."""
        gemeten, achter = self._achterstand
        if time_module.monotonic() - gemeten > hooguit:
            self.achterstand()
            _, achter = self._achterstand
        return achter

    def _bijgewerkt(self) -> None:
        """Before a read of the live projections: with LOKET_CATCH_UP_ON_READ, what any process stored
        before it is in them: caught up here, or, while another process writes them, waited for (a
        little while). Without it they are read as the worker left them (the lag is measured)."""
        if self.systeem.settings.catch_up_on_read:
            self.wacht_op(self.positie(), LEES_WACHT)
        else:
            self.achterstand()

    def positie(self) -> int:
        """The newest position in the notification log: after a write, at or past that write's own."""
        return self.app.recorder.max_notification_id() or 0

    def wacht_op(self, positie: int, seconden: float) -> bool:
        """Read-your-writes: wait until every projection has processed the log up to `positie`, at
        most `seconden`. Where this process may write the projections (LOKET_CATCH_UP_ON_READ) and
        no worker does, it catches them up itself; otherwise it waits for the one that writes.
        Returns whether they got there; never raises for being late."""
        einde = time_module.monotonic() + seconden
        if self.systeem.settings.catch_up_on_read:
            self.bij()
        while True:
            posities = self.systeem.projecties.positions(self.app.name)
            bereikt = min(posities.values(), default=0) >= positie
            if bereikt or time_module.monotonic() >= einde:
                self.achterstand(posities)
                return bereikt
            time_module.sleep(min(WACHT_STAP, max(0.0, einde - time_module.monotonic())))

    @contextmanager
    def overzicht(self, wie: Gebruiker, as_of: datetime | None = None) -> Iterator[Overzicht]:
        """The read models as this user may read them: live and up to date, or as they stood at
        `as_of` (one replay, however many lists are read from it)."""
        self.vereist(wie, "lezen")
        if as_of is None:
            self._bijgewerkt()
            yield Overzicht(self, wie, self.systeem.projecties, vandaag())
            return
        self.vereist(wie, "als_op")
        store = self.systeem.als_op(as_of)
        try:
            yield Overzicht(self, wie, store, as_of.astimezone(NL).date())
        finally:
            store.datastore.close()

    def herbouw(self, wie: Gebruiker, namen: Iterable[str] = (), *,
                na_pagina: Callable[[int, int], None] | None = None, page_size: int = 2_000) -> tuple[list[str], int]:
        """Rebuild projections from zero (all, or those named); returns their names and the events read."""
        self.vereist(wie, "beheer")
        gekozen = [p for p in self.systeem.projecties.projections if not namen or p.name in set(namen)]
        slot = self.systeem.schrijfslot
        with self.schrijven:
            if not slot.neem():
                raise SlotBezet("another process writes the projections (a projection worker): stop it first")
            try:
                for projection in gekozen:
                    self.systeem.projecties.reset(projection, self.app.name)
                return [p.name for p in gekozen], self.bij(na_pagina=na_pagina, page_size=page_size)
            finally:
                slot.los()

    def volg(self, wie: Gebruiker, stop: threading.Event, *, interval: float, page_size: int = 2_000,
             wachten: bool = False) -> int:
        """The projection worker, the one writer of the projections: holds the writer's lock and
        catches up until `stop` is set, a page in hand finished first. With another worker holding
        the lock: SlotBezet, or with `wachten` stand by until it is free."""
        self.vereist(wie, "beheer")
        slot = self.systeem.schrijfslot
        while not slot.neem():
            if not wachten:
                raise SlotBezet("another projection worker writes the projections of this store")
            if stop.wait(interval):
                return 0
        log.info("projecties: schrijver", wachtte=wachten)
        try:
            read = 0
            while not stop.is_set():
                try:
                    slot.bevestig()
                    read += self.bij(page_size=page_size)
                except Exception as exc:
                    if not onbereikbaar(exc):
                        raise
                    # A restarting database: try again after the interval, the lock first.
                    log.warning("projecties: event store onbereikbaar", fout=type(exc).__name__)
                stop.wait(interval)
            return read
        finally:
            slot.los()

    # Privacy -----------------------------------------------------------------

    def betrokkene(self, wie: Gebruiker, *, bsn: str | None = None, naam: str | None = None,
                   geboortedatum: str | None = None, pseudoniem: str | None = None) -> str:
        """The pseudonym a subject is known by: from a BSN, a name with a birth date, or as given.
        A BSN or name is turned into its pseudonym at once and never kept, logged or repeated."""
        self.vereist(wie, "vernietigen")
        if geboortedatum and naam is None:
            raise OngeldigVeld("geboortedatum", "goes with a name")
        if bsn is not None:
            try:
                checked = Persoon(bsn=bsn.strip()).bsn or ""
            except ValueError:
                raise OngeldigVeld("bsn", "is not a valid BSN (9 digits that pass the elfproef)") from None
            return self.app.betrokkene_met_bsn(checked)
        if naam is not None:
            if not geboortedatum:
                raise OngeldigVeld("geboortedatum", "is required with a name: a name alone could be someone else")
            try:
                born = date.fromisoformat(geboortedatum)
            except ValueError:
                raise OngeldigVeld("geboortedatum", "must be an ISO date, e.g. 1990-05-06") from None
            return self.app.betrokkene_met_naam(naam, born.isoformat())
        subject = (pseudoniem or "").strip().lower()
        if not _PSEUDONIEM.match(subject):
            raise OngeldigVeld("subject", "must be a pseudonym: 64 hexadecimal characters (`loket show` prints it)")
        return subject

    def vernietig(self, wie: Gebruiker, betrokkene: str, grond: str, *, kanaal: str = "cli") -> Shred:
        """Crypto-shredding of a subject, for one of the grounds of privacy/vernietiging.py; the
        projections follow. A ground outside the list is refused without being repeated."""
        self.vereist(wie, "vernietigen")
        if grond not in GRONDEN:
            raise OngeldigVeld("reason", f"give one of the grounds: {', '.join(GRONDEN)}")
        with self.schrijven:
            try:
                done = self.app.vernietig(betrokkene, actor=wie.naam, reden=grond, rol=wie.rol, kanaal=kanaal)
            except OngeldigeOvergang as exc:
                raise OngeldigVeld("reason", str(exc)) from None
            keystore = self.app.kluis.keystore
            # Shredding again, with nothing left to destroy, empties what an earlier one could not.
            emptied = keystore.log_emptied if done.sleutels else keystore.empty_log()
        if self.systeem.settings.catch_up_on_read:
            self.bij()
        return Shred(done, emptied)

    def bewaartermijnen(self, wie: Gebruiker, op: date | None = None, *, toepassen: bool = False) -> Bewaring:
        """Subjects whose meldingen all ended longer ago than their term, on `op` (default today);
        with `toepassen`, shredded on the ground bewaartermijn."""
        self.vereist(wie, "vernietigen")
        op = op or vandaag()
        # Retention decides on the bewaring projection: every melding stored before now must be in
        # it, or a subject's newest melding could be missed and the subject shredded too early.
        if not self.wacht_op(self.positie(), MAX_WACHT) and toepassen:
            raise ProjectiesAchter(f"the projections did not catch up within {MAX_WACHT:g} s "
                                   "(is the projection worker running?); nothing was shredded")
        due = verlopen(bewaarregels(self.systeem.projecties), load_bewaartermijnen(), op)
        shredded = [self.vernietig(wie, v.betrokkene, "bewaartermijn") for v in due] if toepassen else []
        rows = [{"betrokkene": v.betrokkene, "meldingen": v.meldingen, "verlopen_op": v.verlopen_op.isoformat(),
                 "product": v.product, "termijn": v.termijn} for v in due]
        return Bewaring(op, rows, sum(len(s.vernietiging.meldingen) > 0 for s in shredded),
                        all(s.log_geleegd for s in shredded))

    def toegangslog(self, wie: Gebruiker, *, melding: UUID | None = None,
                    actor: str | None = None) -> list[dict[str, Any]]:
        """Who read or destroyed which personal data, when, in which role, for which purpose."""
        self.vereist(wie, "toegangslog")
        self._bijgewerkt()
        return toegangslog(self.systeem.projecties, melding_id=str(melding) if melding else None, actor=actor)

    def verifieer(self, wie: Gebruiker, public_key: str | None = None) -> dict[str, Any]:
        """Walk the hash chain over the events, against the anchor key (default: from the master key)."""
        self.vereist(wie, "audit")
        recorder = self.app.recorder
        if not isinstance(recorder, HashChained):
            raise OngeldigVeld("store", "this event store keeps no hash chain")
        if public_key:
            try:
                key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key))
            except ValueError:
                raise OngeldigVeld("public-key", "must be the anchor key as 64 hexadecimal characters") from None
        else:
            key = self.app.kluis.anker_sleutel().public_key()
        result = recorder.verify(key)
        return {"intact": result.intact, "events": result.events, "anchors": result.anchors, "head": result.head,
                "head_position": result.head_position, "anchor_key": public_key_text(key),
                "kept_head_position": result.kept_head_position, "keyed_from": result.keyed_from,
                "broken_at": result.broken_at, "reason": result.reason}


class Toegangsbeheer:
    """Who may log in: API tokens, made, listed and revoked by beheer. Needs no event store."""

    def __init__(self, tokens: Tokens, huizen: frozenset[str]):
        self.tokens, self.huizen = tokens, huizen

    def maak_token(self, wie: Gebruiker, naam: str, rol: str, *, zvh: str | None = None,
                   compartimenten: tuple[str, ...] = ()) -> tuple[str, TokenInfo]:
        """A new token (shown once; only its hash is kept) for a user in a role."""
        _vereist(wie, "beheer")
        try:
            return self.tokens.maak(naam, rol, zvh=zvh, compartimenten=compartimenten, huizen=self.huizen)
        except OngeldigToken as exc:
            raise OngeldigVeld("token", str(exc)) from None

    def lijst(self, wie: Gebruiker) -> list[TokenInfo]:
        _vereist(wie, "beheer")
        return self.tokens.lijst()

    def trek_in(self, wie: Gebruiker, token_id: str) -> None:
        _vereist(wie, "beheer")
        if not self.tokens.trek_in(token_id):
            raise NietGevonden(f"no active token with id {token_id}")


@dataclass(frozen=True, slots=True)
class Inname:
    """Intake as one user does it: what the Kafka consumer calls for each batch it polls."""

    dienst: Dienst
    wie: Gebruiker

    def ontvang_batch(self, raws: Iterable[bytes | TeGroot]) -> list[Ontvangst]:
        return self.dienst.ontvang_batch(self.wie, list(raws))


class Overzicht:
    """The read models (live, or as of a moment) through one user's eyes: only rows of meldingen
    they may see, and counts without the compartments they do not hold."""

    def __init__(self, dienst: Dienst, wie: Gebruiker, store: Projecties, on: date):
        self.dienst, self.wie, self.store, self.on = dienst, wie, store, on

    def caseload(self, op: date | None = None) -> list[dict[str, Any]]:
        """Open meldingen per house, product, gemeente and status, their age counted up to `op`
        (default: the overview's day)."""
        return self._per_rij(caseload(self.store, op or self.on, self.wie.compartimenten))

    def statistiek(self, year: int) -> list[dict[str, Any]]:
        return self._per_rij(statistiek(self.store, year, self.wie.compartimenten))

    def verloop(self) -> list[dict[str, Any]]:
        return self._per_rij(verloop(self.store, self.wie.compartimenten))

    def triage(self) -> list[dict[str, Any]]:
        self.dienst.vereist(self.wie, "triage")
        return self._zichtbaar(triage_queue(self.store))

    def deadlines(self, *, overdue: bool = False) -> list[dict[str, Any]]:
        rows = self._zichtbaar(open_deadlines(self.store, self.on))
        return [r for r in rows if r["te_laat"]] if overdue else rows

    def afgewezen(self) -> list[dict[str, Any]]:
        return self._zichtbaar(afgewezen(self.store))

    def wachtrij(self, zvh: str | None) -> list[dict[str, Any]]:
        """A house's own queue; a zvh user always gets their own house."""
        if self.wie.soort == "zvh":
            zvh = self.wie.zvh
        if zvh is None:
            raise OngeldigVeld("zvh", "which house's queue: give zvh")
        if zvh not in self.dienst.huizen:
            raise OngeldigVeld("zvh", f"unknown zvh (known: {', '.join(sorted(self.dienst.huizen))})")
        return self._zichtbaar(wachtrij(self.store, zvh))

    def audit(self, melding_id: UUID) -> list[dict[str, Any]]:
        """A melding's audit trail as this overview holds it (live, or as of its moment)."""
        self.dienst.vereist(self.wie, "audit")
        self.dienst.melding(self.wie, melding_id)
        rows = trail(self.store, str(melding_id))
        if not rows:
            raise NietGevonden(f"no melding with id {melding_id} recorded by then")
        return rows

    def _per_rij(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if mag_telling_zien(self.wie.rol, r["zvh"])]

    def _zichtbaar(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = toegang(self.store, sorted({r["melding_id"] for r in rows}))
        return [
            r for r in rows
            if r["melding_id"] in found and weigering(self.wie.rol, Kenmerken.uit_rij(found[r["melding_id"]])) is None
        ]
