"""The files a store writes: only their owner reads them.

Every file under the test's directory is looked at, so a file nobody thought of
counts too. With PostgreSQL as event store the projections and tokens are there too, and the only
local files are the key store file and the development master key (without LOKET_KEYSTORE_URL and
LOKET_MASTER_KEY).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from loket.bootstrap import bootstrap, maak_kluis
from loket.settings import Settings
from tests.conftest import BEHEER_ROL, INTAKE_ROL, line
from tests.event_store import key_sql
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


def cli_env(store: Settings) -> dict[str, str]:
    env = {**os.environ, "LOKET_DB": str(store.db), "LOKET_USER": "tester"}
    if store.database_url:
        env["LOKET_DATABASE_URL"] = store.database_url
    if store.keystore_url:
        env["LOKET_KEYSTORE_URL"] = store.keystore_url
    if store.master_key:
        env["LOKET_MASTER_KEY"] = store.master_key
    return env


def cli(store: Settings, args: list[str], *, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(LOKET + args, input=stdin, capture_output=True, text=True, env={**cli_env(store), **env},
                            timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def test_every_file_of_an_open_store_is_the_owners_alone(store, tmp_path, umask_022):
    systeem = bootstrap(store)
    try:
        melding = systeem.app.ontvang(line(kenmerk="F-1")).melding_id
        systeem.app.persoonsgegevens(melding, actor="tester", doel="triage", rol=INTAKE_ROL)
        systeem.bij()
        systeem.tokens.maak("tester", "intake", zvh=None, compartimenten=(), huizen=frozenset())
        found = modes(tmp_path)  # while open: the -wal and -shm files are there
    finally:
        systeem.close()
    expected: set[str] = set()
    if store.database_url is None:  # else the projections and tokens are in the events' database
        expected |= {"loket.sqlite", "loket.sqlite-wal", "loket.sqlite-shm", "loket.tokens.sqlite", "loket.sqlite.lock"}
    else:
        assert not {"loket.sqlite", "loket.tokens.sqlite", "loket.sqlite.lock"} & set(found), sorted(found)
    if store.keystore_url is None:  # else the master key is given (no development key beside a server)
        expected |= {"loket.sqlite.keys", "loket.sqlite.keys-wal", "loket.sqlite.keys.master-key"}
    assert expected <= set(found), sorted(found)
    assert readable_by_others(found) == {}


def test_the_cli_creates_every_file_owner_only(store, tmp_path, umask_022):
    cli(store, ["ontvang", "-"], stdin=line(kenmerk="F-2") + "\n")
    cli(store, ["token", "create", "--user", "beheerder", "--role", "admin"])
    cli(store, ["verify"])
    found = modes(tmp_path)
    assert ("loket.sqlite" in found) == (store.database_url is None)
    assert ("loket.tokens.sqlite" in found) == (store.database_url is None)
    assert ("loket.sqlite.lock" in found) == (store.database_url is None)
    assert ("loket.sqlite.keys" in found) == (store.keystore_url is None)
    assert readable_by_others(found) == {}


def test_the_files_of_a_store_made_before_are_made_owner_only_when_opened(store, tmp_path, umask_022):
    systeem = bootstrap(store)
    systeem.app.ontvang(line(kenmerk="F-3"))
    systeem.tokens.maak("tester", "intake", zvh=None, compartimenten=(), huizen=frozenset())
    for path in tmp_path.iterdir():  # as an older version left them, while still open
        if path.is_file() and not path.name.endswith(".master-key"):
            path.chmod(0o644)
    systeem.close()
    cli(store, ["token", "list"])
    cli(store, ["caseload"])
    assert readable_by_others(modes(tmp_path)) == {}


# Shredding leaves nothing of the person in any file -------------------------------------

BSN = "111222333"
NAAM = "Zwartbles Kwakkelstraat"
GEBOREN = "1987-11-23"
TOELICHTING = "toelichting-over-zwartbles-plugh"
REDEN = "teruggestuurd-wegens-zwartbles-xyzzy"
AFGEWEZEN = "afgewezen-over-zwartbles-frobozz"
PERSOON = {"bsn": BSN, "naam": NAAM, "geboortedatum": GEBOREN}
SECRETS = (BSN, NAAM, "Kwakkelstraat", GEBOREN, TOELICHTING, REDEN, AFGEWEZEN)


def found_in_files(directory: Path, needles: dict[str, bytes]) -> list[tuple[str, str]]:
    """(file, what) for every needle in any file under `directory`, the -wal and -shm files included."""
    hits = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            hits.extend((path.name, what) for what, needle in needles.items() if needle in data)
    return hits


class Holder:
    """Another process that keeps the store open throughout, as `loket serve` does: the write-ahead
    logs stay on disk, with whatever they hold. (Not this process: reading a database file here
    would drop the locks of this process's own connections to it.)"""

    CODE = ("import sys\nfrom loket.bootstrap import bootstrap\ns = bootstrap()\nprint('open', flush=True)\n"
            "for command in sys.stdin:\n    s.bij()\n    print('caught up', flush=True)\ns.close()\n")

    def __init__(self, store: Settings):
        self.process = subprocess.Popen([sys.executable, "-c", self.CODE], env=cli_env(store), text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.process.stdout.readline().strip() == "open"

    def catch_up(self) -> None:
        self.process.stdin.write("bij\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline().strip() == "caught up"

    def close(self) -> None:
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0


def key_material(store: Settings) -> dict[str, bytes]:
    """The person's data keys, wrapped as the key store keeps them and unwrapped."""
    kluis = maak_kluis(store)
    try:
        subject = kluis.pseudoniemen.bsn(BSN).id
        key_ids = kluis.keystore.live_key_ids(subject)
        assert len(key_ids) == 2  # ordinary and radicalisering
        material = {f"data key {k}": kluis.keystore.key(k, compartimenten=frozenset({"radicalisering"}))
                    for k in key_ids}
    finally:
        kluis.close()
    with key_sql(store) as keys:
        material |= {f"wrapped key {k}": bytes(w) for k, w in
                     keys.execute("SELECT key_id, wrapped FROM data_keys WHERE subject = ?", (subject,))}
    return material


def test_after_shredding_no_file_of_the_store_holds_the_persons_data_or_their_keys(store, tmp_path):
    holder = Holder(store)
    lines = [line(kenmerk="Z-1", persoon=PERSOON, toelichting=TOELICHTING),
             line(kenmerk="Z-2", persoon=PERSOON, toelichting=TOELICHTING, soort="radicalisering", bron="politie"),
             line(kenmerk="Z-3", persoon=PERSOON, ontvangen_op="gisteren", toelichting=AFGEWEZEN),
             line(kenmerk="Z-4")]  # someone else
    cli(store, ["ontvang", "-"], stdin="\n".join(lines) + "\n")
    cli(store, ["return", "gemeente:Z-1", "--reason", REDEN])
    cli(store, ["show", "gemeente:Z-1", "--purpose", "triage"], LOKET_ROLE="intake")
    holder.catch_up()
    needles = {s: s.encode() for s in SECRETS} | key_material(store)

    # The reason is a ground from a closed list: free text about the person is refused, not echoed.
    refused = subprocess.run(LOKET + ["shred", "--bsn", "-", "--reason", f"verzoek van {NAAM}"], input=BSN,
                             capture_output=True, text=True, env=cli_env(store), timeout=300)
    assert refused.returncode == 2 and NAAM not in refused.stderr and "Traceback" not in refused.stderr
    cli(store, ["shred", "--bsn", "-", "--reason", "verzoek-betrokkene"], stdin=BSN + "\n")
    assert found_in_files(tmp_path, needles) == []
    holder.catch_up()  # its projections take in the shredding too
    assert found_in_files(tmp_path, needles) == []
    holder.close()
    assert found_in_files(tmp_path, needles) == []


@pytest.mark.sqlite_keystore_only(reason="its write-ahead log; for PostgreSQL see tests/test_keystore_postgres.py")
def test_a_reader_holding_an_old_snapshot_of_the_key_store_delays_emptying_its_log_and_shredding_says_so(
        store, tmp_path):
    s = bootstrap(store)
    try:
        s.app.ontvang(line(kenmerk="R-1", persoon=PERSOON, toelichting=TOELICHTING))
        subject = s.app.betrokkene_met_bsn(BSN)
        with closing(sqlite3.connect(store.keystore_path)) as keys:
            [(wrapped,)] = keys.execute("SELECT wrapped FROM data_keys WHERE subject = ?", (subject,))
        # Another process (a backup, a replica, an administrator's sqlite3) reads an older snapshot.
        reader = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys\n"
             f"c = sqlite3.connect({str(store.keystore_path)!r}, isolation_level=None)\n"
             "c.execute('BEGIN'); c.execute('SELECT count(*) FROM data_keys').fetchone()\n"
             "print('reading', flush=True); sys.stdin.readline(); c.execute('COMMIT')\n"
             "print('done', flush=True); sys.stdin.readline()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert reader.stdout.readline().strip() == "reading"
            keystore = s.app.kluis.keystore
            keystore.log_wait = 0.5
            s.app.vernietig(subject, actor="fg", reden="verzoek-betrokkene", rol=BEHEER_ROL)
            assert keystore.log_emptied is False  # said, not silently left
            opened = s.app.persoonsgegevens(s.app.melding_id_van("gemeente", "R-1"), actor="t", doel="controle",
                                            rol=INTAKE_ROL)
            assert opened["persoon"] == {"verwijderd": True}  # destroyed all the same
            reader.stdin.write("\n")
            reader.stdin.flush()
            assert reader.stdout.readline().strip() == "done"  # it let go, and still has the file open
            assert keystore.empty_log() is True
            assert Path(f"{store.keystore_path}-wal").stat().st_size == 0
        finally:
            reader.kill()
            reader.wait()
    finally:
        s.close()
    assert found_in_files(tmp_path, {"wrapped key": bytes(wrapped)}) == []
