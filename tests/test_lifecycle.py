"""People act on meldingen: accept, return, reroute, decide triage, Top X, close.

Every command is an event with its actor; an illegal one is refused and leaves no event.
"""

from __future__ import annotations

from datetime import date

import pytest

from events.application import OnbekendeMelding
from events.melding import OngeldigeOvergang
from events.status import GESLOTEN, IN_BEHANDELING, OPEN, TRIAGE
from projections.audit import trail
from projections.caseload import caseload, triage_queue
from projections.deadlines import open_deadlines
from tests.conftest import INTAKE_ROL, handel, line


@pytest.fixture
def routed(systeem):
    return systeem.app.ontvang(line(kenmerk="L-1")).melding_id


def events_of(systeem, melding_id) -> int:
    return len(systeem.app.recorder.select_events(melding_id))


def test_a_house_accepts_and_names_a_regisseur(systeem, routed):
    m = handel(systeem.app, routed, "accept", actor="zvh-parkstad", regisseur="A. Janssen")
    assert (m.status, m.regisseur) == (IN_BEHANDELING, "A. Janssen")
    systeem.bij()
    [row] = caseload(systeem.projecties, date(2025, 3, 14))
    assert (row["status"], row["count"], row["oudste_dagen"]) == (IN_BEHANDELING, 1, 10)


def test_a_returned_melding_goes_back_to_the_triage_queue_with_its_reason(systeem, routed):
    handel(systeem.app, routed, "return", actor="zvh-parkstad", reden="Geen PGA: hoort bij het lokale veld")
    systeem.bij()
    [item] = triage_queue(systeem.projecties)
    assert item["melding_id"] == str(routed)
    # Who sent it back is in the queue; what they wrote is sealed, read through the one read path.
    assert "zvh-parkstad" in item["reden"] and "Geen PGA" not in item["reden"]
    [notitie] = systeem.app.persoonsgegevens(routed, actor="intake-1", doel="triage", rol=INTAKE_ROL)["notities"]
    assert notitie["reden"] == "Geen PGA: hoort bij het lokale veld"
    assert caseload(systeem.projecties, date(2025, 3, 4)) == []


def test_the_triage_queue_is_oldest_first(systeem):
    systeem.app.ontvang_batch([
        line(kenmerk="T-2", gemeente=None, ontvangen_op="2025-05-02T10:00:00+02:00"),
        line(kenmerk="T-1", gemeente="Atlantis", ontvangen_op="2025-05-01T10:00:00+02:00"),
    ])
    systeem.bij()
    queue = triage_queue(systeem.projecties)
    assert [q["kenmerk"] for q in queue] == ["T-1", "T-2"]
    assert all(q["reden"] for q in queue)


def test_a_triage_decision_routes_the_melding_by_hand(systeem):
    waiting = systeem.app.ontvang(line(kenmerk="T-3", gemeente=None)).melding_id
    m = handel(systeem.app, waiting, "decide", actor="intake-1", zvh="maastricht-heuvelland", product="pga",
               reden="Woont in Maastricht, nagevraagd")
    assert m.status == OPEN
    assert m.beslissing.rules == ("handmatig.triage",)
    assert "intake-1" in m.beslissing.reasons[0]
    assert m.beslissing.queue == "maastricht-heuvelland/pga"


def test_a_reroute_overrides_the_rules_and_says_so(systeem, routed):
    m = handel(systeem.app, routed, "reroute", actor="intake-2", zvh="westelijke-mijnstreek", product="via",
               reden="Bekend bij het VIA-team")
    assert (m.beslissing.zvh, m.beslissing.product) == ("westelijke-mijnstreek", "via")
    assert m.beslissing.queue == "westelijke-mijnstreek/via"
    assert m.beslissing.rules == ("handmatig.herrouteerd",)
    assert "in plaats van de regels" in m.beslissing.reasons[0]


def test_top_x_on_a_pga_case_informs_the_driehoek_and_is_scaled_down_by_the_weegtafel(systeem, routed):
    m = handel(systeem.app, routed, "topx-aan", actor="intake-3", reden="Onrust in de wijk")
    assert "top-x" in m.labels and "lokale-driehoek" in m.beslissing.notify
    systeem.bij()
    [review] = [d for d in open_deadlines(systeem.projecties, date.today()) if d["soort"] == "top-x-review"]
    m = handel(systeem.app, routed, "topx-af", actor="weegtafel-voorzitter", reden="Afgeschaald naar PGA")
    assert "top-x" not in m.labels
    systeem.bij()
    assert not [d for d in open_deadlines(systeem.projecties, date.today()) if d["soort"] == "top-x-review"]
    [af] = [e for e in trail(systeem.projecties, str(routed)) if e["gebeurtenis"] == "TopXAf"]
    assert af["details"]["via"] == "weegtafel" and af["actor"] == "weegtafel-voorzitter"
    assert review["vervalt_op"] > date.today().isoformat()


def test_closing_meets_the_deadlines(systeem):
    wvggz = systeem.app.ontvang(line(kenmerk="W-1", bron="gemeente", soort="wvggz", gemeente="Stein",
                                     ontvangen_op="2025-12-25T09:00:00+01:00")).melding_id
    systeem.bij()
    [d] = open_deadlines(systeem.projecties, date(2026, 1, 9))
    assert (d["soort"], d["vervalt_op"], d["te_laat"]) == ("wvggz-termijn", "2026-01-08", True)
    assert open_deadlines(systeem.projecties, date(2026, 1, 8))[0]["te_laat"] is False
    handel(systeem.app, wvggz, "accept", actor="wm", regisseur="B. Smeets")
    handel(systeem.app, wvggz, "close", actor="wm", resultaat="Verkennend onderzoek afgerond")
    systeem.bij()
    assert open_deadlines(systeem.projecties, date(2026, 1, 9)) == []


def test_a_huisverbod_has_its_ten_days_and_a_year_of_regie_after(systeem):
    systeem.app.ontvang(line(kenmerk="H-1", soort="huisverbod", gemeente="Kerkrade",
                             ontvangen_op="2025-06-01T22:00:00+02:00"))
    systeem.bij()
    deadlines = {d["soort"]: d["vervalt_op"] for d in open_deadlines(systeem.projecties, date(2025, 6, 2))}
    assert deadlines == {"huisverbod-einde": "2025-06-11", "regie-na-huisverbod": "2026-06-11"}


@pytest.mark.parametrize(
    ("steps", "illegal", "message"),
    [
        (["close"], "accept", "gesloten"),
        (["accept"], "accept", "in-behandeling"),
        ([], "decide", "open"),
        (["close"], "reroute", "gesloten"),
        (["close"], "return", "gesloten"),
        ([], "topx-off", "not Top X"),
    ],
)
def test_illegal_transitions_are_refused_and_leave_no_event(systeem, routed, steps, illegal, message):
    app = systeem.app
    commands = {
        "accept": lambda: handel(app, routed, "accept", actor="a", regisseur="R"),
        "close": lambda: handel(app, routed, "close", actor="a", resultaat="klaar"),
        "decide": lambda: handel(app, routed, "decide", actor="a", zvh="parkstad", product="pga", reden="r"),
        "reroute": lambda: handel(app, routed, "reroute", actor="a", zvh="parkstad", product="pga", reden="r"),
        "return": lambda: handel(app, routed, "return", actor="a", reden="r"),
        "topx-off": lambda: handel(app, routed, "topx-af", actor="a", reden="r"),
    }
    for step in steps:
        commands[step]()
    before = events_of(systeem, routed)
    with pytest.raises(OngeldigeOvergang, match=message):
        commands[illegal]()
    assert events_of(systeem, routed) == before


def test_a_rejected_melding_cannot_be_rerouted(systeem):
    rejected = systeem.app.ontvang("kapot").melding_id
    with pytest.raises(OngeldigeOvergang, match="rejected at intake"):
        handel(systeem.app, rejected, "reroute", actor="a", zvh="parkstad", product="pga", reden="r")
    assert events_of(systeem, rejected) == 1


@pytest.mark.parametrize(
    ("zvh", "product", "message"),
    [("venlo", "pga", "unknown zvh"), ("parkstad", "koffie", "unknown product")],
)
def test_a_reroute_to_an_unknown_house_or_product_is_refused(systeem, routed, zvh, product, message):
    with pytest.raises(OngeldigeOvergang, match=message):
        handel(systeem.app, routed, "reroute", actor="a", zvh=zvh, product=product, reden="r")


def test_top_x_is_only_for_pga(systeem):
    nazorg = systeem.app.ontvang(line(kenmerk="N-1", bron="dji", soort="detentie-uit")).melding_id
    with pytest.raises(OngeldigeOvergang, match="PGA"):
        handel(systeem.app, nazorg, "topx-aan", actor="a", reden="r")


def test_commands_need_an_actor_and_a_reason(systeem, routed):
    with pytest.raises(OngeldigeOvergang, match="actor"):
        handel(systeem.app, routed, "accept", actor=" ", regisseur="R")
    with pytest.raises(OngeldigeOvergang, match="reden"):
        handel(systeem.app, routed, "return", actor="a", reden="")
    assert systeem.app.melding(routed).status == OPEN


def test_an_unknown_melding_is_a_clear_error(systeem):
    from uuid import uuid4

    with pytest.raises(OnbekendeMelding):
        handel(systeem.app, uuid4(), "accept", actor="a", regisseur="R")


def test_the_audit_trail_shows_return_reroute_and_accept_with_actors_and_reasons(systeem, routed):
    app = systeem.app
    handel(app, routed, "return", actor="zvh-parkstad", reden="Hoort in Maastricht")
    handel(app, routed, "decide", actor="intake-1", zvh="maastricht-heuvelland", product="pga",
           reden="Verhuisd naar Maastricht")
    handel(app, routed, "reroute", actor="intake-2", zvh="maastricht-heuvelland", product="c-en-a",
           reden="Toch geen PGA")
    handel(app, routed, "accept", actor="zvh-mh", regisseur="C. Hermans")
    handel(app, routed, "close", actor="zvh-mh", resultaat="Advies gegeven")
    systeem.bij()
    entries = trail(systeem.projecties, str(routed))
    assert [(e["gebeurtenis"], e["actor"]) for e in entries] == [
        ("MeldingOntvangen", "bron:gemeente"),
        ("MeldingGerouteerd", "regels"),
        ("MeldingTeruggestuurd", "zvh-parkstad"),
        ("TriageBesloten", "intake-1"),
        ("MeldingHergerouteerd", "intake-2"),
        ("MeldingGeaccepteerd", "zvh-mh"),
        ("MeldingGesloten", "zvh-mh"),
    ]
    assert all(e["melding_id"] == str(routed) for e in entries)
    assert entries[1]["ruleset"] == app.ruleset.version and "aanmelding.pga" in entries[1]["rules"]
    assert entries[2]["details"]["reden"] == {"versleuteld": True}
    assert entries[4]["details"]["product"] == "c-en-a" and entries[4]["rules"] == ["handmatig.herrouteerd"]
    assert entries[5]["details"]["regisseur"] == "C. Hermans"
    assert entries[6]["details"]["resultaat"] == {"versleuteld": True}
    notities = app.persoonsgegevens(routed, actor="auditor-1", doel="controle", rol=INTAKE_ROL)["notities"]
    assert [(n["versie"], n.get("reden") or n.get("resultaat")) for n in notities] == [
        (3, "Hoort in Maastricht"), (4, "Verhuisd naar Maastricht"), (5, "Toch geen PGA"), (7, "Advies gegeven"),
    ]
    assert app.melding(routed).status == GESLOTEN


def test_the_audit_trail_holds_no_personal_data(systeem, routed):
    systeem.bij()
    text = str(trail(systeem.projecties, str(routed)))
    for secret in ("123456782", "Testpersoon", "vrije tekst", "1990-05-06"):
        assert secret not in text


def test_a_returned_melding_leaves_triage_when_decided(systeem, routed):
    handel(systeem.app, routed, "return", actor="zvh", reden="r")
    systeem.bij()
    assert len(triage_queue(systeem.projecties)) == 1
    handel(systeem.app, routed, "decide", actor="i", zvh="parkstad", product="c-en-a", reden="r")
    systeem.bij()
    assert triage_queue(systeem.projecties) == []
    assert systeem.app.melding(routed).status == OPEN
    assert TRIAGE not in {r["status"] for r in caseload(systeem.projecties, date.today())}
