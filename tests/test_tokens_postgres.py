"""API tokens and web sessions with the events in PostgreSQL: beside the events, shared by every API host."""

from __future__ import annotations

from pathlib import Path

import psycopg

from loket.bootstrap import maak_tokens
from loket.settings import Settings
from loket.tokens import Tokens

HUIZEN = frozenset({"parkstad", "westelijke-mijnstreek", "maastricht-heuvelland"})


def settings(tmp_path: Path, url: str) -> Settings:
    return Settings.from_env({"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_DATABASE_URL": url})


def test_two_api_hosts_see_the_same_tokens_and_sessions_and_no_file_is_written(postgres, tmp_path):
    url = postgres.new_database()
    eerste, tweede = maak_tokens(settings(tmp_path, url)), maak_tokens(settings(tmp_path / "..", url))
    try:
        token, info = eerste.maak("anna", "intake", zvh=None, compartimenten=(), huizen=HUIZEN)
        assert tweede.gebruiker(token).naam == "anna"
        sessie = eerste.open_sessie(token)
        assert tweede.sessie(sessie).naam == "anna"
        tweede.sluit_sessie(sessie)  # logged out on one host: ended on every host
        assert eerste.sessie(sessie) is None
        again = tweede.open_sessie(token)
        assert eerste.trek_in(info.id) and tweede.sessie(again) is None and tweede.gebruiker(token) is None
    finally:
        eerste.close()
        tweede.close()
    assert not any(p.name.endswith(".tokens.sqlite") for p in tmp_path.iterdir())
    with psycopg.connect(url) as conn:  # beside the events, as hashes only
        [(sha256,)] = conn.execute("SELECT sha256 FROM tokens").fetchall()
    assert token not in sha256


def test_a_token_file_from_before_is_taken_over_once_so_an_upgrade_locks_nobody_out(postgres, tmp_path):
    before = Tokens(settings(tmp_path, "postgresql://x@h/d").tokens_db)
    token, _ = before.maak("wim", "zvh", zvh="parkstad", compartimenten=(), huizen=HUIZEN)
    url = postgres.new_database()
    for _ in range(2):  # a second start takes nothing over again
        tokens = maak_tokens(settings(tmp_path, url))
        try:
            assert tokens.gebruiker(token).naam == "wim" and len(tokens.lijst()) == 1
        finally:
            tokens.close()


def test_a_restarted_server_costs_the_tokens_a_reconnect(postgres, tmp_path):
    tokens = maak_tokens(settings(tmp_path, postgres.new_database()))
    try:
        token, _ = tokens.maak("anna", "intake", zvh=None, compartimenten=(), huizen=HUIZEN)
        postgres.restart()
        assert tokens.gebruiker(token).naam == "anna"
    finally:
        tokens.close()
