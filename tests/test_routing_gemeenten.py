"""The effective-dated gemeente -> ZVH register (routing/data/gemeenten.yaml)."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from routing.gemeenten import DEFAULT_PATH, GemeenteRegister, RegisterError, default_register, normalize, resolve

D2025 = date(2025, 6, 1)

HUIZEN_2025 = {
    "parkstad": ["Beekdaelen", "Brunssum", "Heerlen", "Kerkrade", "Landgraaf", "Simpelveld",
                 "Voerendaal"],
    "westelijke-mijnstreek": ["Beek", "Sittard-Geleen", "Stein"],
    "maastricht-heuvelland": ["Eijsden-Margraten", "Gulpen-Wittem", "Maastricht", "Meerssen",
                              "Vaals", "Valkenburg aan de Geul"],
}


@pytest.mark.parametrize(
    ("gemeente", "zvh"), [(g, zvh) for zvh, gs in HUIZEN_2025.items() for g in gs]
)
def test_each_of_the_16_gemeenten_belongs_to_its_house_in_2025(gemeente: str, zvh: str) -> None:
    uitslag = resolve(gemeente, D2025)
    assert (uitslag.kind, uitslag.gemeente, uitslag.zvh, uitslag.note) == (
        "zuid-limburg", gemeente, zvh, None)


@pytest.mark.parametrize(
    ("naam", "op", "gemeente", "zvh"),
    [
        ("Schinnen", date(2018, 6, 1), "Schinnen", "westelijke-mijnstreek"),
        ("Schinnen", date(2018, 12, 31), "Schinnen", "westelijke-mijnstreek"),
        ("Schinnen", date(2019, 1, 1), "Beekdaelen", "parkstad"),
        ("Schinnen", date(2020, 3, 1), "Beekdaelen", "parkstad"),
        ("Nuth", date(2018, 6, 1), "Nuth", "parkstad"),
        ("Nuth", date(2019, 1, 1), "Beekdaelen", "parkstad"),
        ("Onderbanken", date(2018, 6, 1), "Onderbanken", "parkstad"),
        ("Onderbanken", date(2021, 6, 1), "Beekdaelen", "parkstad"),
        ("Oirsbeek", date(2010, 1, 1), "Schinnen", "westelijke-mijnstreek"),
        ("Oirsbeek", date(2025, 1, 1), "Beekdaelen", "parkstad"),
        ("Schinveld", D2025, "Beekdaelen", "parkstad"),
        ("Amstenrade", D2025, "Beekdaelen", "parkstad"),
        ("Hulsberg", D2025, "Beekdaelen", "parkstad"),
        ("Sittard", date(2000, 12, 31), "Sittard", "westelijke-mijnstreek"),
        ("Geleen", date(2001, 1, 1), "Sittard-Geleen", "westelijke-mijnstreek"),
        ("Born", D2025, "Sittard-Geleen", "westelijke-mijnstreek"),
        ("Munstergeleen", date(1995, 1, 1), "Sittard", "westelijke-mijnstreek"),
        ("Munstergeleen", D2025, "Sittard-Geleen", "westelijke-mijnstreek"),
        ("Elsloo", D2025, "Stein", "westelijke-mijnstreek"),
        ("Urmond", D2025, "Stein", "westelijke-mijnstreek"),
        ("Eijsden", date(2010, 12, 31), "Eijsden", "maastricht-heuvelland"),
        ("Margraten", date(2011, 1, 1), "Eijsden-Margraten", "maastricht-heuvelland"),
        ("Cadier en Keer", D2025, "Eijsden-Margraten", "maastricht-heuvelland"),
        ("Gronsveld", D2025, "Eijsden-Margraten", "maastricht-heuvelland"),
        ("Gulpen", date(1998, 12, 31), "Gulpen", "maastricht-heuvelland"),
        ("Wittem", date(1999, 1, 1), "Gulpen-Wittem", "maastricht-heuvelland"),
        ("Mechelen", D2025, "Gulpen-Wittem", "maastricht-heuvelland"),
        ("Epen", D2025, "Gulpen-Wittem", "maastricht-heuvelland"),
        ("Ulestraten", D2025, "Meerssen", "maastricht-heuvelland"),
        ("Valkenburg", D2025, "Valkenburg aan de Geul", "maastricht-heuvelland"),
        ("Valkenburg-Houthem", date(1981, 6, 1), "Valkenburg-Houthem", "maastricht-heuvelland"),
        ("Valkenburg-Houthem", D2025, "Valkenburg aan de Geul", "maastricht-heuvelland"),
        ("Klimmen", D2025, "Voerendaal", "parkstad"),
        ("Hoensbroek", date(1981, 12, 31), "Hoensbroek", "parkstad"),
        ("Hoensbroek", date(1982, 1, 1), "Heerlen", "parkstad"),
        ("Schaesberg", D2025, "Landgraaf", "parkstad"),
        ("Nieuwenhagen", D2025, "Landgraaf", "parkstad"),
        ("Ubach over Worms", D2025, "Landgraaf", "parkstad"),
        ("Eygelshoven", D2025, "Kerkrade", "parkstad"),
        ("Bocholtz", D2025, "Simpelveld", "parkstad"),
    ],
)
def test_former_gemeenten_and_place_names_resolve_on_the_date(naam, op, gemeente, zvh) -> None:
    uitslag = resolve(naam, op)
    assert (uitslag.kind, uitslag.gemeente, uitslag.zvh) == ("zuid-limburg", gemeente, zvh)
    if gemeente != naam:
        assert uitslag.note and naam in uitslag.note and gemeente in uitslag.note
        assert len(uitslag.entries) >= 2


def test_beekdaelen_did_not_exist_before_the_merger() -> None:
    assert resolve("Beekdaelen", date(2018, 12, 31)).kind == "onbekend"
    assert resolve("Beekdaelen", date(2019, 1, 1)).zvh == "parkstad"


def test_the_gemeenten_of_a_day_are_those_the_register_has_then() -> None:
    in_2018 = default_register().gemeenten_op(date(2018, 12, 31))
    in_2019 = default_register().gemeenten_op(date(2019, 1, 1))
    assert len(in_2018) == 18 and len(in_2019) == 16
    assert in_2018["Schinnen"] == "westelijke-mijnstreek" and in_2018["Nuth"] == in_2018["Onderbanken"] == "parkstad"
    assert "Beekdaelen" not in in_2018 and in_2019["Beekdaelen"] == "parkstad"
    assert set(in_2019) - {"Beekdaelen"} == set(in_2018) - {"Schinnen", "Nuth", "Onderbanken"}


@pytest.mark.parametrize(
    ("naam", "regio"),
    [
        ("Venlo", "Noord-Limburg"), ("Venray", "Noord-Limburg"), ("Horst aan de Maas", "Noord-Limburg"),
        ("Peel en Maas", "Noord-Limburg"), ("Beesel", "Noord-Limburg"), ("Bergen (L.)", "Noord-Limburg"),
        ("Gennep", "Noord-Limburg"), ("Mook en Middelaar", "Noord-Limburg"),
        ("Roermond", "Midden-Limburg"), ("Weert", "Midden-Limburg"), ("Leudal", "Midden-Limburg"),
        ("Maasgouw", "Midden-Limburg"), ("Echt-Susteren", "Midden-Limburg"),
        ("Roerdalen", "Midden-Limburg"), ("Nederweert", "Midden-Limburg"),
        ("Amsterdam", "Amsterdam-Amstelland"), ("Eindhoven", "Brabant-Zuidoost"),
        ("Den Haag", "Haaglanden"), ("Den Bosch", "Brabant-Noord"), ("Groningen", "Groningen"),
        ("Echt", "Midden-Limburg"), ("Tegelen", "Noord-Limburg"),
    ],
)
def test_gemeenten_outside_zuid_limburg_are_marked_with_their_region(naam, regio) -> None:
    uitslag = resolve(naam, D2025)
    assert (uitslag.kind, uitslag.zvh, uitslag.regio) == ("buiten-regio", None, regio)


def test_register_holds_every_dutch_gemeente_of_2025() -> None:
    register = default_register()
    data = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))
    buiten = {naam for regio in data["buiten_regio"] for naam in regio["gemeenten"]}
    assert len(buiten) == 342 - 16
    assert {resolve(g, D2025).kind for g in buiten} == {"buiten-regio"}
    in_2025 = {g for g in register.zuid_limburg_gemeenten() if resolve(g, D2025).gemeente == g}
    assert in_2025 == {g for gs in HUIZEN_2025.values() for g in gs}


@pytest.mark.parametrize(
    "naam", ["heerlen", "HEERLEN", "  Heerlen  ", "\theerlen\n", "Gemeente Heerlen"]
)
def test_names_match_case_insensitively_and_ignore_surrounding_space(naam: str) -> None:
    assert resolve(naam, D2025).gemeente == "Heerlen"


@pytest.mark.parametrize(
    "naam",
    ["'s-Hertogenbosch", "’s-Hertogenbosch", "s Hertogenbosch", "S-HERTOGENBOSCH",
     "'s Hertogenbosch", "Den Bosch", "den  bosch"],
)
def test_apostrophe_and_hyphen_variants_of_s_hertogenbosch_are_one_gemeente(naam: str) -> None:
    assert resolve(naam, D2025).gemeente == "'s-Hertogenbosch"


@pytest.mark.parametrize("naam", ["Sittard Geleen", "sittard-geleen", "SITTARD  -  GELEEN"])
def test_hyphens_and_multiple_spaces_are_alike(naam: str) -> None:
    assert resolve(naam, D2025).gemeente == "Sittard-Geleen"


def test_diacritics_are_ignored() -> None:
    assert resolve("Sudwest Fryslan", D2025).gemeente == "Súdwest-Fryslân"


@pytest.mark.parametrize("naam", [None, "", "   ", "Atlantis", "Bergen"])
def test_missing_unknown_or_ambiguous_names_are_never_guessed(naam) -> None:
    uitslag = resolve(naam, D2025)
    assert (uitslag.kind, uitslag.gemeente, uitslag.zvh) == ("onbekend", None, None)
    assert uitslag.note


def test_normalize_makes_one_key_of_spelling_variants() -> None:
    assert normalize("'s-Hertogenbosch") == normalize("s hertogenbosch") == "s hertogenbosch"
    assert normalize("Bergen (L.)") == normalize("bergen l")


def _register(yaml_text: str) -> GemeenteRegister:
    return GemeenteRegister(yaml.safe_load(yaml_text), source="test.yaml")


def test_register_rejects_a_name_that_means_two_things_on_one_date() -> None:
    with pytest.raises(RegisterError, match="overlap"):
        _register("""
zvh: {parkstad: Parkstad}
gemeenten:
  - {naam: Nuth, zvh: parkstad, geldig_tot: 2019-06-30}
plaatsnamen:
  - {naam: Nuth, gemeente: Nuth, geldig_van: 2019-01-01}
""")


def test_register_rejects_an_unknown_house() -> None:
    with pytest.raises(RegisterError, match="unknown zvh"):
        _register("zvh: {parkstad: P}\ngemeenten: [{naam: X, zvh: elders}]\n")


def test_register_rejects_a_place_name_pointing_nowhere() -> None:
    with pytest.raises(RegisterError, match="unknown"):
        _register("zvh: {parkstad: P}\nplaatsnamen: [{naam: X, gemeente: Nergens}]\n")


def test_register_rejects_cycles() -> None:
    with pytest.raises(RegisterError, match="cycle"):
        _register("zvh: {p: P}\nplaatsnamen: [{naam: A, gemeente: B}, {naam: B, gemeente: A}]\n")
