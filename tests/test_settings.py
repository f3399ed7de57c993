"""Which event store the settings choose: SQLite by default, PostgreSQL by LOKET_DATABASE_URL."""

from __future__ import annotations

import pytest

from loket.settings import OngeldigeInstelling, Settings


def store_env(**env: str) -> dict[str, str]:
    return Settings.from_env(env).event_store_env()


def test_without_a_database_url_the_store_is_the_sqlite_file_loket_db():
    env = store_env(LOKET_DB="/var/lib/loket/loket.sqlite")
    assert env["PERSISTENCE_MODULE"] == "events.datastore:Factory"
    assert env["SQLITE_DBNAME"] == "/var/lib/loket/loket.sqlite"


def test_a_database_url_selects_postgresql_with_its_parts():
    env = store_env(LOKET_DATABASE_URL="postgresql://loket:ge%40heim@db.zvh.local:6432/loket")
    assert env["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"], env["POSTGRES_DBNAME"]) == ("db.zvh.local", "6432", "loket")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("loket", "ge@heim")


def test_a_database_url_without_port_or_password_uses_5432_and_an_empty_password():
    env = store_env(LOKET_DATABASE_URL="postgres://loket@localhost/loket")
    assert (env["POSTGRES_PORT"], env["POSTGRES_PASSWORD"]) == ("5432", "")


def test_pool_options_in_the_database_url_reach_the_event_store():
    env = store_env(LOKET_DATABASE_URL="postgresql://loket@db/loket?pool_size=10&connect_timeout=3&pre_ping=n")
    assert (env["POSTGRES_POOL_SIZE"], env["POSTGRES_CONNECT_TIMEOUT"], env["POSTGRES_PRE_PING"]) == ("10", "3", "n")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://loket:geheim@db/loket", "postgresql://"),
        ("postgresql://loket:geheim@db", "database"),
        ("postgresql://loket:geheim@db:port/loket", "port"),
        ("postgresql://loket:geheim@db/loket?sslmodus=require", "sslmodus"),
    ],
)
def test_an_unusable_database_url_is_a_clear_error_without_the_password(url, says):
    with pytest.raises(OngeldigeInstelling) as raised:
        store_env(LOKET_DATABASE_URL=url)
    assert says in str(raised.value)
    assert "geheim" not in str(raised.value)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"LOKET_CHAIN_ANCHOR_EVERY": "duizend"}, "LOKET_CHAIN_ANCHOR_EVERY must be a whole number"),
        ({"LOKET_CHAIN_ANCHOR_EVERY": "0"}, "LOKET_CHAIN_ANCHOR_EVERY must be one or more"),
        ({"LOKET_CHAIN_ANCHOR_SECONDS": "-1"}, "LOKET_CHAIN_ANCHOR_SECONDS must be zero or more"),
        ({"LOKET_DATABASE_URL": "mysql://loket:geheim@db/loket"}, "LOKET_DATABASE_URL must start with postgresql://"),
    ],
)
def test_an_unusable_setting_ends_a_command_in_one_line_naming_it(tmp_path, env, says):
    import os
    import subprocess
    import sys

    full = {**{k: v for k, v in os.environ.items() if not k.startswith("LOKET_")},
            "LOKET_DB": str(tmp_path / "l.sqlite"), **env}
    result = subprocess.run([sys.executable, "-m", "loket.cli", "ontvang", "-"], input="", capture_output=True,
                            text=True, env=full, timeout=120)
    assert result.returncode == 2 and result.stderr.strip() == f"loket: {says}"
    assert "geheim" not in result.stderr


def test_where_the_events_are_is_said_without_user_or_password(tmp_path):
    assert Settings.from_env({"LOKET_DB": str(tmp_path / "x.sqlite")}).waar() == str(tmp_path / "x.sqlite")
    settings = Settings.from_env({"LOKET_DB": str(tmp_path / "x.sqlite"),
                                  "LOKET_DATABASE_URL": "postgresql://loket:geheim@db.example:6543/events?pool_size=4"})
    assert settings.waar() == "postgresql://db.example:6543/events"
