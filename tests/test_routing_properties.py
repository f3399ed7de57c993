"""Properties of the evaluator over any valid `Feiten` (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from routing import Beslissing, Feiten, load_ruleset, resolve

RULESET = load_ruleset()

SOORTEN = ["via", "zsm-buikpijn", "vt-routeertafel", "detentie-in", "detentie-uit", "art18",
           "aanmelding", "wvggz", "huisverbod", "mensenhandel", "radicalisering", "jpp"]
BRONNEN = ["politie", "zsm", "veilig-thuis", "dji", "gemeente", "om", "reclassering", "ketenpartner"]
GEMEENTEN = ["Heerlen", "Kerkrade", "Beekdaelen", "Schinnen", "Nuth", "Sittard-Geleen", "Stein",
             "Beek", "Maastricht", "Vaals", "Eijsden-Margraten", "Venlo", "Echt-Susteren",
             "Amsterdam", "Bergen", "Hoensbroek", "Geleen", "Valkenburg"]
WOORDEN = ["wonen", "financien", "psychisch", "verstandelijke-beperking", "verslaving", "zorg",
           "straf", "veiligheid"]


def _text_or(choices: list[str]):
    return st.one_of(st.sampled_from(choices), st.text(max_size=20))


feiten = st.builds(
    Feiten,
    soort=_text_or(SOORTEN),
    bron=_text_or(BRONNEN),
    datum=st.one_of(st.dates(date(1975, 1, 1), date(2030, 12, 31)), st.dates()),
    gemeente=st.one_of(st.none(), _text_or(GEMEENTEN)),
    leeftijd=st.one_of(st.none(), st.integers(-5, 130)),
    leefgebieden=st.frozensets(_text_or(WOORDEN), max_size=4),
    ketens=st.frozensets(_text_or(WOORDEN), max_size=4),
    dwang_drang=st.booleans(),
    impact_omgeving=st.booleans(),
    ernstig_veiligheidsprobleem=st.booleans(),
    maatschappelijke_onrust=st.booleans(),
    bollenmodel=st.one_of(st.none(), _text_or(["I", "II", "III", "IV", "iii"])),
    delict=st.one_of(st.none(), _text_or(["zeden", "zwaar-geweld", "tbs", "diefstal"])),
    hic=st.booleans(),
    veelpleger=st.booleans(),
    kinderen_betrokken=st.booleans(),
    verzoek_beschermingstafel=st.booleans(),
)


@settings(max_examples=1500, deadline=None)
@given(feiten)
def test_every_valid_feiten_gets_exactly_one_decision_with_an_allowed_outcome(f: Feiten) -> None:
    b = RULESET.decide(f)
    assert isinstance(b, Beslissing)
    assert b.outcome in ("routed", "triage", "doorverwijzen")
    assert b.ruleset == RULESET.version
    assert b.rules and b.reasons
    if b.outcome == "routed":
        assert b.zvh in ("parkstad", "westelijke-mijnstreek", "maastricht-heuvelland")
        assert b.product and b.queue and "/" in b.queue
    else:
        assert b.product is None and b.labels == () and b.deadline is None
        assert b.queue == f"loket/{b.outcome}"
    if b.outcome == "doorverwijzen":
        assert b.zvh is None
    b.as_contract()  # serialisable


@settings(max_examples=400, deadline=None)
@given(feiten)
def test_explain_agrees_with_decide(f: Feiten) -> None:
    assert RULESET.explain(f).beslissing == RULESET.decide(f)


@settings(max_examples=300, deadline=None)
@given(feiten)
def test_the_house_is_the_residence_house_on_the_routing_date(f: Feiten) -> None:
    b = RULESET.decide(f)
    uitslag = resolve(f.gemeente, f.datum)
    if b.outcome == "routed":
        assert b.zvh == uitslag.zvh
    if uitslag.kind == "buiten-regio":
        assert b.outcome == "doorverwijzen"
    if uitslag.kind == "onbekend":
        assert (b.outcome, b.zvh) == ("triage", None)


@given(st.sampled_from(GEMEENTEN), st.lists(st.sampled_from([str.upper, str.lower, str.title,
                                                             lambda s: f"  {s} ",
                                                             lambda s: s.replace("-", " ")]),
                                            max_size=3),
       st.dates(date(2000, 1, 1), date(2030, 12, 31)))
def test_spelling_variants_of_a_name_resolve_alike(naam: str, variaties, op: date) -> None:
    variant = naam
    for variatie in variaties:
        variant = variatie(variant)
    assert resolve(variant, op) == resolve(naam, op)


# A melding and a near-twin: the same facts with a few fields changed. Deciding the first warms
# the decision memo; the twin must still get the decision the full evaluation gives (explain
# evaluates every table, without the memo), whether or not the changed fields are read.
tweeling = st.fixed_dictionaries({}, optional={
    "datum": st.dates(date(2018, 1, 1), date(2027, 12, 31)),
    "gemeente": st.one_of(st.none(), st.sampled_from(GEMEENTEN)),
    "leeftijd": st.one_of(st.none(), st.integers(0, 90)),
    "bron": st.sampled_from(BRONNEN),
    "leefgebieden": st.frozensets(st.sampled_from(WOORDEN), max_size=4),
    "ketens": st.frozensets(st.sampled_from(WOORDEN), max_size=4),
    "dwang_drang": st.booleans(), "impact_omgeving": st.booleans(),
    "ernstig_veiligheidsprobleem": st.booleans(), "maatschappelijke_onrust": st.booleans(),
    "bollenmodel": st.sampled_from([None, "I", "III"]),
    "delict": st.sampled_from([None, "zeden", "diefstal", ""]), "hic": st.booleans(),
    "veelpleger": st.booleans(), "kinderen_betrokken": st.booleans(),
    "verzoek_beschermingstafel": st.booleans(),
})


@settings(max_examples=800, deadline=None)
@given(feiten, tweeling)
def test_a_near_twin_after_a_decided_melding_gets_the_fully_evaluated_decision(f: Feiten,
                                                                                wijziging) -> None:
    twin = replace(f, **wijziging)
    RULESET.decide(f)
    assert RULESET.decide(twin) == RULESET.explain(twin).beslissing
    assert RULESET.decide(f) == RULESET.explain(f).beslissing


# Every fact of a realistic melding changed in turn, over the values where the rules change
# their mind: whatever the decision memo remembers from the melding, each variant gets the
# decision of the full evaluation.
GRENSWAARDEN = {
    "soort": SOORTEN + ["onbekend"],
    "bron": BRONNEN,
    "datum": [date(2018, 6, 1), date(2019, 7, 31), date(2019, 8, 1), date(2019, 12, 31),
              date(2020, 1, 1), date(2020, 10, 1), date(2024, 7, 31), date(2024, 8, 1),
              date(2024, 12, 31), date(2025, 1, 1),
              date(2026, 12, 31), date(2027, 1, 1)],
    "gemeente": [None, "Schinnen", "Venlo", "Atlantis", "Heerlen", "Stein", "Sittard-Geleen",
                 "Maastricht", "Kerkrade"],
    "leeftijd": [None, 7, 8, 17, 18, 27, 28, 60],
    "leefgebieden": [frozenset(), frozenset({"psychisch"}), frozenset({"psychisch", "wonen"}),
                     frozenset({"verstandelijke-beperking"})],
    "ketens": [frozenset(), frozenset({"zorg"}), frozenset({"zorg", "straf"})],
    "bollenmodel": [None, "II", "III", "IV"],
    "delict": [None, "zeden", "tbs", "diefstal"],
    **{signaal: [False, True] for signaal in ("dwang_drang", "impact_omgeving",
                                              "ernstig_veiligheidsprobleem",
                                              "maatschappelijke_onrust", "hic", "veelpleger",
                                              "kinderen_betrokken", "verzoek_beschermingstafel")},
}


def test_changing_any_one_fact_after_a_decision_gives_the_fully_evaluated_decision() -> None:
    from events.intake import parse
    from loket.synthetic import jaar

    ruleset = load_ruleset()  # its own memo, warmed by this test only
    bases = [parse(line).feiten() for line in list(jaar(2025, 4, 0.05))[::2] if '"onbekend"'
             not in line and "gisteren" not in line and line.endswith("}")][:120]
    checked = 0
    for base in bases:
        ruleset.decide(base)
        for veld, waarden in GRENSWAARDEN.items():
            for waarde in waarden:
                variant = replace(base, **{veld: waarde})
                assert ruleset.decide(variant) == ruleset.explain(variant).beslissing, (veld, variant)
                checked += 1
    assert checked > 5_000
