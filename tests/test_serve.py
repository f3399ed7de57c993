"""`loket serve` and `loket token` as an operator runs them: JSON logs with ids, never personal data."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import httpx2

from tests.conftest import melding
from tests.event_store import event_sql, loket_env, loket_settings
from tests.web_fixtures import formuliertoken

# Personal data that must never leave through logs, metrics or error answers.
BSN, FOUTE_BSN = "111222333", "111222334"
NAAM = "Henriette Zwartkruis-Geheimhouder"
GEBOREN = "1987-11-02"
TOELICHTING = "Woont sinds maart bij haar broer aan de Kloosterweg"
PERSOONLIJK = (BSN, FOUTE_BSN, NAAM, GEBOREN, TOELICHTING, "Zwartkruis", "Kloosterweg")


def test_serve_logs_json_with_request_and_melding_ids_and_never_personal_data(server):
    intake = server.token("anna", "intake")
    huis = server.token("piet", "zvh", "maastricht-heuvelland")
    persoon = {"bsn": BSN, "naam": NAAM, "geboortedatum": GEBOREN}
    answers: list[httpx2.Response] = []
    with httpx2.Client(base_url=server.url, headers={"Authorization": f"Bearer {intake}"}) as c:
        created = c.post("/meldingen", json=melding(kenmerk="L-1", persoon=persoon, toelichting=TOELICHTING),
                         headers={"X-Request-ID": "proef-42"})
        assert created.status_code == 201 and created.headers["x-request-id"] == "proef-42"
        mid = created.json()["melding_id"]
        answers.append(c.post("/meldingen", json=melding(kenmerk="L-1", persoon=persoon)))
        # Invalid in ways that tempt an echo: a failing BSN, an unknown key holding a name,
        # a birth date after receipt, a cut-off line holding a BSN.
        invalid = c.post("/meldingen", json=melding(
            kenmerk="L-2", persoon={"bsn": FOUTE_BSN, "naam": NAAM, "geboortedatum": "2030-01-01"},
            toelichting=TOELICHTING, signalen={"leefgebieden": ["wonen"], "buurman": NAAM}))
        assert invalid.status_code == 422
        assert {"persoon.bsn", "signalen.(onbekend veld)"} <= {e["field"] for e in invalid.json()["errors"]}
        answers.append(invalid)
        answers.append(c.post("/meldingen", content=f'{{"persoon": {{"bsn": "{BSN}", "naam": "{NAAM}"'.encode()))
        answers.append(c.get(f"/meldingen/{mid}", headers={"Authorization": f"Bearer {huis}"}))
        answers.append(c.post(f"/meldingen/{mid}/accept", json={"regisseur": "R"}))
        answers.append(c.post(f"/meldingen/{mid}/reroute", json={"zvh": "parkstad", "product": NAAM, "reden": "x"}))
        answers.append(c.get("/caseload", params={"as_of": NAAM}))
        with_purpose = c.get(f"/meldingen/{mid}", params={"doel": "triage"})
        assert with_purpose.json()["persoonsgegevens"]["persoon"]["naam"] == NAAM  # the one way out
        login = c.get("/web/inloggen")
        page = c.post("/web/inloggen", data={"token": intake, "csrf": formuliertoken(login.text)},
                      follow_redirects=True)
        assert page.status_code == 200
        form = c.get(f"/web/meldingen/{mid}")
        shown = c.post(f"/web/meldingen/{mid}/persoonsgegevens",
                       data={"doel": "triage", "toelichting": TOELICHTING, "csrf": formuliertoken(form.text)})
        assert NAAM in shown.text
        metrics = c.get("/metrics").text
    assert [a.status_code for a in answers] == [200, 422, 422, 404, 403, 422, 422]
    for text in [metrics, *(a.text for a in answers)]:
        for value in PERSOONLIJK:
            assert value not in text

    server.process.terminate()
    server.process.wait(timeout=10)
    logs = server.logs()
    for value in (*PERSOONLIJK, intake, huis):
        assert value not in logs
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    requests = [line for line in lines if line["event"] == "http"]
    assert requests and all(line["request_id"] for line in requests)
    post = next(line for line in requests if line["request_id"] == "proef-42")
    assert (post["route"], post["status"], post["gebruiker"]) == ("/meldingen", 201, "anna")
    assert any(line.get("melding_id") == mid and line["route"] == "/meldingen/{melding_id}" for line in requests)
    received = next(line for line in lines if line["event"] == "melding ontvangen")
    assert (received["melding_id"], received["request_id"], received["status"]) == (mid, "proef-42", "nieuw")
    assert any(line["event"] == "persoonsgegevens ingezien" and line["melding_id"] == mid for line in lines)
    assert any(line.get("logger") == "uvicorn.error" for line in lines)  # uvicorn's own lines are JSON too


def cli(env, *args):
    return subprocess.run([sys.executable, "-m", "loket.cli", *args], env=env, capture_output=True, text=True)


def stored_tokens(db: Path) -> list[tuple]:
    """The token table as stored: the file beside LOKET_DB, or with the events in PostgreSQL beside them."""
    settings = loket_settings(db)
    if settings.database_url:
        with event_sql(settings) as sql:
            return sql.execute("SELECT * FROM tokens")
    with closing(sqlite3.connect(settings.tokens_db)) as file:
        return file.execute("SELECT * FROM tokens").fetchall()


def test_a_token_is_printed_once_and_only_its_hash_is_kept(tmp_path):
    env = {**loket_env(tmp_path / "l.sqlite"), "PATH": "/usr/bin:/bin"}
    made = cli(env, "token", "create", "--user", "wim", "--role", "intake", "--compartment", "radicalisering")
    assert made.returncode == 0
    token = made.stdout.strip()
    assert token.startswith("loket_") and len(token) > 40
    stored = stored_tokens(tmp_path / "l.sqlite")
    assert len(stored) == 1 and token not in repr(stored)
    listed = [json.loads(line) for line in cli(env, "token", "list").stdout.splitlines()]
    assert listed[0]["naam"] == "wim" and listed[0]["compartimenten"] == ["radicalisering"]
    assert token not in cli(env, "token", "list").stdout

    assert cli(env, "token", "revoke", listed[0]["id"]).returncode == 0
    again = cli(env, "token", "revoke", listed[0]["id"])
    assert again.returncode == 2 and "no active token" in again.stderr


def test_token_requests_that_cannot_be_granted_are_one_line_errors(tmp_path):
    env = {**loket_env(tmp_path / "l.sqlite"), "PATH": "/usr/bin:/bin"}
    for args, message in [
        (["--user", "piet", "--role", "zvh"], "a house is required for role zvh"),
        (["--user", "piet", "--role", "zvh", "--zvh", "venlo"], "unknown zvh"),
        (["--user", "anna", "--role", "intake", "--zvh", "parkstad"], "only for it"),
        (["--user", " ", "--role", "intake"], "user name is required"),
    ]:
        result = cli(env, "token", "create", *args)
        assert result.returncode == 2, args
        assert message in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_meldingen_posted_at_once_from_many_clients_are_all_stored_once(server):
    from concurrent.futures import ThreadPoolExecutor

    intake = server.token("anna", "intake")
    auth = {"Authorization": f"Bearer {intake}"}

    def send(i: int) -> tuple[int, int]:
        with httpx2.Client(base_url=server.url, headers=auth, timeout=30) as c:
            first = c.post("/meldingen", json=melding(kenmerk=f"PAR-{i}")).status_code
            reads = c.get("/caseload").status_code  # a read (and a catch-up) between the writes
            again = c.post("/meldingen", json=melding(kenmerk=f"PAR-{i}")).status_code
            return first, reads, again

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(send, range(60)))
    assert set(results) == {(201, 200, 200)}
    caseload = httpx2.get(server.url + "/caseload", headers=auth).json()
    assert sum(r["count"] for r in caseload) == 60
