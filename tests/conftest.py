from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.application import Loket
from loket.bootstrap import Systeem, bootstrap
from loket.settings import Settings
from tests.pgserver import PostgresServer, bin_dir

FIXTURES = Path(__file__).parent / "fixtures"


def melding(**overrides) -> dict:
    """A valid melding of the intake contract, with fields replaced as given."""
    base = {
        "bron": "gemeente",
        "soort": "aanmelding",
        "kenmerk": "T-0001",
        "ontvangen_op": "2025-03-04T10:00:00+01:00",
        "gemeente": "Heerlen",
        "persoon": {"bsn": "123456782", "naam": "Jan Testpersoon", "geboortedatum": "1990-05-06"},
        "signalen": {
            "leefgebieden": ["wonen", "psychisch"],
            "ketens": ["zorg", "straf"],
            "dwang_drang": True,
            "impact_omgeving": True,
        },
        "toelichting": "vrije tekst over de persoon",
    }
    base.update(overrides)
    return base


def line(**overrides) -> str:
    return json.dumps(melding(**overrides))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester"})


@pytest.fixture
def systeem(settings: Settings) -> Iterator[Systeem]:
    s = bootstrap(settings)
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session; every test that uses it gets its own database."""
    if bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (Debian package postgresql) are not installed; `make test` installs them")
    with PostgresServer() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for an empty event store, once SQLite (the default) and once PostgreSQL."""
    env = {"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester"}
    if request.param == "postgresql":
        env["LOKET_DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    return Settings.from_env(env)


@pytest.fixture
def app(store: Settings) -> Iterator[Loket]:
    """The loket application on each event store."""
    loket = Loket(env=store.event_store_env())
    yield loket
    loket.close()


@pytest.fixture(scope="session")
def examples() -> list[dict]:
    return [json.loads(x) for x in (FIXTURES / "meldingen.jsonl").read_text().splitlines() if x.strip()]
