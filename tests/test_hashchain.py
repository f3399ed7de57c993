"""Tamper evidence: the hash chain over the stored events, and `verify` naming the first broken position.

Tampering is done the way an attacker with write access to the database would:
plain SQL on the event store, around the application (on the event store under
test: tests/event_store.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from uuid import UUID

import pytest

from events.hashchain import Verificatie, link
from loket.bootstrap import Systeem, bootstrap
from tests.conftest import line
from tests.event_store import EventSQL, event_sql, loket_settings

EVERY = 4


@pytest.fixture
def chained(tmp_path: Path) -> Iterator[Systeem]:
    """A store with intake, a rejection, lifecycle commands and a logged read: every kind of event."""
    s = bootstrap(loket_settings(tmp_path / "loket.sqlite", LOKET_CHAIN_ANCHOR_EVERY=str(EVERY)))
    results = s.app.ontvang_batch([line(kenmerk=f"C-{i}") for i in range(5)] + ["{kapot"])
    first = results[0].melding_id
    s.app.retour(first, actor="zvh-parkstad", reden="Hoort in Maastricht")
    s.app.accepteer(results[1].melding_id, actor="zvh-parkstad", regisseur="A. Janssen")
    s.app.persoonsgegevens(first, actor="intake-1", doel="triage")
    yield s
    s.close()


def verify(s: Systeem) -> Verificatie:
    return s.app.recorder.verify(s.app.kluis.anker_sleutel().public_key())


def sql(s: Systeem) -> AbstractContextManager[EventSQL]:
    return event_sql(s.settings)


def test_an_untouched_store_verifies_with_an_anchor_every_few_events(chained):
    result = verify(chained)
    assert result.intact, result.reason
    last = chained.app.recorder.max_notification_id()
    assert result.events == last and result.head_position == last
    assert result.anchors == last // EVERY


def _flips(value):
    """The stored value with one byte (or digit) changed, at a few places."""
    if isinstance(value, int):
        return [value + 1000]
    if isinstance(value, UUID):  # PostgreSQL's uuid column
        return [UUID(int=value.int ^ (1 << bit)) for bit in (0, 64, 127)]
    data = value if isinstance(value, bytes) else value.encode()
    flipped = []
    for at in sorted({0, len(data) // 2, len(data) - 1}):
        changed = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
        flipped.append(changed if isinstance(value, bytes) else changed.decode("latin-1"))
    return flipped


def test_a_flipped_byte_anywhere_in_any_event_is_found_at_its_position(chained):
    with sql(chained) as db:
        rows = db.execute(f"SELECT {db.position}, originator_id, originator_version, topic, state FROM {db.events}")
        columns = ("originator_id", "originator_version", "topic", "state")
        checked = 0
        for position, *values in rows:
            for column, original in zip(columns, values, strict=True):
                for tampered in _flips(original):
                    db.execute(f"UPDATE {db.events} SET {column} = ? WHERE {db.position} = ?", (tampered, position))
                    result = verify(chained)
                    assert (result.broken_at, result.reason) == (
                        position, "the event does not match its link: altered"), f"{column} of event {position}"
                    db.execute(f"UPDATE {db.events} SET {column} = ? WHERE {db.position} = ?", (original, position))
                    checked += 1
    assert checked > 100
    assert verify(chained).intact


def test_a_deleted_event_is_found(chained):
    with sql(chained) as db:
        db.execute(f"DELETE FROM {db.events} WHERE {db.position} = 7")
    result = verify(chained)
    assert result.broken_at == 7 and "deleted" in result.reason


def test_an_event_written_around_the_recorder_is_found(chained):
    with sql(chained) as db:
        db.execute(f"INSERT INTO {db.events} (originator_id, originator_version, topic, state) "
                   f"SELECT originator_id, 99, topic, state FROM {db.events} WHERE {db.position} = 3")
    result = verify(chained)
    assert result.broken_at == chained.app.recorder.max_notification_id() and "without a link" in result.reason


def test_a_rewritten_stretch_of_history_no_longer_matches_its_signed_anchor(chained):
    """The attacker alters event 6 and recomputes every later link; only the anchors' signatures stop them."""
    with sql(chained) as db:
        [(state,)] = db.execute(f"SELECT state FROM {db.events} WHERE {db.position} = 6")
        altered = bytes(state).replace(b"parkstad", b"parkstat")
        assert altered != bytes(state)
        db.execute(f"UPDATE {db.events} SET state = ? WHERE {db.position} = 6", (altered,))
        events = db.execute(f"SELECT {db.position}, originator_id, originator_version, topic, state FROM {db.events} "
                            f"ORDER BY {db.position}")
        previous = bytes(32)
        for position, *values in events:
            previous = link(previous, position, *values)
            db.execute("UPDATE event_chain SET link = ? WHERE position = ?", (previous, position))
    result = verify(chained)
    assert not result.intact
    assert result.broken_at == 5  # after the last anchor that still holds (position 4): 5..8 were rewritten
    assert "rewritten between positions 5 and 8" in result.reason


def test_a_forged_or_missing_anchor_is_found(chained):
    with sql(chained) as db:
        db.execute("UPDATE event_chain_anchors SET signature = ? WHERE seq = 8", (bytes(64),))
        assert verify(chained).broken_at == 8 and "signature" in verify(chained).reason
        db.execute("DELETE FROM event_chain_anchors WHERE seq = 8")
        assert verify(chained).broken_at == 8 and "missing" in verify(chained).reason


def test_events_removed_from_the_end_are_found_where_an_anchor_covered_them(chained):
    with sql(chained) as db:
        db.execute(f"DELETE FROM {db.events} WHERE {db.position} >= 12")
        db.execute("DELETE FROM event_chain WHERE position >= 12")
    result = verify(chained)
    assert result.broken_at == 12 and "missing from the end" in result.reason


def test_the_anchor_interval_is_fixed_when_the_store_is_created(chained, tmp_path):
    chained.close()
    again = bootstrap(loket_settings(tmp_path / "loket.sqlite", LOKET_CHAIN_ANCHOR_EVERY="1000"))
    try:
        assert again.app.recorder.anchor_every == EVERY
        again.app.ontvang(line(kenmerk="C-9"))
        assert verify(again).intact
    finally:
        again.close()


# PostgreSQL: the same chain, kept by the PostgreSQL recorder inside its locked insert.


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server (Debian package postgresql), trust auth on a free port."""
    import glob
    import os
    import pwd
    import shutil
    import socket
    import subprocess
    import tempfile

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("PostgreSQL server binaries (Debian package postgresql) are not installed")
    # Not under pytest's tmp dir: the server's user must be able to reach its directory.
    bindir, root = Path(found[-1]).parent, Path(tempfile.mkdtemp(prefix="loket-pg-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    as_user = {}
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}

    def run(*args: str) -> None:
        subprocess.run([str(bindir / args[0]), *args[1:]], check=True, capture_output=True, timeout=120, cwd=root,
                       **as_user)

    run("initdb", "-D", str(root / "data"), "-U", "loket", "--auth=trust", "--no-sync")
    run("pg_ctl", "-D", str(root / "data"), "-l", str(root / "log"), "-w", "start", "-o",
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={root} -c fsync=off")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        run("pg_ctl", "-D", str(root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_chained(postgres_url: str, tmp_path: Path) -> Iterator:
    import psycopg

    from events.application import Loket

    host, port = postgres_url.split(":")
    name = f"chain_{tmp_path.name[-20:].replace('-', '_').lower()}"
    with psycopg.connect(f"postgresql://loket@{postgres_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": name, "POSTGRES_HOST": host,
        "POSTGRES_PORT": port, "POSTGRES_USER": "loket", "POSTGRES_PASSWORD": "",
        "APPLICATION_RECORDER_TOPIC": "events.hashchain:PostgresChainRecorder",
        "LOKET_KEYSTORE": str(tmp_path / "loket.keys"), "LOKET_CHAIN_ANCHOR_EVERY": str(EVERY),
    }
    app = Loket(env=env)
    results = app.ontvang_batch([line(kenmerk=f"P-{i}") for i in range(5)] + ["{kapot"])
    app.retour(results[0].melding_id, actor="zvh-parkstad", reden="Hoort in Maastricht")
    app.persoonsgegevens(results[0].melding_id, actor="intake-1", doel="triage")
    with psycopg.connect(f"postgresql://loket@{postgres_url}/{name}", autocommit=True) as sql_:
        yield app, sql_, env
    app.close()


def test_on_postgresql_the_chain_verifies_and_finds_a_flipped_byte_and_a_deleted_event(pg_chained):
    app, db, _ = pg_chained
    events = app.recorder.events_table_name
    key = app.kluis.anker_sleutel().public_key()
    intact = app.recorder.verify(key)
    assert intact.intact, intact.reason
    assert intact.events == app.recorder.max_notification_id() and intact.anchors == intact.events // EVERY
    for position, column in ((3, "state"), (5, "topic"), (8, "originator_id"), (9, "originator_version")):
        (original,) = db.execute(f"SELECT {column} FROM {events} WHERE notification_id = %s", (position,)).fetchone()
        if column == "originator_id":
            tampered = original.__class__(int=original.int ^ 1)
        elif column == "originator_version":
            tampered = original + 1000
        else:
            data = original if isinstance(original, bytes) else original.encode()
            tampered = bytes([data[0] ^ 1]) + data[1:]
            tampered = tampered if isinstance(original, bytes) else tampered.decode()
        db.execute(f"UPDATE {events} SET {column} = %s WHERE notification_id = %s", (tampered, position))
        assert app.recorder.verify(key).broken_at == position, column
        db.execute(f"UPDATE {events} SET {column} = %s WHERE notification_id = %s", (original, position))
    assert app.recorder.verify(key).intact
    db.execute(f"DELETE FROM {events} WHERE notification_id = 6")
    result = app.recorder.verify(key)
    assert result.broken_at == 6 and "deleted" in result.reason


def test_on_postgresql_writers_in_parallel_keep_one_unbroken_chain(pg_chained):
    from concurrent.futures import ThreadPoolExecutor

    from events.application import Loket

    app, _, env = pg_chained
    before = app.recorder.verify(app.kluis.anker_sleutel().public_key()).events
    writers = [Loket(env=env) for _ in range(3)]

    def write(n: int) -> None:
        for batch in range(4):
            writers[n].ontvang_batch([line(kenmerk=f"W{n}-{batch}-{i}") for i in range(5)])

    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(write, range(3)))
    finally:
        for w in writers:
            w.close()
    result = app.recorder.verify(app.kluis.anker_sleutel().public_key())
    assert result.intact, result.reason
    assert result.events == before + 3 * 4 * 5 * 2  # every melding received and routed, every one chained
