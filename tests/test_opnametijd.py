"""Two times: an event's recording time (its timestamp, by which "as of" reads the store) and a
melding's business time (`ontvangen_op`, when people acted). Production records on the real clock;
a simulation (`loket demo`) gives the loket its own recording clock, and what it records then reads
back, chains and replays as if it had happened at those moments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from events.hashchain import Verificatie
from loket import synthetic
from loket.bootstrap import Systeem, bootstrap
from loket.settings import Settings
from projections.caseload import caseload, triage_queue
from tests.conftest import INTAKE_ROL, handel, line

MAART = datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


@pytest.fixture
def klok() -> synthetic.Klok:
    return synthetic.Klok(MAART)


@pytest.fixture
def gesimuleerd(store: Settings, klok: synthetic.Klok) -> Iterator[Systeem]:
    """A loket on each event store that records on a synthetic clock."""
    s = bootstrap(store, klok=klok)
    yield s
    s.close()


def verify(s: Systeem) -> Verificatie:
    return s.app.recorder.verify(s.app.kluis.anker_sleutel().public_key())


def tijden(s: Systeem, melding_id: UUID) -> list[tuple[str, datetime]]:
    return [(type(e).__name__, e.timestamp) for e in s.app.repository.event_store.get(melding_id)]


def test_a_loket_on_a_synthetic_clock_records_each_event_at_the_clock_s_moment(gesimuleerd, klok):
    s = gesimuleerd
    [nieuw, kapot] = s.app.ontvang_batch([line(kenmerk="K-1"), "{niet af"])
    klok.zet(MAART + timedelta(days=2))
    handel(s.app, nieuw.melding_id, "return", actor="medewerker", reden="Hoort niet bij ons.")
    klok.zet(MAART + timedelta(days=5))
    handel(s.app, nieuw.melding_id, "decide", actor="loket", zvh="parkstad", product="c-en-a", reden="Advies.")
    klok.zet(MAART + timedelta(days=9))
    s.app.persoonsgegevens(nieuw.melding_id, actor="loket", doel="triage", rol=INTAKE_ROL)

    assert tijden(s, nieuw.melding_id) == [
        ("MeldingOntvangen", MAART), ("MeldingGerouteerd", MAART),
        ("MeldingTeruggestuurd", MAART + timedelta(days=2)), ("TriageBesloten", MAART + timedelta(days=5)),
    ]
    assert tijden(s, kapot.melding_id) == [("MeldingAfgewezen", MAART)]
    assert s.app.melding(nieuw.melding_id).modified_on == MAART + timedelta(days=5)
    # The read of personal data is a line of the access log: an event of its own, on the same clock.
    gelezen = s.app.mapper.to_domain_event(s.app.recorder.select_notifications(start=1, limit=100)[-1])
    assert (type(gelezen).__name__, gelezen.timestamp) == ("DataverwerkingVastgelegd", MAART + timedelta(days=9))
    assert gelezen.begin == gelezen.eind == MAART + timedelta(days=9)
    # The chain does not care when: it holds over what was recorded.
    assert verify(s).intact


def test_as_of_a_moment_of_the_simulated_past_shows_what_was_known_then(gesimuleerd, klok):
    s = gesimuleerd
    [m] = s.app.ontvang_batch([line(kenmerk="K-2")])
    klok.zet(MAART + timedelta(days=3))
    handel(s.app, m.melding_id, "return", actor="medewerker", reden="Hoort niet bij ons.")
    s.bij()
    assert caseload(s.projecties, MAART.date()) == [] and len(triage_queue(s.projecties)) == 1

    toen = s.als_op(MAART + timedelta(days=1))
    [open_] = caseload(toen, MAART.date())
    assert (open_["zvh"], open_["status"], open_["count"]) == ("parkstad", "open", 1)
    assert triage_queue(toen) == []
    assert caseload(s.als_op(MAART - timedelta(seconds=1)), MAART.date()) == []


def test_without_a_clock_of_its_own_the_loket_records_on_the_real_clock(store):
    s = bootstrap(store)
    try:
        before = datetime.now(UTC)
        [m] = s.app.ontvang_batch([line(kenmerk="K-3")])
        handel(s.app, m.melding_id, "accept", actor="medewerker", regisseur="R. Regisseur")
        after = datetime.now(UTC)
        assert all(before <= t <= after for _, t in tijden(s, m.melding_id))
    finally:
        s.close()


def test_the_synthetic_clock_does_not_run_backwards(klok):
    klok.zet(MAART + timedelta(hours=1))
    with pytest.raises(ValueError, match="does not run back"):
        klok.zet(MAART)
    assert klok() == MAART + timedelta(hours=1)


def test_a_term_to_inform_a_party_runs_from_the_recording_clock_s_day(gesimuleerd, klok):
    """An art. 18 melding asks to tell the burgemeester within two working days of the day it was
    recorded; Top X given later asks the driehoek within five of that later day."""
    s = gesimuleerd  # MAART is Tuesday 4 March 2025
    [bij] = s.app.ontvang_batch([line(kenmerk="A18-K", bron="dji", soort="art18", gemeente="Brunssum",
                                      signalen={"delict": "zeden"})])
    [pga] = s.app.ontvang_batch([line(kenmerk="PGA-K")])
    assert [(t["partij"], t["uiterlijk"]) for t in s.app.melding(bij.melding_id).informeren.values()] == [
        ("burgemeester", "2025-03-06")]
    klok.zet(datetime(2025, 3, 14, 10, tzinfo=UTC))  # a Friday
    handel(s.app, pga.melding_id, "topx-aan", actor="loket", reden="Onrust in de wijk.")
    taken = s.app.melding(pga.melding_id).informeren.values()
    assert [(t["partij"], t["uiterlijk"]) for t in taken] == [("lokale-driehoek", "2025-03-21")]
    gevraagd = [e for e in s.app.repository.event_store.get(pga.melding_id) if type(e).__name__ == "InformerenGevraagd"]
    assert [e.timestamp for e in gevraagd] == [datetime(2025, 3, 14, 10, tzinfo=UTC)]
