"""Shared fixtures and helpers; which event store the suite runs on (tests/event_store.py).

`LOKET_TEST_EVENT_STORE=postgresql` runs the whole suite with its events in PostgreSQL
(a real server for the session, a fresh database per store); the default is SQLite.
Tests about SQLite itself are marked `sqlite_only` and are skipped then.
`LOKET_TEST_KEYSTORE=postgresql` keeps the key stores in PostgreSQL as well (a database and a
role of their own); tests about the key store's SQLite file are marked `sqlite_keystore_only`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from uuid import UUID

import pytest

from events.application import Loket
from events.melding import Melding
from events.toegang import Rol
from loket.bootstrap import Systeem, bootstrap, maak_loket
from loket.settings import Settings
from tests.event_store import (
    DATABASES,
    EVENT_STORE,
    EVENT_STORES,
    KEYSTORE,
    KEYSTORE_ON_POSTGRESQL,
    ON_POSTGRESQL,
    loket_settings,
    sqlite_event_stores,
)
from tests.pgserver import PostgresServer, bin_dir

# The web app and a served `loket` (fixtures `loketten`, `server`) for every test that names them.
pytest_plugins = ["tests.web_fixtures"]

FIXTURES = Path(__file__).parent / "fixtures"
# The roles the application's own tests act in (the service takes them from a token or LOKET_ROLE).
INTAKE_ROL = Rol("intake")
BEHEER_ROL = Rol("beheer")


def pytest_configure(config: pytest.Config) -> None:
    if EVENT_STORE not in EVENT_STORES:
        raise pytest.UsageError(f"LOKET_TEST_EVENT_STORE={EVENT_STORE!r}: choose one of {', '.join(EVENT_STORES)}")
    if KEYSTORE not in EVENT_STORES:
        raise pytest.UsageError(f"LOKET_TEST_KEYSTORE={KEYSTORE!r}: choose one of {', '.join(EVENT_STORES)}")
    if (ON_POSTGRESQL or KEYSTORE_ON_POSTGRESQL) and bin_dir() is None:
        raise pytest.UsageError("LOKET_TEST_EVENT_STORE=postgresql and LOKET_TEST_KEYSTORE=postgresql need the "
                                "PostgreSQL server binaries (Debian package postgresql); `make test` installs them")


def pytest_report_header(config: pytest.Config) -> str:
    return f"event store: {EVENT_STORE} (LOKET_TEST_EVENT_STORE); key store: {KEYSTORE} (LOKET_TEST_KEYSTORE)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if KEYSTORE_ON_POSTGRESQL:
        for item in items:
            if (marker := item.get_closest_marker("sqlite_keystore_only")) is not None:
                reason = marker.kwargs.get("reason") or "about the key store's SQLite file"
                item.add_marker(pytest.mark.skip(reason=f"SQLite key store only: {reason}"))
    if not ON_POSTGRESQL:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "about SQLite itself")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def _event_store(request: pytest.FixtureRequest) -> Iterator[None]:
    """With PostgreSQL as event store or key store, its server is there before any test builds a store."""
    if ON_POSTGRESQL or KEYSTORE_ON_POSTGRESQL:
        DATABASES.server = request.getfixturevalue("postgres")
    yield
    DATABASES.server = None


@pytest.fixture(autouse=ON_POSTGRESQL or KEYSTORE_ON_POSTGRESQL)
def _postgresql_databases_of_the_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """With PostgreSQL as event store: when a test ends (after its other fixtures) no events of
    it are in SQLite (`sqlite_only` tests aside), and its databases are dropped, with any
    connection left open; those of stores that outlive the test (module fixtures) stay."""
    on_postgresql = ON_POSTGRESQL or KEYSTORE_ON_POSTGRESQL
    directory = request.getfixturevalue("tmp_path") if on_postgresql and "tmp_path" in request.fixturenames else None
    yield
    if directory is None:
        return
    DATABASES.drop_under(directory)
    if not ON_POSTGRESQL or request.node.get_closest_marker("sqlite_only") is not None:
        return
    if found := sqlite_event_stores(directory):
        pytest.fail(f"events stored in SQLite with LOKET_TEST_EVENT_STORE=postgresql: {[str(p) for p in found]}; "
                    "build the loket's environment with tests/event_store.py (loket_env, loket_settings)")


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


def handel(app: Loket, melding_id: UUID, handeling: str, *, actor: str, **velden: str) -> Melding:
    """An action of the action table (events/handelingen.py) on a stored melding, by its id."""
    return app.handel(app.melding(melding_id), handeling, actor=actor, **velden)


def run_together(setup: str, work: str, env: Mapping[str, str],
                 processes: int = 4) -> list[subprocess.CompletedProcess]:
    """Run `setup` in fresh interpreters, then `work` in all of them at one agreed moment:
    processes starting together, as the engine's processes do in production."""
    start = time.time() + 3  # every interpreter has done its setup by then, even on a busy machine
    code = f"{setup}\nimport time\ntime.sleep(max(0.0, {start!r} - time.time()))\n{work}"
    started = [
        subprocess.Popen([sys.executable, "-c", code], env=dict(env), text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(processes)
    ]
    done = []
    for p in started:
        out, err = p.communicate(timeout=60)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return loket_settings(tmp_path / "loket.sqlite", LOKET_USER="tester")


@pytest.fixture
def systeem(settings: Settings) -> Iterator[Systeem]:
    s = bootstrap(settings)
    yield s
    s.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One real PostgreSQL server for the session; every test that uses it gets its own database."""
    if bin_dir() is None:  # with LOKET_TEST_EVENT_STORE=postgresql a usage error before this
        pytest.skip("PostgreSQL server binaries (Debian package postgresql) are not installed; "
                    "`make test` installs them")
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def durable_postgres() -> Iterator[PostgresServer]:
    """A server configured as in production, fsync and full page writes on, for the tests that
    crash it (`PostgresServer.crash`): what it acknowledged must survive."""
    if bin_dir() is None:
        pytest.skip("PostgreSQL server binaries (Debian package postgresql) are not installed; "
                    "`make test` installs them")
    with PostgresServer(durable=True) as server:
        yield server


@pytest.fixture(params=["postgresql"] if ON_POSTGRESQL else ["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for an empty event store, once SQLite and once PostgreSQL (PostgreSQL only when
    the whole suite runs on it)."""
    env = {"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester"}
    if request.param == "postgresql":
        env["LOKET_DATABASE_URL"] = request.getfixturevalue("postgres").new_database()
    if KEYSTORE_ON_POSTGRESQL:
        env["LOKET_KEYSTORE_URL"] = DATABASES.keystore_url(tmp_path / "loket.sqlite")
        env["LOKET_MASTER_KEY"] = DATABASES.master_key(tmp_path / "loket.sqlite")
    return Settings.from_env(env)


@pytest.fixture
def app(store: Settings) -> Iterator[Loket]:
    """The loket application on each event store."""
    loket = maak_loket(store)
    yield loket
    loket.close()


@pytest.fixture(scope="session")
def examples() -> list[dict]:
    return [json.loads(x) for x in (FIXTURES / "meldingen.jsonl").read_text().splitlines() if x.strip()]
