"""The use cases as the API and the web pages offer them: access rules, one writer, fresh reads.

SQLite has one writer at a time, and a server answers many requests at once: every
write (intake, lifecycle commands, catching the projections up, reading personal data,
which is recorded) holds one lock. A write commits its events only; reads of
projections first bring them up to date with what any process (this server, the CLI,
a Kafka consumer) stored, so a read always shows what was written before it, and one
catch-up serves many writes. `as_of` replays into a fresh store and touches nothing live.

What a user may not see does not exist for them: NietGevonden, the same answer as
for an id that was never used.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from events.application import OnbekendeMelding, Ontvangst
from events.follower import lag
from events.intake import TeGroot
from events.logboek import OngeldigDoel
from events.toegang import GeenToegang
from events.melding import AfgewezenMelding, Melding
from loket import logs, metrics
from loket.bootstrap import Systeem
from loket.cli_routing import uitleg
from loket.toegang import Gebruiker, Handeling, Kenmerken, mag_rij_zien, mag_zien
from projections import Projecties
from projections.audit import trail
from projections.caseload import caseload, statistiek, toegang, triage_queue, verloop, wachtrij
from projections.deadlines import open_deadlines

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
log = logs.logger("loket.dienst")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")


class NietGevonden(LookupError):
    """No such melding, or none this user may see (the two are not told apart)."""


class Verboden(PermissionError):
    """The user's role does not allow this."""


class OngeldigVeld(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


_COMMANDS = {
    "accept": "accepteer",
    "return": "retour",
    "reroute": "herrouteer",
    "decide": "besluit_triage",
    "topx": "top_x",
    "close": "sluit",
}


def _vereist(gebruiker: Gebruiker, handeling: Handeling) -> None:
    if not gebruiker.mag(handeling):
        raise Verboden(f"role {gebruiker.rol} may not do this ({handeling})")


class Dienst:
    def __init__(self, systeem: Systeem):
        self.systeem = systeem
        self.schrijven = threading.Lock()

    @property
    def app(self):
        return self.systeem.app

    @property
    def huizen(self) -> frozenset[str]:
        return self.app.ruleset.zvh_ids

    @property
    def producten(self) -> frozenset[str]:
        return self.app.ruleset.producten

    # Projections ------------------------------------------------------------

    def bij(self) -> int:
        with self.schrijven:
            return self.systeem.bij()

    def achterstand(self) -> dict[str, int]:
        """Events each live projection has still to process; also set as a metric."""
        achter = lag(self.app, self.systeem.projecties.positions(self.app.name))
        for name, n in achter.items():
            metrics.PROJECTIE_ACHTERSTAND.labels(projectie=name).set(n)
        return achter

    @contextmanager
    def stand(self, gebruiker: Gebruiker, as_of: datetime | None = None) -> Iterator[Stand]:
        """The projections as this user may read them: live and up to date, or as they stood
        at `as_of` (one replay, however many lists are read from it)."""
        if as_of is None:
            self.bij()
            self.achterstand()
            yield Stand(gebruiker, self.systeem.projecties, datetime.now(AMSTERDAM).date(), self.huizen)
            return
        _vereist(gebruiker, "als_op")
        store = self.systeem.als_op(as_of)
        try:
            yield Stand(gebruiker, store, as_of.astimezone(AMSTERDAM).date(), self.huizen)
        finally:
            store.datastore.close()

    # Intake -----------------------------------------------------------------

    def ontvang(self, gebruiker: Gebruiker, raw: bytes | TeGroot) -> Ontvangst:
        """One melding in, answered with its decision. A new melding's decision follows from what
        the user sent; a duplicate's is what is stored (perhaps of other content, changed since by
        people), so it is told only to a user who may read that melding: a resent kenmerk of a
        melding outside their sight (another house's, a compartment's) tells nothing of it."""
        _vereist(gebruiker, "ontvangen")
        with self.schrijven:
            ontvangst = self.app.ontvang(raw)
        metrics.ontvangst(raw if isinstance(raw, bytes) else b"", ontvangst.status, ontvangst.beslissing)
        log.info("melding ontvangen", melding_id=str(ontvangst.melding_id), status=ontvangst.status,
                 outcome=ontvangst.beslissing.outcome, gebruiker=gebruiker.naam)
        if ontvangst.status != "duplicaat":
            return ontvangst
        melding = self.app.melding(ontvangst.melding_id)
        if not mag_zien(gebruiker, Kenmerken.van(melding)):
            return replace(ontvangst, beslissing=None)
        return ontvangst

    # One melding ------------------------------------------------------------

    def melding(self, gebruiker: Gebruiker, melding_id: UUID) -> Melding | AfgewezenMelding:
        try:
            melding = self.app.melding(melding_id)
        except OnbekendeMelding:
            raise NietGevonden(f"no melding with id {melding_id}") from None
        if not mag_zien(gebruiker, Kenmerken.van(melding)):
            raise NietGevonden(f"no melding with id {melding_id}")
        return melding

    def persoonsgegevens(
        self, gebruiker: Gebruiker, melding_id: UUID, doel: str, *, kanaal: str = "api",
        toelichting: str | None = None,
    ) -> dict[str, Any]:
        """Through `Loket.persoonsgegevens`, which checks the purpose against the register,
        decides again and writes the access log."""
        _vereist(gebruiker, "persoonsgegevens")
        request_id = logs.gebonden().get("request_id", "")
        with self.schrijven:
            self.melding(gebruiker, melding_id)
            try:
                gegevens = self.app.persoonsgegevens(
                    melding_id, actor=gebruiker.naam, doel=doel, rol=gebruiker.rol_in_logboek,
                    compartimenten=gebruiker.compartimenten, kanaal=kanaal, toelichting=toelichting,
                    # Our request ids are W3C trace ids when we make them; others are not passed on.
                    trace=request_id if _TRACE_ID.match(request_id) else None,
                )
            except OngeldigDoel as exc:
                raise OngeldigVeld(exc.field, exc.message) from None
            except GeenToegang as exc:
                raise Verboden(str(exc)) from None
        # Who looked, at which melding, for which purpose of the register; never what they saw,
        # nor the toelichting.
        log.info("persoonsgegevens ingezien", melding_id=str(melding_id), gebruiker=gebruiker.naam,
                 doel=doel.strip())
        return gegevens

    def uitleg(self, gebruiker: Gebruiker, melding_id: UUID) -> dict[str, Any]:
        """Why the rules decide what they decide for this melding, under today's ruleset,
        beside what was decided then (as `loket explain --json`), with the trace as text."""
        explained, trace = uitleg(self.melding(gebruiker, melding_id), self.app.ruleset)
        if trace is not None:
            explained["tekst"] = trace.render()
        return explained

    def audit(self, gebruiker: Gebruiker, melding_id: UUID, stand: Stand) -> list[dict[str, Any]]:
        """A melding's audit trail as `stand` holds it (live, or as of its moment)."""
        _vereist(gebruiker, "audit")
        self.melding(gebruiker, melding_id)
        rows = trail(stand.store, str(melding_id))
        if not rows:
            raise NietGevonden(f"no melding with id {melding_id} recorded by then")
        return rows

    def handel(self, gebruiker: Gebruiker, handeling: Handeling, melding_id: UUID, **kwargs: Any) -> Melding:
        """A lifecycle command by this user: accept, return, reroute, decide, topx, close."""
        _vereist(gebruiker, handeling)
        if "zvh" in kwargs and kwargs["zvh"] not in self.huizen:
            raise OngeldigVeld("zvh", f"unknown zvh (known: {', '.join(sorted(self.huizen))})")
        if "product" in kwargs and kwargs["product"] not in self.producten:
            raise OngeldigVeld("product", "unknown product")
        with self.schrijven:
            self.melding(gebruiker, melding_id)
            melding = getattr(self.app, _COMMANDS[handeling])(melding_id, actor=gebruiker.naam, **kwargs)
        metrics.HANDELINGEN.labels(handeling=handeling).inc()
        log.info("handeling", handeling=handeling, melding_id=str(melding_id), status=melding.status,
                 gebruiker=gebruiker.naam)
        if handeling in ("reroute", "decide"):
            metrics.beslissing_geteld(melding.beslissing, door="handmatig", compartiment=melding.compartiment)
        return melding

    # -------------------------------------------------------------------------



class Stand:
    """The projections (live, or as of a moment) through one user's eyes."""

    def __init__(self, gebruiker: Gebruiker, store: Projecties, on: date, huizen: frozenset[str]):
        self.gebruiker, self.store, self.on, self.huizen = gebruiker, store, on, huizen

    def caseload(self) -> list[dict[str, Any]]:
        return self._per_rij(caseload(self.store, self.on, self.gebruiker.compartimenten))

    def statistiek(self, year: int) -> list[dict[str, Any]]:
        return self._per_rij(statistiek(self.store, year, self.gebruiker.compartimenten))

    def verloop(self) -> list[dict[str, Any]]:
        return self._per_rij(verloop(self.store, self.gebruiker.compartimenten))

    def triage(self) -> list[dict[str, Any]]:
        _vereist(self.gebruiker, "triage")
        return self._zichtbaar(triage_queue(self.store))

    def deadlines(self) -> list[dict[str, Any]]:
        return self._zichtbaar(open_deadlines(self.store, self.on))

    def wachtrij(self, zvh: str | None) -> list[dict[str, Any]]:
        """A house's own queue; a zvh user always gets their own house."""
        if self.gebruiker.rol == "zvh":
            zvh = self.gebruiker.zvh
        if zvh is None:
            raise OngeldigVeld("zvh", "which house's queue: give zvh")
        if zvh not in self.huizen:
            raise OngeldigVeld("zvh", f"unknown zvh (known: {', '.join(sorted(self.huizen))})")
        return self._zichtbaar(wachtrij(self.store, zvh))

    def _per_rij(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in rows if mag_rij_zien(self.gebruiker, r["zvh"], r["product"])]

    def _zichtbaar(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = toegang(self.store, sorted({r["melding_id"] for r in rows}))
        return [
            r for r in rows
            if r["melding_id"] in found and mag_zien(self.gebruiker, Kenmerken.uit_rij(found[r["melding_id"]]))
        ]
