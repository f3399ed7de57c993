"""Security and robustness of intake (docs/security.md): what a careless partner system or an
attacker sends must neither leak what is stored, nor crash the loket, nor take good meldingen
down with it. Every test here failed before its fix."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from events.application import Loket
from events.intake import MeldingIn, Persoon, Signalen
from events.melding import AfgewezenMelding, Melding
from loket.bootstrap import maak_loket
from routing.decision import Beslissing
from tests.conftest import line, melding
from tests.event_store import loket_env, stored_events
from tests.web_fixtures import Loketten

LOKET = [sys.executable, "-m", "loket.cli"]
MAX_MELDING_BYTES = 1 << 20  # the API's limit, for every entry point
# The metric label values a rejection may have: the contract's own field names (a list position as *).
REDENEN = {"melding", "onbekend-veld", *MeldingIn.model_fields,
           *(f"persoon.{f}" for f in Persoon.model_fields), *(f"signalen.{f}" for f in Signalen.model_fields),
           "signalen.leefgebieden.*", "signalen.ketens.*"}
SURROGATE_KENMERK = (
    '{"bron": "gemeente", "soort": "aanmelding", "kenmerk": "\\ud800", '
    '"ontvangen_op": "2025-03-04T10:00:00+01:00", "gemeente": "Heerlen"}'
)
HUGE_NUMBER = (
    '{"bron": "gemeente", "soort": "aanmelding", "kenmerk": "GROOT", '
    '"ontvangen_op": "2025-03-04T10:00:00+01:00", "gemeente": ' + "9" * 5000 + "}"
)
SURROGATE_SIGNAL = line(kenmerk="SIG-1", signalen={"leefgebieden": ["wonen"]}).replace('"wonen"', '"\\udc00"')
# The probe's radicalisering melding with a second `soort`: decided by the last key, it was routed
# outside the compartment.
DUBBELE_SOORT = line(kenmerk="DUBBEL-1", soort="radicalisering", bron="politie").replace(
    '"soort": "radicalisering"', '"soort": "radicalisering", "soort": "aanmelding"')
POISON = [SURROGATE_KENMERK, HUGE_NUMBER, SURROGATE_SIGNAL, DUBBELE_SOORT, "[" * 100_000, '"NaN"',
          line(kenmerk="NAN-1").replace('"dwang_drang": true', '"dwang_drang": NaN')]


def run(args: list[str], db: Path, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, **loket_env(db, LOKET_USER="tester")}
    result = subprocess.run(LOKET + args, capture_output=True, env=env, timeout=300, **kwargs)
    if check:
        assert result.returncode == 0, result.stderr.decode(errors="replace")[-3000:]
    return result


def post(loketten: Loketten, token: str, body: str | bytes):
    headers = {**loketten.als(token), "Content-Type": "application/json"}
    return loketten.client.post("/meldingen", content=body, headers=headers)


# 1. A duplicate answer leaks nothing; a duplicate key decides nothing -----------------------------


def test_a_resent_radicalisering_kenmerk_tells_a_caller_outside_the_compartment_nothing_of_it(loketten):
    weegploeg = loketten.token("wim", "intake", compartimenten=("radicalisering",))
    intake = loketten.token("anna", "intake")
    first = post(loketten, weegploeg, line(kenmerk="R-9", soort="radicalisering", bron="politie"))
    assert first.status_code == 201 and first.json()["beslissing"]["product"] == "radicalisering"

    # Resent with other content under the same (bron, kenmerk): the stored melding is what counts.
    again = post(loketten, intake, line(kenmerk="R-9", soort="aanmelding", bron="politie"))
    assert again.status_code == 200
    assert again.json() == {"melding_id": first.json()["melding_id"], "status": "duplicaat", "beslissing": None}
    assert "radicalisering" not in again.text and "parkstad" not in again.text
    read = loketten.client.get(f"/meldingen/{first.json()['melding_id']}", headers=loketten.als(intake))
    assert read.status_code == 404


def test_a_duplicate_answer_shows_the_stored_decision_exactly_to_those_who_may_read_the_melding(loketten):
    """Whoever may GET the melding sees its decision in a duplicate answer; whoever may not, does not."""
    weegploeg = loketten.token("wim", "intake", compartimenten=("radicalisering",))
    sent = {
        "gewoon": post(loketten, weegploeg, line(kenmerk="G-1")).json(),
        "compartiment": post(loketten, weegploeg, line(kenmerk="G-2", soort="radicalisering", bron="politie")).json(),
    }
    callers = [loketten.token("anna", "intake"), loketten.token("root", "admin"), weegploeg,
               loketten.token("rita", "admin", compartimenten=("radicalisering",))]
    for kind, first in sent.items():
        kenmerk = "G-1" if kind == "gewoon" else "G-2"
        for caller in callers:
            again = post(loketten, caller, line(kenmerk=kenmerk, bron="gemeente" if kind == "gewoon" else "politie"))
            may_read = loketten.client.get(f"/meldingen/{first['melding_id']}", headers=loketten.als(caller))
            assert again.status_code == 200 and again.json()["status"] == "duplicaat"
            if may_read.status_code == 200:
                assert again.json()["beslissing"] == may_read.json()["beslissing"], (kind, caller)
            else:
                assert may_read.status_code == 404 and again.json()["beslissing"] is None, (kind, caller)


def test_a_body_with_a_field_twice_is_rejected_naming_the_field_and_decides_nothing(loketten):
    intake = loketten.token("anna", "intake")
    answer = post(loketten, intake, DUBBELE_SOORT)
    assert answer.status_code == 422
    assert answer.json()["errors"] == [
        {"field": "soort", "message": "appears more than once in its object; send each field once"}]
    assert answer.json()["beslissing"]["outcome"] == "rejected"
    twice_unknown = post(loketten, intake,
                         line(kenmerk="D-2").replace("{", '{"Jan 999990019": 1, "Jan 999990019": 2, ', 1))
    assert twice_unknown.status_code == 422 and "999990019" not in twice_unknown.text


def test_the_cli_rejects_a_field_twice_too(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(DUBBELE_SOORT + "\n")
    db = tmp_path / "loket.sqlite"
    summary = json.loads(run(["ontvang", str(source)], db).stdout.decode().splitlines()[-1])
    assert (summary["new"], summary["rejected"]) == (0, 1)
    [rejected] = json.loads(run(["afgewezen", "--json"], db).stdout)
    assert rejected["errors"] == [
        {"field": "soort", "message": "appears more than once in its object; send each field once"}]


# 2. /metrics: label values from closed sets, no compartment ------------------------------------------


def _series(text: str) -> set[tuple[str, tuple]]:
    return {(s.name, tuple(sorted(s.labels.items()))) for f in text_string_to_metric_families(text) for s in f.samples}


def test_metrics_never_carry_a_key_the_sender_made_up_nor_one_series_per_key(loketten):
    intake = loketten.token("anna", "intake")
    post(loketten, intake, line(kenmerk="M-0", persoon={"Zwartbles 999990019 Kwakkelstraat": 1}))
    before = _series(loketten.client.get("/metrics").text)
    nested = {f"Buurman {i} 9999{i:05d}": i for i in range(2000)}
    post(loketten, intake, line(kenmerk="M-1", persoon=nested, signalen={"leefgebieden": [1] * 300}))
    text = loketten.client.get("/metrics").text
    assert "Zwartbles" not in text and "Buurman" not in text and "999990019" not in text
    new = {s for s in _series(text) - before if s[0].startswith("loket_meldingen_afgewezen")}
    assert len(new) <= 2, new  # at most signalen.leefgebieden.* (its _total and _created)
    for family in text_string_to_metric_families(text):
        if family.name == "loket_meldingen_afgewezen":
            for sample in family.samples:
                assert sample.labels["reden"] in REDENEN, sample


def test_metrics_show_nothing_of_the_radicalisering_compartment(loketten):
    weegploeg = loketten.token("wim", "intake", compartimenten=("radicalisering",))
    before = loketten.client.get("/metrics").text
    assert post(loketten, weegploeg, line(kenmerk="RAD-1", soort="radicalisering", bron="politie")).status_code == 201
    melding_id_ = post(loketten, weegploeg,
                       line(kenmerk="RAD-2", soort="radicalisering", bron="politie")).json()["melding_id"]
    loketten.client.post(f"/meldingen/{melding_id_}/reroute", headers=loketten.als(weegploeg),
                         json={"zvh": "parkstad", "product": "pga", "reden": "weegploeg: PGA"})
    after = loketten.client.get("/metrics").text
    assert "radicalisering" not in after
    counted = {s for s in _series(after) - _series(before)
               if s[0].startswith(("loket_meldingen_ontvangen", "loket_beslissingen"))}
    assert counted == set(), counted


# 3. One bad line is one rejected melding; the rest is stored ---------------------------------------


def test_poison_lines_among_good_ones_through_the_cli_each_become_a_rejected_melding(tmp_path):
    good = [line(kenmerk=f"GOED-{i}") for i in range(4)]
    lines = [good[0], good[1], *POISON, good[2], "   ", good[3]]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    db = tmp_path / "loket.sqlite"
    result = run(["ontvang", str(source)], db)
    summary = json.loads(result.stdout.decode().splitlines()[-1])
    assert summary["received"] == len(good) + len(POISON)
    assert (summary["new"], summary["rejected"], summary["duplicates"]) == (len(good), len(POISON), 0)
    counts = stored_events(loket_env_settings(db))
    assert counts["MeldingOntvangen"] == len(good) and counts["MeldingAfgewezen"] == len(POISON)
    rejected = json.loads(run(["afgewezen", "--json"], db).stdout)
    fields = sorted(e["field"] for r in rejected for e in r["errors"])
    assert fields == sorted(["kenmerk", "melding", "signalen.leefgebieden.0", "soort", "melding", "melding",
                             "signalen.dwang_drang"])


def loket_env_settings(db: Path):
    from tests.event_store import loket_settings

    return loket_settings(db)


@pytest.mark.parametrize("body", POISON)
def test_poison_through_the_api_is_a_422_and_recorded_never_a_5xx(loketten, body):
    intake = loketten.token("anna", "intake")
    answer = post(loketten, intake, body)
    assert answer.status_code == 422, answer.text
    mid = answer.json()["melding_id"]
    stored = loketten.client.get(f"/meldingen/{mid}", headers=loketten.als(intake))
    assert stored.status_code == 200 and stored.json()["status"] == "afgewezen"


def test_a_melding_whose_events_cannot_be_stored_is_kept_as_rejected_and_the_batch_is_stored(app, monkeypatch):
    """Storing is the last step that can fail for one melding: it must not fail the batch, and the key
    store may keep no row for a melding that has no events."""
    encode = app.mapper.transcoder.encode

    def refuse_one(obj):
        if isinstance(obj, dict) and obj.get("kenmerk") == "ONOPSLAGBAAR" and "payload_sha256" not in obj:
            raise UnicodeEncodeError("utf-8", "x", 0, 1, "a defect of the store's encoding")
        return encode(obj)

    monkeypatch.setattr(app.mapper.transcoder, "encode", refuse_one)
    batch = [line(kenmerk="OK-1"), line(kenmerk="ONOPSLAGBAAR", persoon={"bsn": "111222333"}), line(kenmerk="OK-2")]
    results = app.ontvang_batch(batch)
    assert [r.status for r in results] == ["nieuw", "afgewezen", "nieuw"]
    for kenmerk in ("OK-1", "OK-2"):
        assert isinstance(app.melding(app.melding_id_van("gemeente", kenmerk)), Melding)
    rejected = app.melding(results[1].melding_id)
    assert isinstance(rejected, AfgewezenMelding)
    assert rejected.errors[0]["field"] == "melding" and "UnicodeEncodeError" in rejected.errors[0]["message"]
    subject = app.betrokkene_met_bsn("111222333")
    # The melding that could not be stored left no row; its rejection has one.
    assert app.kluis.keystore.meldingen(subject) == [str(results[1].melding_id)]


# Hypothesis: arbitrary JSON and Unicode mixed into good batches, through the storing path ----------

any_text = st.text(st.characters(codec=None), max_size=20)  # surrogates included
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**30, 10**30) | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
RUNS = itertools.count()
FIELDS = ["bron", "soort", "kenmerk", "ontvangen_op", "gemeente", "persoon", "signalen", "toelichting"]


@st.composite
def poison(draw) -> bytes:
    kind = draw(st.sampled_from(["field", "extra", "persoon", "signalen", "value", "twice", "bytes", "huge",
                                 "deep"]))
    m = melding(kenmerk="P-" + draw(st.text("abcdef0123456789", min_size=6, max_size=6)))
    if kind == "field":
        m[draw(st.sampled_from(FIELDS))] = draw(json_values)
    elif kind == "extra":
        m[draw(any_text)] = draw(json_values)
    elif kind == "persoon":
        m["persoon"] = {draw(any_text): draw(json_values) for _ in range(draw(st.integers(0, 3)))} or draw(json_values)
    elif kind == "signalen":
        soort = draw(st.sampled_from(["leefgebieden", "ketens", "delict", "hic", "bollenmodel"]))
        m["signalen"] = {soort: draw(json_values)}
    elif kind == "value":
        return json.dumps(draw(json_values)).encode()
    elif kind == "twice":
        text = json.dumps(m)
        field = draw(st.sampled_from(FIELDS))
        return text.replace("{", "{" + json.dumps(field) + ": " + json.dumps(draw(json_values)) + ", ", 1).encode()
    elif kind == "bytes":
        return draw(st.binary(max_size=60))
    elif kind == "huge":
        lang = '"gemeente": ' + "7" * draw(st.integers(4301, 6000))
        return json.dumps(m).replace('"gemeente": "Heerlen"', lang).encode()
    else:
        depth = draw(st.integers(1000, 5000))
        return ("[" * depth + "]" * depth).encode()
    return json.dumps(m).encode()


@pytest.fixture(scope="module")
def shared_loket(tmp_path_factory) -> Loket:
    from tests.event_store import loket_settings

    settings_ = loket_settings(tmp_path_factory.mktemp("fuzz") / "loket.sqlite")
    loket = maak_loket(settings_)
    yield loket
    loket.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                    HealthCheck.function_scoped_fixture])
@given(batch=st.lists(st.tuples(st.booleans(), poison()), min_size=1, max_size=12))
def test_any_input_mixed_into_a_batch_is_stored_or_rejected_and_never_takes_the_batch_down(shared_loket, batch):
    app = shared_loket
    nonce = next(RUNS)  # a fresh kenmerk each run, also when hypothesis runs an example again
    lines: list[bytes] = []
    kenmerken: list[str] = []
    for i, (is_good, bad) in enumerate(batch):
        if is_good:
            kenmerk = f"H-{nonce}-{i}"
            lines.append(line(kenmerk=kenmerk).encode())
            kenmerken.append(kenmerk)
        else:
            lines.append(bad)
    lines.append(lines[0])  # a duplicate within the batch
    results = app.ontvang_batch(lines)
    good = [app.melding_id_van("gemeente", kenmerk) for kenmerk in kenmerken]
    assert len(results) == len(lines)
    statuses = [r.status for r in results]
    assert statuses.count("nieuw") + statuses.count("duplicaat") + statuses.count("afgewezen") == len(lines)
    for mid in good:
        stored = list(app.recorder.select_events(mid))
        assert [type(app.mapper.to_domain_event(e)).__name__ for e in stored][:1] == ["MeldingOntvangen"]
        assert sum(1 for r in results if r.melding_id == mid and r.status == "nieuw") == 1
    for r in results:
        assert app.melding(r.melding_id) is not None  # every answer names a stored melding


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                   HealthCheck.function_scoped_fixture])
@given(body=poison())
def test_any_input_through_the_api_is_answered_without_a_5xx_and_recorded(loketten, body):
    intake = loketten.token("anna", "intake")
    answer = post(loketten, intake, body)
    assert answer.status_code in (200, 201, 422), answer.text
    stored = loketten.client.get(f"/meldingen/{answer.json()['melding_id']}", headers=loketten.als(intake))
    assert stored.status_code == 200


# 12. A line over the limit is a rejected melding, read in pieces -----------------------------------


def test_a_line_over_the_limit_is_rejected_naming_the_limit_without_being_read_whole(tmp_path):
    source = tmp_path / "in.jsonl"
    huge = 160 << 20
    with source.open("wb") as f:
        f.write(line(kenmerk="VOOR").encode() + b"\n")
        f.write(b'{"toelichting": "' + b"x" * huge + b'"}\n')
        f.write(line(kenmerk="NA").encode() + b"\n")
    db = tmp_path / "loket.sqlite"
    # The peak memory of `loket ontvang` alone, measured by a parent that runs nothing else.
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, stdout=sys.stdout.buffer); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)")
    env = {**os.environ, **loket_env(db, LOKET_USER="tester")}
    result = subprocess.run([sys.executable, "-c", measure, *LOKET, "ontvang", str(source)], capture_output=True,
                            env=env, timeout=300, check=True)
    summary = json.loads(result.stdout.decode().splitlines()[-1])
    peak_kib = int(result.stderr.decode().split()[-1])
    assert (summary["new"], summary["rejected"]) == (2, 1)
    assert peak_kib * 1024 < huge, "the long line was held in memory whole"
    [rejected] = json.loads(run(["afgewezen", "--json"], db).stdout)
    assert rejected["errors"][0]["field"] == "melding"
    assert f"larger than the limit of {MAX_MELDING_BYTES} bytes" in rejected["errors"][0]["message"]


def test_a_body_over_the_limit_is_a_413_and_recorded_as_rejected(loketten):
    intake = loketten.token("anna", "intake")
    answer = post(loketten, intake, b'{"toelichting": "' + b"x" * (2 << 20) + b'"}')
    assert answer.status_code == 413
    assert f"at most {MAX_MELDING_BYTES} bytes" in answer.json()["detail"]
    stored = loketten.client.get(f"/meldingen/{answer.json()['melding_id']}", headers=loketten.als(intake))
    assert stored.json()["status"] == "afgewezen"


# 6. A key the sender made up is never shown, also from rejections stored before -----------------


def test_a_made_up_key_in_a_rejection_stored_before_is_not_shown_by_any_read_model(systeem):
    """Rejections stored by earlier versions name the key as sent; every reader shows the contract's name."""
    from projections.audit import trail
    from projections.caseload import afgewezen

    app = systeem.app
    sessie = app.kluis.sessie()
    old = AfgewezenMelding(
        payload=sessie.verzegel("s" * 64, None, UUID(int=7), "payload", "{}"), payload_sha256="0" * 64,
        errors=[{"field": "persoon.Zwartbles 999990019 Kwakkelstraat", "message": "Extra inputs are not permitted"}],
        bron="gemeente", kenmerk="OUD-1",
        # As an earlier version stored it (events/melding.py reads that dict as the value).
        beslissing=Beslissing.van({"outcome": "rejected", "ruleset": "zl-routing@oud", "errors": [
            {"field": "persoon.Zwartbles 999990019 Kwakkelstraat", "message": "Extra inputs are not permitted"}]}),
        betrokkene="s" * 64, betrokkene_soort="melding", compartiment=None,
    )
    sessie.bewaar()
    app.save(old)
    systeem.bij()
    shown = [
        json.dumps(app.melding(old.id).errors), json.dumps(app.melding(old.id).beslissing.as_contract()),
        json.dumps(afgewezen(systeem.projecties)), json.dumps(trail(systeem.projecties, str(old.id))),
    ]
    for text in shown:
        assert "Zwartbles" not in text and "999990019" not in text
        assert "persoon.(onbekend veld)" in text
