"""The seed facts, one test each, named after the fact (routing/README.md: seed -> rule table).

Each test quotes the sentence it stands for. Facts that the rules leave to a person (besluit
loket) are tested as such: the melding goes to triage, with a reason.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from events.intake import parse
from routing import Beslissing, Feiten, load_ruleset
from routing.bronnen import problemen

RULESET = load_ruleset()
D2025 = date(2025, 6, 1)
CRITERIA_A = dict(leefgebieden=frozenset({"wonen", "psychisch"}), ketens=frozenset({"zorg", "straf"}),
                  dwang_drang=True, impact_omgeving=True)
PARKSTAD = ["Beekdaelen", "Brunssum", "Heerlen", "Kerkrade", "Landgraaf", "Simpelveld", "Voerendaal"]
WESTELIJKE_MIJNSTREEK = ["Beek", "Sittard-Geleen", "Stein"]
MAASTRICHT_HEUVELLAND = ["Eijsden-Margraten", "Gulpen-Wittem", "Maastricht", "Meerssen", "Vaals",
                         "Valkenburg aan de Geul"]
HUIS = {**dict.fromkeys(PARKSTAD, "parkstad"), **dict.fromkeys(WESTELIJKE_MIJNSTREEK, "westelijke-mijnstreek"),
        **dict.fromkeys(MAASTRICHT_HEUVELLAND, "maastricht-heuvelland")}


def decide(soort: str = "aanmelding", gemeente: str | None = "Heerlen", datum: date = D2025,
           leeftijd: int | None = 35, bron: str = "gemeente", ruleset=RULESET, **signalen) -> Beslissing:
    return ruleset.decide(Feiten(soort=soort, bron=bron, datum=datum, gemeente=gemeente,
                                 leeftijd=leeftijd, **signalen))


def waar(b: Beslissing) -> tuple:
    return (b.outcome, b.zvh, b.product, b.queue)


def triage(b: Beslissing) -> bool:
    return b.outcome == "triage" and b.product is None and b.queue == "loket/triage" and bool(b.reasons)


# -- every rule has a source ----------------------------------------------------------------


def test_every_rule_names_its_source_a_seed_quote_a_domain_section_or_besluit_loket() -> None:
    for rule in RULESET.rules():
        decides = bool(rule.product or rule.labels or rule.notify or rule.queue or rule.kenmerken
                       or rule.deadline_dagen is not None or rule.outcome == "doorverwijzen")
        assert problemen(rule.bron, beslist=decides, triage=rule.outcome == "triage") == [], rule.id


# -- DOMAIN.md ----------------------------------------------------------------------------------


def test_the_example_melding_of_domain_md_is_valid_and_decided() -> None:
    """DOMAIN.md, "The intake contract": its example melding stays valid as the contract grows."""
    example = {"bron": "politie", "soort": "via", "kenmerk": "VIA-2025-000123",
               "ontvangen_op": "2025-03-04T09:12:00+01:00", "gemeente": "Kerkrade",
               "persoon": {"bsn": "123456782", "naam": "…", "geboortedatum": "1990-05-06"},
               "signalen": {"leefgebieden": ["psychisch", "wonen"], "ketens": ["zorg", "veiligheid"],
                            "dwang_drang": False, "impact_omgeving": True,
                            "ernstig_veiligheidsprobleem": False, "maatschappelijke_onrust": False,
                            "bollenmodel": "III", "delict": None, "hic": False,
                            "kinderen_betrokken": False},
               "toelichting": "free text"}
    melding = parse(json.dumps(example))
    assert melding.signalen.leefgebieden == ("psychisch", "wonen")
    # a VIA melding in bollenmodel III: the VIA team's, which may register the person for PGA (003, DOMAIN)
    decided = RULESET.decide(melding.feiten())
    assert waar(decided) == ("routed", "parkstad", "via", "westelijke-mijnstreek/via")
    assert decided.labels == ("pga-kandidaat",)


@pytest.mark.parametrize("gemeente", [*PARKSTAD, *WESTELIJKE_MIJNSTREEK, *MAASTRICHT_HEUVELLAND])
def test_each_of_the_16_gemeenten_is_served_by_its_house(gemeente) -> None:
    """001 "Het werkgebied omvat de gemeenten Beekdaelen, Brunssum, Heerlen, ..."; 002 "Beek, Stein
    en Sittard-Geleen"; DOMAIN gemeenten and houses."""
    assert decide(soort="huisverbod", gemeente=gemeente).zvh == HUIS[gemeente]


# -- landelijke criteria (004, 003) -----------------------------------------------------------


@pytest.mark.parametrize(("signalen", "product"), [
    (CRITERIA_A, "pga"),
    ({**CRITERIA_A, "leefgebieden": frozenset({"wonen"})}, "c-en-a"),
    ({**CRITERIA_A, "ketens": frozenset({"zorg"})}, "c-en-a"),
    ({**CRITERIA_A, "dwang_drang": False}, "c-en-a"),
    ({**CRITERIA_A, "impact_omgeving": False}, "c-en-a"),
])
def test_criterion_a_needs_more_than_one_leefgebied_several_ketens_with_dwang_en_drang_and_impact(
        signalen, product) -> None:
    """004 "meerdere problemen (multiprobleem) die op meer dan één leefgebied spelen"; en
    "Samenwerking tussen meerdere ketens (minimaal dwang en drang)"; en "impact op het
    (gezins)systeem"."""
    assert decide(gemeente="Maastricht", **signalen).product == product


def test_criterion_b_is_a_serious_local_or_area_safety_problem() -> None:
    """004 "Er is sprake van ernstige lokale of gebiedsgebonden veiligheidsproblematiek"."""
    b = decide(gemeente="Beek", ernstig_veiligheidsprobleem=True)
    assert b.product == "pga" and "criteria.b-ernstig-veiligheidsprobleem" in b.rules


@pytest.mark.parametrize("soort", ["aanmelding", "zsm-buikpijn", "mensenhandel"])
def test_social_unrest_alone_does_not_meet_criterion_b(soort) -> None:
    """004 (b) is "ernstige lokale of gebiedsgebonden veiligheidsproblematiek"; unrest is a Top X
    factor on a PGA case (003), not a way into PGA."""
    b = decide(soort=soort, gemeente="Landgraaf", maatschappelijke_onrust=True)
    assert b.product != "pga" and b.labels == () and "lokale-driehoek" not in b.notify
    assert not any(r.startswith("criteria.") for r in b.rules)


def test_an_aanmelding_that_misses_the_criteria_gets_consult_en_advies() -> None:
    """001 C&A "kortstondige betrokkenheid, consultering en advisering om aanmelder weer op weg te
    helpen"; DOMAIN landelijke criteria."""
    assert waar(decide(gemeente="Vaals")) == ("routed", "maastricht-heuvelland", "c-en-a",
                                              "maastricht-heuvelland/c-en-a")


# -- Top X (003, 000) -------------------------------------------------------------------------


@pytest.mark.parametrize(("soort", "signalen", "top_x"), [
    ("aanmelding", {**CRITERIA_A, "maatschappelijke_onrust": True}, True),
    ("zsm-buikpijn", {**CRITERIA_A, "maatschappelijke_onrust": True}, True),
    ("aanmelding", {"ernstig_veiligheidsprobleem": True, "maatschappelijke_onrust": True}, True),
    ("aanmelding", CRITERIA_A, False),
    ("aanmelding", {"maatschappelijke_onrust": True}, False),  # not PGA: no label
    ("detentie-uit", {"maatschappelijke_onrust": True}, False),
])
def test_top_x_is_a_label_on_a_pga_case_with_unrest_and_the_lokale_driehoek_is_always_informed(
        soort, signalen, top_x) -> None:
    """003 "Een casus kan bij aanmelding of gedurende het regieproces PGA ook gelabeld worden als
    Top X"; "De lokale driehoek wordt altijd geïnformeerd"; 000 "Een klein percentage van de PGA
    casuistiek krijgt het label Top X"."""
    b = decide(soort=soort, gemeente="Heerlen", **signalen)
    assert ("top-x" in b.labels) is top_x
    assert ("lokale-driehoek" in b.notify) is top_x
    if top_x:
        assert b.product == "pga"


# -- verward gedrag: bollenmodel, ketenveldnorm (003, 000) -----------------------------------


@pytest.mark.parametrize("gemeente", ["Maastricht", "Stein", "Heerlen"])
@pytest.mark.parametrize("bollenmodel", ["III", "IV"])
def test_bollenmodel_iii_and_iv_can_in_any_case_be_registered_for_pga_without_the_criteria(
        gemeente, bollenmodel) -> None:
    """003 "in ieder geval kunnen worden aangemeld bij de veiligheidshuizen"; "Respectievelijk
    categorie III en IV van het bollenmodel"."""
    b = decide(gemeente=gemeente, bollenmodel=bollenmodel, leefgebieden=frozenset({"wonen"}))
    assert waar(b) == ("routed", HUIS[gemeente], "pga", f"{HUIS[gemeente]}/pga")


@pytest.mark.parametrize(("gemeente", "bollenmodel", "labels"), [
    ("Kerkrade", "III", ("pga-kandidaat",)), ("Maastricht", "IV", ("pga-kandidaat",)),
    ("Stein", "III", ("pga-kandidaat",)), ("Kerkrade", "II", ()), ("Maastricht", None, ()),
])
def test_via_melding_in_bollenmodel_iii_or_iv_stays_with_the_via_team_which_may_register_it_for_pga(
        gemeente, bollenmodel, labels) -> None:
    """DOMAIN inbound streams: "may be registered with the residence's ZVH for PGA" (may: the VIA
    team's choice, so the melding stays with the team, labelled, and the residence's house owns it)."""
    b = decide(soort="via", bron="politie", gemeente=gemeente, bollenmodel=bollenmodel)
    assert (b.zvh, b.product, b.queue, b.labels) == (HUIS[gemeente], "via", "westelijke-mijnstreek/via", labels)


@pytest.mark.parametrize(("soort", "gemeente", "signalen", "product"), [
    ("aanmelding", "Kerkrade", {"bollenmodel": "III", "leefgebieden": frozenset({"psychisch"})},
     "ketenveldnorm"),
    ("aanmelding", "Kerkrade", {"bollenmodel": "III",
                                "leefgebieden": frozenset({"verstandelijke-beperking"})}, "ketenveldnorm"),
    ("via", "Simpelveld", {"bollenmodel": "III", "leefgebieden": frozenset({"psychisch"})}, "via"),
    ("aanmelding", "Kerkrade", {"bollenmodel": "IV", "leefgebieden": frozenset({"psychisch"})}, "pga"),
    ("aanmelding", "Maastricht", {"bollenmodel": "III", "leefgebieden": frozenset({"psychisch"})}, "pga"),
    ("aanmelding", "Kerkrade", {"bollenmodel": "III", "leefgebieden": frozenset({"verslaving"})}, "pga"),
])
def test_ketenveldnorm_is_parkstads_for_a_disorder_or_disability_without_a_criminal_title(
        soort, gemeente, signalen, product) -> None:
    """000 "als gevolg van een psychische stoornis en/of een verstandelijke beperking
    (potentieel) gevaarlijk gedrag vertonen en geen strafrechtelijke titel (meer) hebben"; "ZVH
    Parkstad voert de procesregie op de casuistiek voor geheel Parkstad"."""
    assert decide(soort=soort, gemeente=gemeente, **signalen).product == product


# -- detention, art. 18, BIJ, RIO (000, 001, 003, 004) -------------------------------------


def test_art18_release_without_birth_date_still_informs_burgemeester() -> None:
    """000/001 BIJ: "dat de burgemeester tijdig wordt geinformeerd"; the BIJ has no age condition."""
    melding = parse(json.dumps({"bron": "dji", "soort": "art18", "kenmerk": "A18-1",
                                "ontvangen_op": "2025-02-10T10:00:00+01:00", "gemeente": "Brunssum",
                                "signalen": {"delict": "Zedendelict"}}))
    assert melding.leeftijd is None
    b = RULESET.decide(melding.feiten())
    assert waar(b) == ("routed", "parkstad", "bij", "parkstad/bij")
    assert b.notify == ("burgemeester",)


@pytest.mark.parametrize("leeftijd", [None, 16, 19, 64])
@pytest.mark.parametrize("delict", ["zeden", "zwaar-geweld", "tbs"])
def test_bij_for_the_return_of_offenders_of_zware_delicten_zeden_and_tbs_whatever_the_age(
        delict, leeftijd) -> None:
    """000 "Risicoanalyse bij terugkerende delinquenten van zware delicten, zeden en TBS"."""
    b = decide(soort="art18", bron="dji", gemeente="Vaals", leeftijd=leeftijd, delict=delict)
    assert (b.product, b.notify) == ("bij", ("burgemeester",))


@pytest.mark.parametrize(("delict", "leeftijd", "product"), [
    ("diefstal", 40, "nazorg"), (None, 40, "nazorg"), ("overig", 17, "rvdk")])
def test_an_art18_release_without_a_bij_delict_informs_no_burgemeester(delict, leeftijd, product) -> None:
    """DOMAIN inbound streams: BIJ "for heavy crimes, sex offences (zeden) and TBS"."""
    b = decide(soort="art18", bron="dji", gemeente="Vaals", leeftijd=leeftijd, delict=delict)
    assert (b.product, b.notify) == (product, ())


@pytest.mark.parametrize("soort", ["detentie-in", "detentie-uit", "art18"])
@pytest.mark.parametrize(("leeftijd", "product"), [(17, "rvdk"), (18, "nazorg"), (70, "nazorg")])
def test_nazorg_for_ex_detainees_of_18_and_older_and_the_raad_for_minors(soort, leeftijd, product) -> None:
    """003 "alle (ex-) gedetineerde burgers van 18 jaar en ouder"; 004 "De Raad voor de
    Kinderbescherming heeft de regie over de nazorg voor minderjarige ex-gedetineerden"."""
    assert decide(soort=soort, bron="dji", gemeente="Stein", leeftijd=leeftijd).product == product


def test_nazorg_works_on_the_five_basisvoorwaarden() -> None:
    """002 "de vijf basisvoorwaarden (onderdak, werk/inkomen, zorg en zorgverzekering, een
    geldig legitimatiebewijs en grip op schulden)"."""
    b = decide(soort="detentie-uit", bron="dji", gemeente="Beek")
    assert any("vijf basisvoorwaarden" in r for r in b.reasons)


@pytest.mark.parametrize("soort", ["detentie-in", "detentie-uit", "art18"])
def test_detainee_of_unknown_age_without_a_bij_delict_goes_to_a_person(soort) -> None:
    """Nazorg (18+) or the Raad (minors): without an age neither can be chosen (besluit loket)."""
    assert triage(decide(soort=soort, bron="dji", leeftijd=None))


@pytest.mark.parametrize(("changes", "rio"), [
    ({}, True),
    ({"soort": "art18"}, True),
    ({"soort": "art18", "delict": "zeden"}, True),  # BIJ, and still out of detention
    ({"soort": "detentie-in"}, False),  # "welke uit detentie komen"
    ({"leeftijd": 17}, False), ({"leeftijd": 18}, True), ({"leeftijd": 27}, True), ({"leeftijd": 28}, False),
    ({"gemeente": "Sittard-Geleen"}, False), ({"gemeente": "Simpelveld"}, True),
    ({"datum": date(2024, 12, 31)}, False), ({"datum": date(2025, 1, 1)}, True),
    ({"datum": date(2026, 12, 31)}, True), ({"datum": date(2027, 1, 1)}, False),
    ({"hic": False}, False),
])
def test_rio_for_young_parkstad_ex_detainees_convicted_of_hic_in_2025_and_2026(changes, rio) -> None:
    """001 "jongvolwassenen uit de 7 Parkstad gemeenten met een leeftijd tussen de 18 en 27 jaar
    welke uit detentie komen"; "die zijn veroordeeld voor HIC-feiten"; "geldt voor 2025 en 2026"."""
    facts = {"soort": "detentie-uit", "bron": "dji", "gemeente": "Kerkrade", "leeftijd": 22,
             "hic": True, **changes}
    assert ("rio" in decide(**facts).labels) is rio


def test_rio_is_not_tied_to_nazorg_an_art18_bij_release_keeps_the_label() -> None:
    b = decide(soort="art18", bron="dji", gemeente="Heerlen", leeftijd=21, hic=True, delict="zwaar-geweld")
    assert (b.product, b.labels, b.notify) == ("bij", ("rio",), ("burgemeester",))


@pytest.mark.parametrize(("signalen", "rio"), [
    ({"veelpleger": True, "leefgebieden": frozenset({"wonen", "verslaving"})}, True),
    ({"veelpleger": True, "leefgebieden": frozenset({"wonen"})}, False),  # not multi-problem
    ({"veelpleger": False, "leefgebieden": frozenset({"wonen", "verslaving"})}, False),
])
def test_rio_second_target_group_multi_problem_ex_detainees_who_commit_many_delicts(signalen, rio) -> None:
    """001 "(ex) gedetineerden met Multi-problematiek welke zich kenmerken door het plegen van veel
    delicten"."""
    b = decide(soort="detentie-uit", bron="dji", gemeente="Landgraaf", leeftijd=24, **signalen)
    assert ("rio" in b.labels) is rio
    assert b.product == "nazorg"


# -- youth: beschermingstafel, kinderen, JPP, Preventie met Gezag ----------------------------


@pytest.mark.parametrize("leeftijd", [3, 15, None])
def test_the_beschermingstafel_is_convened_on_the_request_of_the_hulpverlener(leeftijd) -> None:
    """000 "De aanleiding voor dit gesprek is het verzoek dat de betrokken hulpverlener (vaak team
    Jeugd van de gemeente) heeft ingediend"."""
    asked = decide(gemeente="Kerkrade", leeftijd=leeftijd, verzoek_beschermingstafel=True)
    assert waar(asked) == ("routed", "parkstad", "beschermingstafel", "parkstad/beschermingstafel")
    assert decide(gemeente="Kerkrade", leeftijd=leeftijd).product == "c-en-a"


@pytest.mark.parametrize("gemeente", ["Sittard-Geleen", "Maastricht"])
def test_a_beschermingstafel_request_outside_parkstad_goes_to_a_person(gemeente) -> None:
    """000 "Een procesregisseur van ZVH Parkstad zit dit overleg voor"; elsewhere the seeds do
    not say who convenes it (besluit loket)."""
    b = decide(gemeente=gemeente, leeftijd=12, verzoek_beschermingstafel=True)
    assert triage(b) and b.zvh == HUIS[gemeente]


@pytest.mark.parametrize(("soort", "signalen", "uitkomst"), [
    ("aanmelding", {"kinderen_betrokken": True}, "triage"),
    ("aanmelding", {"kinderen_betrokken": True, **CRITERIA_A}, "pga"),
    ("aanmelding", {"kinderen_betrokken": True, "verzoek_beschermingstafel": True}, "beschermingstafel"),
    ("vt-routeertafel", {"kinderen_betrokken": True}, "vt-routeertafel"),
])
def test_when_the_safety_of_children_is_at_stake_the_procedure_runs_via_the_beschermtafel_and_raad(
        soort, signalen, uitkomst) -> None:
    """002 "Als de veiligheid van kinderen in het geding is, loopt de procedure via de bescherm
    tafel en Raad voor de Kinderbescherming": without the criteria a person looks (besluit loket)."""
    b = decide(soort=soort, gemeente="Heerlen", **signalen)
    assert (b.product or b.outcome) == uitkomst
    if uitkomst == "triage":
        assert "aanmelding.kinderen-betrokken" in b.rules


@pytest.mark.parametrize(("gemeente", "bron", "uitkomst"), [
    ("Heerlen", "politie", "jpp"),
    ("Heerlen", "ketenpartner", "jpp"),  # 001: "door de politie en deelnemende partners"
    *[(g, "politie", "triage") for g in PARKSTAD if g != "Heerlen"],
    ("Maastricht", "politie", "triage"), ("Beek", "politie", "triage"),
])
def test_not_all_parkstad_gemeenten_use_the_jpp_so_an_unlisted_one_goes_to_a_person(
        gemeente, bron, uitkomst) -> None:
    """000 "Niet alle Parkstadgemeenten maken gebruik van deze mogelijkheid"; Heerlen's werkwijze
    has the JPP as its first step (001 "1) JPP")."""
    b = decide(soort="jpp", bron=bron, gemeente=gemeente, leeftijd=14)
    assert (b.product or b.outcome) == uitkomst


@pytest.mark.parametrize("leeftijd", [18, None])
def test_the_jpp_is_for_0_to_18(leeftijd) -> None:
    """000 "richt zich op kinderen en jeugdigen van 0 tot 18 jaar"."""
    assert triage(decide(soort="jpp", bron="politie", leeftijd=leeftijd))
    assert decide(soort="jpp", bron="politie", leeftijd=0).product == "jpp"


@pytest.mark.parametrize(("datum", "leeftijd", "product"), [
    (date(2024, 7, 31), 20, "c-en-a"),
    (date(2024, 8, 1), 20, "preventie-met-gezag"),
    (date(2024, 8, 1), 8, "preventie-met-gezag"),
    (date(2024, 8, 1), 27, "preventie-met-gezag"),
    (date(2024, 8, 1), 7, "c-en-a"),
    (date(2024, 8, 1), 28, "c-en-a"),
])
def test_preventie_met_gezag_runs_in_sittard_geleen_from_1_august_2024_for_8_to_27(datum, leeftijd, product) -> None:
    """002 "is de gemeente Sittard-Geleen geselecteerd"; "in de leeftijd van 8 tot en met 27 jaar";
    "geldt dit jaarplan vanaf 1 augustus 2024"."""
    assert decide(gemeente="Sittard-Geleen", datum=datum, leeftijd=leeftijd, hic=True).product == product


def test_preventie_met_gezag_asks_a_delict_or_high_impact_crime() -> None:
    """001 "2) Kernteam Jeugd (overlast/strafbaar)"; "3) PGA-aanpak jeugd (strafbaar/crimineel"."""
    assert decide(gemeente="Sittard-Geleen", leeftijd=19, delict="vernieling").product == "preventie-met-gezag"
    assert decide(gemeente="Sittard-Geleen", leeftijd=19).product == "c-en-a"


def test_preventie_met_gezag_in_heerlen_from_2025_and_a_person_decides_before() -> None:
    """001 "opdrachtverhoging vanuit de gemeente Heerlen voor het programma Preventie met Gezag";
    the answer changes on a date no rule starts on: one ruleset decides both days."""
    ruleset = load_ruleset()
    before = decide(gemeente="Heerlen", datum=date(2024, 12, 31), leeftijd=17, hic=True, ruleset=ruleset)
    after = decide(gemeente="Heerlen", datum=date(2025, 1, 1), leeftijd=17, hic=True, ruleset=ruleset)
    assert triage(before) and after.product == "preventie-met-gezag"


@pytest.mark.parametrize(("gemeente", "uitkomst"), [
    ("Kerkrade", "triage"), ("Brunssum", "triage"),  # 001 "enkele gemeenten in Parkstad"
    ("Maastricht", "triage"), ("Vaals", "triage"),  # 002 "in hun eigen regio's"
    ("Stein", "c-en-a"), ("Beek", "c-en-a"),  # 002 names Sittard-Geleen only
])
def test_preventie_met_gezag_where_the_seeds_do_not_name_the_gemeente_goes_to_a_person(gemeente, uitkomst) -> None:
    """001 "uitgebreid ten behoeve van enkele gemeenten in Parkstad", without naming them."""
    b = decide(gemeente=gemeente, leeftijd=16, hic=True)
    assert (b.product or b.outcome) == uitkomst


# -- streams and themes ---------------------------------------------------------------------


@pytest.mark.parametrize("gemeente", ["Kerkrade", "Maastricht", "Stein"])
def test_one_via_team_hosted_by_westelijke_mijnstreek_works_for_all_16_gemeenten(gemeente) -> None:
    """002 "Het VIA ontvangt dagelijks niet-acute zorgmeldingen voor Zuid-Limburg via de Politie";
    001 "De bijdrage voor het VIA betaalt de gemeente Heerlen voor Parkstad aan de gemeente
    Sittard-Geleen"."""
    b = decide(soort="via", bron="politie", gemeente=gemeente, bollenmodel="I")
    assert waar(b) == ("routed", HUIS[gemeente], "via", "westelijke-mijnstreek/via")


def test_the_via_started_in_august_2019() -> None:
    """003 "is in augustus 2019 gestart"."""
    assert triage(decide(soort="via", bron="politie", datum=date(2019, 7, 31)))
    assert decide(soort="via", bron="politie", datum=date(2019, 8, 1)).product == "via"


@pytest.mark.parametrize(("gemeente", "leeftijd"), [("Vaals", 15), ("Stein", 40), ("Heerlen", None)])
def test_one_zorgcoordinator_mensenhandel_for_the_16_gemeenten_in_one_queue(gemeente, leeftijd) -> None:
    """003 "namens de 16 gemeenten, een zorgcoördinator mensenhandel werkzaam"; 001 "alle
    (vermoedelijke) slachtoffers ... minderjarigen en meerderjarigen"."""
    b = decide(soort="mensenhandel", bron="politie", gemeente=gemeente, leeftijd=leeftijd)
    assert waar(b) == ("routed", HUIS[gemeente], "zoco", "parkstad/zoco")


def test_complex_mensenhandel_is_procesregie_by_the_procesregisseurs() -> None:
    """002 "De procesregisseurs met het aandachtsgebied mensenhandel plegen vanuit de basistaak
    procesregie inzet op de complexe casuïstiek mensenhandel"."""
    b = decide(soort="mensenhandel", bron="politie", gemeente="Stein", **CRITERIA_A)
    assert waar(b) == ("routed", "westelijke-mijnstreek", "pga", "westelijke-mijnstreek/pga")


@pytest.mark.parametrize(("signalen", "product"), [(CRITERIA_A, "pga"), ({}, "lokaal-veld"),
                                                    ({"maatschappelijke_onrust": True}, "lokaal-veld")])
def test_zsm_buikpijn_is_taken_up_by_the_zvh_or_handed_to_the_lokaal_veld(signalen, product) -> None:
    """002 "pakken deze vervolgens zelf op of zeden ze door naar partners in het lokale veld";
    004 "Als er sprake is van een complexe casus, volgt aanmelding ... persoonsgerichte aanpak"."""
    assert decide(soort="zsm-buikpijn", bron="zsm", gemeente="Meerssen", **signalen).product == product


@pytest.mark.parametrize(("datum", "signalen", "product"), [
    (D2025, {}, "vt-routeertafel"), (D2025, CRITERIA_A, "mda-plus"),
    (date(2020, 9, 30), CRITERIA_A, "vt-routeertafel"), (date(2020, 10, 1), CRITERIA_A, "mda-plus")])
def test_veilig_thuis_cases_go_to_the_routeertafel_and_structural_unsafety_to_mda_plus_from_october_2020(
        datum, signalen, product) -> None:
    """000 "doorgeleiden van een casus van Veilig Thuis (VT) naar de juiste plek"; 003 MDA++ "die op
    meerdere leefdomeinen problemen ervaren"; "Op 1 oktober 2020 is de Zuid-Limburgse ..."."""
    b = decide(soort="vt-routeertafel", bron="veilig-thuis", gemeente="Brunssum", datum=datum, **signalen)
    assert b.product == product


def test_a_huisverbod_bans_for_ten_days_and_the_zvh_keeps_regie_a_year() -> None:
    """000 "tijdelijk (in beginsel 10 dagen)"; 003 "tot een jaar na afloop van het huisverbod"."""
    b = decide(soort="huisverbod", gemeente="Sittard-Geleen", datum=date(2025, 3, 1))
    assert (b.product, b.deadline) == ("huisverbod", date(2025, 3, 11))
    assert any("een jaar na afloop" in r for r in b.reasons)
    assert decide(soort="huisverbod", datum=date(2005, 1, 1)).product == "huisverbod"  # no seed dates the law


@pytest.mark.parametrize("gemeente", ["Heerlen", "Stein", "Maastricht"])
def test_radicalisering_is_weighed_by_the_residence_house_in_its_compartment(gemeente) -> None:
    """002 "In Zuid-Limburg hebben de gemeenten de procesregie ... belegd bij de Zorg en
    Veiligheidshuizen"; 003 "onder een apart landelijk convenant"."""
    assert waar(decide(soort="radicalisering", bron="politie", gemeente=gemeente))[:3] == (
        "routed", HUIS[gemeente], "radicalisering")


@pytest.mark.parametrize(("gemeente", "datum", "uitkomst"), [
    ("Stein", date(2025, 3, 4), "wvggz"), ("Beek", date(2020, 1, 1), "wvggz"),
    ("Heerlen", date(2025, 3, 4), "lokaal-veld"), ("Stein", date(2019, 12, 31), "triage")])
def test_wvggz_from_2020_verkennend_onderzoek_in_14_days_by_the_zvh_in_westelijke_mijnstreek_else_the_gemeente(
        gemeente, datum, uitkomst) -> None:
    """002 "Met ingang van 1 januari 2020"; "De gemeente heeft vervolgens 14 dagen de tijd";
    "Voor de Westelijke Mijnstreek is door de gemeenten gekozen om aan te sluiten bij ... het
    Zorg- en Veiligheidshuis"."""
    b = decide(soort="wvggz", gemeente=gemeente, datum=datum)
    assert (b.product or b.outcome) == uitkomst
    if b.outcome == "routed":
        assert (b.deadline - datum).days == 14
        assert (b.notify == ("gemeente",)) is (uitkomst == "lokaal-veld")


def test_schinnen_was_westelijke_mijnstreek_in_2018_and_is_parkstad_through_beekdaelen_after() -> None:
    """004 "gemeenten Sittard-Geleen, Stein, Beek en Schinnen"; DOMAIN gemeenten and houses."""
    assert decide(gemeente="Schinnen", datum=date(2018, 6, 1), **CRITERIA_A).zvh == "westelijke-mijnstreek"
    assert decide(gemeente="Schinnen", datum=date(2020, 6, 1), **CRITERIA_A).zvh == "parkstad"
