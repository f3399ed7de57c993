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
