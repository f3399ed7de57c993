"""The `loket` command as a user runs it: a real process on a real store (tests/event_store.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import line
from tests.event_store import loket_env

LOKET = [sys.executable, "-m", "loket.cli"]


def run(args: list[str], db: Path, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, **loket_env(db, LOKET_USER="tester")}
    result = subprocess.run(LOKET + args, input=stdin, capture_output=True, text=True, env=env, timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def last_json(stdout: str):
    return json.loads(stdout.strip().splitlines()[-1])


def test_route_decides_every_visible_example_as_expected(tmp_path, examples):
    source = tmp_path / "meldingen.jsonl"
    source.write_text("".join(json.dumps(e["melding"]) + "\n" for e in examples))
    out = run(["route", str(source)], tmp_path / "x.sqlite").stdout.splitlines()
    assert len(out) == len(examples)
    for example, decided in zip(examples, map(json.loads, out), strict=True):
        kenmerk = example["melding"]["kenmerk"]
        for key, expected in example["expected"].items():
            assert decided[key] == expected, f"{kenmerk}: {key} is {decided[key]!r}, expected {expected!r}"
    assert not (tmp_path / "x.sqlite").exists(), "route must not store anything"


def test_route_answers_a_broken_line_with_a_rejection_and_keeps_going(tmp_path):
    stdin = "\n".join(["{kapot", line(kenmerk="R-1")]) + "\n"
    first, second = map(json.loads, run(["route", "-"], tmp_path / "x.sqlite", stdin).stdout.splitlines())
    assert first["outcome"] == "rejected" and first["errors"][0]["field"] == "melding"
    assert second["outcome"] == "routed"


def test_ingesting_a_file_twice_reports_only_duplicates_and_leaves_the_caseload(tmp_path):
    db = tmp_path / "loket.sqlite"
    source = tmp_path / "in.jsonl"
    lines = [line(kenmerk=f"F-{i}", gemeente=g) for i, g in enumerate(["Heerlen", "Maastricht", "Stein", "Venlo"])]
    lines += ["{kapot", line(kenmerk="F-9", ontvangen_op="gisteren")]
    source.write_text("\n".join(lines) + "\n")

    first = last_json(run(["ontvang", str(source)], db).stdout)
    assert first["received"] == 6
    assert (first["new"], first["duplicates"], first["rejected"]) == (4, 0, 2)
    assert first["doorverwijzen"] == 1
    caseload = json.loads(run(["caseload", "--json"], db).stdout)

    second = last_json(run(["ontvang", str(source)], db).stdout)
    assert (second["received"], second["new"], second["duplicates"], second["rejected"]) == (6, 0, 6, 0)
    assert json.loads(run(["caseload", "--json"], db).stdout) == caseload
    assert {(r["zvh"], r["product"], r["gemeente"], r["status"], r["count"]) for r in caseload} == {
        ("parkstad", "pga", "Heerlen", "open", 1),
        ("maastricht-heuvelland", "pga", "Maastricht", "open", 1),
        ("westelijke-mijnstreek", "pga", "Stein", "open", 1),
    }

    rejected = json.loads(run(["afgewezen", "--json"], db).stdout)
    assert [r["kenmerk"] for r in rejected] == [None, "F-9"]
    assert rejected[1]["errors"][0]["field"] == "ontvangen_op"


def test_ontvang_of_a_missing_file_is_a_clear_error(tmp_path):
    result = run(["ontvang", str(tmp_path / "nope.jsonl")], tmp_path / "x.sqlite", check=False)
    assert result.returncode == 2
    assert "file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_caseload_table_is_readable(tmp_path):
    db = tmp_path / "loket.sqlite"
    run(["ontvang", "-"], db, stdin=line(kenmerk="G-1") + "\n")
    table = run(["caseload"], db).stdout
    assert "parkstad" in table and "pga" in table and "totaal" in table


@pytest.mark.sqlite_only(reason="`loket demo` always works on its own SQLite file (--db)")
def test_demo_runs_a_year_through_the_pipeline_and_prints_the_caseload(tmp_path):
    db = tmp_path / "demo.sqlite"
    result = run(["demo", "--scale", "0.1", "--db", str(db)], db)
    summary = last_json(result.stdout)
    assert summary["new"] > 500
    assert summary["rejected"] >= 1 and summary["duplicates"] >= 1
    assert summary["events"] >= 2 * summary["new"] + summary["geaccepteerd"] + summary["gesloten"]
    assert summary["geaccepteerd"] > 0 and summary["gesloten"] > 0
    for zvh in ("parkstad", "westelijke-mijnstreek", "maastricht-heuvelland"):
        assert zvh in result.stdout
    # The same seed gives the same year.
    again = last_json(run(["demo", "--scale", "0.1", "--db", str(db)], db).stdout)
    counts = ("received", "new", "rejected")
    assert {k: again[k] for k in counts} == {k: summary[k] for k in counts}
