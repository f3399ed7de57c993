"""Intake through the real application on SQLite and on PostgreSQL, and the caseload projection.

The `app` tests run on both event stores; the projection tests (`systeem`) run on
SQLite until the caseload view moves to PostgreSQL.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

from events.application import Loket
from events.melding import AfgewezenMelding, Melding, melding_id
from events.status import IN_BEHANDELING, OPEN
from loket.bootstrap import bootstrap, maak_kluis, maak_loket
from projections.caseload import afgewezen, caseload
from routing.decision import Beslissing
from tests.conftest import INTAKE_ROL, line


def test_a_melding_is_stored_routed_and_found_back_by_bron_and_kenmerk(app):
    [ontvangst] = app.ontvang_batch([line(kenmerk="A-1")])
    assert ontvangst.status == "nieuw"
    assert ontvangst.melding_id == melding_id("gemeente", "A-1")
    stored = app.melding(ontvangst.melding_id)
    assert isinstance(stored, Melding)
    assert stored.beslissing == ontvangst.beslissing
    assert stored.beslissing.outcome == "routed"
    assert stored.beslissing.zvh == "parkstad"


def test_the_same_melding_sent_twice_is_one_melding(app):
    first = app.ontvang(line(kenmerk="A-2"))
    version = app.melding(first.melding_id).version
    again = app.ontvang(line(kenmerk="A-2", toelichting="anders"))
    assert again.status == "duplicaat"
    assert again.melding_id == first.melding_id
    assert again.beslissing == first.beslissing
    assert app.melding(first.melding_id).version == version


def test_a_duplicate_within_one_batch_is_recognised(app):
    results = app.ontvang_batch([line(kenmerk="A-3"), line(kenmerk="A-3")])
    assert [r.status for r in results] == ["nieuw", "duplicaat"]


def test_same_kenmerk_from_another_bron_is_another_melding(app):
    a = app.ontvang(line(kenmerk="A-4", bron="gemeente"))
    b = app.ontvang(line(kenmerk="A-4", bron="politie"))
    assert a.melding_id != b.melding_id
    assert b.status == "nieuw"


def test_invalid_input_is_recorded_with_its_errors_and_raw_payload(app):
    broken = '{"bron": "gemeente", "kenmerk": "B-1", "soort": "aanmelding", "ontvangen_op": "gisteren"'
    [ontvangst] = app.ontvang_batch([broken])
    assert ontvangst.status == "afgewezen"
    assert ontvangst.beslissing.outcome == "rejected"
    stored = app.melding(ontvangst.melding_id)
    assert isinstance(stored, AfgewezenMelding)
    # Sealed at rest; read back through the one read path for personal data.
    opened = app.persoonsgegevens(ontvangst.melding_id, actor="tester", doel="controle", rol=INTAKE_ROL)
    assert opened["payload"] == broken
    assert {e["field"] for e in stored.errors} == {"melding"}
    assert stored.kenmerk is None  # not even JSON: nothing to read it from


def test_a_rejected_melding_keeps_bron_and_kenmerk_when_readable(app):
    ontvangst = app.ontvang(line(kenmerk="B-2", ontvangen_op="gisteren"))
    stored = app.melding(ontvangst.melding_id)
    assert (stored.bron, stored.kenmerk) == ("gemeente", "B-2")
    assert [e["field"] for e in stored.errors] == ["ontvangen_op"]


def test_a_corrected_resend_of_a_rejected_melding_is_accepted(app):
    rejected = app.ontvang(line(kenmerk="B-3", ontvangen_op="gisteren"))
    again = app.ontvang(line(kenmerk="B-3", ontvangen_op="gisteren"))
    corrected = app.ontvang(line(kenmerk="B-3"))
    assert (rejected.status, again.status, corrected.status) == ("afgewezen", "duplicaat", "nieuw")


def test_a_line_that_is_not_utf8_is_recorded_not_dropped(app):
    ontvangst = app.ontvang(b'{"bron": "\xff\xfe"}')
    assert ontvangst.status == "afgewezen"
    opened = app.persoonsgegevens(ontvangst.melding_id, actor="tester", doel="controle", rol=INTAKE_ROL)
    assert "\ufffd" in opened["payload"]


def test_rejected_meldingen_are_listed_by_the_projection(systeem):
    systeem.app.ontvang_batch([line(kenmerk="C-1"), "kapot", line(kenmerk="C-2", soort="onbekend")])
    systeem.bij()
    rows = afgewezen(systeem.projecties)
    assert [r["kenmerk"] for r in rows] == [None, "C-2"]
    assert [e["field"] for e in rows[0]["errors"]] == ["melding"]
    assert [e["field"] for e in rows[1]["errors"]] == ["soort"]


def _recount(systeem) -> Counter:
    """The caseload computed from the stored aggregates themselves, not from the projection."""
    counts: Counter = Counter()
    notifications = systeem.app.recorder.select_notifications(start=1, limit=1_000_000)
    for originator_id in {n.originator_id for n in notifications}:
        m = systeem.app.melding(originator_id)
        if isinstance(m, Melding) and m.status in (OPEN, IN_BEHANDELING):  # what the caseload counts
            b = m.beslissing
            counts[(b.zvh, b.product, b.gemeente or m.gemeente)] += 1
    return counts


def _projected(systeem) -> Counter:
    counts: Counter = Counter()
    for r in caseload(systeem.projecties, date.today()):
        counts[(r["zvh"], r["product"], r["gemeente"])] += r["count"]
    return counts


def test_projection_equals_a_recount_of_the_stored_events(systeem):
    from loket import synthetic

    lines = list(synthetic.jaar(2025, seed=7, scale=0.05))
    for i in range(0, len(lines), 50):
        systeem.app.ontvang_batch(lines[i : i + 50])
        if i % 150 == 0:
            systeem.bij(page_size=37)  # catch up part way, in odd pages
    systeem.bij(page_size=37)
    assert sum(_projected(systeem).values()) > 100
    assert _projected(systeem) == _recount(systeem)


def test_projection_survives_reopening_and_does_not_count_twice(settings):
    first = bootstrap(settings)
    first.app.ontvang_batch([line(kenmerk=f"D-{i}") for i in range(10)])
    first.bij()
    first.close()
    second = bootstrap(settings)
    assert second.bij() == 0
    second.app.ontvang_batch([line(kenmerk="D-10")])
    assert second.bij() == 2  # received and routed
    assert sum(r["count"] for r in caseload(second.projecties, date.today())) == 11
    second.close()


def test_personal_data_is_not_in_the_decision(app):
    ontvangst = app.ontvang(line(kenmerk="E-1"))
    text = json.dumps(ontvangst.beslissing.as_contract())
    for secret in ("123456782", "Testpersoon", "vrije tekst", "1990-05-06"):
        assert secret not in text


def test_a_stored_melding_can_be_decided_again_from_its_facts(app):
    ontvangst = app.ontvang(line(kenmerk="H-1", gemeente="schinnen"))
    stored = app.melding(ontvangst.melding_id)
    again = app.ruleset.decide(stored.feiten())
    assert again == stored.beslissing
    assert again.gemeente == "Beekdaelen"


def test_a_melding_stored_by_another_writer_during_a_batch_becomes_a_duplicate_and_the_rest_is_kept(store):
    """Group commit: one transaction per batch, yet a clash with another writer costs only that melding."""
    other = maak_loket(store)

    class Concurrent(Loket):
        name = Loket.name  # the same event store tables

        def _bestaande(self, aggregate_ids):
            found = super()._bestaande(aggregate_ids)
            other.ontvang(line(kenmerk="G-2"))  # stored elsewhere after our check, before our commit
            return found

    app = Concurrent(store.event_store_env(), ruleset=other.ruleset, kluis=maak_kluis(store))
    results = app.ontvang_batch([line(kenmerk="G-1"), line(kenmerk="G-2"), "kapot", line(kenmerk="G-3")])
    assert [r.status for r in results] == ["nieuw", "duplicaat", "afgewezen", "nieuw"]
    assert [app.melding(r.melding_id).version for r in results] == [2, 2, 1, 2]  # received + routed; rejected
    assert len(app.recorder.select_notifications(start=1, limit=100)) == 7
    app.close()
    other.close()


def _zonder_tijd(state: dict) -> dict:
    return {k: v for k, v in state.items() if k not in ("timestamp", "_created_on", "_modified_on")}


def test_a_melding_received_at_intake_has_the_events_of_its_commands():
    """Intake builds meldingen without the decorators' argument matching: the same events, the same state."""
    velden = dict(
        bron="politie", kenmerk="K-1", soort="via", ontvangen_op="2025-03-04T10:00:00+01:00", gemeente="Heerlen",
        signalen={"leefgebieden": ["wonen"]}, leeftijd=34, betrokkene="b" * 64, betrokkene_soort="bsn",
        compartiment=None, persoonsgegevens={"versleuteld": "AES-256-GCM", "sleutel": "k", "data": "d"},
    )
    for outcome, command in (("routed", "gerouteerd"), ("triage", "in_triage"), ("doorverwijzen", "doorverwezen")):
        beslissing = Beslissing(outcome=outcome, zvh="parkstad", product="pga", ruleset="zl-routing@test")
        by_commands = Melding(**velden)
        getattr(by_commands, command)(beslissing)
        at_intake = Melding.ontvangen(melding_id("politie", "K-1"), beslissing, **velden)
        expected, got = by_commands.collect_events(), at_intake.collect_events()
        assert at_intake.id == by_commands.id
        assert _zonder_tijd(vars(at_intake)) == _zonder_tijd(vars(by_commands))
        assert [type(e) for e in got] == [type(e) for e in expected]
        assert [_zonder_tijd(vars(e)) for e in got] == [_zonder_tijd(vars(e)) for e in expected]
