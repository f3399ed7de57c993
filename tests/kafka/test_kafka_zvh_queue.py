"""`loket zvh-queue`: a house's own queue, read from its topic, against a real broker."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from consumers import clients
from consumers.relay import OutboxRelay
from loket.bootstrap import bootstrap
from loket.cli import main
from tests.conftest import handel, line


def _publish(kafka_settings, topics, lines: list[str]) -> dict[str, dict]:
    """Store the meldingen, relay them twice over (a crash's re-send); kenmerk -> decision."""
    systeem = bootstrap(kafka_settings)
    publisher = clients.Publisher(lambda: clients.producer(kafka_settings.kafka))
    try:
        ontvangsten = systeem.app.ontvang_batch(lines)
        relay = OutboxRelay(systeem.app, systeem.app.factory.tracking_recorder(), publisher, topics)
        while not relay.caught_up():
            relay.step()
        relay.replay(0)
        return {systeem.app.melding(o.melding_id).kenmerk: o.beslissing.as_contract() for o in ontvangsten}
    finally:
        publisher.close()
        systeem.close()


def test_a_house_lists_its_own_work_once_even_when_messages_come_twice(kafka_settings, topics, loket, tmp_path):
    decisions = _publish(kafka_settings, topics, [
        line(kenmerk="P-1", gemeente="Heerlen"),
        line(kenmerk="P-2", gemeente="Kerkrade", soort="detentie-uit", bron="dji"),
        line(kenmerk="VIA-1", gemeente="Kerkrade", soort="via", bron="politie"),  # the VIA team is at WM
        line(kenmerk="M-1", gemeente="Maastricht"),
        line(kenmerk="X-1", gemeente="Atlantis"),  # triage
    ])
    parkstad = sorted(k for k, d in decisions.items() if d["queue"].startswith("parkstad/"))
    assert parkstad == ["P-1", "P-2"]

    queue = loket("zvh-queue", "--zvh", "parkstad", "--sync", "--json", "--queue-db", str(tmp_path / "p.sqlite"))
    assert queue.process.wait(60) == 0, queue.stderr_path.read_text()
    rows = json.loads(queue.stdout)
    assert sorted(r["kenmerk"] for r in rows) == parkstad
    for row in rows:
        d = decisions[row["kenmerk"]]
        assert (row["status"], row["product"], row["zvh"]) == ("open", d["product"], "parkstad")
        assert row["queue"] == d["queue"]
        assert set(row) >= {"melding_id", "bron", "ontvangen_op", "labels", "deadline"}
        assert "persoon" not in row and "toelichting" not in row
    [read] = [e for e in queue.log if e["event"] == "zvh-queue.read"]
    assert (read["applied"], read["duplicates"]) == (2, 2)

    listed = loket("zvh-queue", "--zvh", "parkstad", "--json", "--queue-db", str(tmp_path / "p.sqlite"))
    assert listed.process.wait(30) == 0
    assert json.loads(listed.stdout) == rows  # listing needs no broker: the house's own file


def test_an_unknown_house_is_a_clear_error(loket):
    queue = loket("zvh-queue", "--zvh", "venlo")
    assert queue.process.wait(30) == 2
    err = queue.stderr_path.read_text()
    assert "unknown zvh 'venlo'" in err and "Traceback" not in err


@pytest.fixture
def cli(kafka_env, monkeypatch):
    """`loket` in this process (no interpreter start-up): (exit code, stdout, stderr).

    Own streams rather than capsys: the log setup keeps the stream it was given, and
    capsys closes its streams after the test.
    """
    for name, value in kafka_env.items():
        if name.startswith("LOKET_"):
            monkeypatch.setenv(name, value)

    def run(*args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
        return code, out.getvalue(), err.getvalue()

    return run


def test_a_worker_accepts_and_returns_meldingen_from_the_house_queue(kafka_settings, topics, cli, tmp_path):
    _publish(kafka_settings, topics, [
        line(kenmerk="A-1", gemeente="Heerlen"),
        line(kenmerk="A-2", gemeente="Kerkrade"),
        line(kenmerk="M-1", gemeente="Maastricht"),
    ])
    queue_db = str(tmp_path / "parkstad.sqlite")

    def zvh_queue(*args: str) -> tuple[int, str, str]:
        return cli("zvh-queue", "--zvh", "parkstad", "--queue-db", queue_db, *args)

    assert zvh_queue("--sync")[0] == 0
    code, out, err = zvh_queue("--accept", "gemeente:A-1", "--regisseur", "R. Regisseur", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "in-behandeling"
    code, out, err = zvh_queue("--return", "gemeente:A-2", "--reason", "hoort bij een ander huis")
    assert code == 0, err

    code, _, err = zvh_queue("--accept", "gemeente:M-1", "--regisseur", "R. Regisseur")
    assert code == 2 and "not open in the queue of parkstad" in err
    code, _, err = zvh_queue("--return", "gemeente:A-2", "--reason", "nog eens")
    assert code == 2 and "not allowed" in err  # the view has not heard yet; the store refuses

    _publish(kafka_settings, topics, [])  # the relay publishes the two lifecycle events
    rows = json.loads(zvh_queue("--sync", "--json")[1])
    assert [(r["kenmerk"], r["status"], r["regisseur"], r["actor"]) for r in rows] == [
        ("A-1", "in-behandeling", "R. Regisseur", "medewerker-1")
    ]
    everything = {r["kenmerk"]: r for r in json.loads(zvh_queue("--all", "--json")[1])}
    assert (everything["A-2"]["status"], everything["A-2"]["queue"]) == ("teruggestuurd", "loket/triage")

    # Another regisseur, named in the store, reaches the house's view through its topic.
    systeem = bootstrap(kafka_settings)
    try:
        handel(systeem.app, systeem.app.melding_id_van("gemeente", "A-1"), "assign", actor="medewerker-2",
               regisseur="S. Opvolger")
    finally:
        systeem.close()
    _publish(kafka_settings, topics, [])
    [row] = json.loads(zvh_queue("--sync", "--json")[1])
    assert (row["kenmerk"], row["status"], row["regisseur"], row["actor"]) == (
        "A-1", "in-behandeling", "S. Opvolger", "medewerker-2")
