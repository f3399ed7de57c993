"""`loket explain` and `loket whatif` on a real store: why a stored melding went where it
went, and what a proposed rule change would move, without writing anything."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import routing
from events.melding import afgewezen_id, oude_melding_id, payload_hash
from loket.bootstrap import bootstrap, store_exists
from loket.cli import main
from tests.conftest import handel, line
from tests.event_store import loket_env, loket_settings, zonder_logregels

SHIPPED = Path(routing.__file__).parent / "rules"
VERSION = routing.load_ruleset().version
CRITERIA = {"leefgebieden": ["wonen", "psychisch"], "ketens": ["zorg", "straf"],
            "dwang_drang": True, "impact_omgeving": True}
GEEN_CRITERIA = {"leefgebieden": ["wonen"], "ketens": ["zorg"]}

# (bron, kenmerk, soort, gemeente, ontvangen_op, signalen)
MELDINGEN = [
    ("gemeente", "STEIN-1", "aanmelding", "Stein", "2025-06-10T10:00:00+02:00", CRITERIA),
    ("om", "STEIN-2", "aanmelding", "Stein", "2025-09-02T10:00:00+02:00", GEEN_CRITERIA),
    ("reclassering", "STEIN-VOOR", "aanmelding", "Stein", "2025-03-01T10:00:00+01:00", CRITERIA),
    ("politie", "STEIN-VIA", "via", "Stein", "2025-07-01T10:00:00+02:00", {"bollenmodel": "II"}),
    ("gemeente", "SG-1", "aanmelding", "Sittard-Geleen", "2025-07-01T10:00:00+02:00", CRITERIA),
    ("gemeente", "HRL-1", "aanmelding", "Heerlen", "2025-07-01T10:00:00+02:00", GEEN_CRITERIA),
]
KAPOT = line(kenmerk="KAPOT", ontvangen_op="gisteren")
# The houses propose: from 2025-06-01 Stein's aanmeldingen go to the lokale veld.
STEIN_PROEF = """
  - id: aanmelding.stein-lokaal-veld
    bron: besluit loket (proef Stein)
    geldig_van: 2025-06-01
    priority: 4
    als: {soort: aanmelding, gemeente: Stein}
    dan:
      product: lokaal-veld
      reden: Proef Stein - aanmeldingen naar het lokale veld.
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("store")
    db = directory / "loket.sqlite"
    systeem = bootstrap(loket_settings(db))
    raws = [line(bron=b, kenmerk=k, soort=s, gemeente=g, ontvangen_op=t, signalen=sig)
            for b, k, s, g, t, sig in MELDINGEN]
    systeem.app.ontvang_batch([*raws, KAPOT])
    systeem.close()
    return db


@pytest.fixture(scope="module")
def ids(store: Path) -> dict[tuple[str, str], str]:
    """The stored meldingen's ids by (bron, kenmerk), as the store has them."""
    systeem = bootstrap(loket_settings(store))
    try:
        return {(b, k): str(systeem.app.melding_id_van(b, k)) for b, k, *_ in MELDINGEN}
    finally:
        systeem.close()


@pytest.fixture(scope="module")
def stein_proef(tmp_path_factory) -> Path:
    rules = tmp_path_factory.mktemp("voorstel") / "rules"
    shutil.copytree(SHIPPED, rules)
    with (rules / "aanmelding.yaml").open("a", encoding="utf-8") as f:
        f.write(STEIN_PROEF)
    return rules


@pytest.fixture
def loket(store: Path, monkeypatch, capsys):
    """Run `loket ARGS` in this process against the store; (exit code, stdout, stderr)."""
    use_store(monkeypatch, store)

    def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", _Stdin(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def use_store(monkeypatch, db: Path) -> None:
    """The `loket` run in this process uses the store at `db` (tests/event_store.py)."""
    for name, value in loket_env(db).items():
        monkeypatch.setenv(name, value)


class _Stdin:
    def __init__(self, text: str):
        import io

        self.buffer = io.BytesIO(text.encode())


def _fingerprint(db: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(db.parent.glob(db.name + "*"))}


def _max_notification_id(db: Path) -> int:
    systeem = bootstrap(loket_settings(db))
    try:
        return systeem.app.recorder.max_notification_id()
    finally:
        systeem.close()


# -- whatif -----------------------------------------------------------------------------------


def test_whatif_shows_exactly_the_stein_aanmeldingen_the_proposal_moves(loket, store, stein_proef, ids):
    before, last = _fingerprint(store), _max_notification_id(store)
    code, out, _ = loket("whatif", "--rules", str(stein_proef), "--json")
    assert code == 0
    report = json.loads(out)
    moved = {m["melding_id"] for m in report["meldingen"]}
    assert moved == {ids[("gemeente", "STEIN-1")], ids[("om", "STEIN-2")]}
    assert report["bekeken"] == len(MELDINGEN)  # the rejected line is no melding to re-decide
    assert report["basis"] == VERSION and report["voorstel"] == routing.load_ruleset(stein_proef).version
    assert {(b["van"], b["naar"], b["aantal"]) for b in report["bewegingen"]} == {
        ("westelijke-mijnstreek/pga", "westelijke-mijnstreek/lokaal-veld", 1),
        ("westelijke-mijnstreek/c-en-a", "westelijke-mijnstreek/lokaal-veld", 1),
    }
    assert _fingerprint(store) == before, "whatif must not write to the store"
    assert _max_notification_id(store) == last


def test_whatif_limited_to_a_period_only_looks_at_meldingen_routed_in_it(loket, stein_proef):
    code, out, _ = loket("whatif", "--rules", str(stein_proef), "--from", "2025-06-01",
                         "--to", "2025-06-30", "--json")
    report = json.loads(out)
    assert code == 0 and report["bekeken"] == 1
    assert [m["kenmerk"] for m in report["meldingen"]] == ["STEIN-1"]


def test_whatif_prints_the_movement_and_every_changed_melding_id_in_full(loket, stein_proef, ids):
    code, out, _ = loket("whatif", "--rules", str(stein_proef))
    assert code == 0
    assert f"{len(MELDINGEN)} meldingen bekeken (alle datums), 2 anders beslist." in out
    assert "westelijke-mijnstreek/c-en-a" in out and "westelijke-mijnstreek/lokaal-veld" in out
    for bron, kenmerk in (("gemeente", "STEIN-1"), ("om", "STEIN-2")):
        assert f"{ids[(bron, kenmerk)]}  {bron}:{kenmerk}" in out


def test_whatif_under_the_same_rules_moves_nothing(loket):
    code, out, _ = loket("whatif", "--rules", str(SHIPPED), "--json")
    assert code == 0 and json.loads(out)["gewijzigd"] == 0


def test_whatif_with_a_broken_proposal_points_to_the_lint(loket, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(SHIPPED, rules)
    (rules / "via.yaml").write_text("tabel: product\nrules: [\n", encoding="utf-8")
    code, _, err = loket("whatif", "--rules", str(rules))
    assert code == 2
    assert "via.yaml: invalid YAML" in err and "loket rules check" in err


# -- explain ----------------------------------------------------------------------------------


def test_explain_of_a_stored_melding_names_the_ruleset_each_rule_and_the_source(loket, ids):
    code, out, _ = loket("explain", ids[("gemeente", "SG-1")])
    assert code == 0
    assert f"Beslist met {VERSION}, de ruleset waarmee hieronder wordt uitgelegd." in out
    assert f"Ruleset {VERSION}" in out
    assert "[FIRED] aanmelding.pga" in out and "bron: 003 Aanpak personen met verward gedrag" in out
    assert "NEE bollenmodel: verwacht III" in out  # a rule considered that did not fire, and why
    assert "Beslissing: routed zvh=westelijke-mijnstreek product=pga" in out
    assert "LET OP" not in out


def test_explain_finds_a_stored_melding_by_its_bron_and_kenmerk(loket, ids):
    def explain(*args: str) -> tuple[int, str, list[str]]:
        code, out, err = loket("explain", *args)
        return code, out, zonder_logregels(err)

    by_id = explain(ids[("gemeente", "SG-1")])
    assert explain("--kenmerk", "gemeente:SG-1") == by_id
    assert explain("gemeente:SG-1") == by_id


def test_explain_of_a_melding_a_person_rerouted_says_the_rules_did_not_decide_it(
        loket, tmp_path, monkeypatch):
    db = tmp_path / "loket.sqlite"
    systeem = bootstrap(loket_settings(db))
    [ontvangst] = systeem.app.ontvang_batch([line(kenmerk="HER-1", gemeente="Stein")])
    handel(systeem.app, ontvangst.melding_id, "reroute", actor="tester", zvh="parkstad", product="pga",
           reden="woont feitelijk in Heerlen")
    systeem.close()
    use_store(monkeypatch, db)
    code, out, _ = loket("explain", "gemeente:HER-1")
    assert code == 0
    assert "LET OP: de huidige beslissing is door een medewerker genomen (handmatig.herrouteerd)" in out
    assert "LET OP: zvh was 'parkstad', onder" in out  # the rules would say Westelijke Mijnstreek
    assert "woont feitelijk" not in out  # a person's free text stays in the audit trail
    data = json.loads(loket("explain", "gemeente:HER-1", "--json")[1])
    assert data["door_medewerker"] is True and data["verschil"]["zvh"] == [
        "parkstad", "westelijke-mijnstreek"]


def test_explain_json_carries_the_trace_and_the_recorded_decision(loket):
    code, out, _ = loket("explain", "--kenmerk", "om:STEIN-2", "--json")
    data = json.loads(out)
    assert code == 0 and data["andere_ruleset"] is False and data["verschil"] == {}
    assert data["beslist_met"] == data["uitgelegd_met"] == VERSION
    assert data["trace"]["beslissing"] == data["opgeslagen_beslissing"]
    fired = [c["rule"] for c in data["trace"]["considered"] if c["fired"]]
    assert fired[-1] == "aanmelding.c-en-a"
    # no personal data: neither its fields nor its values (rules may speak of "persoonsgerichte")
    for secret in ('"persoon"', '"toelichting"', "123456782", "Testpersoon", "vrije tekst"):
        assert secret not in out


def test_explain_under_another_ruleset_flags_the_version_and_what_changes(loket, stein_proef):
    code, out, _ = loket("explain", "--kenmerk", "gemeente:STEIN-1", "--rules", str(stein_proef))
    proef = routing.load_ruleset(stein_proef).version
    assert code == 0
    assert f"LET OP: beslist met {VERSION}; hieronder uitgelegd met {proef}." in out
    assert f"LET OP: product was 'pga', onder {proef} 'lokaal-veld'" in out
    assert "[FIRED] aanmelding.stein-lokaal-veld" in out and "besluit loket (proef Stein)" in out


def test_explain_of_a_rejected_melding_shows_its_validation_errors(loket):
    code, out, _ = loket("explain", str(afgewezen_id(payload_hash(KAPOT.encode()))))
    assert code == 0
    assert "afgewezen" in out and "ontvangen_op: must be an ISO 8601 date-time" in out


def test_explain_of_a_melding_on_stdin_needs_no_store(loket, monkeypatch, tmp_path):
    use_store(monkeypatch, tmp_path / "geen.sqlite")
    code, out, _ = loket("explain", "-", "--json",
                         stdin=line(soort="detentie-uit", gemeente="Schinnen", bron="dji",
                                    persoon={"geboortedatum": "2003-01-01"},
                                    signalen={"hic": True}))
    data = json.loads(out)
    assert code == 0 and data["ruleset"] == VERSION
    assert data["beslissing"]["labels"] == ["rio"] and data["gemeente"]["gemeente"] == "Beekdaelen"
    assert not (tmp_path / "geen.sqlite").exists()


def test_explain_of_an_unknown_melding_is_a_clear_error(loket):
    code, out, err = loket("explain", "--kenmerk", "politie:BESTAAT-NIET")
    assert code == 2 and out == ""
    assert zonder_logregels(err) == [f"loket: no melding with id {oude_melding_id('politie', 'BESTAAT-NIET')}"]


def test_explain_without_a_store_is_a_clear_error_and_creates_none(loket, monkeypatch, tmp_path):
    # SQLite: no LOKET_DB file. PostgreSQL: a database without the loket's tables.
    db = tmp_path / "geen.sqlite"
    use_store(monkeypatch, db)
    code, _, err = loket("explain", "--kenmerk", "gemeente:SG-1")
    assert code == 2 and "no store at" in err
    assert not store_exists(loket_settings(db)), "explain must not create a store"
    assert not db.exists() and not Path(f"{db}.keys").exists()


def test_a_store_that_cannot_be_reached_is_a_clear_error_without_the_password(loket, monkeypatch, tmp_path):
    monkeypatch.setenv("LOKET_DB", str(tmp_path / "views.sqlite"))
    monkeypatch.setenv("LOKET_DATABASE_URL", "postgresql://loket:geheim-wachtwoord@127.0.0.1:1/loket")
    for command in (("explain", "--kenmerk", "gemeente:SG-1"), ("caseload",)):
        code, out, err = loket(*command)
        assert code == 3 and out == ""
        [message] = err.strip().splitlines()  # one line, no traceback
        assert message.startswith("loket: the event store cannot be reached") and "127.0.0.1" in message
        assert "geheim-wachtwoord" not in err


def test_explain_of_an_invalid_melding_on_stdin_lists_the_errors_and_exits_2(tmp_path):
    bad = line(bron="fax", persoon={"bsn": "123456789"}, ontvangen_op="gisteren")
    result = subprocess.run([sys.executable, "-m", "loket.cli", "explain", "-"], input=bad,
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, **loket_env(tmp_path / "x.sqlite")})
    assert result.returncode == 2 and result.stdout == ""
    [message] = result.stderr.strip().splitlines()  # one line, no traceback
    assert message.startswith("loket: melding: breaks the intake contract: ")
    for field in ("bron:", "ontvangen_op:", "persoon.bsn:"):
        assert field in message
    assert "123456789" not in message and "Jan Testpersoon" not in message
