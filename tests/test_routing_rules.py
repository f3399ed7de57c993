"""The Zuid-Limburg routing policy (routing/rules/*.yaml), rule by rule and edge by edge."""

from __future__ import annotations

from datetime import date

import pytest

from routing import Beslissing, Feiten, load_ruleset

RULESET = load_ruleset()
D2025 = date(2025, 6, 1)

# Landelijke criteria (a): more than one leefgebied, two ketens, dwang en drang, impact.
CRITERIA_A = dict(leefgebieden=frozenset({"wonen", "psychisch"}), ketens=frozenset({"zorg", "straf"}),
                  dwang_drang=True, impact_omgeving=True)


def melding(soort: str = "aanmelding", gemeente: str | None = "Heerlen", datum: date = D2025,
            leeftijd: int | None = 35, bron: str = "gemeente", **signalen) -> Feiten:
    return Feiten(soort=soort, bron=bron, datum=datum, gemeente=gemeente, leeftijd=leeftijd,
                  **signalen)


def decide(**kwargs) -> Beslissing:
    return RULESET.decide(melding(**kwargs))


def assert_routed(b: Beslissing, zvh: str, product: str, queue: str | None = None) -> None:
    assert (b.outcome, b.zvh, b.product) == ("routed", zvh, product)
    assert b.queue == (queue or f"{zvh}/{product}")


def assert_triage(b: Beslissing, zvh: str | None) -> None:
    assert (b.outcome, b.zvh, b.product, b.queue) == ("triage", zvh, None, "loket/triage")
    assert b.reasons


# -- gemeente first ---------------------------------------------------------------------------


@pytest.mark.parametrize("gemeente", [None, "", "   "])
def test_melding_without_gemeente_goes_to_triage_without_a_house(gemeente) -> None:
    b = decide(gemeente=gemeente, **CRITERIA_A)
    assert_triage(b, None)
    assert b.rules == ("gemeente.ontbreekt",)


@pytest.mark.parametrize("gemeente", ["Atlantis", "Bergen", "Heerlen-Zuid"])
def test_melding_from_an_unknown_gemeente_goes_to_triage_not_to_a_guessed_house(gemeente) -> None:
    b = decide(gemeente=gemeente, **CRITERIA_A)
    assert_triage(b, None)
    assert b.rules == ("gemeente.onbekend",)
    assert any(gemeente in r for r in b.reasons)


@pytest.mark.parametrize(
    ("gemeente", "regio"),
    [("Venlo", "Noord-Limburg"), ("Echt-Susteren", "Midden-Limburg"), ("Roermond", "Midden-Limburg"),
     ("Amsterdam", "Amsterdam-Amstelland"), ("'s-Hertogenbosch", "Brabant-Noord")],
)
def test_melding_from_outside_zuid_limburg_is_referred_to_that_region(gemeente, regio) -> None:
    for soort in ("aanmelding", "via", "detentie-uit", "wvggz"):
        b = decide(soort=soort, gemeente=gemeente, **CRITERIA_A)
        assert (b.outcome, b.zvh, b.product, b.queue) == (
            "doorverwijzen", None, None, "loket/doorverwijzen")
        assert b.labels == () and b.notify == () and b.deadline is None
        assert any(regio in r for r in b.reasons)


@pytest.mark.parametrize("gemeente", ["HEERLEN", "heerlen", " Heerlen ", "Gemeente Heerlen"])
def test_gemeente_names_are_matched_case_insensitively(gemeente) -> None:
    assert_routed(decide(gemeente=gemeente, **CRITERIA_A), "parkstad", "pga")


@pytest.mark.parametrize(
    ("gemeente", "datum", "zvh"),
    [
        ("Schinnen", date(2018, 6, 1), "westelijke-mijnstreek"),
        ("Schinnen", date(2018, 12, 31), "westelijke-mijnstreek"),
        ("Schinnen", date(2019, 1, 1), "parkstad"),
        ("Schinnen", date(2020, 6, 1), "parkstad"),
        ("Nuth", date(2018, 6, 1), "parkstad"),
        ("Onderbanken", date(2018, 6, 1), "parkstad"),
        ("Beekdaelen", date(2019, 1, 1), "parkstad"),
    ],
)
def test_beekdaelen_merger_routes_by_the_house_on_the_routing_date(gemeente, datum, zvh) -> None:
    assert_routed(decide(gemeente=gemeente, datum=datum, **CRITERIA_A), zvh, "pga")


def test_schinnen_after_the_merger_says_it_is_part_of_beekdaelen() -> None:
    b = decide(gemeente="Schinnen", datum=date(2020, 6, 1), **CRITERIA_A)
    assert any("Beekdaelen" in r and "Schinnen" in r for r in b.reasons)


def test_beekdaelen_before_the_merger_is_unknown() -> None:
    assert_triage(decide(gemeente="Beekdaelen", datum=date(2018, 6, 1)), None)


# -- landelijke criteria: aanmelding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("signalen", "product"),
    [
        (CRITERIA_A, "pga"),
        ({"ernstig_veiligheidsprobleem": True}, "pga"),
        ({"maatschappelijke_onrust": True}, "c-en-a"),  # unrest alone is not (b)
        ({}, "c-en-a"),
        ({**CRITERIA_A, "leefgebieden": frozenset({"wonen"})}, "c-en-a"),
        ({**CRITERIA_A, "ketens": frozenset({"zorg"})}, "c-en-a"),
        ({**CRITERIA_A, "dwang_drang": False}, "c-en-a"),
        ({**CRITERIA_A, "impact_omgeving": False}, "c-en-a"),
    ],
    ids=["a", "b-ernstig", "b-onrust", "niets", "een-leefgebied", "een-keten", "zonder-dwang",
         "zonder-impact"],
)
def test_aanmelding_gets_pga_when_landelijke_criteria_are_met_else_consult_en_advies(
    signalen, product
) -> None:
    assert_routed(decide(gemeente="Maastricht", **signalen), "maastricht-heuvelland", product)


def test_pga_names_the_criteria_rule_that_made_it() -> None:
    b = decide(gemeente="Stein", **CRITERIA_A)
    assert b.rules == ("gemeente.zuid-limburg", "criteria.a-meervoudige-problematiek", "aanmelding.pga")
    assert b.labels == () and b.notify == () and b.deadline is None


def test_pga_with_social_unrest_is_top_x_and_the_lokale_driehoek_is_informed() -> None:
    b = decide(gemeente="Landgraaf", maatschappelijke_onrust=True, **CRITERIA_A)
    assert_routed(b, "parkstad", "pga")
    assert (b.labels, b.notify) == (("top-x",), ("lokale-driehoek",))
    assert "pga.top-x" in b.rules


def test_zsm_pga_with_social_unrest_is_top_x_too() -> None:
    b = decide(soort="zsm-buikpijn", bron="zsm", gemeente="Vaals", maatschappelijke_onrust=True,
               **CRITERIA_A)
    assert_routed(b, "maastricht-heuvelland", "pga")
    assert (b.labels, b.notify) == (("top-x",), ("lokale-driehoek",))


def test_serious_safety_problem_without_unrest_is_pga_but_not_top_x() -> None:
    b = decide(gemeente="Beek", ernstig_veiligheidsprobleem=True)
    assert_routed(b, "westelijke-mijnstreek", "pga")
    assert b.labels == () and b.notify == ()


def test_unrest_on_a_non_pga_product_gives_no_top_x() -> None:
    b = decide(soort="detentie-uit", gemeente="Heerlen", maatschappelijke_onrust=True)
    assert b.product == "nazorg" and b.labels == () and b.notify == ()


# -- aanmelding: specific products --------------------------------------------------------------


KETENVELDNORM = dict(bollenmodel="III", leefgebieden=frozenset({"psychisch", "wonen"}))


@pytest.mark.parametrize("gemeente", ["Heerlen", "Kerkrade", "Beekdaelen"])
def test_parkstad_resident_with_bollenmodel_iii_and_psychisch_without_delict_gets_ketenveldnorm(
    gemeente,
) -> None:
    assert_routed(decide(gemeente=gemeente, **KETENVELDNORM), "parkstad", "ketenveldnorm")
    # also when the landelijke criteria are met: the specific product comes first
    signalen = {**CRITERIA_A, **KETENVELDNORM}
    assert_routed(decide(gemeente=gemeente, **signalen), "parkstad", "ketenveldnorm")


def test_bollenmodel_is_matched_case_insensitively() -> None:
    assert decide(bollenmodel=" iii ", leefgebieden=frozenset({"psychisch"})).product == "ketenveldnorm"


@pytest.mark.parametrize(
    ("gemeente", "signalen", "product"),
    [
        ("Sittard-Geleen", KETENVELDNORM, "pga"),  # Parkstad only; elsewhere III is PGA
        ("Heerlen", {**KETENVELDNORM, "bollenmodel": "IV"}, "pga"),  # a criminal title
        ("Heerlen", {**KETENVELDNORM, "leefgebieden": frozenset({"wonen"})}, "pga"),
        ("Heerlen", {**KETENVELDNORM, "bollenmodel": "II"}, "c-en-a"),
        ("Heerlen", {**KETENVELDNORM, "delict": "bedreiging"}, "ketenveldnorm"),  # a delict is no title
    ],
)
def test_no_ketenveldnorm_outside_its_conditions(gemeente, signalen, product) -> None:
    assert decide(gemeente=gemeente, **signalen).product == product


@pytest.mark.parametrize(
    ("gemeente", "leeftijd", "signalen", "datum", "product"),
    [
        ("Heerlen", 16, {"hic": True}, D2025, "preventie-met-gezag"),
        ("Heerlen", 8, {"delict": "vernieling"}, D2025, "preventie-met-gezag"),
        ("Sittard-Geleen", 27, {"hic": True}, D2025, "preventie-met-gezag"),
        ("Sittard-Geleen", 20, {"delict": "diefstal"}, date(2025, 1, 1), "preventie-met-gezag"),
        ("Geleen", 20, {"hic": True}, D2025, "preventie-met-gezag"),  # place name in Sittard-Geleen
        ("Sittard-Geleen", 28, {"hic": True}, D2025, "c-en-a"),
        ("Sittard-Geleen", 7, {"hic": True}, D2025, "c-en-a"),
        ("Heerlen", 7, {"hic": True}, D2025, "c-en-a"),
        ("Heerlen", 20, {}, D2025, "c-en-a"),  # no hic and no delict
        ("Kerkrade", 20, {"hic": True}, D2025, None),  # "enkele gemeenten in Parkstad": triage
        ("Stein", 20, {"hic": True}, D2025, "c-en-a"),  # Westelijke Mijnstreek: Sittard-Geleen only
        ("Sittard-Geleen", 20, {"hic": True}, date(2024, 8, 1), "preventie-met-gezag"),
        ("Sittard-Geleen", 20, {"hic": True}, date(2024, 7, 31), "c-en-a"),
        ("Heerlen", 20, {"hic": True}, date(2024, 12, 31), None),  # Heerlen from 2025: triage
        ("Heerlen", 20, {"hic": True, **CRITERIA_A}, D2025, "pga"),  # criteria met: pga
    ],
)
def test_preventie_met_gezag_for_ages_8_to_27_in_the_gemeenten_that_run_it(
    gemeente, leeftijd, signalen, datum, product
) -> None:
    assert decide(gemeente=gemeente, leeftijd=leeftijd, datum=datum, **signalen).product == product


def test_preventie_met_gezag_queue_is_the_residence_house() -> None:
    b = decide(gemeente="Sittard-Geleen", leeftijd=19, hic=True)
    assert_routed(b, "westelijke-mijnstreek", "preventie-met-gezag")


@pytest.mark.parametrize(
    ("gemeente", "leeftijd", "signalen", "outcome", "product"),
    [
        ("Kerkrade", 15, {"verzoek_beschermingstafel": True}, "routed", "beschermingstafel"),
        ("Brunssum", 0, {"verzoek_beschermingstafel": True}, "routed", "beschermingstafel"),
        ("Kerkrade", None, {"verzoek_beschermingstafel": True}, "routed", "beschermingstafel"),
        ("Kerkrade", 15, {}, "routed", "c-en-a"),  # no request: no beschermingstafel
        ("Maastricht", 15, {"verzoek_beschermingstafel": True}, "triage", None),  # Parkstad's table
        ("Stein", 15, {"verzoek_beschermingstafel": True}, "triage", None),
    ],
)
def test_the_beschermingstafel_is_for_a_hulpverleners_request_in_parkstad(
    gemeente, leeftijd, signalen, outcome, product
) -> None:
    b = decide(gemeente=gemeente, leeftijd=leeftijd, **signalen)
    assert (b.outcome, b.product) == (outcome, product)


def test_minor_in_parkstad_with_criteria_met_gets_pga() -> None:
    assert decide(gemeente="Kerkrade", leeftijd=15, **CRITERIA_A).product == "pga"


# -- zsm-buikpijn -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signalen", "product"),
    [(CRITERIA_A, "pga"), ({"ernstig_veiligheidsprobleem": True}, "pga"), ({}, "lokaal-veld"),
     ({**CRITERIA_A, "dwang_drang": False}, "lokaal-veld")],
)
def test_zsm_buikpijn_is_taken_up_as_pga_when_criteria_are_met_else_lokaal_veld(
    signalen, product
) -> None:
    b = decide(soort="zsm-buikpijn", bron="zsm", gemeente="Meerssen", **signalen)
    assert_routed(b, "maastricht-heuvelland", product)


# -- VIA --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gemeente", "zvh"),
    [("Kerkrade", "parkstad"), ("Maastricht", "maastricht-heuvelland"),
     ("Stein", "westelijke-mijnstreek")],
)
def test_via_lands_at_the_one_via_team_while_the_residence_house_keeps_the_case(gemeente, zvh) -> None:
    b = decide(soort="via", bron="politie", gemeente=gemeente, bollenmodel="I")
    assert_routed(b, zvh, "via", queue="westelijke-mijnstreek/via")


def test_via_before_it_started_in_august_2019_goes_to_triage() -> None:
    b = decide(soort="via", bron="politie", gemeente="Kerkrade", datum=date(2019, 7, 31))
    assert_triage(b, "parkstad")
    assert b.rules == ("gemeente.zuid-limburg", "via.voor-start")
    assert any("2019" in r for r in b.reasons)
    assert decide(soort="via", gemeente="Kerkrade", datum=date(2019, 8, 1)).product == "via"


# -- detention ------------------------------------------------------------------------------


@pytest.mark.parametrize("soort", ["detentie-in", "detentie-uit", "art18"])
@pytest.mark.parametrize(("leeftijd", "product"), [(12, "rvdk"), (17, "rvdk"), (18, "nazorg"),
                                                    (45, "nazorg")])
def test_minor_detainee_is_for_the_raad_and_adult_detainee_gets_nazorg(soort, leeftijd, product) -> None:
    assert_routed(decide(soort=soort, bron="dji", gemeente="Vaals", leeftijd=leeftijd),
                  "maastricht-heuvelland", product)


@pytest.mark.parametrize(("soort", "delict"), [("detentie-in", "zeden"), ("detentie-uit", "zeden"),
                                               ("art18", None), ("art18", "diefstal")])
def test_detainee_of_unknown_age_goes_to_triage(soort, delict) -> None:
    b = decide(soort=soort, bron="dji", gemeente="Heerlen", leeftijd=None, delict=delict, hic=True)
    assert_triage(b, "parkstad")


@pytest.mark.parametrize("delict", ["zeden", "zwaar-geweld", "tbs", "ZEDEN", " Tbs "])
def test_art18_release_after_heavy_crime_gets_bij_and_the_burgemeester_is_informed(delict) -> None:
    b = decide(soort="art18", bron="dji", gemeente="Brunssum", delict=delict)
    assert_routed(b, "parkstad", "bij")
    assert b.notify == ("burgemeester",)
    assert b.labels == ()


def test_art18_for_a_minor_without_a_bij_delict_is_for_the_raad() -> None:
    assert decide(soort="art18", bron="dji", leeftijd=16, delict="diefstal").product == "rvdk"


@pytest.mark.parametrize("delict", [None, "diefstal"])
def test_art18_without_a_bij_delict_gets_nazorg(delict) -> None:
    b = decide(soort="art18", bron="dji", gemeente="Brunssum", delict=delict)
    assert b.product == "nazorg" and b.notify == ()


@pytest.mark.parametrize("soort", ["detentie-uit", "detentie-in"])
def test_bij_is_only_for_art18(soort) -> None:
    assert decide(soort=soort, bron="dji", delict="zeden").product == "nazorg"


# -- RIO ------------------------------------------------------------------------------------


def test_detainee_aged_22_from_heerlen_gets_rio_in_2025() -> None:
    b = decide(soort="detentie-uit", bron="dji", gemeente="Heerlen", leeftijd=22, hic=True,
               datum=date(2025, 4, 1))
    assert_routed(b, "parkstad", "nazorg")
    assert b.labels == ("rio",)
    assert b.rules[-1] == "rio.hic"


@pytest.mark.parametrize(
    ("changes", "rio"),
    [
        ({"leeftijd": 18}, True),
        ({"leeftijd": 27}, True),
        ({"leeftijd": 28}, False),
        ({"datum": date(2025, 1, 1)}, True),
        ({"datum": date(2026, 12, 31)}, True),
        ({"datum": date(2024, 12, 31)}, False),
        ({"datum": date(2027, 1, 1)}, False),
        ({"gemeente": "Maastricht"}, False),
        ({"gemeente": "Sittard-Geleen"}, False),
        ({"gemeente": "Beekdaelen"}, True),
        ({"gemeente": "Schinnen"}, True),  # part of Beekdaelen, so Parkstad, in 2025
        ({"hic": False}, False),
        ({"soort": "detentie-in"}, False),  # RIO is after detention
        ({"soort": "art18"}, True),
        ({"soort": "art18", "delict": "zeden"}, True),  # BIJ, and still after detention
    ],
)
def test_rio_is_for_parkstad_18_to_27_after_detention_for_hic_in_2025_and_2026(changes, rio) -> None:
    facts = {"soort": "detentie-uit", "bron": "dji", "gemeente": "Kerkrade", "leeftijd": 22,
             "hic": True, "datum": date(2025, 4, 1), **changes}
    b = decide(**facts)
    assert (b.labels == ("rio",)) is rio


def test_detainee_aged_17_gets_rvdk_and_no_rio() -> None:
    b = decide(soort="detentie-uit", bron="dji", gemeente="Heerlen", leeftijd=17, hic=True)
    assert (b.product, b.labels) == ("rvdk", ())


# -- Veilig Thuis ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signalen", "datum", "product"),
    [
        ({"kinderen_betrokken": True}, D2025, "vt-routeertafel"),
        (CRITERIA_A, D2025, "mda-plus"),
        (CRITERIA_A, date(2020, 10, 1), "mda-plus"),
        (CRITERIA_A, date(2020, 9, 30), "vt-routeertafel"),
        ({"ernstig_veiligheidsprobleem": True}, D2025, "vt-routeertafel"),  # (b) is not structural
    ],
)
def test_veilig_thuis_case_goes_to_routeertafel_or_mda_plus_for_structural_unsafety(
    signalen, datum, product
) -> None:
    b = decide(soort="vt-routeertafel", bron="veilig-thuis", gemeente="Sittard-Geleen",
               datum=datum, **signalen)
    assert_routed(b, "westelijke-mijnstreek", product)


# -- Wvggz ----------------------------------------------------------------------------------


@pytest.mark.parametrize("gemeente", ["Sittard-Geleen", "Stein", "Beek"])
def test_wvggz_in_westelijke_mijnstreek_is_done_by_the_zvh_within_14_days(gemeente) -> None:
    b = decide(soort="wvggz", gemeente=gemeente, datum=date(2025, 3, 4))
    assert_routed(b, "westelijke-mijnstreek", "wvggz")
    assert b.deadline == date(2025, 3, 18)
    assert b.notify == ()


def test_wvggz_deadline_runs_across_the_year_end() -> None:
    b = decide(soort="wvggz", gemeente="Stein", datum=date(2025, 12, 25))
    assert b.deadline == date(2026, 1, 8)
    assert b.as_contract()["deadline"] == "2026-01-08"


@pytest.mark.parametrize(("gemeente", "zvh"), [("Heerlen", "parkstad"),
                                                ("Maastricht", "maastricht-heuvelland")])
def test_wvggz_elsewhere_goes_to_the_gemeente_for_its_verkennend_onderzoek(gemeente, zvh) -> None:
    b = decide(soort="wvggz", gemeente=gemeente, datum=date(2025, 3, 4))
    assert_routed(b, zvh, "lokaal-veld")
    assert b.notify == ("gemeente",)
    assert b.deadline == date(2025, 3, 18)
    assert any("verkennend onderzoek" in r for r in b.reasons)


def test_wvggz_before_the_law_took_effect_goes_to_triage() -> None:
    assert_triage(decide(soort="wvggz", gemeente="Stein", datum=date(2019, 12, 31)),
                  "westelijke-mijnstreek")
    assert decide(soort="wvggz", gemeente="Stein", datum=date(2020, 1, 1)).product == "wvggz"


def test_wvggz_for_schinnen_follows_the_merger() -> None:
    # Wvggz exists only from 2020, when Schinnen is already part of Beekdaelen (Parkstad)
    assert decide(soort="wvggz", gemeente="Schinnen", datum=date(2020, 2, 1)).product == "lokaal-veld"


# -- themes ---------------------------------------------------------------------------------


def test_huisverbod_has_a_ten_day_deadline() -> None:
    b = decide(soort="huisverbod", bron="politie", gemeente="Kerkrade", datum=date(2025, 12, 28))
    assert_routed(b, "parkstad", "huisverbod")
    assert b.deadline == date(2026, 1, 7)


def test_mensenhandel_goes_to_the_zorgcoordinator() -> None:
    assert_routed(decide(soort="mensenhandel", bron="politie", gemeente="Vaals"),
                  "maastricht-heuvelland", "zoco", queue="parkstad/zoco")


def test_radicalisering_is_routed_to_the_restricted_compartment() -> None:
    b = decide(soort="radicalisering", bron="politie", gemeente="Heerlen")
    assert_routed(b, "parkstad", "radicalisering")
    assert any("compartiment" in r for r in b.reasons)


@pytest.mark.parametrize(
    ("gemeente", "leeftijd", "outcome", "product"),
    [
        ("Heerlen", 14, "routed", "jpp"),
        ("Heerlen", 0, "routed", "jpp"),
        ("Heerlen", 17, "routed", "jpp"),
        ("Kerkrade", 14, "triage", None),  # not every Parkstad gemeente uses it
        ("Maastricht", 14, "triage", None),
        ("Stein", 17, "triage", None),
        ("Heerlen", 18, "triage", None),
        ("Heerlen", None, "triage", None),
    ],
)
def test_jpp_is_for_minors_in_the_parkstad_gemeenten_that_use_it(gemeente, leeftijd, outcome, product) -> None:
    b = decide(soort="jpp", bron="politie", gemeente=gemeente, leeftijd=leeftijd)
    assert (b.outcome, b.product) == (outcome, product)


# -- anything else ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soort", "datum"),
    [("onbekend", D2025), ("", D2025), ("verkeerd", date(2008, 12, 31))],
)
def test_soort_without_a_rule_in_force_goes_to_triage_with_a_reason(soort, datum) -> None:
    b = decide(soort=soort, gemeente="Heerlen", datum=datum)
    assert_triage(b, "parkstad")
    assert "product.geen-regel" in b.rules
    assert any("Geen routeringsregel" in r for r in b.reasons)


def test_labels_and_notify_are_empty_lists_in_the_contract() -> None:
    contract = decide(soort="mensenhandel", gemeente="Vaals").as_contract()
    assert contract["labels"] == [] and contract["notify"] == [] and contract["deadline"] is None
    assert set(contract) == {"outcome", "zvh", "product", "labels", "notify", "queue", "deadline",
                             "ruleset", "rules", "reasons", "gemeente"}


def test_every_shipped_rule_cites_its_source() -> None:
    for rule in RULESET.rules():
        assert rule.bron.strip(), rule.id


@pytest.mark.parametrize("datum", [date.max, date(9999, 12, 25)])
def test_a_deadline_beyond_the_calendar_goes_to_triage_instead_of_failing(datum) -> None:
    b = decide(soort="huisverbod", gemeente="Heerlen", datum=datum)
    assert_triage(b, "parkstad")


def test_earliest_possible_date_is_decided() -> None:
    assert decide(soort="mensenhandel", gemeente="Heerlen", datum=date.min).product == "zoco"
