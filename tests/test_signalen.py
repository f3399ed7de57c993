"""The signal vocabularies (routing/data/signalen.yaml) and how the intake contract reads them.

One leefgebied is one leefgebied however it is spelled; an unknown value is refused with the
known ids and never echoed; a refused melding is still recorded; the lists are bounded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.intake import Ongeldig, parse
from events.melding import AfgewezenMelding
from routing import load_ruleset
from routing.signalen import VELDEN, VocabulaireFout, laad, sleutel, vocabulaires
from tests.conftest import INTAKE_ROL, line, melding

VOCAB = vocabulaires()
LIJSTEN = ("leefgebieden", "ketens")


def woorden(naam: str) -> list[tuple[str, str]]:
    """(word, id) for every id and synonym of a vocabulary."""
    return [(woord, w.id) for w in VOCAB[naam].waarden for woord in (w.id, *w.synoniemen)]


def signalen_fouten(signalen: dict) -> list[tuple[str, str]]:
    with pytest.raises(Ongeldig) as exc:
        parse(json.dumps(melding(signalen=signalen)))
    return [(e.field, e.message) for e in exc.value.errors]


# -- the normaliser (hypothesis) --------------------------------------------------------------

ACCENTEN = str.maketrans({"e": "é", "a": "á", "i": "ï", "o": "ö", "u": "ü"})
VARIATIES = [str.upper, str.lower, str.title, str.capitalize, lambda s: f"  {s}\t",
             lambda s: s.replace("-", " "), lambda s: s.replace(" ", "_"),
             lambda s: s.replace("-", "  -  "), lambda s: s.translate(ACCENTEN)]
alle_woorden = st.sampled_from([(naam, woord, id_) for naam in VELDEN for woord, id_ in woorden(naam)])


@given(alle_woorden, st.lists(st.sampled_from(VARIATIES), max_size=4))
def test_any_spelling_of_an_id_or_synonym_reads_as_its_id(gekozen, variaties) -> None:
    naam, woord, id_ = gekozen
    for variatie in variaties:
        woord = variatie(woord)
    assert VOCAB[naam].lees(woord) == id_


@given(st.text())
def test_the_key_is_idempotent_and_plain(tekst: str) -> None:
    key = sleutel(tekst)
    assert sleutel(key) == key
    assert set(key) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert not key.startswith("-") and not key.endswith("-") and "--" not in key


@given(st.sampled_from(LIJSTEN).flatmap(
    lambda naam: st.tuples(st.just(naam), st.lists(st.sampled_from([w for w, _ in woorden(naam)]),
                                                   max_size=VOCAB.max_items))))
def test_a_list_reads_as_distinct_ids_in_first_order_and_reading_again_changes_nothing(gekozen) -> None:
    naam, lijst = gekozen
    ids = VOCAB.lees_lijst(naam, lijst)
    assert len(ids) == len(set(ids)) <= len(lijst)
    assert ids == tuple(dict.fromkeys(VOCAB[naam].lees(w) for w in lijst))
    assert VOCAB.lees_lijst(naam, list(ids)) == ids


@settings(max_examples=300)
@given(st.sampled_from(VELDEN), st.text(min_size=1, max_size=VOCAB.max_lengte))
def test_an_unknown_value_is_refused_with_the_known_ids_and_never_echoed(naam: str, tekst: str) -> None:
    if not tekst.strip() or VOCAB[naam].lees(tekst) is not None:
        return
    bekend = "known: " + ", ".join(VOCAB[naam].ids)
    with pytest.raises(ValueError) as exc:
        if naam == "delict":
            VOCAB.lees_waarde(naam, tekst)
        else:
            VOCAB.lees_lijst(naam, [VOCAB[naam].ids[0], tekst])
    # the message is made of a position and the known ids only
    expected = (f"is not a known delict; {bekend}" if naam == "delict"
                else f"item 2 is not a known {VOCAB[naam].enkelvoud}; {bekend}")
    assert str(exc.value) == expected


# -- the vocabulary file ------------------------------------------------------------------------


def test_every_value_has_a_dutch_label_and_a_source() -> None:
    for naam in VELDEN:
        for waarde in VOCAB[naam].waarden:
            assert waarde.label.strip() and waarde.bron.strip(), waarde.id


def test_the_words_the_rules_use_are_ids_of_the_vocabularies() -> None:
    ruleset = load_ruleset()
    for rule in ruleset.rules():
        als = rule.als
        for naam, values in (("leefgebieden", als.leefgebieden_bevat), ("ketens", als.ketens_bevat),
                             ("delict", als.delict)):
            for value in values or ():
                assert value in VOCAB[naam].ids, (rule.id, value)


@pytest.mark.parametrize(("change", "message"), [
    (("id: wonen\n", "id: Wonen\n"), "is not in its own reading"),
    (("synoniemen: [schulden,", "synoniemen: [wonen, schulden,"), "already stands for 'wonen'"),
    (("      label: Wonen en onderdak\n", ""), "needs an id, a label and a bron"),
    (("  max_items: 20", "  max_items: veel"), "grenzen needs max_items"),
])
def test_an_inconsistent_vocabulary_file_is_refused_naming_the_entry(tmp_path: Path, change, message) -> None:
    text = (Path(__file__).parents[1] / "routing" / "data" / "signalen.yaml").read_text(encoding="utf-8")
    old, new = change
    assert old in text
    path = tmp_path / "signalen.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(VocabulaireFout, match=message):
        laad(path)


# -- the intake contract ------------------------------------------------------------------------


def test_wonen_written_twice_in_two_spellings_counts_as_one_leefgebied() -> None:
    m = parse(json.dumps(melding(signalen={"leefgebieden": ["Wonen", "wonen", " WONEN "],
                                           "ketens": ["Zorg", "zorg"]})))
    assert m.signalen.leefgebieden == ("wonen",)
    assert m.feiten().leefgebieden == frozenset({"wonen"})
    assert m.signalen.ketens == ("zorg",)


def test_a_case_with_one_leefgebied_spelled_twice_does_not_meet_the_landelijke_criteria() -> None:
    signalen = {"leefgebieden": ["Wonen", "wonen"], "ketens": ["zorg", "straf"],
                "dwang_drang": True, "impact_omgeving": True}
    b = load_ruleset().decide(parse(json.dumps(melding(gemeente="Maastricht", signalen=signalen))).feiten())
    assert b.product == "c-en-a"


@pytest.mark.parametrize("delict", ["zedendelict", "Zedenmisdrijf", "ZEDEN", "zeden "])
def test_a_delict_written_zedendelict_reads_as_zeden_and_meets_the_art18_rule(delict) -> None:
    m = parse(json.dumps(melding(soort="art18", bron="dji", gemeente="Brunssum",
                                 signalen={"delict": delict})))
    assert m.signalen.delict == "zeden"
    b = load_ruleset().decide(m.feiten())
    assert (b.product, b.notify) == ("bij", ("burgemeester",))


@pytest.mark.parametrize("veld", LIJSTEN)
def test_an_unknown_signal_value_is_an_error_on_its_field_listing_the_known_ids(veld) -> None:
    geheim = "Jan Jansen 123456782"
    [(field, message)] = signalen_fouten({veld: ["zorg" if veld == "ketens" else "wonen", geheim]})
    assert field == f"signalen.{veld}"
    assert message.startswith("item 2 is not a known")
    assert all(i in message for i in VOCAB[veld].ids)
    assert geheim not in message and "Jansen" not in message


def test_an_unknown_delict_is_an_error_on_the_delict_listing_the_known_ids() -> None:
    [(field, message)] = signalen_fouten({"delict": "moord op Jan Jansen"})
    assert field == "signalen.delict"
    assert "zeden, zwaar-geweld, tbs" in message and "Jansen" not in message


@pytest.mark.parametrize("veld", LIJSTEN)
def test_a_signal_list_item_of_900_kb_is_refused_without_echoing_it(veld) -> None:
    """A 900 KB list item was once stored in the clear: items are bounded in length."""
    [(field, message)] = signalen_fouten({veld: ["x" * 900_000]})
    assert (field, message) == (f"signalen.{veld}", "item 1 is longer than 60 characters")


@pytest.mark.parametrize("veld", LIJSTEN)
def test_a_signal_list_is_bounded_in_length(veld) -> None:
    woord = "wonen" if veld == "leefgebieden" else "zorg"
    [(field, message)] = signalen_fouten({veld: [woord] * (VOCAB.max_items + 1)})
    assert field == f"signalen.{veld}" and f"at most {VOCAB.max_items}" in message
    parse(json.dumps(melding(signalen={veld: [woord] * VOCAB.max_items})))  # the bound itself is fine


@pytest.mark.parametrize("waarde", ["wonen", 3, [["wonen"]], {"wonen": True}])
def test_a_signal_list_of_another_shape_is_refused(waarde) -> None:
    [(field, _)] = signalen_fouten({"leefgebieden": waarde})
    assert field == "signalen.leefgebieden"


def test_a_melding_with_an_unknown_signal_is_recorded_as_rejected_and_the_rest_of_the_batch_kept(app) -> None:
    onbekend = melding(kenmerk="S-2", signalen={"leefgebieden": ["wonen", "Jan Jansen"]})
    results = app.ontvang_batch([line(kenmerk="S-1"), json.dumps(onbekend), line(kenmerk="S-3")])
    assert [r.status for r in results] == ["nieuw", "afgewezen", "nieuw"]
    stored = app.melding(results[1].melding_id)
    assert isinstance(stored, AfgewezenMelding)
    assert (stored.bron, stored.kenmerk) == ("gemeente", "S-2")
    assert [e["field"] for e in stored.errors] == ["signalen.leefgebieden"]
    assert "Jan Jansen" not in json.dumps(stored.errors)
    payload = app.persoonsgegevens(results[1].melding_id, actor="tester", doel="controle", rol=INTAKE_ROL)["payload"]
    assert json.loads(payload) == onbekend  # nothing lost: the whole melding, sealed


def test_a_melding_is_stored_with_the_ids_it_was_read_as(app) -> None:
    ontvangst = app.ontvang(line(kenmerk="S-4", signalen={"leefgebieden": ["Wonen", "Financiën"],
                                                          "ketens": ["ZORG"], "delict": "Inbraak"}))
    stored = app.melding(ontvangst.melding_id)
    assert stored.signalen["leefgebieden"] == ["wonen", "financien"]
    assert (stored.signalen["ketens"], stored.signalen["delict"]) == (["zorg"], "woninginbraak")


def test_a_stored_melding_with_a_value_an_older_contract_accepted_can_still_be_decided_again(app) -> None:
    """History stays readable: a value this vocabulary does not know counts as itself."""
    ontvangst = app.ontvang(line(kenmerk="S-5"))
    stored = app.melding(ontvangst.melding_id)
    stored.signalen = {**stored.signalen, "leefgebieden": ["Wonen", "iets van vroeger"],
                       "delict": "iets anders"}
    feiten = stored.feiten()
    assert feiten.leefgebieden == frozenset({"wonen", "iets van vroeger"})
    assert feiten.delict == "iets anders"
    assert app.ruleset.decide(feiten).outcome == "routed"


def test_the_demo_year_only_sends_words_the_vocabularies_know() -> None:
    """loket/synthetic.py spells some ids the way partners do; none is refused for its signals."""
    from loket.synthetic import jaar

    velden: set[str] = set()
    gelezen = 0
    for raw in jaar(2025, seed=3, scale=0.3):
        try:
            melding = parse(raw)
        except Ongeldig as exc:
            velden |= {e.field for e in exc.errors}
            continue
        gelezen += 1
        for naam in LIJSTEN:
            assert set(getattr(melding.signalen, naam)) <= set(VOCAB[naam].ids)
    assert gelezen > 1_500
    assert not any(veld.startswith("signalen") for veld in velden)


def test_docs_signalen_lists_every_word_of_the_vocabularies() -> None:
    """docs/signalen.md is the readable vocabulary: a row per id, as routing/data/signalen.yaml has it."""
    doc = (Path(__file__).parents[1] / "docs" / "signalen.md").read_text(encoding="utf-8")
    for naam in VELDEN:
        for w in VOCAB[naam].waarden:
            row = f"| `{w.id}` | {w.label} | {', '.join(w.synoniemen) or '-'} | {w.routering or '-'} |"
            assert row in doc, row
