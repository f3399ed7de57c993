"""The whole path, from JSON text to decision (hypothesis): every valid melding gets exactly one
decision and never an exception; any other input is answered with a rejection, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.application import Loket
from events.intake import BRONNEN, SOORTEN
from routing import load_ruleset
from routing.signalen import vocabulaires
from routing.tijd import NL as AMSTERDAM

RULESET = load_ruleset()
GEMEENTEN = ["Heerlen", "Kerkrade", "Beekdaelen", "Schinnen", "Nuth", "Sittard-Geleen", "Stein",
             "Maastricht", "Eijsden", "Venlo", "Bergen", "'s-Hertogenbosch", "GULPEN-WITTEM"]
VOCAB = vocabulaires()


def _gespeld(naam: str):
    """A word of the vocabulary `naam` (id or synonym) as a partner might write it."""
    woorden = [woord for w in VOCAB[naam].waarden for woord in (w.id, *w.synoniemen)]
    spelling = st.sampled_from([str, str.upper, str.title, lambda s: f" {s} ",
                                lambda s: s.replace("-", " ")])
    return st.tuples(st.sampled_from(woorden), spelling).map(lambda t: t[1](t[0]))
ZONES = [UTC, AMSTERDAM, ZoneInfo("America/Curacao"), timezone(timedelta(hours=14)),
         timezone(timedelta(hours=-12))]

tekst = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
zonder_stuurtekens = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1,
                             max_size=100)


def _bsn(digits: list[int]) -> str | None:
    rest = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
    return "".join(map(str, digits)) + str(rest) if rest < 10 else None


@st.composite
def geldige_melding(draw) -> dict:
    moment = draw(st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30),
                               timezones=st.sampled_from(ZONES)))
    routing_date = moment.astimezone(AMSTERDAM).date()
    born = draw(st.none() | st.dates(date(1, 1, 1), routing_date))
    bsn = draw(st.none() | st.lists(st.integers(0, 9), min_size=8, max_size=8).map(_bsn))
    return {
        "bron": draw(st.sampled_from(BRONNEN)),
        "soort": draw(st.sampled_from(SOORTEN)),
        "kenmerk": draw(zonder_stuurtekens),
        "ontvangen_op": moment.isoformat(),
        "gemeente": draw(st.none() | st.sampled_from(GEMEENTEN) | tekst),
        "persoon": {"bsn": bsn, "naam": draw(st.none() | tekst),
                    "geboortedatum": born.isoformat() if born else None},
        "signalen": {
            "leefgebieden": draw(st.lists(_gespeld("leefgebieden"), max_size=VOCAB.max_items)),
            "ketens": draw(st.lists(_gespeld("ketens"), max_size=6)),
            "dwang_drang": draw(st.booleans()),
            "impact_omgeving": draw(st.booleans()),
            "ernstig_veiligheidsprobleem": draw(st.booleans()),
            "maatschappelijke_onrust": draw(st.booleans()),
            "bollenmodel": draw(st.sampled_from([None, "I", "II", "III", "IV"])),
            "delict": draw(st.none() | _gespeld("delict") | st.just("  ")),
            "hic": draw(st.booleans()),
            "veelpleger": draw(st.booleans()),
            "kinderen_betrokken": draw(st.booleans()),
            "verzoek_beschermingstafel": draw(st.booleans()),
        },
        "toelichting": draw(st.none() | tekst),
    }


def _loket() -> Loket:
    return Loket.in_geheugen(RULESET)


LOKET = _loket()


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geldige_melding())
def test_every_valid_melding_gets_exactly_one_decision_and_never_an_exception(melding: dict) -> None:
    beoordeling = LOKET.beoordeel(json.dumps(melding))
    assert beoordeling.melding is not None, beoordeling.beslissing.errors
    b = beoordeling.beslissing
    assert b.outcome in ("routed", "triage", "doorverwijzen")
    assert b.ruleset == RULESET.version and b.rules and b.reasons
    json.dumps(b.as_contract())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(geldige_melding())
def test_a_valid_melding_received_is_stored_with_exactly_one_decision_event(melding: dict) -> None:
    app = _loket()
    [ontvangst] = app.ontvang_batch([json.dumps(melding)])
    assert ontvangst.status == "nieuw"
    events = list(app.repository.event_store.get(ontvangst.melding_id))
    assert [type(e).__name__ for e in events][0] == "MeldingOntvangen"
    # The decision, then a task for each party it names to inform (the burgemeester, the driehoek).
    besluit, *taken = events[1:]
    assert type(besluit).__name__ in ("MeldingGerouteerd", "MeldingInTriage", "MeldingDoorverwezen")
    assert [e.partij for e in taken if type(e).__name__ == "InformerenGevraagd"] == list(ontvangst.beslissing.notify)
    assert len(taken) == len(ontvangst.beslissing.notify)
    assert app.melding(ontvangst.melding_id).beslissing == ontvangst.beslissing


json_waarden = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | tekst,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tekst, inner, max_size=3),
    max_leaves=8)


# any moment the calendar has, in any of the zones: at its edges the Dutch date may not exist
momenten = st.datetimes(timezones=st.sampled_from(ZONES)).map(datetime.isoformat)


@st.composite
def bijna_een_melding(draw) -> dict:
    """A valid melding with some fields replaced by any JSON value: most of it is invalid."""
    melding = draw(geldige_melding())
    for veld in draw(st.lists(st.sampled_from([*melding, "onbekend"]), max_size=3)):
        melding[veld] = draw(momenten if veld == "ontvangen_op" else json_waarden)
    return melding


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bijna_een_melding() | json_waarden)
def test_any_json_gets_one_answer_a_decision_or_a_rejection_with_errors(raw) -> None:
    beoordeling = LOKET.beoordeel(json.dumps(raw))
    b = beoordeling.beslissing
    if beoordeling.melding is None:
        assert b.outcome == "rejected" and b.errors
        assert all(e["field"] and e["message"] for e in b.errors)
    else:
        assert b.outcome in ("routed", "triage", "doorverwijzen")
    json.dumps(b.as_contract())


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-05:00"])
def test_a_moment_whose_dutch_date_falls_off_the_calendar_is_rejected_not_a_crash(moment) -> None:
    b = LOKET.beoordeel(json.dumps({"bron": "politie", "soort": "via", "kenmerk": "K-1",
                                    "ontvangen_op": moment, "gemeente": "Heerlen"})).beslissing
    assert b.outcome == "rejected"
    assert [e["field"] for e in b.errors] == ["ontvangen_op"]
