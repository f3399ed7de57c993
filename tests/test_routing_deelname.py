"""Participation per gemeente (routing/data/deelname.yaml): one line changes where a melding goes,
and an inconsistent file is refused naming the entry."""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

import routing
from routing import Feiten, RulesetError, load_ruleset
from routing.deelname import DEFAULT_PATH, Deelname, DeelnameFout

SHIPPED = Path(routing.__file__).parent / "rules"
JPP_KERKRADE = Feiten(soort="jpp", bron="politie", datum=date(2025, 3, 1), gemeente="Kerkrade", leeftijd=14)


def ruleset_with(tmp_path: Path, deelname: str) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED, rules)
    (rules / "deelname.yaml").write_text(deelname, encoding="utf-8")
    return rules


def test_the_shipped_answers_follow_the_seeds() -> None:
    d = Deelname.from_yaml(DEFAULT_PATH)
    assert d.antwoord("jpp", "Heerlen", date(2025, 1, 1)) == "ja"
    assert d.antwoord("jpp", "Kerkrade", date(2025, 1, 1)) == "onbekend"
    assert d.antwoord("preventie-met-gezag", "Sittard-Geleen", date(2024, 7, 31)) == "onbekend"
    assert d.antwoord("preventie-met-gezag", "Sittard-Geleen", date(2024, 8, 1)) == "ja"
    assert d.antwoord("preventie-met-gezag", "Stein", date(2024, 8, 1)) == "nee"
    assert d.antwoord("preventie-met-gezag", "Heerlen", date(2024, 12, 31)) == "onbekend"
    assert d.antwoord("preventie-met-gezag", "Heerlen", date(2025, 1, 1)) == "ja"
    assert d.antwoord("jpp", None, date(2025, 1, 1)) == "onbekend"


def test_when_kerkrade_says_it_uses_the_jpp_one_line_routes_its_meldingen_there(tmp_path: Path) -> None:
    assert load_ruleset().decide(JPP_KERKRADE).outcome == "triage"
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "      # Beekdaelen, Brunssum, Kerkrade,",
        "      - {naam: Kerkrade, deelname: ja, geldig_van: 2025-02-01, bron: '000 JPP \"JPP\"'}\n"
        "      # Beekdaelen, Brunssum, Kerkrade,", 1)
    voorstel = load_ruleset(ruleset_with(tmp_path, text))
    assert voorstel.version != load_ruleset().version
    assert voorstel.decide(JPP_KERKRADE).product == "jpp"
    assert voorstel.decide(replace(JPP_KERKRADE, datum=date(2025, 1, 31))).outcome == "triage"


@pytest.mark.parametrize(("text", "message"), [
    ("producten:\n  jpp:\n    bron: x\n    gemeenten:\n      - {naam: Heerlen, deelname: misschien, bron: x}\n",
     "deelname must be ja or nee"),
    ("producten:\n  jpp:\n    bron: x\n    gemeenten:\n      - {naam: Heerlen, deelname: ja}\n", "no bron"),
    ("producten:\n  jpp:\n    bron: x\n    gemeenten:\n      - {naam: Heerlen, deelname: ja, bron: x}\n"
     "      - {naam: Heerlen, deelname: nee, bron: x, geldig_van: 2025-01-01}\n", "listed twice for one date"),
    ("producten: []\n", "expected `producten:`"),
])
def test_an_inconsistent_participation_file_is_refused_naming_the_entry(tmp_path: Path, text, message) -> None:
    path = tmp_path / "deelname.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeelnameFout, match=message):
        Deelname.from_yaml(path)
    with pytest.raises(RulesetError, match=message):
        load_ruleset(ruleset_with(tmp_path, text))


@pytest.mark.parametrize(("text", "message"), [
    ("producten:\n  pizza:\n    bron: x\n    gemeenten: []\n", "deelname.yaml: unknown product 'pizza'"),
    ("producten:\n  jpp:\n    bron: x\n    gemeenten:\n      - {naam: Venlo, deelname: ja, bron: x}\n",
     "deelname.yaml: 'Venlo' is not a Zuid-Limburg gemeente in the register"),
])
def test_participation_names_known_products_and_zuid_limburg_gemeenten(tmp_path: Path, text, message) -> None:
    with pytest.raises(RulesetError) as exc:
        load_ruleset(ruleset_with(tmp_path, text))
    assert message in [str(p) for p in exc.value.problemen]
