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
write can wait for its own position (`wacht_op`). `as_of` reads the versions the projections'
history kept at a moment's position in the log (projections/store.py, "History") and writes
nothing.
"""

from __future__ import annotations

import json
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
from events.informeren import KANALEN, PARTIJEN
from events.intake import SOORTEN, MeldingIn, Ongeldig, Persoon, TeGroot, VeldFout, parse
from events.logboek import OngeldigDoel, doelen
from events.melding import AfgewezenMelding, Melding, OngeldigeOvergang
from events.status import AFGEWEZEN, GEBEURTENISSEN, IN_BEHANDELING, LABELS, OPEN
from events.toegang import GeenToegang, Kenmerken, mag_telling_zien, mag_zien, weigering
from loket import logs, metrics
from loket.bootstrap import SlotBezet, Systeem, onbereikbaar, sleutels_overnemen
from loket.settings import Settings
from loket.tokens import OngeldigToken, TokenInfo, Tokens
from privacy.retention import load_bewaartermijnen, verlopen
from privacy.vernietiging import GRONDEN
from projections import Projecties, lijsten
from projections.audit import ruleset_op, rulesets, trail
from projections.bewaring import bewaarregels, meldingen_van
from projections.caseload import afgewezen, caseload, toegang, triage_queue, wachtrij, zaken_van
from projections.cijfers import (
    COMPARTIMENT_VAN_TABEL,
    doorlooptijden,
    jaartabellen,
    maandreeksen,
    statistiek,
    verloop,
)
from projections.deadlines import open_deadlines
from projections.informeren import taken, taken_van
from projections.lijsten import MAX_PER_PAGINA, PER_PAGINA, Pagina, Vraag
from projections.toegangslog import toegangslog, toegangslog_telling
from projections.whatif import WatAls, wat_als
from routing import Ruleset, RulesetError, Trace, load_ruleset
from routing.lint import Rapport, check
from routing.loader import DEFAULT_DEELNAME, DEFAULT_DIRECTORY, DEFAULT_REGISTER, MANIFEST, read_ruleset
from routing.tijd import NL, vandaag

log = logs.logger("loket.service")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_PSEUDONIEM = re.compile(r"^[0-9a-f]{64}$")
_TERMIJN_SOORT = re.compile(r"^[a-z0-9-]{1,60}$")
BATCH = 500  # meldingen stored in one transaction (group commit)
# Expensive reads at once, and waiting for a place: beyond them a request is answered "try later"
# (503). Two cores run the demo; a server with more raises them (Dienst(rem=Rem(...))).
ZWARE_PLAATSEN = 2
ZWARE_WACHTEND = 8
LOGREGELS_PER_PAGINA = 50  # lines of a paged list
MAX_LOGREGELS_PER_PAGINA = 500
ACHTERSTAND_GELDIG = 1.0  # seconds a measured lag is told again before it is measured anew
LEES_WACHT = 2.0  # seconds a read waits for another process writing the projections (embedded mode)
WACHT_STAP = 0.05  # seconds between looks at the projections' positions while waiting
MAX_WACHT = 10.0  # seconds a write through the API may wait for its own position, at most


class NietGevonden(LookupError):
    """No such melding, or none this user may see (the two are not told apart)."""


class Verboden(PermissionError):
    """The user's role does not allow this."""


class Bezet(RuntimeError):
    """Every place for an expensive read is taken and the queue is full or waited too long: try later."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many expensive reads at once (as-of, statistics, exports); try again in "
                         f"{retry_after} s")
        self.retry_after = retry_after


class Rem:
    """A few places for expensive reads (an as-of read, a year's figures, an export), and a short
    queue before them: a burst waits its turn or is refused at once (Bezet), and never takes every
    worker thread, the memory of many reads, or the store's connections. Reentrant per thread:
    a year's figures read inside an as-of overview take no second place."""

    def __init__(self, plaatsen: int = ZWARE_PLAATSEN, wachtend: int = ZWARE_WACHTEND, wachttijd: float = 10.0):
        self.plaatsen, self.wachtend, self.wachttijd = plaatsen, wachtend, wachttijd
        self._vrij = threading.BoundedSemaphore(plaatsen)
        self._lock = threading.Lock()
        self._wachtend = 0
        self._bezig = 0
        self.hoogste = 0  # the most that ever ran at once (for tests and benchmarks)
        self._hier = threading.local()

    @contextmanager
    def plaats(self) -> Iterator[None]:
        if getattr(self._hier, "diepte", 0):
            self._hier.diepte += 1
            try:
                yield
            finally:
                self._hier.diepte -= 1
            return
        with self._lock:
            gekregen = self._vrij.acquire(blocking=False)
            if not gekregen and self._wachtend >= self.wachtend:
                metrics.ZWARE_LEZINGEN_GEWEIGERD.inc()
                raise Bezet(max(1, round(self.wachttijd)))
            if not gekregen:
                self._wachtend += 1
        if not gekregen:
            try:
                gekregen = self._vrij.acquire(timeout=self.wachttijd)
            finally:
                with self._lock:
                    self._wachtend -= 1
            if not gekregen:
                metrics.ZWARE_LEZINGEN_GEWEIGERD.inc()
                raise Bezet(max(1, round(self.wachttijd)))
        self._begin()
        try:
            yield
        finally:
            self._hier.diepte = 0
            with self._lock:
                self._bezig -= 1
                metrics.ZWARE_LEZINGEN_BEZIG.set(self._bezig)
            self._vrij.release()

    def _begin(self) -> None:
        self._hier.diepte = 1
        with self._lock:
            self._bezig += 1
            self.hoogste = max(self.hoogste, self._bezig)
            metrics.ZWARE_LEZINGEN_BEZIG.set(self._bezig)


class ProjectiesAchter(RuntimeError):
    """The projections are too far behind for what was asked (the projection worker does not keep up)."""


class OngeldigVeld(ValueError):
    """A field of the request that cannot be used; the message never repeats its value."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


# A Dutch date as people write it: 30-06-2025 or 30-6-2025, perhaps with a time (17:00 or 17:00:30).
_NL_DATUM = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def _nl_datum(text: str) -> tuple[date, time | None] | None:
    found = _NL_DATUM.match(text)
    if found is None:
        return None
    dag, maand, jaar, uur, minuut, seconde = found.groups()
    op = date(int(jaar), int(maand), int(dag))
    if uur is None:
        return op, None
    return op, time(int(uur), int(minuut), int(seconde or 0))


def datum(text: str, field: str = "datum") -> date:
    """A calendar date as people give it: ISO (2025-06-30) or Dutch (30-06-2025, 30-6-2025)."""
    text = text.strip()
    try:
        nl = _nl_datum(text)
        if nl is not None and nl[1] is None:
            return nl[0]
        if nl is None and len(text) == 10:
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise OngeldigVeld(field, "not a date within the calendar (e.g. 30-06-2025 or 2025-06-30)")


def moment(text: str, field: str = "as_of") -> datetime:
    """A moment as people give it: an ISO date-time (without a zone: Dutch time), or a date (its
    end, Dutch time), ISO or Dutch (30-06-2025, 30-6-2025 17:00). It must exist in UTC (how events
    are recorded) and in Dutch time (how days are counted): 9999-12-31T23:30:00Z is a day of the
    year 10000 in Amsterdam."""
    text = text.strip()
    try:
        nl = _nl_datum(text)
        if nl is not None:
            found = datetime.combine(nl[0], nl[1] or time.max, NL)
        elif len(text) == 10:
            found = datetime.combine(date.fromisoformat(text), time.max, NL)
        else:
            parsed = datetime.fromisoformat(text)
            found = parsed if parsed.tzinfo else parsed.replace(tzinfo=NL)
        found.astimezone(UTC)
        found.astimezone(NL)
    except (ValueError, OverflowError):
        raise OngeldigVeld(field, "not a date or date-time within the calendar (e.g. 30-06-2025, 30-06-2025 17:00, "
                           "2025-06-30 or 2025-06-30T17:00:00+02:00)") from None
    return found


def melding_id_van(tekst: str, field: str, zoek: Callable[[str, str], UUID]) -> UUID:
    """A melding by its id, or by BRON:KENMERK as its source knows it (`zoek` finds that one's id:
    `Dienst.melding_id_van`, through the store)."""
    tekst = tekst.strip()
    try:
        return UUID(tekst)
    except ValueError:
        pass
    bron, sep, kenmerk = tekst.partition(":")
    if not sep or not bron or not kenmerk:
        raise OngeldigVeld(field, "not a melding id or BRON:KENMERK (e.g. politie:VIA-2025-000123)")
    return zoek(bron, kenmerk)


def _geheel(text: str | None, field: str, default: int, hoogste: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        found = int(text.strip())
    except ValueError:
        raise OngeldigVeld(field, "not a whole number") from None
    if not 1 <= found <= hoogste:
        raise OngeldigVeld(field, f"must be between 1 and {hoogste}")
    return found


def lijstvraag(
    *, zvh: str | None = None, product: str | None = None, soort: str | None = None, gemeente: str | None = None,
    status: str | None = None, regisseur: str | None = None, termijn: str | None = None, zoek: str | None = None,
    sorteer: str | None = None, richting: str | None = None, pagina: str | None = None,
    per_pagina: str | None = None, sorteerbaar: Iterable[str] = lijsten.SORTEERBAAR,
) -> Vraag:
    """What a person asks of a list, from the words of a URL (the pages) or options (the CLI): every
    filter checked against its vocabulary, the sort against the list's columns. Empty means all."""

    def leeg(text: str | None) -> str | None:
        return text.strip() if text and text.strip() else None

    for field, value, limit in (("gemeente", gemeente, 100), ("regisseur", regisseur, 200), ("zoek", zoek, 100),
                                ("zvh", zvh, 100)):
        if value and len(value) > limit:
            raise OngeldigVeld(field, f"is longer than {limit} characters")
    product, soort, status, termijn, sorteer = leeg(product), leeg(soort), leeg(status), leeg(termijn), leeg(sorteer)
    if soort is not None and soort not in SOORTEN:
        raise OngeldigVeld("soort", "unknown soort")
    if status is not None and status not in LABELS:
        raise OngeldigVeld("status", "unknown status")
    if termijn is not None and termijn not in lijsten.TERMIJN_FILTERS:
        raise OngeldigVeld("termijn", f"give one of: {', '.join(lijsten.TERMIJN_FILTERS)}")
    if sorteer is not None and sorteer not in set(sorteerbaar):
        raise OngeldigVeld("sorteer", "not a column of this list")
    if richting not in (None, "", "op", "af"):
        raise OngeldigVeld("richting", "give op or af")
    return Vraag(
        zvh=leeg(zvh), product=product, soort=soort, gemeente=leeg(gemeente), status=status,
        regisseur=leeg(regisseur), termijn=termijn, zoek=leeg(zoek), sorteer=sorteer, aflopend=richting == "af",
        pagina=_geheel(pagina, "pagina", 1, 10**9),
        per_pagina=_geheel(per_pagina, "per_pagina", lijsten.PER_PAGINA, lijsten.MAX_PER_PAGINA),
    )


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


def pagina_van(rows: list[dict[str, Any]], nummer: int = 1, grootte: int = PER_PAGINA) -> Pagina:
    """One page of a list made in Python (the worklist, mijn zaken), as the lists paged in SQL give it."""
    if nummer < 1:
        raise OngeldigVeld("pagina", "must be 1 or more")
    if not 1 <= grootte <= MAX_PER_PAGINA:
        raise OngeldigVeld("per_pagina", f"must be from 1 to {MAX_PER_PAGINA}")
    start = (nummer - 1) * grootte
    return Pagina(rows[start:start + grootte], len(rows), Vraag(pagina=nummer, per_pagina=grootte))


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


@dataclass(frozen=True, slots=True)
class Voorbeeld:
    """What intake would do with a melding, before it is stored: its errors (each naming its field),
    or the rules' explanation; and the melding already stored under its (bron, kenmerk), if any
    (storing it again would change nothing)."""

    melding: MeldingIn | None
    fouten: tuple[VeldFout, ...]
    trace: Trace | None
    bestaand: UUID | None = None


@dataclass(frozen=True, slots=True)
class Voorstel:
    """The house that serves a melding's gemeente on its routing date, from the gemeente register;
    `zvh` None when no house of Zuid-Limburg does (unknown, missing, outside the region)."""

    zvh: str | None
    gemeente: str | None
    soort: str  # zuid-limburg | buiten-regio | onbekend (routing.gemeenten.Kind)


@dataclass(frozen=True, slots=True)
class Cijfers:
    """A year's figures as one user may read them (`Overzicht.cijfers`)."""

    jaar: int
    per_product: list[dict[str, Any]]  # per house, product and gemeente: routed meldingen, this year and the last
    jaartabellen: list[dict[str, Any]]  # the annual report's tables (PGA, radicalisering, WTH, detentie) per gemeente
    maanden: list[dict[str, Any]]  # per house, product, month: instroom, lopend, te laat
    doorlooptijden: list[dict[str, Any]]  # per stream, house: the year as one
    doorlooptijden_per_maand: list[dict[str, Any]]  # per stream, house and month


@dataclass(frozen=True, slots=True)
class RegelsOp:
    """Which rules were in force on a day: the version the loket decided with (as recorded) and
    the rows of the loaded rules valid on that day."""

    datum: date
    in_gebruik: str | None  # version of the last decision recorded up to the end of the day
    besloten_op: str | None  # when that decision was recorded
    geladen: str  # the version this loket runs now
    versies: list[dict[str, Any]]  # every version decided with: first, last, how many
    regels: list[dict[str, Any]]  # rows of the loaded ruleset valid on `datum`
    bestanden: list[str]  # the rule files this loket can show as they were then (none: another version ran)

    @property
    def zelfde(self) -> bool:
        return self.in_gebruik is None or self.in_gebruik == self.geladen


def _periode(van: date | None, tot: date | None) -> tuple[str | None, str | None]:
    """Whole Dutch days as a UTC interval [van, tot + 1 day), as access log lines are kept."""
    if van and tot and van > tot:
        raise OngeldigVeld("van", f"{van} is after the end of the period {tot}")
    for veld, dag in (("van", van), ("tot", tot)):
        if dag is not None and not date(1901, 1, 1) <= dag <= date(9999, 12, 30):
            raise OngeldigVeld(veld, "must be a day from 1901-01-01 to 9999-12-30")
    begin = datetime.combine(van, time.min, NL).astimezone(UTC).isoformat() if van else None
    einde = datetime.combine(tot, time.max, NL).astimezone(UTC).isoformat() if tot else None
    return begin, einde


def _betrokkene(tekst: str | None) -> str | None:
    """A subject as the access log keeps it: the pseudonym (64 hexadecimal characters), never a BSN."""
    if not tekst or not tekst.strip():
        return None
    subject = tekst.strip().lower()
    if not _PSEUDONIEM.match(subject):
        raise OngeldigVeld("betrokkene", "must be a pseudonym: 64 hexadecimal characters (as the access log shows)")
    return subject


def _inzage_wat(regel: dict[str, Any]) -> str:
    """A line of the access log as a time line says it."""
    if regel["toegang"] == "geweigerd":
        return "Inzage geweigerd"
    if regel["naam"] == "persoonsgegevens vernietigen":
        return GEBEURTENISSEN["PersoonsgegevensVernietigd"]
    return GEBEURTENISSEN["DataverwerkingVastgelegd"]


def _dag(tijdstip: str) -> str:
    """The Dutch day of a recorded (UTC) moment."""
    return datetime.fromisoformat(tijdstip).astimezone(NL).date().isoformat()


def _vereist(wie: Gebruiker, handeling: str) -> None:
    if not wie.mag(handeling):
        raise Verboden(f"role {wie.rol} may not do this ({HANDELINGEN[handeling].naam})")


def _afgewezen(o: Ontvangst) -> bool:
    return o.beslissing is not None and o.beslissing.outcome == "rejected"


class Dienst:
    def __init__(self, systeem: Systeem, rem: Rem | None = None):
        self.systeem = systeem
        self.schrijven = threading.RLock()
        self.rem = rem or Rem()
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

    def melding_id_van(self, tekst: str, field: str = "id") -> UUID:
        """A melding by its id, or by BRON:KENMERK as its source knows it (OngeldigVeld if neither).

        A melding's id does not follow from its (bron, kenmerk) (events/melding.py): the store
        says which melding that is. Reading the melding is checked as ever, by the use case."""
        return melding_id_van(tekst, field, self.app.melding_id_van)

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
        metrics.ontvangsten((raw if isinstance(raw, bytes) else b"", o.status, o.beslissing)
                            for raw, o in zip(raws, ontvangsten, strict=True) if o.beslissing is not None)
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

    def voorbeeld(self, wie: Gebruiker, raw: bytes) -> Voorbeeld:
        """A melding checked and explained as intake would decide it, stored nothing: what a person
        entering one by hand sees before confirming it (then `ontvang` with the same bytes)."""
        self.vereist(wie, "ontvangen")
        try:
            found = parse(raw)
        except Ongeldig as exc:
            return Voorbeeld(None, tuple(exc.errors), None)
        trace = self.ruleset.explain(found.feiten())
        bestaand = self.app.melding_id_van(found.bron, found.kenmerk)
        try:
            self.app.melding(bestaand)
        except OnbekendeMelding:
            return Voorbeeld(found, (), trace)
        return Voorbeeld(found, (), trace, bestaand)

    def herstel(self, wie: Gebruiker, afgewezen_id: UUID, raw: bytes) -> Ontvangst:
        """A rejected melding corrected and sent again (usually under its own kenmerk). The rejection
        stays, marked as corrected and pointing at the new melding; a correction that is rejected
        again, or whose (bron, kenmerk) was stored already, leaves it as it was."""
        self.vereist(wie, "ontvangen")
        with self.schrijven:
            oud = self.melding(wie, afgewezen_id)
            if not isinstance(oud, AfgewezenMelding):
                raise NietGevonden(f"no rejected melding with id {afgewezen_id}")
            if oud.status != AFGEWEZEN:
                raise OngeldigeOvergang(f"rejected melding {afgewezen_id} was corrected before")
            ontvangst = self.ontvang(wie, raw)
            if ontvangst.status == "nieuw":
                nieuw = self.app.melding(ontvangst.melding_id)
                oud.herstel(actor=wie.naam, melding_id=nieuw.id, bron=nieuw.bron, kenmerk=nieuw.kenmerk)
                self.app.save(oud)
                log.info("afwijzing hersteld", melding_id=str(afgewezen_id), nieuw=str(nieuw.id), gebruiker=wie.naam)
        return ontvangst

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
        if "kanaal" in row.velden and velden["kanaal"] not in KANALEN:
            raise OngeldigVeld("kanaal", f"unknown kanaal (known: {', '.join(KANALEN)})")
        with self.schrijven:
            found = self.melding(wie, melding_id)
            done = self.app.handel(found, handeling, actor=wie.naam, **{v: velden[v] for v in row.velden})
        metrics.HANDELINGEN.labels(handeling=handeling).inc()
        log.info("handeling", handeling=handeling, melding_id=str(melding_id), status=done.status,
                 gebruiker=wie.naam)
        if handeling in ("reroute", "decide"):
            metrics.beslissing_geteld(done.beslissing, door="handmatig", compartiment=done.compartiment)
        return done

    def voorstel(self, wie: Gebruiker, melding_id: UUID) -> Voorstel:
        """The house to propose when a person decides where a melding goes: the one that serves its
        gemeente on its routing date (the register), not the house that sent it back."""
        found = self.melding(wie, melding_id)
        if isinstance(found, AfgewezenMelding):
            raise OngeldigeOvergang(f"melding {melding_id} was rejected at intake: it has no gemeente to go by")
        uitslag = self.ruleset.explain(found.feiten()).gemeente
        return Voorstel(uitslag.zvh, uitslag.gemeente, uitslag.kind)

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

    # How long a health check waits for the key store's answer (a little over PROBE_SECONDS).
    SLEUTELS_WACHT = 3.0

    def sleutels_bereikbaar(self) -> bool:
        """Whether the key store answers now (within a few seconds): without it no personal data is
        sealed or opened, so intake and reads of personal data fail."""
        return self.app.kluis.keystore.bereikbaar()

    def achterstand_kort(self, *, hooguit: float = ACHTERSTAND_GELDIG) -> int:
        """How far behind the furthest projection is, in events: as last measured if that was at
        most `hooguit` seconds ago (every answer says it; measuring costs a few queries)."""
        achter = self.achterstand_vers(hooguit=hooguit)
        if achter is None:
            self.achterstand()
            _, achter = self._achterstand
        return achter

    def achterstand_vers(self, *, hooguit: float = ACHTERSTAND_GELDIG) -> int | None:
        """The lag as last measured, if that was at most `hooguit` seconds ago; else None (nothing is
        asked of the store)."""
        gemeten, achter = self._achterstand
        return achter if time_module.monotonic() - gemeten <= hooguit else None

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
        `as_of` by recording time (what the system knew then: the versions the projections' history
        kept at the last position recorded at or before it)."""
        self.vereist(wie, "lezen")
        if as_of is None:
            self._bijgewerkt()
            yield Overzicht(self, wie, self.systeem.projecties, vandaag())
            return
        self.vereist(wie, "als_op")
        self._bijgewerkt()
        with self.rem.plaats():
            yield Overzicht(self, wie, self.systeem.als_op(as_of), as_of.astimezone(NL).date())

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
             wachten: bool = False, meten: bool = False) -> int:
        """The projection worker, the one writer of the projections: holds the writer's lock and
        catches up until `stop` is set, a page in hand finished first. With another worker holding
        the lock: SlotBezet, or with `wachten` stand by until it is free. `meten`: after each round
        set the lag metric (loket_projectie_achterstand), for a worker whose metrics are served."""
        self.vereist(wie, "beheer")
        slot = self.systeem.schrijfslot
        with slot.vasthouden(stop, bezet="another projection worker writes the projections of this store",
                             wachten=wachten, interval=interval) as gehouden:
            if not gehouden:
                return 0
            log.info("projecties: schrijver", wachtte=wachten)
            read = 0
            while not stop.is_set():
                try:
                    slot.bevestig()
                    read += self.bij(page_size=page_size)
                    if meten:
                        self.achterstand()
                except Exception as exc:
                    if not onbereikbaar(exc):
                        raise
                    # A restarting database: try again after the interval, the lock first.
                    log.warning("projecties: event store onbereikbaar", fout=type(exc).__name__)
                stop.wait(interval)
            return read

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
            born = datum(geboortedatum, "geboortedatum")
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

    def toegangslog(self, wie: Gebruiker, *, melding: UUID | None = None, actor: str | None = None,
                    van: date | None = None, tot: date | None = None, doel: str | None = None,
                    betrokkene: str | None = None) -> list[dict[str, Any]]:
        """Who read or destroyed which personal data, when, in which role, for which purpose: every
        line that matches (an export); `van` and `tot` are whole Dutch days."""
        self.vereist(wie, "toegangslog")
        begin, einde = _periode(van, tot)
        subject = _betrokkene(betrokkene)
        self._bijgewerkt()
        with self.rem.plaats():
            return toegangslog(self.systeem.projecties, melding_id=str(melding) if melding else None,
                               actor=actor or None, van=begin, tot=einde, doel=doel or None, betrokkene=subject)

    def toegangslog_pagina(self, wie: Gebruiker, *, melding: UUID | None = None, actor: str | None = None,
                           van: date | None = None, tot: date | None = None, doel: str | None = None,
                           betrokkene: str | None = None, pagina: int = 1,
                           per_pagina: int = LOGREGELS_PER_PAGINA) -> Pagina:
        """The access log a page at a time, oldest first, with the count of all lines that match."""
        self.vereist(wie, "toegangslog")
        if pagina < 1:
            raise OngeldigVeld("pagina", "must be 1 or more")
        if not 1 <= per_pagina <= MAX_LOGREGELS_PER_PAGINA:
            raise OngeldigVeld("per_pagina", f"must be from 1 to {MAX_LOGREGELS_PER_PAGINA}")
        begin, einde = _periode(van, tot)
        self._bijgewerkt()
        filters = {"melding_id": str(melding) if melding else None, "actor": actor or None,
                   "van": begin, "tot": einde, "doel": doel or None, "betrokkene": _betrokkene(betrokkene)}
        store = self.systeem.projecties
        rows = toegangslog(store, **filters, limit=per_pagina, offset=(pagina - 1) * per_pagina)
        return Pagina(rows, toegangslog_telling(store, **filters), Vraag(pagina=pagina, per_pagina=per_pagina))

    def tijdlijn(self, wie: Gebruiker, melding_id: UUID) -> list[dict[str, Any]]:
        """A melding's events and the reads of its personal data in one time line, oldest first.
        Reads are there only for a role that may read the access log; each decision names its
        ruleset version and the day its rules are explained on ("as it was then")."""
        with self.overzicht(wie) as o:
            trail_rows = o.audit(melding_id)
        regels = [{
            "tijdstip": r["tijdstip"], "soort": "gebeurtenis", "gebeurtenis": r["gebeurtenis"],
            "wat": GEBEURTENISSEN.get(r["gebeurtenis"], r["gebeurtenis"]), "actor": r["actor"],
            "ruleset": r["ruleset"], "rules": r["rules"], "details": r["details"],
            # A rejected melding was never routed: there is no rule to explain.
            "regels_op": _dag(r["tijdstip"]) if r["ruleset"] and r["gebeurtenis"] != "MeldingAfgewezen" else None,
        } for r in trail_rows]
        if wie.mag("toegangslog"):
            regels += [{
                "tijdstip": r["begin"], "soort": "inzage", "gebeurtenis": "DataverwerkingVastgelegd",
                "wat": _inzage_wat(r), "actor": r["actor"], "rol": r["rol"], "doel": r["doel"],
                "doel_naam": doelen()[r["doel"]].naam if r["doel"] in doelen() else r["doel"],
                "kanaal": r["kanaal"], "toegang": r["toegang"], "ruleset": None, "rules": [], "details": {},
                "regels_op": None,
            } for r in toegangslog(self.systeem.projecties, melding_id=str(melding_id))]
        return sorted(regels, key=lambda r: (r["tijdstip"], r["soort"] == "inzage"))

    def inzageverzoek(self, wie: Gebruiker, melding_id: UUID, *, kanaal: str) -> dict[str, Any]:
        """A melding's whole trail as one document, for a subject access request (AVG art. 15): its
        events, its decisions with their rules and ruleset version, and (for a role that may read
        the access log) every read of its personal data. The personal data itself only for a role
        that may read it, read through the one logged path with the purpose `inzageverzoek`."""
        with self.rem.plaats():
            return self._inzageverzoek(wie, melding_id, kanaal=kanaal)

    def _inzageverzoek(self, wie: Gebruiker, melding_id: UUID, *, kanaal: str) -> dict[str, Any]:
        self.vereist(wie, "audit")
        m = self.melding(wie, melding_id)
        with self.overzicht(wie) as o:
            trail_rows = o.audit(melding_id)
        uit: dict[str, Any] = {
            "soort_document": "inzageverzoek (AVG art. 15)",
            "opgesteld_op": datetime.now(UTC).isoformat(), "opgesteld_door": wie.naam, "rol": str(wie.rol),
            "melding": {"melding_id": str(m.id), "bron": m.bron, "kenmerk": m.kenmerk, "status": m.status},
            "gebeurtenissen": [{**r, "wat": GEBEURTENISSEN.get(r["gebeurtenis"], r["gebeurtenis"])}
                               for r in trail_rows],
            "besluiten": [{"tijdstip": r["tijdstip"], "gebeurtenis": r["gebeurtenis"], "ruleset": r["ruleset"],
                           "rules": r["rules"], **{k: r["details"].get(k) for k in (
                               "outcome", "zvh", "product", "queue", "labels", "notify", "deadline", "reasons")}}
                          for r in trail_rows if r["ruleset"]],
        }
        if wie.mag("toegangslog"):
            uit["inzagen"] = self.toegangslog(wie, melding=melding_id)
        else:
            uit["inzagen"] = None
            uit["inzagen_niet_opgenomen"] = f"role {wie.rol} does not read the access log"
        if wie.mag("persoonsgegevens") and weigering(wie.rol, m.kenmerken(), persoonsgegevens=True) is None:
            uit["persoonsgegevens"] = self.persoonsgegevens(wie, melding_id, "inzageverzoek", kanaal=kanaal)
        else:
            uit["persoonsgegevens"] = None
            uit["persoonsgegevens_niet_opgenomen"] = f"role {wie.rol} does not read personal data"
        log.info("inzageverzoek opgesteld", melding_id=str(melding_id), gebruiker=wie.naam,
                 met_persoonsgegevens=uit["persoonsgegevens"] is not None)
        return uit

    def inzageverzoek_betrokkene(self, wie: Gebruiker, betrokkene: str, *, kanaal: str) -> dict[str, Any]:
        """A subject access request as a person makes it: every melding about them (by pseudonym) this
        user may see, each as `inzageverzoek` gives it, and every line of the access log about them
        (for a role that reads it). Meldingen outside the user's sight are not there, nor counted."""
        self.vereist(wie, "audit")
        subject = _betrokkene(betrokkene)
        if subject is None:
            raise OngeldigVeld("betrokkene", "is required")
        with self.rem.plaats():
            self._bijgewerkt()
            meldingen = []
            for melding_id in meldingen_van(self.systeem.projecties, subject):
                try:
                    meldingen.append(self._inzageverzoek(wie, UUID(melding_id), kanaal=kanaal))
                except NietGevonden:
                    continue
            inzagen = self.toegangslog(wie, betrokkene=subject) if wie.mag("toegangslog") else None
        for m in meldingen:  # each melding's reads are in the one list about the person
            m.pop("inzagen", None)
            m.pop("inzagen_niet_opgenomen", None)
        uit: dict[str, Any] = {
            "soort_document": "inzageverzoek (AVG art. 15)", "betrokkene": subject,
            "opgesteld_op": datetime.now(UTC).isoformat(), "opgesteld_door": wie.naam, "rol": str(wie.rol),
            "meldingen": meldingen, "inzagen": inzagen,
        }
        if inzagen is None:
            uit["inzagen_niet_opgenomen"] = f"role {wie.rol} does not read the access log"
        return uit

    def regels_op(self, wie: Gebruiker, datum: date) -> RegelsOp:
        """Which ruleset was in force on `datum`: the version of the last decision the loket recorded
        up to that day's end, every version it decided with, and the rows of the loaded rules valid
        on that day (rows carry their own validity: the date-bound policy)."""
        self.vereist(wie, "lezen")
        if not date(1901, 1, 1) <= datum <= date(9999, 12, 30):
            raise OngeldigVeld("datum", "must be a day from 1901-01-01 to 9999-12-30")
        self._bijgewerkt()
        einde = datetime.combine(datum, time.max, NL).astimezone(UTC).isoformat()
        store = self.systeem.projecties
        toen = ruleset_op(store, einde)
        dag = datum.toordinal()
        regels = [{
            "id": r.id, "tabel": r.table, "hit_policy": r.hit_policy, "priority": r.priority,
            "geldig": r.geldig(), "bron": r.bron, "als": r.als.model_dump(exclude_none=True),
            "outcome": r.outcome, "product": r.product, "labels": list(r.labels), "notify": list(r.notify),
            "deadline_dagen": r.deadline_dagen, "reden": r.reden,
        } for r in self.ruleset.rules() if r.van <= dag <= r.tot]
        in_gebruik = toen["ruleset"] if toen else None
        bestanden = self._regelbestanden() if in_gebruik == self.ruleset.version else []
        return RegelsOp(datum, in_gebruik, toen["tijdstip"] if toen else None, self.ruleset.version, rulesets(store),
                        regels, sorted(bestanden))

    def _regelbestanden(self) -> dict[str, Path]:
        """The shipped rule files, when they are the ruleset this loket runs (the version is their
        fingerprint); none when it runs another directory."""
        try:
            gelezen = read_ruleset(DEFAULT_DIRECTORY)
        except RulesetError:
            return {}
        if gelezen.version != self.ruleset.version:
            return {}
        # The register and the participation per gemeente are in the fingerprint too: they decide.
        return {**{naam: DEFAULT_DIRECTORY / naam for naam in (MANIFEST, *gelezen.files)},
                DEFAULT_REGISTER.name: DEFAULT_REGISTER, DEFAULT_DEELNAME.name: DEFAULT_DEELNAME}

    def regelbestand(self, wie: Gebruiker, naam: str) -> tuple[str, str]:
        """One rule file of the ruleset this loket runs, as text, with that ruleset's version."""
        self.vereist(wie, "lezen")
        pad = self._regelbestanden().get(naam)
        if pad is None:
            raise NietGevonden(f"no rule file {naam[:60]} in the ruleset this loket runs")
        return self.ruleset.version, pad.read_text(encoding="utf-8")

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


def verhuis_sleutels(wie: Gebruiker, settings: Settings, pad: Path) -> dict[str, int]:
    """Move a key store file into the PostgreSQL key store of LOKET_KEYSTORE_URL (beheer, before any
    process starts on it); rows moved per table."""
    _vereist(wie, "beheer")
    return sleutels_overnemen(settings, pad)


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

    def cijfers(self, year: int) -> Cijfers:
        """A year's figures beside the year before: per product and gemeente, the annual report's
        tables (a compartment's only for a role holding it), the months' instroom, lopend and te
        laat per house and product, and the lead times of the loket per stream and house."""
        if not 1901 <= year <= 9998:
            raise OngeldigVeld("jaar", "must be a year from 1901 to 9998 (the months of a year end in the next)")
        with self.dienst.rem.plaats():
            return self._cijfers(year)

    def _cijfers(self, year: int) -> Cijfers:
        held = self.wie.compartimenten
        tabellen = [r for r in self._per_rij(jaartabellen(self.store, year, held))
                    if self.wie.rol.houdt(COMPARTIMENT_VAN_TABEL.get(r["tabel"]))]
        per_jaar, per_maand = doorlooptijden(self.store, year, held)
        return Cijfers(year, self.statistiek(year), tabellen, self._per_rij(maandreeksen(self.store, year, held)),
                       self._per_huis(per_jaar), self._per_huis(per_maand))

    def _per_huis(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of a house (or of none: not yet placed) as a house's staff may count them: their own."""
        return [r for r in rows if self.wie.soort != "zvh" or r["zvh"] == self.wie.zvh]

    def triage(self) -> list[dict[str, Any]]:
        self.dienst.vereist(self.wie, "triage")
        return self._zichtbaar(triage_queue(self.store))

    def deadlines(self, *, overdue: bool = False) -> list[dict[str, Any]]:
        rows = self._zichtbaar(open_deadlines(self.store, self.on))
        return [r for r in rows if r["te_laat"]] if overdue else rows

    def afgewezen(self) -> list[dict[str, Any]]:
        return self._zichtbaar(afgewezen(self.store))

    def afgewezen_pagina(self, pagina: int = 1, per_pagina: int = PER_PAGINA) -> Pagina:
        """One page of the rejected meldingen still to correct, newest first, and how many there are."""
        return pagina_van(self.afgewezen()[::-1], pagina, per_pagina)

    def informeren(self, *, open_only: bool = True, partij: str | None = None, gemeente: str | None = None,
                   verlopen: bool = False, pagina: int = 1, per_pagina: int = PER_PAGINA) -> Pagina:
        """The worklist of parties to inform (a decision's notify, Top X): what is still open, the
        most urgent first (or every task, the latest first), of meldingen this user may see; only
        one party's, one gemeente's, or only those past their term when asked."""
        self.dienst.vereist(self.wie, "informeren")
        if partij and partij not in PARTIJEN:
            raise OngeldigVeld("partij", f"unknown party (known: {', '.join(PARTIJEN)})")
        rows = [r for r in taken(self.store, self.on, open_only=open_only)
                if (not partij or r["partij"] == partij) and (not gemeente or r["gemeente"] == gemeente)
                and (not verlopen or r["te_laat"])]
        return pagina_van(self._zichtbaar(rows), pagina, per_pagina)

    def informeren_van(self, melding_id: UUID) -> list[dict[str, Any]]:
        """Every task to inform a party about one melding (the melding page)."""
        self.dienst.vereist(self.wie, "informeren")
        self.dienst.melding(self.wie, melding_id)
        return taken_van(self.store, str(melding_id), self.on)

    def mijn_zaken(self, *, pagina: int = 1, per_pagina: int = PER_PAGINA) -> Pagina:
        """The open meldingen this user is regisseur of (as named at accepting or assigning)."""
        return pagina_van(self._zichtbaar(zaken_van(self.store, self.wie.naam)), pagina, per_pagina)

    def wachtrij(self, zvh: str | None) -> list[dict[str, Any]]:
        """A house's own queue; a zvh user always gets their own house."""
        if self.wie.soort == "zvh":
            zvh = self.wie.zvh
        if zvh is None:
            raise OngeldigVeld("zvh", "which house's queue: give zvh")
        if zvh not in self.dienst.huizen:
            raise OngeldigVeld("zvh", f"unknown zvh (known: {', '.join(sorted(self.dienst.huizen))})")
        return self._zichtbaar(wachtrij(self.store, zvh))

    def wachtrij_pagina(self, zvh: str | None, vraag: Vraag = lijsten.ALLES) -> Pagina:
        """A page of a house's queue, filtered, searched and sorted as asked (a zvh user: their own)."""
        if self.wie.soort == "zvh":
            zvh = self.wie.zvh
        zvh = self._huis(zvh, verplicht=True)
        if vraag.status not in (None, OPEN, IN_BEHANDELING):
            raise OngeldigVeld("status", "a queue holds open and in-behandeling meldingen")
        self._product(vraag)
        return self._gecontroleerd(lijsten.wachtrij(self.store, self.wie.rol, zvh or "", vraag, self.on))

    def triage_pagina(self, vraag: Vraag = lijsten.ALLES) -> Pagina:
        """A page of the triage queue, filtered, searched and sorted as asked."""
        self.dienst.vereist(self.wie, "triage")
        self._product(vraag)
        return self._gecontroleerd(lijsten.triage(self.store, self.wie.rol, replace(vraag, zvh=self._huis(
            vraag.zvh)), self.on))

    def zoek(self, vraag: Vraag) -> Pagina:
        """Every melding this user may see whose kenmerk holds `vraag.zoek` (whole, a part, or
        BRON:KENMERK), newest first."""
        if not vraag.zoek:
            raise OngeldigVeld("zoek", "give a kenmerk, or a part of one")
        self._product(vraag)
        return self._gecontroleerd(lijsten.zoek(self.store, self.wie.rol, vraag, self.on))

    def termijnen(self, vraag: Vraag = lijsten.ALLES, soort: str | None = None) -> Pagina:
        """A page of the open deadlines (Wvggz 14 days, huisverbod, Top X review), overdue first; a
        zvh user sees their own house's."""
        zvh = self.wie.zvh if self.wie.soort == "zvh" else self._huis(vraag.zvh)
        self._product(vraag)
        if soort is not None and not _TERMIJN_SOORT.match(soort):
            raise OngeldigVeld("soort", "not a kind of deadline (e.g. wvggz-termijn, top-x-review)")
        return self._gecontroleerd(lijsten.termijnen(self.store, self.wie.rol, replace(vraag, zvh=zvh), self.on,
                                                     soort=soort))

    def termijn_soorten(self) -> list[str]:
        """The kinds of deadline still open, for the deadlines page's filter."""
        return lijsten.termijn_soorten(self.store)

    def keuzes(self, kolom: str, *, zvh: str | None = None, statussen: tuple[str, ...] = ()) -> list[str]:
        """The values a list's column holds, for its filter (gemeenten, regisseurs)."""
        if self.wie.soort == "zvh":
            zvh = self.wie.zvh
        return lijsten.keuzes(self.store, self.wie.rol, kolom, zvh=zvh, statussen=statussen)

    def _huis(self, zvh: str | None, *, verplicht: bool = False) -> str | None:
        if zvh is None and verplicht:
            raise OngeldigVeld("zvh", "which house's queue: give zvh")
        if zvh is not None and zvh not in self.dienst.huizen:
            raise OngeldigVeld("zvh", f"unknown zvh (known: {', '.join(sorted(self.dienst.huizen))})")
        return zvh

    def _product(self, vraag: Vraag) -> None:
        if vraag.product is not None and vraag.product not in self.dienst.producten:
            raise OngeldigVeld("product", "unknown product")

    def _gecontroleerd(self, pagina: Pagina) -> Pagina:
        """A page's rows checked again against the one access check (the SQL asked it already), with
        their labels as a list and the days to their deadline counted from the overview's day."""
        rijen = []
        for r in pagina.rijen:
            if weigering(self.wie.rol, Kenmerken.uit_rij(r)) is not None:
                log.error("lijst toonde een melding buiten het zicht van de rol", melding_id=r["melding_id"])
                continue
            r["labels"] = json.loads(r["labels"] or "[]")
            r["dagen"] = (date.fromisoformat(r["termijn"]) - self.on).days if r.get("termijn") else None
            rijen.append(r)
        return replace(pagina, rijen=rijen)

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
