from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
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


def run_together(setup: str, work: str, env: Mapping[str, str], processes: int = 4) -> list[subprocess.CompletedProcess]:
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
