"""`loket rules check`: the shipped rules pass; each kind of broken ruleset fails, naming the
file, the rule and the problem."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import routing
from events.intake import SOORTEN
from routing.lint import check

SHIPPED = Path(routing.__file__).parent / "rules"
LOKET = [sys.executable, "-m", "loket.cli"]


def _row(rule_id: str, als: str, dan: str = "{product: via, reden: r}", extra: str = "",
         bron: str = "DOMAIN products") -> str:
    return (f"\n  - id: {rule_id}\n    bron: {bron}\n{extra}    priority: 500\n"
            f"    als: {als}\n    dan: {dan}\n")


# (case, file, (old, new) to replace or text to append, expected message)
BROKEN = [
    ("overlap with the same priority", "via.yaml",
     "\n  - id: x.dubbel\n    bron: DOMAIN products\n    priority: 20\n    als: {soort: via, hic: true}\n"
     "    dan: {product: via, reden: r}\n",
     r"via\.yaml: rule 'x\.dubbel': has the same priority 20 as 'via\.team'.*ambiguous"),
    ("no declared priority", "via.yaml",
     "\n  - id: x.zonder\n    bron: DOMAIN products\n    als: {soort: via}\n    dan: {product: via, reden: r}\n",
     r"via\.yaml: rule 'x\.zonder': priority: Field required"),
    ("soort without a rule on some dates", "thema.yaml",
     ("  - id: radicalisering.weegploeg\n",
      "  - id: radicalisering.weegploeg\n    geldig_tot: 2020-12-31\n"),
     r"ruleset\.yaml: soort 'radicalisering' has no rule in force from 2021-01-01 to 2026-12-31"),
    ("unknown product", "via.yaml", _row("x.product", "{soort: via, hic: true}",
                                         "{product: pizza, reden: r}"),
     r"via\.yaml: rule 'x\.product': unknown product 'pizza'"),
    ("unknown zvh", "via.yaml", _row("x.zvh", "{soort: via, zvh: limburg-noord}"),
     r"via\.yaml: rule 'x\.zvh': unknown zvh 'limburg-noord'"),
    ("unknown gemeente", "via.yaml", _row("x.gemeente", "{soort: via, gemeente: [Heerlen, Venlo]}"),
     r"via\.yaml: rule 'x\.gemeente': 'Venlo' is not a Zuid-Limburg gemeente"),
    ("period that ends before it starts", "aanvulling.yaml",
     ("geldig_tot: 2026-12-31", "geldig_tot: 2024-12-31"),
     r"aanvulling\.yaml: rule 'rio\.hic': .*geldig_van 2025-01-01 is after geldig_tot 2024-12-31"),
    ("a row an earlier row always beats", "aanmelding.yaml",
     ("    priority: 40\n", "    priority: 95\n"),
     r"aanmelding\.yaml: rule 'aanmelding\.kinderen-betrokken': can never fire: "
     r"'aanmelding\.c-en-a' \(aanmelding\.yaml, priority 90\) comes first"),
    ("contradicting conditions", "jpp.yaml",
     ("      soort: jpp\n      leeftijd_bekend: false\n",
      "      soort: jpp\n      leeftijd_bekend: false\n      leeftijd: {max: 17}\n"),
     r"jpp\.yaml: rule 'jpp\.leeftijd-onbekend': can never fire: its conditions contradict"),
    ("unknown soort", "via.yaml", _row("x.typo", "{soort: vai}"),
     r"via\.yaml: rule 'x\.typo': unknown soort 'vai'"),
    ("queue of an unknown house", "via.yaml", ("queue: westelijke-mijnstreek/via", "queue: wm/via"),
     r"via\.yaml: rule 'via\.team': queue 'wm/via' names unknown zvh 'wm'"),
    ("a rule without a source", "via.yaml", _row("x.bron", "{soort: via, hic: true}", bron="test"),
     r"via\.yaml: rule 'x\.bron': bron: 'test' is neither a seed .*, a DOMAIN\.md section, nor "
     r"'besluit loket'"),
    ("a seed cited without a quote", "via.yaml",
     _row("x.citaat", "{soort: via, hic: true}", bron="003 VIA"),
     r"via\.yaml: rule 'x\.citaat': bron: the reference to seed 003 quotes nothing from it"),
    ("a besluit loket that routes without a person", "via.yaml",
     _row("x.besluit", "{soort: via, hic: true}", bron="'003 VIA \"gestart\"; besluit loket'"),
     r"via\.yaml: rule 'x\.besluit': bron: is a 'besluit loket' that decides without a person"),
    ("a signal value that is not in the vocabulary", "via.yaml",
     _row("x.woord", "{soort: via, leefgebieden_bevat: [huisvesting]}"),
     r"via\.yaml: rule 'x\.woord': 'huisvesting' is not an id of the leefgebieden vocabulary"),
    ("participation in a product the data does not know", "via.yaml",
     _row("x.deelname", "{soort: via, deelname: {via: ja}}"),
     r"via\.yaml: rule 'x\.deelname': deelname: 'via' is not a product of deelname\.yaml"),
]


def broken_copy(target: Path, filename: str, change) -> Path:
    shutil.copytree(SHIPPED, target)
    path = target / filename
    text = path.read_text(encoding="utf-8")
    if isinstance(change, tuple):
        old, new = change
        assert old in text, f"fixture edit no longer applies to {filename}"
        text = text.replace(old, new, 1)
    else:
        text += change
    path.write_text(text, encoding="utf-8")
    return target


def test_the_shipped_rules_pass_the_lint() -> None:
    rapport = check(soorten=SOORTEN)
    assert rapport.ok, [str(p) for p in rapport.problemen]
    assert rapport.version == routing.load_ruleset().version
    assert "12 soorten, each with a rule on every date from" in rapport.samenvatting


@pytest.mark.parametrize(("case", "filename", "change", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_ruleset_fails_the_lint_naming_file_rule_and_problem(
        tmp_path: Path, case, filename, change, message) -> None:
    rapport = check(broken_copy(tmp_path / "rules", filename, change), soorten=SOORTEN)
    assert not rapport.ok
    lines = [str(p) for p in rapport.problemen]
    assert any(re.search(message, line) for line in lines), lines
    assert len(lines) == 1, f"{case}: one problem expected, got {lines}"


def test_every_problem_is_reported_at_once_not_only_the_first(tmp_path: Path) -> None:
    rules = broken_copy(tmp_path / "rules", "via.yaml",
                        _row("x.product", "{soort: via, hic: true}", "{product: pizza, reden: r}")
                        + _row("x.zvh", "{soort: via, zvh: limburg-noord}"))
    lines = [str(p) for p in check(rules).problemen]
    assert any("'x.product'" in line and "pizza" in line for line in lines)
    assert any("'x.zvh'" in line and "limburg-noord" in line for line in lines)


def test_a_soort_of_the_intake_contract_without_rules_is_reported(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED, rules)
    (rules / "jpp.yaml").unlink()
    manifest = rules / "ruleset.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(
        "radicalisering, jpp]", "radicalisering]"), encoding="utf-8")
    lines = [str(p) for p in check(rules, soorten=SOORTEN).problemen]
    assert "ruleset.yaml: soort 'jpp' of the intake contract is not among the soorten of this " \
           "ruleset" in lines
    assert any(line.startswith("ruleset.yaml: soort 'jpp' has no rule in force") for line in lines)


def test_a_ruleset_that_cannot_be_read_at_all_is_one_problem(tmp_path: Path) -> None:
    rapport = check(tmp_path)
    assert rapport.version is None
    assert [p.tekst for p in rapport.problemen] == ["no ruleset.yaml (ruleset name and tables)"]


# -- the command ------------------------------------------------------------------------------


def loket(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*LOKET, *args], capture_output=True, text=True, timeout=120)


def test_rules_check_says_ok_and_exits_0_on_the_shipped_rules() -> None:
    result = loket("rules", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK {routing.load_ruleset().version}: ")


def test_rules_check_exits_1_with_a_line_per_problem_on_a_broken_ruleset(tmp_path: Path) -> None:
    case = next(b for b in BROKEN if b[0] == "unknown product")
    rules = broken_copy(tmp_path / "rules", case[1], case[2])
    result = loket("rules", "check", "--rules", str(rules))
    assert result.returncode == 1
    assert f"{rules}/via.yaml: rule 'x.product': unknown product 'pizza'" in result.stdout
    assert result.stdout.strip().endswith(f"1 problem(s) in {rules}")


def test_rules_check_of_a_directory_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    result = loket("rules", "check", "--rules", str(tmp_path / "nergens"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"loket: rules: ruleset directory not found: {tmp_path / 'nergens'}"


# -- sources: every rule names one, and what it quotes is in it -----------------------------

ROOT = Path(__file__).parents[1]
# The project's sources (DOMAIN.md and seeds/) live beside the repository (DOMAIN.md: ../shared).
BRONNEN = ROOT.parent / "shared"


@pytest.mark.skipif(not (BRONNEN / "DOMAIN.md").is_file(), reason="the seeds are not beside the repository")
def test_every_phrase_the_shipped_rules_quote_is_found_in_the_seed_or_domain_section_they_name() -> None:
    rapport = check(soorten=SOORTEN, bronnen=BRONNEN)
    assert rapport.ok, [str(p) for p in rapport.problemen]


def sources(tmp_path: Path, seed_003: str) -> Path:
    """A stand-in for the sources: DOMAIN.md with its headings and seed 003 saying `seed_003`."""
    bronnen = tmp_path / "bronnen"
    (bronnen / "seeds").mkdir(parents=True)
    domain = (BRONNEN / "DOMAIN.md") if (BRONNEN / "DOMAIN.md").is_file() else None
    (bronnen / "DOMAIN.md").write_text(domain.read_text(encoding="utf-8") if domain else
                                       "## Products\n## Gemeenten and houses\n", encoding="utf-8")
    (bronnen / "seeds" / "003_test.txt").write_text(seed_003, encoding="utf-8")
    return bronnen


def test_a_quote_that_is_not_in_the_seed_it_names_fails_the_lint(tmp_path: Path) -> None:
    rules = broken_copy(tmp_path / "rules", "via.yaml", _row(
        "x.citaat", "{soort: via, hic: true}",
        bron="'003 VIA \"werken voor heel de regio\"; \"het VIA doet alles\"'"))
    bronnen = sources(tmp_path, "De medewerkers van het VIA werken voor heel de\nregio Zuid-Limburg.")
    lines = [str(p) for p in check(rules, bronnen=bronnen).problemen]
    # the phrase across a line break is found; the other is not
    assert [line for line in lines if "'x.citaat'" in line] == [
        "via.yaml: rule 'x.citaat': bron: 003 does not say 'het VIA doet alles'"]


def test_a_domain_section_that_does_not_exist_fails_the_lint(tmp_path: Path) -> None:
    rules = broken_copy(tmp_path / "rules", "via.yaml", _row(
        "x.sectie", "{soort: via, hic: true}", bron="DOMAIN hoofdstuk dat er niet is"))
    lines = [str(p) for p in check(rules, bronnen=sources(tmp_path, "")).problemen]
    assert "via.yaml: rule 'x.sectie': bron: DOMAIN.md has no section 'hoofdstuk dat er niet is'" in lines


def test_rules_check_with_the_sources_exits_1_on_a_misquoted_seed(tmp_path: Path) -> None:
    rules = broken_copy(tmp_path / "rules", "via.yaml", _row(
        "x.citaat", "{soort: via, hic: true}", bron="'003 VIA \"het VIA doet alles\"'"))
    result = loket("rules", "check", "--rules", str(rules), "--bronnen", str(sources(tmp_path, "")))
    assert result.returncode == 1
    assert f"{rules}/via.yaml: rule 'x.citaat': bron: 003 does not say 'het VIA doet alles'" in result.stdout
