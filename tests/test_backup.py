"""Backups that keep their promises (docs/operations.md, "Backup and restore").

The procedure of the docs, run for real: the key store backed up with SQLite's online
backup, the events with pg_dump; meldingen added and a subject shredded after it; the
events' newer backup restored with pg_restore to a fresh PostgreSQL server beside the
key store's older one. The shredded subject stays shredded (the key store's backup still
held their key: the shred the events record is applied again at start), `loket verify`
passes, and the projections rebuild to the caseload the old server had.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from loket import synthetic
from tests.conftest import line
from tests.pgserver import PostgresServer, bin_dir

pytestmark = pytest.mark.slow

LOKET = [sys.executable, "-m", "loket.cli"]
MASTER_KEY = base64.b64encode(b"backup-test-master-key-32-bytes!").decode()  # kept apart from both backups
GESHREDDERD, GEBLEVEN = "123456782", "111222333"
GEHEIM = "toelichting-die-na-vernietiging-weg-moet-blijven"


def loket(directory: Path, url: str, *args: str, code: int = 0, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOKET_")}
    env |= {"LOKET_DB": str(directory / "loket.sqlite"), "LOKET_DATABASE_URL": url, "LOKET_MASTER_KEY": MASTER_KEY,
            "LOKET_USER": "beheerder", **extra}
    result = subprocess.run(LOKET + list(args), env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == code, result.stdout + result.stderr
    return result


def backup_keystore(keystore: Path, to: Path) -> None:
    """As docs/operations.md has it where there is no sqlite3 shell (the image): SQLite's online
    backup, consistent while the loket runs, into a file only its owner can read."""
    script = ("import os, sqlite3, sys; os.umask(0o077); "
              "sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))")
    subprocess.run([sys.executable, "-c", script, str(keystore), str(to)], check=True, timeout=60)


def pg_tool(name: str, *args: str) -> None:
    found = bin_dir()
    assert found is not None
    subprocess.run([str(found / name), *args], check=True, capture_output=True, timeout=120)


def ingest(directory: Path, url: str, lines: list[str]) -> None:
    (directory / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = json.loads(loket(directory, url, "ontvang", str(directory / "in.jsonl")).stdout.splitlines()[-1])
    assert summary["received"] == len(lines)


def persoon(directory: Path, url: str, melding: str) -> dict:
    shown = loket(directory, url, "show", melding, "--purpose", "triage", "--json", LOKET_ROLE="intake")
    return json.loads(shown.stdout)


def caseload(directory: Path, url: str) -> list[dict]:
    return json.loads(loket(directory, url, "caseload", "--json", LOKET_COMPARTMENTS="radicalisering").stdout)


def live_keys(keystore: Path, subject: str) -> int:
    with closing(sqlite3.connect(f"file:{keystore}?mode=ro", uri=True)) as db:
        return db.execute("SELECT count(*) FROM data_keys WHERE subject = ?", (subject,)).fetchone()[0]


def synthetische(seed: int, n: int, prefix: str) -> list[str]:
    out = []
    for raw in synthetic.jaar(2025, seed=seed, scale=0.05):
        data = json.loads(raw) if raw.startswith("{") and raw.endswith("}") else None
        if isinstance(data, dict) and "kenmerk" in data:
            out.append(json.dumps({**data, "kenmerk": f"{prefix}-{len(out)}"}))
        if len(out) == n:
            return out
    raise AssertionError("not enough synthetic meldingen")


def test_a_subject_shredded_after_the_key_store_backup_stays_shredded_after_a_restore(tmp_path, postgres):
    old, new, backups = tmp_path / "oud", tmp_path / "nieuw", tmp_path / "backup"
    for d in (old, new, backups):
        d.mkdir()
    url = postgres.new_database()
    ingest(old, url, [
        line(kenmerk="S-1", persoon={"bsn": GESHREDDERD, "naam": "Te Vergeten", "geboortedatum": "1980-01-01"},
             toelichting=GEHEIM),
        line(kenmerk="T-1", persoon={"bsn": GEBLEVEN, "naam": "Blijft Bekend", "geboortedatum": "1975-05-05"}),
        *synthetische(31, 150, "VOOR"),
    ])

    # The backup: the key store first, then the events (docs/operations.md).
    backup_keystore(old / "loket.sqlite.keys", backups / "keys.sqlite")
    pg_tool("pg_dump", "--format=custom", f"--file={backups / 'events-1.dump'}", url)
    assert (backups / "keys.sqlite").stat().st_mode & 0o077 == 0

    # After it: more meldingen, the subject's second melding among them, and the subject shredded.
    na = synthetische(32, 150, "NA")
    ingest(old, url, [line(kenmerk="S-2", persoon={"bsn": GESHREDDERD, "naam": "Te Vergeten",
                                                  "geboortedatum": "1980-01-01"}, toelichting=GEHEIM), *na])
    later_id = "{bron}:{kenmerk}".format(**json.loads(na[0]))
    shred = json.loads(loket(old, url, "shred", "--bsn", GESHREDDERD, "--reason", "verzoek-betrokkene").stdout)
    assert len(shred["meldingen"]) == 2 and shred["sleutels"] >= 1
    assert persoon(old, url, "gemeente:S-2")["toelichting"] == {"verwijderd": True}
    before = caseload(old, url)
    # The events' newer backup (a nightly pg_dump after the shred; or continuous archiving). The
    # key store's newest backup is still the one from before the shred: it holds the subject's key.
    pg_tool("pg_dump", "--format=custom", f"--file={backups / 'events-2.dump'}", url)
    assert live_keys(backups / "keys.sqlite", shred["betrokkene"]) >= 1

    # The old server is gone; a fresh one, and a fresh working directory, get the backups.
    with PostgresServer() as fresh:
        restored = fresh.new_database("hersteld")
        pg_tool("pg_restore", "--no-owner", "--no-privileges", f"--dbname={restored}",
                str(backups / "events-2.dump"))
        shutil.copyfile(backups / "keys.sqlite", new / "loket.sqlite.keys")
        os.chmod(new / "loket.sqlite.keys", 0o600)

        verified = json.loads(loket(new, restored, "verify", "--json").stdout)  # the first start
        assert verified["intact"] is True
        # The start applied the shred the events hold to the older key store: the key is gone again.
        assert live_keys(new / "loket.sqlite.keys", shred["betrokkene"]) == 0
        for melding in ("gemeente:S-1", "gemeente:S-2"):
            shown = persoon(new, restored, melding)
            assert shown["toelichting"] == {"verwijderd": True} and GEHEIM not in json.dumps(shown)
        assert persoon(new, restored, "gemeente:T-1")["persoon"]["bsn"] == GEBLEVEN
        # What the key store's backup cannot bring back: keys made after it. A melding received
        # between the two backups keeps its events, but its personal data no longer opens.
        later = loket(new, restored, "show", later_id, "--purpose", "triage", code=4, LOKET_ROLE="intake")
        assert "cannot be opened" in later.stderr and "Traceback" not in later.stderr

        loket(new, restored, "projections", "rebuild")
        assert caseload(new, restored) == before
        # Shredding is idempotent on the restored store as well: nothing is left to destroy.
        again = json.loads(loket(new, restored, "shred", "--bsn", GESHREDDERD, "--reason", "verzoek-betrokkene").stdout)
        assert again["sleutels"] == 0


def test_a_shred_recorded_before_its_key_ids_were_destroys_every_key_of_the_subject_made_before_it(tmp_path):
    """Shreds in older stores name no keys: then every key of the subject made before the shred
    goes again, and one made after it (data that came later) stays; the position is remembered."""
    from datetime import UTC, datetime

    from privacy.keystore import Herhaling, KeyStore

    store = KeyStore(tmp_path / "keys.sqlite", b"k" * 32)
    store.add([("oud", "s1", "", b"a" * 32), ("ander", "s2", "", b"b" * 32)], [])
    shred_at = datetime.now(UTC).isoformat()
    store.add([("nieuw", "s1", "radicalisering", b"c" * 32)], [])
    assert store.vernietigingen_tot() == 0

    again = store.herhaal_vernietigingen([Herhaling("s1", None, shred_at, "verzoek-betrokkene")], tot=7)
    assert again == ["oud"]
    assert store.live_key_ids("s1") == ["nieuw"] and store.live_key_ids("s2") == ["ander"]
    assert store.key("oud", compartimenten=frozenset()) is None  # destroyed, with its tombstone
    assert store.vernietigingen_tot() == 7
    # Named keys go, and only those; applying a shred twice changes nothing, nor does a lower position.
    assert store.herhaal_vernietigingen([Herhaling("s1", ("nieuw",), shred_at, "bezwaar")], tot=5) == ["nieuw"]
    assert store.herhaal_vernietigingen([Herhaling("s1", ("nieuw",), shred_at, "bezwaar")], tot=9) == []
    assert store.vernietigingen_tot() == 9 and store.live_key_ids("s2") == ["ander"]
    store.close()
