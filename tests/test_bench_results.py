"""bench/RESULTS.md: a figure says which code it was measured on."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def sections() -> dict[str, str]:
    text = (BENCH / "RESULTS.md").read_text(encoding="utf-8")
    return {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}


def test_every_section_of_the_results_names_the_commit_it_was_measured_on():
    found = sections()
    assert found, "bench/RESULTS.md has no sections"
    unnamed = [h for h, body in found.items() if not re.search(r"commit ([0-9a-f]{7,40}|unknown)", body)]
    assert unnamed == []


def test_a_benchmark_cannot_write_a_section_without_its_commit(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCH))
    sys.modules.pop("results", None)
    import results

    monkeypatch.setattr(results, "RESULTS", tmp_path / "RESULTS.md")
    with pytest.raises(ValueError, match="commit"):
        results.write_section("## Routing", "## Routing\n\n1,000 decisions/s on a good day.\n")
    results.write_section("## Routing", f"## Routing\n\nOn {results.machine()}: 1,000 decisions/s.\n")
    assert re.search(r"commit ([0-9a-f]{12}|unknown)", (tmp_path / "RESULTS.md").read_text())
