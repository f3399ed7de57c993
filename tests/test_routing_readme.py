"""routing/README.md's table of seed facts: every rule is in it, every rule it names exists, and
every phrase it quotes is in the seed or DOMAIN.md section it names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from routing import load_ruleset
from routing.bronnen import controleer

ROOT = Path(__file__).parents[1]
BRONNEN = ROOT.parent / "shared"  # DOMAIN.md and seeds/, beside the repository
RULE_TOKEN = re.compile(r"`([a-z0-9]+\.[a-z0-9.\-]+(?:\.\*)?)`")


def tabel() -> list[tuple[str, str, str]]:
    text = (ROOT / "routing" / "README.md").read_text(encoding="utf-8")
    section = text.split("## Seed facts and the rules that encode them", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| seed")]
    cells = [tuple(c.strip() for c in row.strip("|").split(" | ")) for row in rows]
    assert all(len(c) == 3 for c in cells), [c for c in cells if len(c) != 3]
    return cells  # type: ignore[return-value]


def genoemd(rules_cell: str) -> list[str]:
    return RULE_TOKEN.findall(rules_cell)


def test_every_rule_of_the_ruleset_is_in_the_table_of_seed_facts() -> None:
    named = [token for _, _, rules in tabel() for token in genoemd(rules)]
    exact = {t for t in named if not t.endswith(".*")}
    prefixes = [t[:-1] for t in named if t.endswith(".*")]
    ids = [rule.id for rule in load_ruleset().rules()]
    missing = [i for i in ids if i not in exact and not any(i.startswith(p) for p in prefixes)]
    assert missing == []


def test_every_rule_the_table_names_exists() -> None:
    ids = {rule.id for rule in load_ruleset().rules()}
    for seed, _, rules in tabel():
        for token in genoemd(rules):
            if token.endswith(".*"):
                assert any(i.startswith(token[:-1]) for i in ids), (seed, token)
            else:
                assert token in ids, (seed, token)


def test_every_row_says_which_rules_or_why_none() -> None:
    for seed, says, rules in tabel():
        assert '"' in says, (seed, says)
        assert genoemd(rules) or rules.startswith("none") or "data/" in rules, (seed, rules)


@pytest.mark.skipif(not (BRONNEN / "DOMAIN.md").is_file(), reason="the seeds are not beside the repository")
def test_every_phrase_the_table_quotes_is_in_the_seed_it_names() -> None:
    problemen = [(seed, fout) for seed, says, _ in tabel() for fout in controleer(f"{seed} {says}", BRONNEN)]
    assert problemen == []
