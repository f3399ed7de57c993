"""Notices to inform a party, through `loket relay` to a real broker: `loket.informeren.<partij>`,
for a gemeente's system to take, without personal data in the value, the key or the headers."""

from __future__ import annotations

import json

import pytest

from consumers import clients
from consumers.relay import OutboxRelay
from events.handelingen import Gebruiker
from events.toegang import Rol
from loket.bootstrap import bootstrap
from loket.service import Dienst
from tests.conftest import melding
from tests.kafka.conftest import read_all
from tests.kafka.test_kafka_relay import drain, validate

ANNA = Gebruiker("Anna de Vries", Rol("intake"))
PERSOON = {"bsn": "123456782", "naam": "Jan Testpersoon", "geboortedatum": "1990-05-06"}
TOELICHTING = "vrije tekst over de persoon"
REDEN = "Onrust in de wijk rond de woning, vrije tekst"


@pytest.fixture
def dienst(kafka_settings):
    s = bootstrap(kafka_settings)
    yield Dienst(s)
    s.close()


@pytest.fixture
def relay(dienst, kafka_settings, topics):
    publisher = clients.Publisher(lambda: clients.producer(kafka_settings.kafka))
    app = dienst.systeem.app
    yield OutboxRelay(app, app.factory.tracking_recorder(), publisher, topics)
    publisher.close()


def ontvang(d: Dienst, **overrides):
    o = d.ontvang(ANNA, json.dumps(melding(persoon=PERSOON, toelichting=TOELICHTING, **overrides)).encode())
    return o.melding_id


def test_top_x_switched_on_gives_the_driehoek_a_notice_without_personal_data(broker, dienst, relay, topics):
    pga = ontvang(dienst, kenmerk="KAFKA-TX", gemeente="Kerkrade")
    dienst.handel(ANNA, "topx-aan", pga, reden=REDEN)
    drain(relay)

    driehoek = topics.informeren("lokale-driehoek")
    [record] = read_all(broker.bootstrap, [driehoek])
    notice = json.loads(record.value)
    validate(notice)
    assert record.key == str(pga).encode()
    assert (notice["event_type"], notice["partij"], notice["partij_gemeente"], notice["aanleiding"]) == (
        "InformerenGevraagd", "lokale-driehoek", "Kerkrade", "top-x")
    assert (notice["bron"], notice["kenmerk"], notice["queue"]) == ("gemeente", "KAFKA-TX", "parkstad/pga")
    with dienst.overzicht(ANNA) as o:
        [taak] = o.informeren().rijen
    assert (notice["taak"], notice["uiterlijk"]) == (taak["taak"], taak["uiterlijk"])

    # Marked done on the worklist: the same topic hears that and how, and no one else hears of it.
    dienst.handel(ANNA, "inform", pga, taak=taak["taak"], kanaal="overleg")
    drain(relay)
    records = read_all(broker.bootstrap, [driehoek])
    done = json.loads(records[-1].value)
    validate(done)
    assert (done["event_type"], done["taak"], done["kanaal"]) == ("PartijGeinformeerd", taak["taak"], "overleg")
    assert not read_all(broker.bootstrap, [topics.informeren("burgemeester"), topics.informeren("gemeente")])

    published = b"".join(r.key + r.value + b"".join(v for _, v in r.headers) for r in records).decode()
    for personal in (*PERSOON.values(), TOELICHTING, REDEN, "Onrust", ANNA.naam, "Anna"):
        assert personal not in published, personal


def test_an_art18_melding_gives_the_burgemeester_of_its_gemeente_a_notice(broker, dienst, relay, topics):
    # Schinnen in 2020 is Beekdaelen (Parkstad): the notice names the gemeente whose burgemeester it is.
    bij = ontvang(dienst, kenmerk="KAFKA-A18", bron="dji", soort="art18", gemeente="Schinnen",
                  ontvangen_op="2020-06-01T09:00:00+02:00", signalen={"delict": "zeden"})
    drain(relay)
    [record] = read_all(broker.bootstrap, [topics.informeren("burgemeester")])
    notice = json.loads(record.value)
    validate(notice)
    assert record.key == str(bij).encode()
    assert (notice["partij"], notice["partij_gemeente"], notice["gemeente"], notice["aanleiding"]) == (
        "burgemeester", "Beekdaelen", "Schinnen", "besluit")
