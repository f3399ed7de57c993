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
from tests.kafka.conftest import read_all, wait_until
from tests.kafka.test_kafka_relay import drain, validate
from tests.test_web_browser import ARGS, CHROMIUM
from tests.test_web_browser import ontvang as ontvang_web
from tests.test_web_browser_regie import log_in

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


@pytest.fixture
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.mark.slow
def test_top_x_switched_on_in_the_browser_puts_the_driehoek_on_the_worklist_and_the_topic(
    broker, server, loket, kafka_settings, topics, chromium
):
    """The whole way, as people and a gemeente's system see it: the page, `loket relay`, the topic."""
    intake = server.token("anna", "intake")
    mid = ontvang_web(server, intake, kenmerk="KAFKA-WEB", gemeente="Landgraaf")
    env = {**server.env, "LOKET_KAFKA": broker.bootstrap, "LOKET_KAFKA_TOPIC_PREFIX": kafka_settings.kafka_topic_prefix}
    relay_process = loket("relay", env=env)

    page = log_in(chromium, server, intake, 1366)
    page.goto(server.url + f"/web/meldingen/{mid}")
    page.locator("#topx-aan-reden").fill(REDEN)
    page.get_by_role("button", name="Top X toekennen").click()
    page.wait_for_url(f"**/web/meldingen/{mid}?gedaan=topx-aan*")
    page.get_by_role("link", name="Informeren", exact=True).click()
    driehoek = page.locator("tr", has_text="gemeente:KAFKA-WEB")
    assert "Lokale driehoek van Landgraaf" in driehoek.inner_text()

    topic = topics.informeren("lokale-driehoek")
    [record] = wait_until(lambda: read_all(broker.bootstrap, [topic]), timeout=60)
    assert relay_process.stop() == 0
    notice = json.loads(record.value)
    validate(notice)
    assert (notice["kenmerk"], notice["partij_gemeente"], notice["aanleiding"]) == ("KAFKA-WEB", "Landgraaf", "top-x")
    assert record.key == mid.encode()
    published = (record.key + record.value + b"".join(v for _, v in record.headers)).decode()
    for personal in ("123456782", "Jan Testpersoon", "1990-05-06", "vrije tekst", "Onrust", "anna"):
        assert personal not in published, personal
