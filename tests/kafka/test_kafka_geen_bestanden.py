"""In production nothing is written to local disk: every piece of state is in PostgreSQL.

Intake (`loket ontvang`), a catch-up of the projections, the projection worker, `loket serve`,
`loket consume`, `loket relay`, `loket token create` and `loket verify` run as production runs
them: each its own process, the events in PostgreSQL (LOKET_DATABASE_URL), the key store in a
database of its own under a role of its own (LOKET_KEYSTORE_URL), the master key from the
environment, the real broker. Each runs in an empty directory it may not write to, with HOME and
TMPDIR empty directories it may not write to either, and without writing its bytecode (as the
image runs them, deploy/Dockerfile).

LOKET_DB names a file in an empty directory that *is* writable: a write a read-only directory
would only refuse (and a process might swallow) is seen there. Nothing may appear in it.

Afterwards the work must have happened (meldingen stored, projections caught up, decisions
published, the API answering, the hash chain whole), and no file was written: the directories
are empty, the checkout of the repository has no new file, and no process ever held a file open
for writing (their open files are looked at while they run; what a process was given as stdout
and stderr aside).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from threading import Event, Thread

import httpx2
import pytest

from loket.settings import Settings
from tests.conftest import line, melding
from tests.event_store import DATABASES, ON_POSTGRESQL
from tests.kafka.conftest import Loket, free_port, produce, wait_until
from tests.kafka.test_kafka_meerdere_hosts import kafka_meldingen, ontvangen
from tests.kafka.test_kafka_relay_lock import last_position, published, relay_position, stored_decisions
from tests.web_fixtures import serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ON_POSTGRESQL, reason="production keeps its state in PostgreSQL; the PostgreSQL pass "
                       "of `make test` runs this (the embedded SQLite store is a file by design)"),
]

ROOT = Path(__file__).resolve().parents[2]
IN_BESTAND, VIA_KAFKA, VIA_API = 12, 16, 6


@pytest.fixture
def alleen_lezen() -> Iterator[Callable[..., Path]]:
    """Makes an empty directory (or one holding `inhoud`) that nobody may write to; writable
    again when the test ends, so that it can be removed."""
    made: list[Path] = []

    def maak(path: Path, *, inhoud: dict[str, str] | None = None) -> Path:
        path.mkdir()
        for naam, tekst in (inhoud or {}).items():
            (path / naam).write_text(tekst)
        path.chmod(0o555)
        made.append(path)
        return path

    yield maak
    for path in made:
        path.chmod(0o755)


def bestanden(directory: Path, *, behalve: tuple[str, ...] = ()) -> set[str]:
    """Every path under `directory`, relative to it; directories named in `behalve` are passed by."""
    found = set()
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in behalve]
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(root, name), directory))
    return found


def repository() -> set[str]:
    """The checkout's files. Bytecode caches are passed by: the processes write none
    (PYTHONDONTWRITEBYTECODE, as in the image), the test process itself may."""
    return bestanden(ROOT, behalve=("__pycache__", ".git", "test-artifacts"))


def open_voor_schrijven(pid: int) -> set[str]:
    """The files process `pid` holds open for writing now; its standard streams (the harness's) aside."""
    found = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found  # gone
    for fd in fds:
        if int(fd) <= 2:
            continue
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            flags = next(int(r.split()[1], 8) for r in Path(f"/proc/{pid}/fdinfo/{fd}").read_text().splitlines()
                         if r.startswith("flags:"))
            regular = stat.S_ISREG(os.stat(f"/proc/{pid}/fd/{fd}").st_mode)
        except (OSError, StopIteration):
            continue  # closed meanwhile
        if regular and flags & os.O_ACCMODE in (os.O_WRONLY, os.O_RDWR):
            found.add(target)
    return found


@contextmanager
def schrijvers_gezocht(pids: list[int]) -> Iterator[set[str]]:
    """Look, every 50 ms while the body runs, at what the processes `pids` (a list that may grow)
    hold open for writing; the set of files found."""
    found: set[str] = set()
    klaar = Event()

    def kijk() -> None:
        while not klaar.wait(0.05):
            for pid in list(pids):
                found.update(open_voor_schrijven(pid))

    thread = Thread(target=kijk, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        klaar.set()
        thread.join()


def test_intake_catch_up_serve_consume_and_relay_on_postgresql_write_no_file(
        broker, kafka_env, topics, loket, tmp_path, alleen_lezen):
    meldingen = "".join(line(kenmerk=f"BESTAND-{i}") + "\n" for i in range(IN_BESTAND))
    werkmap = alleen_lezen(tmp_path / "werkmap", inhoud={"meldingen.jsonl": meldingen})
    thuis, tijdelijk = alleen_lezen(tmp_path / "thuis"), alleen_lezen(tmp_path / "tijdelijk")
    staat = tmp_path / "staat"
    staat.mkdir()
    keys = {"LOKET_KEYSTORE_URL": DATABASES.keystore_url(tmp_path / "loket.sqlite"),
            "LOKET_MASTER_KEY": kafka_env["LOKET_MASTER_KEY"]}
    omgeving = {"HOME": str(thuis), "TMPDIR": str(tijdelijk), "TEMP": str(tijdelijk), "TMP": str(tijdelijk),
                "PYTHONDONTWRITEBYTECODE": "1", "LOKET_DB": str(staat / "loket.sqlite"),
                # As in production: the projection worker alone writes the projections.
                "LOKET_CATCH_UP_ON_READ": "0", **keys}
    env = {**{k: v for k, v in kafka_env.items() if not k.startswith("XDG_")}, **omgeving}
    assert env["LOKET_DATABASE_URL"] and "LOKET_KEYSTORE" not in env and "LOKET_MASTER_KEY_FILE" not in env
    settings = Settings.from_env(env)
    metrics_port = free_port()
    pids: list[int] = []
    checkout = repository()

    def process(*args: str) -> Loket:
        started = loket(*args, env=env, cwd=werkmap)
        pids.append(started.process.pid)
        return started

    def klaar(p: Loket) -> Loket:
        assert p.process.wait(timeout=300) == 0, p.stderr_path.read_text()
        return p

    with schrijvers_gezocht(pids) as geschreven, ExitStack() as stack:
        # Intake from a file (which brings the projections up to date when no worker holds their
        # lock), then a catch-up of the projections on its own.
        assert klaar(process("ontvang", "meldingen.jsonl")).summary()["new"] == IN_BESTAND
        klaar(process("projections", "catch-up"))

        # The processes that keep running.
        consume = process("consume", "--batch", "8")
        relay = process("relay", "--page", "10")
        worker = process("projections", "catch-up", "--follow", "--interval", "0.05",
                         "--metrics-port", str(metrics_port))
        api = stack.enter_context(serve(tmp_path, "api", cwd=werkmap, **omgeving))
        pids.append(api.process.pid)
        # Tokens as an administrator hands them out.
        intake = klaar(process("token", "create", "--user", "anna", "--role", "intake")).stdout.split()[0]
        beheer = {"Authorization": f"Bearer {api.token('bea', 'beheer')}"}

        produce(broker.bootstrap, topics.meldingen, kafka_meldingen(VIA_KAFKA))
        for i in range(VIA_API):
            answer = httpx2.post(api.url + "/meldingen", json=melding(kenmerk=f"API-{i}"),
                                 headers={"Authorization": f"Bearer {intake}"}, timeout=60)
            assert answer.status_code == 201, answer.text
        totaal = IN_BESTAND + VIA_KAFKA + VIA_API

        # The work happened: stored, published, and the projections caught up, as the API answers.
        wait_until(lambda: ontvangen(settings)[0] >= totaal, timeout=120)
        wait_until(lambda: relay_position(settings) == last_position(settings), timeout=120)

        def bijgewerkt() -> httpx2.Response | None:
            answer = httpx2.get(api.url + "/caseload", headers=beheer, timeout=60)
            return answer if answer.headers.get("x-loket-achterstand") == "0" else None

        caseload = wait_until(bijgewerkt, timeout=120)
        # The meldingen of the file and the API are routed to a house: open in its caseload.
        assert caseload.status_code == 200
        assert sum(row["count"] for row in caseload.json()) >= IN_BESTAND + VIA_API, caseload.json()
        metrics = httpx2.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
        assert 'loket_projectie_achterstand{projectie="caseload"} 0.0' in metrics, metrics
        assert httpx2.get(api.url + "/health", timeout=10).json()["status"] == "ok"
        for p in (consume, relay, worker):
            assert p.alive(), p.stderr_path.read_text()
            assert p.stop() == 0, p.stderr_path.read_text()
        assert "Traceback" not in api.logs()
        assert json.loads(klaar(process("verify", "--json")).stdout)["intact"] is True

    assert ontvangen(settings) == (totaal, totaal)
    decisions = stored_decisions(settings)
    assert len(decisions) == totaal
    assert decisions <= {json.loads(r.value)["event_id"] for r in published(broker.bootstrap, topics)}

    # No file written: not in the directories they were given, not in the checkout, nowhere held open.
    gevonden = {
        "LOKET_DB's directory": sorted(bestanden(staat)),
        "working directory": sorted(bestanden(werkmap) - {"meldingen.jsonl"}),
        "HOME": sorted(bestanden(thuis)),
        "TMPDIR": sorted(bestanden(tijdelijk)),
        "repository checkout": sorted(repository() - checkout),
        "held open for writing": sorted(geschreven),
    }
    print("written by the processes:", json.dumps(gevonden, indent=2))
    assert all(not found for found in gevonden.values()), gevonden
