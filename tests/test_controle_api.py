"""The auditors' routes of the JSON API and their pages, through HTTP: statistics (JSON, CSV, XLSX),
the access log (paged, filtered, CSV), the time line, the subject access export, the rules in
force on a day; and what a house may not have of them."""

from __future__ import annotations

import csv
import io
import json
import re
import threading

import pytest
from openpyxl import load_workbook

from loket.service import Rem
from routing.tijd import vandaag
from tests.conftest import melding
from tests.web_fixtures import formuliertoken


@pytest.fixture
def gevuld(loketten):
    """Two meldingen of Westelijke Mijnstreek, one in the compartment, one read by the house."""
    intake = loketten.token("anna", "intake")
    weegploeg = loketten.token("wim", "intake", compartimenten=("radicalisering",))
    house = loketten.token("wendy", "zvh", "westelijke-mijnstreek")
    ids = {}
    for kenmerk, dag in (("PGA-1", "2024-05-01"), ("PGA-2", "2025-02-03")):
        answer = loketten.client.post("/meldingen", headers=loketten.als(intake), json=melding(
            kenmerk=kenmerk, gemeente="Sittard-Geleen", ontvangen_op=f"{dag}T10:00:00+01:00"))
        ids[kenmerk] = answer.json()["melding_id"]
    loketten.client.post("/meldingen", headers=loketten.als(weegploeg), json=melding(
        kenmerk="RAD-1", bron="politie", soort="radicalisering", gemeente="Stein",
        ontvangen_op="2025-06-01T10:00:00+02:00"))
    read = loketten.client.get(f"/meldingen/{ids['PGA-2']}?doel=behandeling", headers=loketten.als(house))
    assert read.status_code == 200
    return {"ids": ids, "intake": intake, "house": house, "auditor": loketten.token("olga", "auditor"),
            "auditor_rad": loketten.token("otto", "auditor", compartimenten=("radicalisering",))}


def test_statistics_as_json_csv_and_xlsx(loketten, gevuld):
    client, auditor = loketten.client, loketten.als(gevuld["auditor"])
    body = client.get("/statistiek?jaar=2025", headers=auditor).json()
    pga = [r for r in body["jaartabellen"] if r["tabel"] == "pga"]
    assert [(r["gemeente"], r["vorig_jaar"], r["dit_jaar"]) for r in pga] == [("Sittard-Geleen", 1, 1)]

    answer = client.get("/statistiek.csv?jaar=2025&blad=jaarverslag", headers=auditor)
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="loket-jaarverslag-2025.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows[0] == ["Huis", "Tabel", "Gemeente", "2024", "2025"]
    assert ["Zorg- en Veiligheidshuis Westelijke Mijnstreek", "PGA", "Sittard-Geleen", "1", "1"] in rows

    answer = client.get("/statistiek.xlsx?jaar=2025", headers=auditor)
    boek = load_workbook(io.BytesIO(answer.content))
    assert boek.sheetnames == ["Jaarverslag 2025", "Per product en gemeente", "Per maand", "Doorlooptijden"]
    assert ("Zorg- en Veiligheidshuis Westelijke Mijnstreek", "PGA", "Sittard-Geleen", 1, 1) in list(
        boek["Jaarverslag 2025"].iter_rows(values_only=True))


def test_compartment_figures_only_for_who_holds_the_compartment(loketten, gevuld):
    client = loketten.client
    for token in (gevuld["auditor"], gevuld["house"]):
        body = client.get("/statistiek?jaar=2025", headers=loketten.als(token)).json()
        assert "radicalisering" not in json.dumps(body)
        xlsx = load_workbook(io.BytesIO(client.get("/statistiek.xlsx?jaar=2025", headers=loketten.als(token)).content))
        assert "Radicalisering" not in str([list(s.iter_rows(values_only=True)) for s in xlsx])
    body = client.get("/statistiek?jaar=2025", headers=loketten.als(gevuld["auditor_rad"])).json()
    assert [r["dit_jaar"] for r in body["jaartabellen"] if r["tabel"] == "radicalisering"] == [1]


def test_the_access_log_paged_filtered_and_as_csv(loketten, gevuld):
    client, auditor = loketten.client, loketten.als(gevuld["auditor"])
    client.get(f"/meldingen/{gevuld['ids']['PGA-1']}?doel=triage", headers=loketten.als(gevuld["intake"]))
    body = client.get("/toegangslog?per_pagina=1", headers=auditor).json()
    assert (body["totaal"], body["paginas"], len(body["regels"])) == (2, 2, 1)
    body = client.get("/toegangslog?doel=behandeling", headers=auditor).json()
    assert [(r["actor"], r["rol"]) for r in body["regels"]] == [("wendy", "zvh:westelijke-mijnstreek")]
    body = client.get("/toegangslog?melding=gemeente:PGA-1", headers=auditor).json()
    assert [r["actor"] for r in body["regels"]] == ["anna"]
    answer = client.get("/toegangslog?van=2025-02-01&tot=2025-01-01", headers=auditor)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "van"
    for query, veld in (("van=0001-01-01", "van"), ("tot=9999-12-31", "tot")):  # the calendar's edges
        answer = client.get(f"/toegangslog?{query}", headers=auditor)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == veld

    pseudoniem = body["regels"][0]["betrokkene"]
    assert client.get(f"/toegangslog?betrokkene={pseudoniem}", headers=auditor).json()["totaal"] == 2
    answer = client.get("/toegangslog?betrokkene=123456782", headers=auditor)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "betrokkene"
    rows = list(csv.reader(io.StringIO(client.get("/toegangslog.csv?actor=wendy", headers=auditor)
                                       .content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Vastgelegd", "Wie", "Rol", "Doel"]
    assert [r[1:4] for r in rows[1:]] == [["wendy", "zvh:westelijke-mijnstreek", "Behandeling"]]


def test_a_house_gets_no_access_log_on_the_api_nor_on_the_web(loketten, gevuld):
    house = loketten.als(gevuld["house"])
    assert loketten.client.get("/toegangslog", headers=house).status_code == 403
    assert loketten.client.get("/toegangslog.csv", headers=house).status_code == 403
    loketten.inloggen(gevuld["house"])
    assert loketten.client.get("/web/toegangslog").status_code == 403
    assert loketten.client.get("/web/toegangslog.csv").status_code == 403
    page = loketten.client.get("/web/statistiek?jaar=2025")
    assert page.status_code == 200 and "Toegangslog" not in page.text and "Radicalisering" not in page.text


def test_time_line_and_subject_access_export_through_the_api(loketten, gevuld):
    client, pga2 = loketten.client, gevuld["ids"]["PGA-2"]
    lijn = client.get(f"/meldingen/{pga2}/tijdlijn", headers=loketten.als(gevuld["auditor"])).json()
    assert [r["soort"] for r in lijn] == ["gebeurtenis", "gebeurtenis", "inzage"]
    export = client.post(f"/meldingen/{pga2}/inzageverzoek", headers=loketten.als(gevuld["auditor"])).json()
    assert export["persoonsgegevens"] is None and len(export["inzagen"]) == 1
    export = client.post(f"/meldingen/{pga2}/inzageverzoek", headers=loketten.als(gevuld["house"])).json()
    assert export["persoonsgegevens"]["persoon"]["bsn"] == "123456782"
    log = client.get(f"/toegangslog?melding={pga2}&doel=inzageverzoek", headers=loketten.als(gevuld["auditor"]))
    assert [r["actor"] for r in log.json()["regels"]] == ["wendy"]


def test_the_ruleset_in_force_on_a_day(loketten, gevuld):
    body = loketten.client.get("/regels?datum=2018-06-01", headers=loketten.als(gevuld["auditor"])).json()
    assert body["in_gebruik"] is None and body["regels"]  # nothing decided by the loket yet in 2018
    assert "rio.hic" not in {r["id"] for r in body["regels"]}
    assert loketten.client.get("/regels?datum=0001-01-01", headers=loketten.als(gevuld["auditor"])).status_code == 422
    today = loketten.client.get("/regels", headers=loketten.als(gevuld["auditor"])).json()
    assert today["in_gebruik"] == today["geladen"] and today["zelfde"]


def test_the_web_pages_answer_for_an_auditor(loketten, gevuld):
    loketten.inloggen(gevuld["auditor"])
    client = loketten.client
    page = client.get("/web/statistiek?jaar=2025")
    assert page.status_code == 200 and "Cijfers PGA: uitgesplitst per gemeente" in page.text
    assert client.get("/web/statistiek?jaar=twintig").status_code == 422
    page = client.get("/web/statistiek?jaar=2025&stand=01-01-2000")  # as recorded by then: nothing yet
    assert page.status_code == 200 and "zoals vastgelegd op 01-01-2000" in page.text
    assert "Cijfers PGA: uitgesplitst per gemeente" not in page.text and "stand=2000-01-01" in page.text
    for stand in ("gisteren", "01-01-0001"):
        page = client.get(f"/web/statistiek?jaar=2025&stand={stand}")
        assert page.status_code == 422 and 'id="stand-fout"' in page.text
    page = client.get("/web/toegangslog?van=31-12-2099")
    assert page.status_code == 200 and "Geen regels" in page.text
    page = client.get("/web/toegangslog?van=gisteren")
    assert page.status_code == 422 and "Geef een datum als dd-mm-jjjj" in page.text
    page = client.get(f"/web/meldingen/{gevuld['ids']['PGA-2']}")
    assert "Tijdlijn" in page.text and "Uitleg zoals toen" in page.text
    export = client.post(f"/web/meldingen/{gevuld['ids']['PGA-2']}/inzageverzoek",
                         data={"csrf": formuliertoken(page.text)})
    assert export.headers["content-disposition"].startswith("attachment")
    assert export.json()["persoonsgegevens"] is None
    page = client.get("/web/toegangslog?betrokkene=123456782")
    assert page.status_code == 422 and "Geef het pseudoniem van de betrokkene" in page.text
    page = client.get("/web/toegangslog?van=01-01-0001")
    assert page.status_code == 422 and 'id="van" name="van" value="01-01-0001"' in page.text
    page = client.get("/web/regels?datum=01-01-0001")
    assert page.status_code == 422 and "Geef een datum als dd-mm-jjjj" in page.text
    page = client.get("/web/regels?datum=01-06-2025")
    assert page.status_code == 200 and "rio.hic" in page.text
    page = client.get(f"/web/regels?datum={vandaag().strftime('%d-%m-%Y')}")
    assert '<a href="/web/regels/bestanden/aanmelding.yaml">' in page.text
    page = client.get("/web/regels/bestanden/aanmelding.yaml")
    assert page.status_code == 200 and "id: aanmelding.pga" in page.text
    assert client.get("/web/regels/bestanden/..%2F..%2Fpyproject.toml").status_code == 404


def test_a_burst_of_expensive_reads_is_answered_try_later_while_the_rest_of_the_server_answers(loketten, gevuld):
    dienst = loketten.client.app.state.dienst
    dienst.rem = Rem(plaatsen=1, wachtend=0, wachttijd=3)
    voor = _geweigerd(loketten)
    bezet, vrij = threading.Event(), threading.Event()

    def houd_vast() -> None:
        with dienst.rem.plaats():
            bezet.set()
            vrij.wait(30)

    holder = threading.Thread(target=houd_vast)
    holder.start()
    bezet.wait(10)
    auditor = loketten.als(gevuld["auditor"])
    try:
        for path in ("/caseload?as_of=2030-01-01", "/statistiek?jaar=2025", "/statistiek.xlsx?jaar=2025",
                     "/toegangslog.csv"):
            answer = loketten.client.get(path, headers=auditor)
            assert answer.status_code == 503, path
            assert answer.headers["retry-after"] == "3" and "try again" in answer.json()["detail"]
        assert loketten.client.get("/caseload", headers=auditor).status_code == 200
        assert loketten.client.get("/toegangslog", headers=auditor).status_code == 200  # a page of it is cheap
        loketten.inloggen(gevuld["auditor"])
        page = loketten.client.get("/web/statistiek?jaar=2025")
        assert page.status_code == 503 and "te druk" in page.text and page.headers["retry-after"] == "3"
        assert _geweigerd(loketten) == voor + 5
    finally:
        vrij.set()
        holder.join()
    assert loketten.client.get("/statistiek?jaar=2025", headers=auditor).status_code == 200


def _geweigerd(loketten) -> float:
    found = re.search(r"^loket_zware_lezingen_geweigerd_total (\S+)$", loketten.client.get("/metrics").text, re.M)
    return float(found.group(1)) if found else 0.0


def test_a_subject_access_request_for_a_person_through_the_api_and_the_web(loketten, gevuld):
    client, auditor = loketten.client, loketten.als(gevuld["auditor"])
    pseudoniem = client.get("/toegangslog", headers=auditor).json()["regels"][0]["betrokkene"]
    export = client.post("/inzageverzoek", headers=auditor, json={"betrokkene": pseudoniem}).json()
    assert {m["melding"]["kenmerk"] for m in export["meldingen"]} == {"PGA-1", "PGA-2"}  # not the compartment's
    assert client.post("/inzageverzoek", headers=auditor, json={"betrokkene": "x"}).status_code == 422
    loketten.inloggen(gevuld["auditor"])
    page = client.get(f"/web/toegangslog?betrokkene={pseudoniem}")
    assert "Exporteren voor inzageverzoek van deze betrokkene" in page.text
    answer = client.post("/web/inzageverzoek", data={"csrf": formuliertoken(page.text), "betrokkene": pseudoniem})
    assert answer.headers["content-disposition"].startswith("attachment")
    assert len(answer.json()["meldingen"]) == 2


def test_the_time_line_of_a_rejected_melding(loketten, gevuld):
    intake = loketten.als(gevuld["intake"])
    answer = loketten.client.post("/meldingen", headers=intake, json=melding(kenmerk="KAPOT", soort="onbekend"))
    assert answer.status_code == 422
    lijn = loketten.client.get(f"/meldingen/{answer.json()['melding_id']}/tijdlijn", headers=intake).json()
    assert [r["wat"] for r in lijn] == ["Melding afgewezen (contract niet gevolgd)"]
    assert lijn[0]["regels_op"] is None  # never routed: no rules to explain
    loketten.inloggen(gevuld["auditor"])
    page = loketten.client.get(f"/web/meldingen/{answer.json()['melding_id']}")
    assert page.status_code == 200 and "Melding afgewezen (contract niet gevolgd)" in page.text
    assert "Uitleg zoals toen" not in page.text
