"""Loading, validating, versioning and explaining a ruleset."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

import routing
from routing import Feiten, RulesetError, load_ruleset

SHIPPED = Path(routing.__file__).parent / "rules"
RULESET = load_ruleset()


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A private copy of the shipped rules to change."""
    target = tmp_path / "rules"
    shutil.copytree(SHIPPED, target)
    return target


def _append_rule(directory: Path, filename: str, text: str) -> None:
    path = directory / filename
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


# -- version ----------------------------------------------------------------------------------


def test_version_is_the_ruleset_name_and_a_short_content_hash() -> None:
    assert re.fullmatch(r"zl-routing@[0-9a-f]{12}", RULESET.version)
    assert load_ruleset().version == RULESET.version
    assert load_ruleset(SHIPPED).version == RULESET.version


def test_version_changes_when_a_rule_changes(rules_dir: Path) -> None:
    path = rules_dir / "wvggz.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("deadline_dagen: 14", "deadline_dagen: 15", 1),
                    encoding="utf-8")
    changed = load_ruleset(rules_dir)
    assert changed.version != RULESET.version
    assert changed.version.startswith("zl-routing@")


def test_version_covers_the_gemeente_register(rules_dir: Path) -> None:
    register = Path(routing.__file__).parent / "data" / "gemeenten.yaml"
    text = register.read_text(encoding="utf-8").replace("{naam: Stein, zvh: westelijke-mijnstreek}",
                                                         "{naam: Stein, zvh: maastricht-heuvelland}")
    (rules_dir / "gemeenten.yaml").write_text(text, encoding="utf-8")
    own = load_ruleset(rules_dir)
    assert own.version != RULESET.version
    feiten = Feiten(soort="mensenhandel", bron="politie", datum=date(2025, 1, 1), gemeente="Stein")
    assert own.decide(feiten).zvh == "maastricht-heuvelland"
    assert RULESET.decide(feiten).zvh == "westelijke-mijnstreek"


def test_two_ruleset_versions_coexist_and_each_decision_names_its_own(rules_dir: Path) -> None:
    (rules_dir / "veilig-thuis.yaml").unlink()  # e.g. the rules before Veilig Thuis joined
    older = load_ruleset(rules_dir)
    feiten = Feiten(soort="vt-routeertafel", bron="veilig-thuis", datum=date(2025, 1, 1),
                    gemeente="Heerlen")
    old, new = older.decide(feiten), RULESET.decide(feiten)
    assert (old.outcome, old.ruleset) == ("triage", older.version)
    assert (new.product, new.ruleset) == ("vt-routeertafel", RULESET.version)


def test_a_copy_with_one_rule_changed_loads_beside_the_shipped_rules(rules_dir: Path) -> None:
    # e.g. the houses propose to fund RIO for one more year
    path = rules_dir / "aanvulling.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("geldig_tot: 2026-12-31",
                                                              "geldig_tot: 2027-12-31"),
                    encoding="utf-8")
    voorstel = load_ruleset(rules_dir)
    rio_2027 = Feiten(soort="detentie-uit", bron="dji", datum=date(2027, 3, 1), gemeente="Heerlen",
                      leeftijd=21, hic=True)
    assert voorstel.version != RULESET.version and voorstel.name == RULESET.name
    assert voorstel.decide(rio_2027).labels == ("rio",)
    assert RULESET.decide(rio_2027).labels == ()
    assert load_ruleset().decide(rio_2027).labels == ()  # loading one changes nothing in another
    rio_2026 = Feiten(soort="detentie-uit", bron="dji", datum=date(2026, 3, 1), gemeente="Heerlen",
                      leeftijd=21, hic=True)
    assert voorstel.decide(rio_2026).rules == RULESET.decide(rio_2026).rules


def test_decision_uses_the_rules_in_force_on_the_melding_date() -> None:
    via = dict(soort="via", bron="politie", gemeente="Heerlen")
    assert RULESET.decide(Feiten(datum=date(2019, 7, 1), **via)).outcome == "triage"
    assert RULESET.decide(Feiten(datum=date(2019, 9, 1), **via)).product == "via"


def test_all_rule_ids_are_unique_and_stable() -> None:
    ids = [rule.id for rule in RULESET.rules()]
    assert len(ids) == len(set(ids))
    assert {"gemeente.buiten-regio", "detentie.nazorg", "rio.hic", "art18.bij", "pga.top-x",
            "wvggz.westelijke-mijnstreek", "via.team", "product.geen-regel"} <= set(ids)


# -- validation -------------------------------------------------------------------------------


BAD_RULES = [
    ("unknown column", "  - id: x.kolom\n    bron: test\n    priority: 500\n"
     "    als: {soort: via, kleur: rood}\n    dan: {product: via, reden: r}\n", r"'x\.kolom'.*kleur"),
    ("unknown product", "  - id: x.product\n    bron: test\n    priority: 500\n"
     "    als: {soort: via}\n    dan: {product: pizza, reden: r}\n", r"'x\.product'.*pizza"),
    ("unknown gemeente", "  - id: x.gemeente\n    bron: test\n    priority: 500\n"
     "    als: {soort: via, gemeente: Venlo}\n    dan: {product: via, reden: r}\n", r"Venlo"),
    ("unknown zvh", "  - id: x.zvh\n    bron: test\n    priority: 500\n"
     "    als: {soort: via, zvh: limburg-noord}\n    dan: {product: via, reden: r}\n", r"limburg-noord"),
    ("duplicate id", "  - id: via.team\n    bron: test\n    priority: 500\n"
     "    als: {soort: via}\n    dan: {product: via, reden: r}\n", r"via\.team"),
    ("ambiguous priority", "  - id: x.prio\n    bron: test\n    priority: 20\n"
     "    als: {soort: via}\n    dan: {product: via, reden: r}\n", r"same priority"),
    ("bad period", "  - id: x.periode\n    bron: test\n    priority: 500\n"
     "    geldig_van: 2025-01-01\n    geldig_tot: 2024-01-01\n"
     "    als: {soort: via}\n    dan: {product: via, reden: r}\n", r"'x\.periode'.*geldig_van"),
    ("bad placeholder", "  - id: x.reden\n    bron: test\n    priority: 500\n"
     "    als: {soort: via}\n    dan: {product: via, reden: 'Hallo {naam}'}\n", r"'x\.reden'.*naam"),
    ("format spec", "  - id: x.spec\n    bron: test\n    priority: 500\n"
     "    als: {soort: via}\n    dan: {product: via, reden: 'Leeftijd {leeftijd:d}'}\n", r"'x\.spec'.*plain"),
    ("missing bron", "  - id: x.bron\n    priority: 500\n"
     "    als: {soort: via}\n    dan: {product: via, reden: r}\n", r"'x\.bron'.*bron"),
    ("underived kenmerk", "  - id: x.kenmerk\n    bron: test\n    priority: 500\n"
     "    als: {soort: via, kenmerken: {geluk: true}}\n    dan: {product: via, reden: r}\n", r"geluk"),
    ("bad age range", "  - id: x.leeftijd\n    bron: test\n    priority: 500\n"
     "    als: {soort: via, leeftijd: {min: 30, max: 20}}\n    dan: {product: via, reden: r}\n",
     r"'x\.leeftijd'.*min 30 > max 20"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_RULES, ids=[c[0] for c in BAD_RULES])
def test_a_bad_rule_is_refused_with_its_file_and_rule_named(rules_dir: Path, case, text, message) -> None:
    _append_rule(rules_dir, "via.yaml", text)
    with pytest.raises(RulesetError, match=message) as info:
        load_ruleset(rules_dir)
    assert "via.yaml" in str(info.value)


def test_a_collect_row_may_not_decide_a_product(rules_dir: Path) -> None:
    _append_rule(rules_dir, "aanvulling.yaml", "  - id: x.collect\n    bron: test\n    priority: 90\n"
                 "    dan: {product: pga, reden: r}\n")
    with pytest.raises(RulesetError, match=r"aanvulling\.yaml.*'x\.collect'.*COLLECT"):
        load_ruleset(rules_dir)


def test_invalid_yaml_is_refused_with_the_file_named(rules_dir: Path) -> None:
    (rules_dir / "via.yaml").write_text("tabel: product\nrules: [\n  - id: kapot\n", encoding="utf-8")
    with pytest.raises(RulesetError, match=r"via\.yaml: invalid YAML"):
        load_ruleset(rules_dir)


def test_a_rule_file_for_an_undeclared_table_is_refused(rules_dir: Path) -> None:
    (rules_dir / "extra.yaml").write_text(
        "tabel: onbekend\nhit_policy: FIRST\nrules:\n  - {id: x, bron: b, priority: 1, dan: {reden: r}}\n",
        encoding="utf-8")
    with pytest.raises(RulesetError, match=r"extra\.yaml.*onbekend"):
        load_ruleset(rules_dir)


def test_a_hit_policy_that_contradicts_the_manifest_is_refused(rules_dir: Path) -> None:
    path = rules_dir / "via.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("hit_policy: FIRST", "hit_policy: COLLECT"),
                    encoding="utf-8")
    with pytest.raises(RulesetError, match=r"via\.yaml: hit_policy COLLECT"):
        load_ruleset(rules_dir)


def test_a_directory_without_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesetError, match="ruleset.yaml"):
        load_ruleset(tmp_path)


# -- explain ----------------------------------------------------------------------------------


RIO_CASE = Feiten(soort="detentie-uit", bron="dji", datum=date(2025, 4, 1), gemeente="Schinnen",
                  leeftijd=22, hic=True)


def test_explain_gives_the_same_decision_as_decide() -> None:
    trace = RULESET.explain(RIO_CASE)
    assert trace.beslissing == RULESET.decide(RIO_CASE)
    assert trace.ruleset == RULESET.version


def test_explain_lists_each_rule_considered_with_its_conditions_and_source() -> None:
    trace = RULESET.explain(RIO_CASE)
    fired = {c.rule: c for c in trace.fired}
    assert list(fired) == ["gemeente.zuid-limburg", "detentie.nazorg", "rio.hic"]
    assert fired["rio.hic"].bron.startswith("001")
    assert fired["rio.hic"].geldig == "2025-01-01..2026-12-31"
    minor = next(c for c in trace.considered if c.rule == "detentie.minderjarig")
    assert not minor.fired
    failed = [c for c in minor.conditions if not c.matched]
    assert [(c.column, c.expected, c.actual) for c in failed] == [("leeftijd", "..17", "22")]
    assert trace.gemeente.gemeente == "Beekdaelen"


def test_explain_shows_why_a_rule_for_another_house_did_not_fire() -> None:
    feiten = Feiten(soort="wvggz", bron="gemeente", datum=date(2025, 3, 4), gemeente="Heerlen")
    trace = RULESET.explain(feiten)
    wm = next(c for c in trace.considered if c.rule == "wvggz.westelijke-mijnstreek")
    assert not wm.fired
    assert [c.column for c in wm.conditions if not c.matched] == ["zvh"]


def test_trace_as_dict_is_json_and_render_is_readable() -> None:
    trace = RULESET.explain(RIO_CASE)
    data = json.loads(json.dumps(trace.as_dict()))
    assert data["beslissing"]["labels"] == ["rio"]
    assert data["feiten"]["datum"] == "2025-04-01"
    assert any(c["rule"] == "rio.hic" and c["fired"] for c in data["considered"])
    text = trace.render()
    assert "rio.hic" in text and "FIRED" in text and "001 Re-integratie Officier" in text
    assert "Beekdaelen" in text and "routed" in text


def test_explain_of_a_triage_says_why() -> None:
    trace = RULESET.explain(Feiten(soort="aanmelding", bron="gemeente", datum=date(2025, 1, 1)))
    assert trace.beslissing.outcome == "triage"
    assert "gemeente.ontbreekt" in trace.render()


def test_a_derivation_table_must_collect(rules_dir: Path) -> None:
    for name in ("ruleset.yaml", "landelijke-criteria.yaml"):
        path = rules_dir / name
        text = path.read_text(encoding="utf-8")
        if name == "ruleset.yaml":
            text = text.replace("  - naam: landelijke-criteria\n    hit_policy: COLLECT",
                                "  - naam: landelijke-criteria\n    hit_policy: FIRST")
        else:
            text = text.replace("hit_policy: COLLECT", "hit_policy: FIRST")
        path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesetError, match="derivation table 'landelijke-criteria' must be COLLECT"):
        load_ruleset(rules_dir)


def test_a_table_declared_twice_is_refused(rules_dir: Path) -> None:
    path = rules_dir / "ruleset.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "  - naam: aanvulling\n", "  - naam: product\n    hit_policy: FIRST\n  - naam: aanvulling\n"),
        encoding="utf-8")
    with pytest.raises(RulesetError, match="declared twice"):
        load_ruleset(rules_dir)


def test_without_the_memo_every_decision_of_a_synthetic_year_is_the_same() -> None:
    """The memo only remembers: a ruleset that evaluates every call afresh (what the routing
    benchmark times as "memo off") decides each melding of a year exactly as the memoised one."""
    from events.intake import Ongeldig, parse
    from loket.synthetic import jaar

    feiten = []
    for line in jaar(2025, 7, 0.15):
        try:
            feiten.append(parse(line).feiten())
        except Ongeldig:
            continue
    memo, fresh = load_ruleset(), load_ruleset(memo=False)
    assert [memo.decide(f) for f in feiten] == [fresh.decide(f) for f in feiten]
    assert [memo.decide(f) for f in feiten] == [fresh.decide(f) for f in feiten]  # memo now warm
