"""The decision as a value: how it is stored, read back and compared."""

from __future__ import annotations

import json
from datetime import date

from events.melding import Melding
from routing.decision import Beslissing
from tests.conftest import line

WVGGZ = Beslissing(outcome="routed", zvh="westelijke-mijnstreek", product="wvggz", gemeente="Sittard-Geleen",
                   queue="westelijke-mijnstreek/wvggz", deadline=date(2025, 3, 18), ruleset="zl-routing@a",
                   rules=("wvggz.verkennend-onderzoek",), reasons=("Wvggz-melding: verkennend onderzoek.",))


def test_a_decision_is_stored_in_the_shape_of_the_contract_and_read_back_as_the_same_value(app):
    ontvangst = app.ontvang(line(kenmerk="D-1", soort="wvggz", gemeente="Sittard-Geleen", signalen={}))
    [gerouteerd] = [n for n in app.recorder.select_notifications(start=1, limit=10)
                    if n.topic.endswith(".MeldingGerouteerd")]
    stored = json.loads(gerouteerd.state)
    assert stored["class_version"] == 2
    assert stored["beslissing"] == {"_type_": "beslissing", "_data_": ontvangst.beslissing.as_contract()}
    assert stored["beslissing"]["_data_"]["deadline"] == ontvangst.beslissing.deadline.isoformat()
    read = app.mapper.to_domain_event(gerouteerd)
    assert isinstance(read, Melding.MeldingGerouteerd) and read.beslissing == ontvangst.beslissing


def test_a_decision_stored_as_a_plain_object_reads_as_the_value_it_was_made_from():
    assert Beslissing.van(WVGGZ.as_contract()) == WVGGZ
    assert Beslissing.van(WVGGZ) is WVGGZ
    older = {k: v for k, v in WVGGZ.as_contract().items() if k != "gemeente"}  # before decisions named one
    assert Beslissing.van(older) == WVGGZ.model_copy(update={"gemeente": None})


def test_two_decisions_differ_where_they_put_the_melding_not_in_why():
    why = WVGGZ.model_copy(update={"ruleset": "zl-routing@b", "rules": ("x",), "reasons": ("anders",)})
    assert WVGGZ.verschil(why) == ()
    elsewhere = WVGGZ.model_copy(update={"zvh": "parkstad", "queue": "parkstad/wvggz", "deadline": None})
    assert WVGGZ.verschil(elsewhere) == ("zvh", "queue", "deadline")
    assert WVGGZ.verschil(WVGGZ.model_copy(update={"labels": ("top-x",)})) == ("labels",)
