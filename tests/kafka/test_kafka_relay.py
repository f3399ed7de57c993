"""`loket relay` against a real broker: every decision on the topic of the house where the work lands."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from uuid import UUID

import jsonschema
import pytest
from eventsourcing.utils import get_topic
from referencing import Registry, Resource

from consumers import clients
from consumers.messages import MESSAGES, event_id
from consumers.relay import OutboxRelay
from events.melding import Melding
from loket import synthetic
from loket.bootstrap import bootstrap
from tests.conftest import handel, line
from tests.kafka.conftest import produce, read_all, wait_until

SCHEMAS = Path(__file__).parents[2] / "docs" / "schemas"
DECISIONS = ("MeldingGerouteerd", "MeldingInTriage", "MeldingDoorverwezen")


def schemas() -> tuple[Registry, dict[str, dict]]:
    loaded = {p.name.removesuffix(".schema.json"): json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in loaded.values())
    return registry, loaded


def validate(message: dict) -> None:
    registry, loaded = schemas()
    validator = jsonschema.Draft202012Validator(
        loaded[message["event_type"]], registry=registry, format_checker=jsonschema.FormatChecker()
    )
    validator.validate(message)


@pytest.fixture
def systeem(kafka_settings):
    s = bootstrap(kafka_settings)
    yield s
    s.close()


@pytest.fixture
def relay(systeem, kafka_settings, topics):
    publisher = clients.Publisher(lambda: clients.producer(kafka_settings.kafka))
    yield OutboxRelay(systeem.app, systeem.app.factory.tracking_recorder(), publisher, topics)
    publisher.close()


def _year(systeem) -> list[str]:
    """A slice of a synthetic year plus the awkward cases: outside the region, unknown gemeente."""
    lines = list(synthetic.jaar(2025, seed=11, scale=0.03))
    lines += [line(kenmerk="BUITEN-1", gemeente="Venlo"), line(kenmerk="ONBEKEND-1", gemeente="Atlantis")]
    for i in range(0, len(lines), 100):
        systeem.app.ontvang_batch(lines[i : i + 100])
    return lines


def _decisions(systeem) -> dict[str, Melding]:
    """event id -> melding, for every routing decision in the store."""
    decision_topics = [get_topic(getattr(Melding, name)) for name in DECISIONS]
    notifications = systeem.app.recorder.select_notifications(start=1, limit=1_000_000, topics=decision_topics)
    return {
        str(event_id(n.originator_id, n.originator_version)): systeem.app.melding(n.originator_id)
        for n in notifications
    }


def drain(relay: OutboxRelay, page_size: int = 1_000) -> None:
    while not relay.caught_up():
        relay.step(page_size)


def test_every_decision_reaches_the_house_where_the_work_lands_without_personal_data(
    broker, systeem, relay, topics
):
    lines = _year(systeem)
    drain(relay, page_size=97)  # odd pages: a decision's MeldingOntvangen may lie in the page before
    records = read_all(broker.bootstrap, topics.werk)  # the notices to inform a party: test_kafka_informeren.py

    expected = _decisions(systeem)
    assert len(expected) > 150
    seen = Counter(json.loads(r.value)["event_id"] for r in records)
    assert seen == Counter(dict.fromkeys(expected, 1))  # each decision exactly once

    for record in records:
        message = json.loads(record.value)
        melding = expected[message["event_id"]]
        validate(message)
        assert record.key == str(melding.id).encode()
        assert dict(record.headers) == {
            "event_type": message["event_type"].encode(),
            "schema_version": b"1",
            "event_id": message["event_id"].encode(),
        }
        assert (message["bron"], message["kenmerk"]) == (melding.bron, melding.kenmerk)
        assert message["beslissing"]["outcome"] == melding.beslissing.outcome
        house = melding.beslissing.queue.split("/")[0]
        assert record.topic == (topics.triage if house == "loket" else topics.zvh(house))

    by_kenmerk = {json.loads(r.value)["kenmerk"]: r for r in records}
    assert by_kenmerk["BUITEN-1"].topic == topics.triage
    assert json.loads(by_kenmerk["ONBEKEND-1"].value)["event_type"] == "MeldingInTriage"
    messages = [json.loads(r.value) for r in records]
    # the one VIA team, whatever the residence
    via = [r for r, m in zip(records, messages, strict=True) if m["beslissing"]["product"] == "via"]
    assert via and {r.topic for r in via} == {topics.zvh("westelijke-mijnstreek")}

    personal = set()
    for raw in lines:
        m = json.loads(raw)
        p = m.get("persoon") or {}
        personal |= {v for v in (p.get("bsn"), p.get("naam"), p.get("geboortedatum"), m.get("toelichting")) if v}
    published = b"".join(r.value + r.key + b"".join(v for _, v in r.headers) for r in records).decode()
    assert personal and not [p for p in personal if p in published]


def test_a_replay_resends_identical_messages_that_houses_can_recognise(broker, systeem, relay, topics):
    systeem.app.ontvang_batch([line(kenmerk=f"R-{i}") for i in range(20)])
    drain(relay)
    position = relay.position()

    assert relay.replay(0) == 20
    assert relay.position() == position  # a replay moves no tracked position

    records = read_all(broker.bootstrap, topics.outbound)
    copies: dict[str, set[tuple]] = {}
    for r in records:
        copies.setdefault(json.loads(r.value)["event_id"], set()).add((r.topic, r.key, r.value, tuple(r.headers)))
    assert len(records) == 40
    assert len(copies) == 20 and all(len(c) == 1 for c in copies.values())  # two identical copies each


def test_every_published_event_type_has_a_documented_schema():
    registry, loaded = schemas()
    for schema in loaded.values():
        jsonschema.Draft202012Validator.check_schema(schema)
    assert {cls.__name__ for cls in MESSAGES} <= set(loaded)


def test_the_documented_inbound_schema_is_the_intake_contract(examples):
    from events.intake import MeldingIn

    documented = json.loads((SCHEMAS / "melding.schema.json").read_text())
    assert {k: v for k, v in documented.items() if k not in ("$schema", "$id")} == MeldingIn.model_json_schema(), (
        "docs/schemas/melding.schema.json is out of date with events/intake.py"
    )
    for example in examples:
        jsonschema.validate(example["melding"], documented)


def test_lifecycle_changes_reach_every_house_concerned_without_their_free_text(broker, systeem, relay, topics):
    app = systeem.app
    ids = {
        app.ontvang(line(kenmerk=kenmerk, gemeente=gemeente)).melding_id: kenmerk
        for kenmerk, gemeente in (("P", "Heerlen"), ("Q", "Kerkrade"), ("R", "Brunssum"))
    }
    p, q, r = ids
    handel(app, p, "accept", actor="medewerker-p", regisseur="Regisseur Parkstad")
    handel(app, p, "topx-aan", actor="medewerker-p", reden="onrust in de wijk, vrije tekst")
    handel(app, p, "topx-af", actor="medewerker-p", reden="weegtafel besloot, vrije tekst")
    handel(app, p, "close", actor="medewerker-p", resultaat="afgerond met plan, vrije tekst")
    handel(app, q, "return", actor="medewerker-q", reden="hoort niet bij ons, vrije tekst")
    handel(app, q, "decide", actor="loket-1", zvh="maastricht-heuvelland", product="pga",
           reden="woont daar, vrije tekst")
    handel(app, r, "reroute", actor="loket-1", zvh="westelijke-mijnstreek", product="pga",
           reden="verhuisd, vrije tekst")
    drain(relay)

    records = read_all(broker.bootstrap, topics.outbound)
    heard: dict[tuple[str, str], set[str]] = {}
    for record in records:
        message = json.loads(record.value)
        validate(message)
        assert "vrije tekst" not in record.value.decode()
        heard.setdefault((ids[UUID(message["melding_id"])], message["event_type"]), set()).add(record.topic)
    parkstad, triage = topics.zvh("parkstad"), topics.triage
    assert heard == {
        ("P", "MeldingGerouteerd"): {parkstad},
        ("P", "MeldingGeaccepteerd"): {parkstad},
        ("P", "TopXAan"): {parkstad},
        ("P", "InformerenGevraagd"): {topics.informeren("lokale-driehoek")},  # Top X: the driehoek is told
        ("P", "TopXAf"): {parkstad},
        ("P", "MeldingGesloten"): {parkstad},
        ("Q", "MeldingGerouteerd"): {parkstad},
        ("Q", "MeldingTeruggestuurd"): {parkstad, triage},
        ("Q", "TriageBesloten"): {triage, topics.zvh("maastricht-heuvelland")},
        ("R", "MeldingGerouteerd"): {parkstad},
        ("R", "MeldingHergerouteerd"): {parkstad, topics.zvh("westelijke-mijnstreek")},
    }
    [accepted] = [m for m in map(json.loads, (r.value for r in records)) if m["event_type"] == "MeldingGeaccepteerd"]
    assert (accepted["actor"], accepted["regisseur"], accepted["queue"]) == (
        "medewerker-p", "Regisseur Parkstad", "parkstad/pga"
    )


def test_consume_and_relay_run_the_same_on_a_postgresql_event_store(broker, kafka_env, topics, loket, postgres):
    env = {**kafka_env, "LOKET_DATABASE_URL": postgres.new_database()}
    consume, relay_process = loket("consume", env=env), loket("relay", env=env)
    lines = [line(kenmerk=f"PG-{i}", gemeente=g) for i, g in enumerate(["Heerlen", "Stein", "Vaals", "Venlo"] * 5)]
    produce(broker.bootstrap, topics.meldingen, [*lines, "kapot"])

    def published() -> dict[str, str]:
        return {json.loads(r.value)["kenmerk"]: r.topic for r in read_all(broker.bootstrap, topics.outbound)}

    houses = wait_until(lambda: len(published()) == 20 and published(), timeout=60)
    assert consume.stop() == 0 and relay_process.stop() == 0
    assert consume.summary() == {"received": 21, "new": 20, "duplicates": 0, "rejected": 1, "dead_lettered": 1}
    assert {houses[f"PG-{i}"] for i in range(4)} == {
        topics.zvh("parkstad"), topics.zvh("westelijke-mijnstreek"), topics.zvh("maastricht-heuvelland"), topics.triage
    }
