"""The files a store writes: only their owner reads them.

Every file under the test's directory is looked at, so a file nobody thought of
counts too. With PostgreSQL as event store the local files are the projections,
the key store, the token file and the lock file.
"""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from loket.bootstrap import bootstrap
from loket.settings import Settings
from loket.tokens import Tokens
from tests.conftest import line
from tests.test_cli import LOKET


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The common default: files readable by everyone unless made otherwise."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def modes(directory: Path) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()
            if p.is_file()}


def readable_by_others(found: dict[str, int]) -> dict[str, str]:
    return {name: oct(mode) for name, mode in found.items() if mode & 0o077}


def cli(store: Settings, args: list[str], *, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOKET_DB": str(store.db), "LOKET_USER": "tester"}
    if store.database_url:
        env["LOKET_DATABASE_URL"] = store.database_url
    result = subprocess.run(LOKET + args, input=stdin, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_every_file_of_an_open_store_is_the_owners_alone(store, tmp_path, umask_022):
    systeem = bootstrap(store)
    try:
        melding = systeem.app.ontvang(line(kenmerk="F-1")).melding_id
        systeem.app.persoonsgegevens(melding, actor="tester", doel="triage")
        systeem.bij()
        Tokens(store.tokens_db).maak("tester", "intake", zvh=None, compartimenten=(), huizen=frozenset())
        found = modes(tmp_path)  # while open: the -wal and -shm files are there
    finally:
        systeem.close()
    expected = {"loket.sqlite", "loket.sqlite-wal", "loket.sqlite-shm", "loket.sqlite.keys", "loket.sqlite.keys-wal",
                "loket.sqlite.lock", "loket.sqlite.keys.master-key", "loket.tokens.sqlite"}
    assert expected <= set(found), sorted(found)
    assert readable_by_others(found) == {}


def test_the_cli_creates_every_file_owner_only(store, tmp_path, umask_022):
    cli(store, ["ontvang", "-"], stdin=line(kenmerk="F-2") + "\n")
    cli(store, ["token", "create", "--user", "beheerder", "--role", "admin"])
    cli(store, ["verify"])
    found = modes(tmp_path)
    assert {"loket.sqlite", "loket.sqlite.keys", "loket.sqlite.lock", "loket.tokens.sqlite"} <= set(found)
    assert readable_by_others(found) == {}


def test_the_files_of_a_store_made_before_are_made_owner_only_when_opened(store, tmp_path, umask_022):
    systeem = bootstrap(store)
    systeem.app.ontvang(line(kenmerk="F-3"))
    Tokens(store.tokens_db).maak("tester", "intake", zvh=None, compartimenten=(), huizen=frozenset())
    for path in tmp_path.iterdir():  # as an older version left them, while still open
        if path.is_file() and not path.name.endswith(".master-key"):
            path.chmod(0o644)
    systeem.close()
    cli(store, ["token", "list"])
    cli(store, ["caseload"])
    assert readable_by_others(modes(tmp_path)) == {}
