"""The intake contract: every breach is an error that names its field, without echoing the value."""

from __future__ import annotations

import json

import pytest

from events.intake import Ongeldig, parse
from tests.conftest import melding


def fields_in_error(raw) -> set[str]:
    with pytest.raises(Ongeldig) as exc:
        parse(raw if isinstance(raw, str) else json.dumps(raw))
    return {e.field for e in exc.value.errors}


def test_a_valid_melding_parses_with_age_at_receipt():
    m = parse(json.dumps(melding(ontvangen_op="2025-05-06T09:00:00+02:00")))
    assert m.leeftijd == 35
    assert m.feiten().leeftijd == 35


def test_age_turns_on_the_birthday_not_the_day_after():
    m = parse(json.dumps(melding(ontvangen_op="2025-05-05T23:59:00+02:00")))
    assert m.leeftijd == 34


def test_routing_date_is_the_dutch_calendar_day():
    # 23:30 UTC on 31 December is already 1 January in the Netherlands.
    m = parse(json.dumps(melding(ontvangen_op="2025-12-31T23:30:00Z")))
    assert m.routing_date.isoformat() == "2026-01-01"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"soort": "onbekend"}, "soort"),
        ({"bron": "buurman"}, "bron"),
        ({"ontvangen_op": "gisteren"}, "ontvangen_op"),
        ({"ontvangen_op": "04-03-2025 10:00"}, "ontvangen_op"),
        ({"ontvangen_op": "2025-03-04T10:00:00"}, "ontvangen_op"),  # no zone
        ({"ontvangen_op": 1741078800}, "ontvangen_op"),
        ({"kenmerk": ""}, "kenmerk"),
        ({"persoon": {"geboortedatum": "2030-01-01"}}, "persoon.geboortedatum"),
        ({"persoon": {"geboortedatum": "6 mei 1990"}}, "persoon.geboortedatum"),
        ({"persoon": {"bsn": "123456789"}}, "persoon.bsn"),
        ({"persoon": {"bsn": "12345"}}, "persoon.bsn"),
        ({"signalen": {"bollenmodel": "V"}}, "signalen.bollenmodel"),
        ({"signalen": {"hic": "misschien"}}, "signalen.hic"),
        ({"signalen": {"leefgebieden": ["wonen", "iets onbekends"]}}, "signalen.leefgebieden"),
        ({"signalen": {"ketens": ["zorg", "iets onbekends"]}}, "signalen.ketens"),
        ({"signalen": {"delict": "iets onbekends"}}, "signalen.delict"),
        # security: a 900 KB list item was accepted and stored in the clear (signal lists are bounded)
        ({"signalen": {"leefgebieden": ["x" * 900_000]}}, "signalen.leefgebieden"),
        ({"signalen": {"ketens": ["zorg"] * 1_000}}, "signalen.ketens"),
        # A key the contract does not know is never named: it may be a name or a BSN.
        ({"onbekend_veld": 1}, "(onbekend veld)"),
    ],
)
def test_each_breach_names_its_field(change, field):
    assert field in fields_in_error(melding(**change))


def test_missing_required_fields_are_all_named():
    raw = melding()
    for key in ("bron", "soort", "kenmerk", "ontvangen_op"):
        del raw[key]
    assert fields_in_error(raw) >= {"bron", "soort", "kenmerk", "ontvangen_op"}


def test_birth_date_after_receipt_is_an_error_on_the_birth_date():
    with pytest.raises(Ongeldig) as exc:
        parse(json.dumps(melding(ontvangen_op="2025-03-04T10:00:00+01:00", persoon={"geboortedatum": "2025-03-05"})))
    assert [e.field for e in exc.value.errors] == ["persoon.geboortedatum"]


@pytest.mark.parametrize("raw", ["{", "not json", "[1, 2]", '"tekst"', "\xff\xfe"])
def test_text_that_is_no_json_object_is_an_error_on_the_melding(raw):
    assert fields_in_error(raw) == {"melding"}


def test_errors_never_echo_personal_data():
    raw = melding(persoon={"bsn": "111222333", "naam": "Geheime Naam", "geboortedatum": "2099-01-01"})
    raw["toelichting"] = 12345
    with pytest.raises(Ongeldig) as exc:
        parse(json.dumps(raw))
    text = str(exc.value) + json.dumps([e.model_dump() for e in exc.value.errors])
    for secret in ("111222333", "Geheime Naam", "2099", "12345"):
        assert secret not in text
