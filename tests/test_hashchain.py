"""Tamper evidence: the hash chain over the stored events, and `verify` naming the first broken position.

Tampering is done the way an attacker with write access to the database would:
plain SQL on the event store, around the application (on the event store under
test: tests/event_store.py).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest

from events.hashchain import Schakels, Verificatie, anchor_message, link
from loket.bootstrap import Systeem, bootstrap, maak_loket
from loket.settings import Settings
from projections.caseload import caseload
from tests.conftest import INTAKE_ROL, handel, line
from tests.event_store import EventSQL, event_sql, key_sql, loket_settings

# The master key the store in tests/fixtures/store-v1 was written with (a test key, nothing else).
FIXTURE_MASTER_KEY = "bG9rZXQtdGVzdC1tYXN0ZXJrZXktc3RvcmUtdjEhISE="

EVERY = 4


@pytest.fixture
def chained(tmp_path: Path) -> Iterator[Systeem]:
    """A store with intake, a rejection, lifecycle commands and a logged read: every kind of event."""
    s = bootstrap(loket_settings(tmp_path / "loket.sqlite", LOKET_CHAIN_ANCHOR_EVERY=str(EVERY)))
    results = s.app.ontvang_batch([line(kenmerk=f"C-{i}") for i in range(5)] + ["{kapot"])
    first = results[0].melding_id
    handel(s.app, first, "return", actor="zvh-parkstad", reden="Hoort in Maastricht")
    handel(s.app, results[1].melding_id, "accept", actor="zvh-parkstad", regisseur="A. Janssen")
    s.app.persoonsgegevens(first, actor="intake-1", doel="triage", rol=INTAKE_ROL)
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


def test_an_event_altered_and_its_links_made_again_without_the_master_key_is_found_where_it_was_altered(chained):
    """The attacker alters event 6 and recomputes every later link, unkeyed: the links are keyed."""
    with sql(chained) as db:
        relink(db, 6, b"parkstad", b"parkstat", link)
    result = verify(chained)
    assert (result.broken_at, result.reason) == (6, "the event does not match its link: altered")


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


# What the code before keyed links could not see -----------------------------------------
# On both event stores (the `store` fixture), as someone who can write the events'
# database but holds neither the master key nor the key store would try it.


def relink(db: EventSQL, at: int, old: bytes, new: bytes, make_link, *, upto: int | None = None) -> None:
    """Alter event `at` (`old` → `new` in its state) and make the links from there on again,
    from the stored link before it, with `make_link` (up to position `upto`)."""
    [(state,)] = db.execute(f"SELECT state FROM {db.events} WHERE {db.position} = ?", (at,))
    altered = bytes(state).replace(old, new, 1)
    assert altered != bytes(state)
    db.execute(f"UPDATE {db.events} SET state = ? WHERE {db.position} = ?", (altered, at))
    [(previous,)] = db.execute("SELECT link FROM event_chain WHERE position < ? ORDER BY position DESC LIMIT 1",
                               (at,)) or [(bytes(32),)]
    previous = bytes(previous)
    events = db.execute(f"SELECT {db.position}, originator_id, originator_version, topic, state FROM {db.events} "
                        f"WHERE {db.position} >= ? ORDER BY {db.position}", (at,))
    for position, *values in events:
        if upto is not None and position > upto:
            break
        previous = make_link(previous, position, *values)
        db.execute("UPDATE event_chain SET link = ? WHERE position = ?", (previous, position))


def guessed_key_link(previous: bytes, position: int, *values) -> bytes:
    """A keyed link under a key the attacker made up (they do not hold the master key)."""
    return Schakels(b"geraden sleutel".ljust(32, b"\0")).link(previous, position, *values)


@pytest.fixture
def small(store: Settings) -> Iterator[Systeem]:
    """A store far below the first count anchor (one per 1,000 links)."""
    s = bootstrap(store)
    results = s.app.ontvang_batch([line(kenmerk=f"K-{i}") for i in range(3)])
    handel(s.app, results[0].melding_id, "accept", actor="zvh-parkstad", regisseur="A. Janssen")
    s.app.persoonsgegevens(results[1].melding_id, actor="intake-1", doel="triage", rol=INTAKE_ROL)
    yield s
    s.close()


@pytest.mark.parametrize("make_link", [link, guessed_key_link], ids=["unkeyed", "guessed-key"])
def test_a_small_store_edited_and_linked_again_is_found_at_the_edited_event(small, make_link):
    assert verify(small).anchors == 0 and verify(small).intact
    with event_sql(small.settings) as db:
        relink(db, 4, b"parkstad", b"parkstat", make_link)  # the second melding's decision
    result = verify(small)
    assert (result.broken_at, result.reason) == (4, "the event does not match its link: altered")


def test_events_cut_off_the_end_with_their_links_and_anchors_are_found(store):
    s = bootstrap(replace(store, anchor_every=4))
    try:
        s.app.ontvang_batch([line(kenmerk=f"T-{i}") for i in range(8)])  # 16 events, anchors at 4, 8, 12, 16
        for position in (15, 10, 9):  # after an anchor, on one, between them
            with event_sql(s.settings) as db:
                db.execute(f"DELETE FROM {db.events} WHERE {db.position} > ?", (position,))
                db.execute("DELETE FROM event_chain WHERE position > ?", (position,))
                db.execute("DELETE FROM event_chain_anchors WHERE position > ?", (position,))
            result = verify(s)
            assert result.broken_at == position + 1, result.reason
            assert "missing from the end" in result.reason and "position 16" in result.reason
    finally:
        s.close()


def test_the_head_is_kept_in_the_key_store_after_every_commit_and_its_signature_holds(small):
    last = small.app.recorder.max_notification_id()
    assert verify(small).kept_head_position == last
    handel(small.app, small.app.melding_id_van("gemeente", "K-2"), "return", actor="zvh-parkstad",
           reden="Hoort in Maastricht")
    assert verify(small).kept_head_position == last + 1
    with key_sql(small.settings) as keys:
        keys.execute("UPDATE chain_head SET seq = seq - 1, position = position - 1")  # hide the last event
    result = verify(small)
    assert (result.broken_at, result.reason) == (
        1, "the chain's head kept in the key store does not verify: forged or altered")


def test_a_quiet_store_is_anchored_by_time_as_well_as_by_count(store):
    s = bootstrap(replace(store, anchor_seconds=0))  # every commit is "later than" the last anchor
    try:
        s.app.ontvang_batch([line(kenmerk="Q-1"), line(kenmerk="Q-2")])  # one commit, four events
        s.app.ontvang(line(kenmerk="Q-3"))
        result = verify(s)
        assert result.intact and result.anchors == 2  # one per commit, on its last link
        with event_sql(s.settings) as db:
            assert [r[0] for r in db.execute("SELECT position FROM event_chain_anchors ORDER BY seq")] == [4, 6]
    finally:
        s.close()


def test_a_store_written_by_short_lived_commands_is_anchored_by_time_too(store):
    """Each `loket` command is a process of its own: the time counts from the store's last anchor."""
    s = bootstrap(store)  # ten minutes between anchors by time, the default
    s.app.ontvang(line(kenmerk="Q-1"))
    s.close()
    assert verify_store(store).anchors == 0
    with event_sql(store) as db:  # as if that command ran an hour ago
        db.execute("UPDATE event_chain_meta SET value = CAST(value AS INTEGER) - 3600 "
                   "WHERE name = 'anchored_by_time_since'")
    s = bootstrap(store)
    s.app.ontvang(line(kenmerk="Q-2"))
    s.app.ontvang(line(kenmerk="Q-3"))  # the next commit, minutes within the anchor: none
    s.close()
    with event_sql(store) as db:
        assert [r[0] for r in db.execute("SELECT position FROM event_chain_anchors ORDER BY seq")] == [4]
    assert verify_store(store).intact


def verify_store(settings: Settings) -> Verificatie:
    s = bootstrap(settings)
    try:
        return verify(s)
    finally:
        s.close()


# Stores chained before the links were keyed ------------------------------------------------


def counted(s: Systeem) -> list[dict]:
    s.bij()
    return caseload(s.projecties, date(2025, 12, 31))


def rebuilt(s: Systeem) -> list[dict]:
    """The caseload after rebuilding every projection from the events (a full replay)."""
    for projection in s.projecties.projections:
        s.projecties.reset(projection, s.app.name)
    return counted(s)


def as_written_before_keyed_links(s: Systeem) -> None:
    """Rewrite a store as the code before keyed links left it: unkeyed links, anchors signed over
    them, no record of where keyed links begin, and a key store that keeps no head."""
    key = s.app.kluis.anker_sleutel()
    settings = s.settings
    s.close()
    with event_sql(settings) as db:
        anchors = {seq: signed_at for seq, signed_at in db.execute("SELECT seq, signed_at FROM event_chain_anchors")}
        [(every,)] = db.execute("SELECT value FROM event_chain_meta WHERE name = 'anchor_every'")
        previous = bytes(32)
        events = db.execute(f"SELECT {db.position}, originator_id, originator_version, topic, state FROM {db.events} "
                            f"ORDER BY {db.position}")
        for seq, (position, *values) in enumerate(events, 1):
            previous = link(previous, position, *values)
            db.execute("UPDATE event_chain SET link = ? WHERE seq = ?", (previous, seq))
            if seq in anchors:
                signature = key.sign(anchor_message(seq, position, previous, int(every), anchors[seq]))
                db.execute("UPDATE event_chain_anchors SET link = ?, signature = ? WHERE seq = ?",
                           (previous, signature, seq))
        db.execute("DELETE FROM event_chain_meta WHERE name = 'keyed_from'")
    with key_sql(settings) as keys:
        keys.execute("DROP TABLE chain_head")


@pytest.fixture
def older(store: Settings) -> Settings:
    """A store of 14 events (anchors at 4, 8, 12) as the code before keyed links wrote it."""
    settings = replace(store, anchor_every=4)
    s = bootstrap(settings)
    results = s.app.ontvang_batch([line(kenmerk=f"O-{i}") for i in range(6)])
    handel(s.app, results[0].melding_id, "return", actor="zvh-parkstad", reden="Hoort in Maastricht")
    s.app.persoonsgegevens(results[1].melding_id, actor="intake-1", doel="triage", rol=INTAKE_ROL)
    as_written_before_keyed_links(s)
    return settings


def test_a_store_chained_before_keyed_links_opens_verifies_and_goes_on_with_keyed_links(older):
    s = bootstrap(older)
    try:
        before = verify(s)
        assert before.intact, before.reason
        assert (before.events, before.keyed_from, before.kept_head_position) == (14, 15, 14)
        s.app.ontvang_batch([line(kenmerk="N-1"), line(kenmerk="N-2")])
        after = verify(s)
        assert after.intact and (after.events, after.keyed_from, after.kept_head_position) == (18, 15, 18)
        with event_sql(s.settings) as db:  # the new links are keyed: the unkeyed formula does not make them
            [(previous,)] = db.execute("SELECT link FROM event_chain WHERE seq = 14")
            [(position, *values)] = db.execute(f"SELECT {db.position}, originator_id, originator_version, topic, "
                                               f"state FROM {db.events} WHERE {db.position} = 15")
            [(stored,)] = db.execute("SELECT link FROM event_chain WHERE seq = 15")
        assert bytes(stored) != link(bytes(previous), position, *values)
        # ... and its history replays: the projections rebuilt from the events are what they were.
        assert rebuilt(s) == counted(s) and sum(r["count"] for r in counted(s)) == 7  # O-0 went back to triage
    finally:
        s.close()


def test_in_a_store_chained_before_keyed_links_an_edit_of_its_unkeyed_links_is_found(older):
    """The unkeyed links before `keyed_from` can be made by anyone: anchors and the head kept in
    the key store when the links became keyed still hold them."""
    first = bootstrap(older)  # opened once: from here on the links are keyed
    first.app.ontvang(line(kenmerk="N-1"))  # positions 15 and 16, keyed
    first.close()
    with event_sql(older) as db:  # up to the last anchor's stretch: the anchor at 8 holds it
        relink(db, 6, b"parkstad", b"parkstat", link, upto=14)
    s = bootstrap(older)
    try:
        result = verify(s)
        assert (result.broken_at, result.reason[:56]) == (5, "the chain was rewritten between positions 5 and 8: it no")
        with event_sql(older) as db:  # after the last anchor: the base kept with the head holds it
            relink(db, 6, b"parkstat", b"parkstad", link, upto=14)
            assert verify(s).intact
            relink(db, 13, b"parkstad", b"parkstat", link, upto=14)  # who sent it back
        result = verify(s)
        assert (result.broken_at, result.reason) == (
            13, "the chain was rewritten between positions 13 and 14: it no longer ends where it did when its "
                "links became keyed")
    finally:
        s.close()


def test_in_a_store_chained_before_keyed_links_cutting_off_the_end_is_found(older):
    bootstrap(older).close()
    with event_sql(older) as db:
        for table, column in ((db.events, db.position), ("event_chain", "position"),
                              ("event_chain_anchors", "position")):
            db.execute(f"DELETE FROM {table} WHERE {column} > 11")
    s = bootstrap(older)
    try:
        result = verify(s)
        assert result.broken_at == 12 and "missing from the end" in result.reason
    finally:
        s.close()


FIXTURE = Path(__file__).parent / "fixtures" / "store-v1"


@pytest.mark.sqlite_only("a store file as the code before keyed links wrote it")
def test_a_store_file_written_before_keyed_links_opens_reads_replays_and_verifies(tmp_path):
    for name in ("loket.sqlite", "loket.sqlite.keys"):
        shutil.copy(FIXTURE / name, tmp_path / name)
    settings = Settings.from_env({"LOKET_DB": str(tmp_path / "loket.sqlite"), "LOKET_USER": "tester",
                                  "LOKET_MASTER_KEY": FIXTURE_MASTER_KEY})
    s = bootstrap(settings)
    try:
        before = verify(s)
        assert before.intact and (before.events, before.anchors, before.keyed_from) == (14, 3, 15), before.reason
        melding = s.app.melding_id_van("gemeente", "V1-1")  # stored with its old id
        assert s.app.persoonsgegevens(melding, actor="tester", doel="controle", rol=INTAKE_ROL)["toelichting"] == \
            "geschreven voor de sleutels"
        assert rebuilt(s) == counted(s) and counted(s)
        s.app.ontvang(line(kenmerk="V2-1"))
        after = verify(s)
        assert after.intact and after.events == before.events + 3  # received, routed, and the read's log line
    finally:
        s.close()
    with event_sql(settings) as db:
        db.execute("DELETE FROM stored_events WHERE rowid > 12")
        db.execute("DELETE FROM event_chain WHERE position > 12")
        db.execute("DELETE FROM event_chain_anchors WHERE position > 12")
    s = bootstrap(settings)
    try:
        assert verify(s).broken_at == 13
    finally:
        s.close()


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

    host, port = postgres_url.split(":")
    name = f"chain_{tmp_path.name[-20:].replace('-', '_').lower()}"
    with psycopg.connect(f"postgresql://loket@{postgres_url}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    env = Settings.from_env({
        "LOKET_DATABASE_URL": f"postgresql://loket@{host}:{port}/{name}", "LOKET_DB": str(tmp_path / "loket.sqlite"),
        "LOKET_KEYSTORE": str(tmp_path / "loket.keys"), "LOKET_CHAIN_ANCHOR_EVERY": str(EVERY),
    })
    app = maak_loket(env)
    results = app.ontvang_batch([line(kenmerk=f"P-{i}") for i in range(5)] + ["{kapot"])
    handel(app, results[0].melding_id, "return", actor="zvh-parkstad", reden="Hoort in Maastricht")
    app.persoonsgegevens(results[0].melding_id, actor="intake-1", doel="triage", rol=INTAKE_ROL)
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

    app, _, env = pg_chained
    before = app.recorder.verify(app.kluis.anker_sleutel().public_key()).events
    writers = [maak_loket(env) for _ in range(3)]

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
