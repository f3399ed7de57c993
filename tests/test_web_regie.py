"""The regie pages and their API routes: assigning a regisseur, "mijn zaken", Top X on the melding
page, the worklist of parties to inform, closing behind a confirmation; house isolation and the
compartment hold on every one of them."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.conftest import melding
from tests.web_fixtures import formuliertoken


def ontvang(loketten, token: str, **overrides) -> str:
    answer = loketten.client.post("/meldingen", json=melding(**overrides), headers=loketten.als(token))
    assert answer.status_code == 201, answer.text
    return answer.json()["melding_id"]


def test_the_api_assigns_a_regisseur_and_lists_my_cases(loketten):
    intake = loketten.token("anna", "intake")
    piet, kees = loketten.token("piet", "zvh", "parkstad"), loketten.token("kees", "zvh", "parkstad")
    mieke = loketten.token("mieke", "zvh", "maastricht-heuvelland")
    mid = ontvang(loketten, intake, kenmerk="API-R1")
    c = loketten.client
    assert c.post(f"/meldingen/{mid}/accept", json={"regisseur": "piet"}, headers=loketten.als(piet)).status_code == 200
    assert c.get("/mijn-zaken", headers=loketten.als(piet)).json()["totaal"] == 1
    assert c.post(f"/meldingen/{mid}/assign", json={"regisseur": "kees"},
                  headers=loketten.als(mieke)).status_code == 404  # another house's melding does not exist
    assert c.post(f"/meldingen/{mid}/assign", json={"regisseur": "kees"},
                  headers=loketten.als(intake)).status_code == 403
    answer = c.post(f"/meldingen/{mid}/assign", json={"regisseur": "kees"}, headers=loketten.als(piet))
    assert answer.status_code == 200 and answer.json()["regisseur"] == "kees"
    assert c.get("/mijn-zaken", headers=loketten.als(piet)).json()["totaal"] == 0
    [zaak] = c.get("/mijn-zaken", headers=loketten.als(kees)).json()["rijen"]
    assert zaak["kenmerk"] == "API-R1"


def test_the_api_lists_parties_to_inform_and_records_it_done(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="API-B1", bron="dji", soort="art18", gemeente="Brunssum",
                  signalen={"delict": "zeden"})
    c = loketten.client
    lijst = c.get("/informeren", headers=loketten.als(intake)).json()
    [taak] = lijst["rijen"]
    assert (lijst["totaal"], taak["partij"], taak["gemeente"]) == (1, "burgemeester", "Brunssum")
    fout = c.post(f"/meldingen/{mid}/inform", json={"taak": taak["taak"], "kanaal": "rooksignaal"},
                  headers=loketten.als(intake))
    assert fout.status_code == 422 and "rooksignaal" not in fout.text
    ok = c.post(f"/meldingen/{mid}/inform", json={"taak": taak["taak"], "kanaal": "telefoon"},
                headers=loketten.als(intake))
    assert ok.status_code == 200
    assert c.get("/informeren", headers=loketten.als(intake)).json()["totaal"] == 0
    assert c.get("/informeren?all=true", headers=loketten.als(intake)).json()["rijen"][0]["kanaal"] == "telefoon"
    again = c.post(f"/meldingen/{mid}/inform", json={"taak": taak["taak"], "kanaal": "telefoon"},
                   headers=loketten.als(intake))
    assert again.status_code == 409


def test_top_x_on_the_melding_page_puts_the_driehoek_on_the_worklist_and_marking_it_done(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="WEB-TX")
    c = loketten.client
    loketten.inloggen(intake)
    page = c.get(f"/web/meldingen/{mid}").text
    assert "Top X toekennen" in page and "Regisseur toewijzen" not in page  # intake: no regie of a house
    empty = c.post(f"/web/meldingen/{mid}/regie/topx-aan", data={"csrf": formuliertoken(page), "reden": "  "})
    assert empty.status_code == 422
    assert "Vul een reden in." in empty.text and 'id="topx-aan-reden-fout"' in empty.text
    done = c.post(f"/web/meldingen/{mid}/regie/topx-aan", data={"csrf": formuliertoken(page), "reden": "Onrust"},
                  follow_redirects=False)
    assert done.status_code == 303
    page = c.get(done.headers["location"]).text
    assert "heeft het label Top X" in page and "Lokale driehoek van Heerlen" in page
    assert "Top X afschalen" in page

    lijst = c.get("/web/informeren").text
    assert "Lokale driehoek van Heerlen" in lijst and "gemeente:WEB-TX" in lijst
    taak = c.get("/informeren", headers=loketten.als(intake)).json()["rijen"][0]["taak"]
    geen_kanaal = c.post(f"/web/meldingen/{mid}/regie/inform",
                         data={"csrf": formuliertoken(lijst), "taak": taak, "kanaal": "", "terug": "informeren"})
    assert geen_kanaal.status_code == 422 and "Kies hoe de partij is geïnformeerd." in geen_kanaal.text
    ok = c.post(f"/web/meldingen/{mid}/regie/inform",
                data={"csrf": formuliertoken(lijst), "taak": taak, "kanaal": "overleg", "terug": "informeren"})
    assert ok.status_code == 200
    assert "Melding gemeente:WEB-TX: vastgelegd wie is geïnformeerd, wanneer en hoe." in ok.text
    assert "Niemand wacht op informatie" in ok.text


def test_closing_is_asked_first_and_is_not_the_primary_action(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="WEB-CL")
    c = loketten.client
    loketten.inloggen(intake)
    page = c.get(f"/web/meldingen/{mid}").text
    assert 'name="resultaat"' not in page  # no closing form on the melding page itself
    assert f'class="knop tweede" href="/web/meldingen/{mid}/bevestigen/close"' in page
    vraag = c.get(f"/web/meldingen/{mid}/bevestigen/close").text
    assert "Dit kan niet ongedaan worden gemaakt." in vraag and 'class="gevaar"' in vraag
    c.post(f"/web/meldingen/{mid}/close", data={"csrf": formuliertoken(vraag), "resultaat": "Afgerond"})
    assert c.get(f"/meldingen/{mid}", headers=loketten.als(intake)).json()["status"] == "gesloten"
    assert c.get(f"/web/meldingen/{mid}/bevestigen/close").status_code == 409
    assert c.get(f"/web/meldingen/{mid}/bevestigen/accept").status_code == 404


def test_a_house_sees_only_its_own_tasks_and_the_compartment_stays_closed(loketten):
    intake = loketten.token("anna", "intake")
    rita = loketten.token("rita", "intake", compartimenten=("radicalisering",))
    piet = loketten.token("piet", "zvh", "parkstad")
    ontvang(loketten, intake, kenmerk="HUIS-P", bron="dji", soort="art18", gemeente="Brunssum",
            signalen={"delict": "zeden"})
    ontvang(loketten, intake, kenmerk="HUIS-M", bron="dji", soort="art18", gemeente="Maastricht",
            signalen={"delict": "zeden"})
    rad = ontvang(loketten, rita, kenmerk="RAD-TX", bron="politie", soort="radicalisering")
    c = loketten.client
    assert c.post(f"/meldingen/{rad}/reroute", json={"zvh": "parkstad", "product": "pga", "reden": "Weegploeg"},
                  headers=loketten.als(rita)).status_code == 200
    assert c.post(f"/meldingen/{rad}/topx", json={"aan": True, "reden": "Openbare orde"},
                  headers=loketten.als(rita)).status_code == 200
    loketten.inloggen(piet)
    lijst = c.get("/web/informeren").text
    assert "HUIS-P" in lijst and "HUIS-M" not in lijst and "RAD-TX" not in lijst
    loketten.inloggen(intake)
    lijst = c.get("/web/informeren").text
    assert "HUIS-P" in lijst and "HUIS-M" in lijst and "RAD-TX" not in lijst
    assert c.get("/web/mijn-zaken").status_code == 200
    assert {r["kenmerk"] for r in c.get("/informeren", headers=loketten.als(rita)).json()["rijen"]} >= {"RAD-TX"}


def test_the_worklist_filters_live_in_the_address(loketten):
    intake = loketten.token("anna", "intake")
    for kenmerk, gemeente in (("FL-B", "Brunssum"), ("FL-K", "Kerkrade")):
        ontvang(loketten, intake, kenmerk=kenmerk, bron="dji", soort="art18", gemeente=gemeente,
                signalen={"delict": "zeden"})
    wvggz = ontvang(loketten, intake, kenmerk="FL-W", soort="wvggz", gemeente="Kerkrade")
    c = loketten.client
    loketten.inloggen(intake)
    assert c.get(f"/meldingen/{wvggz}", headers=loketten.als(intake)).json()["beslissing"]["notify"] == ["gemeente"]
    page = c.get("/web/informeren?partij=burgemeester&gemeente=Kerkrade").text
    assert "FL-K" in page and "FL-B" not in page and "FL-W" not in page
    assert '<option value="burgemeester" selected>' in page and "<option selected>Kerkrade</option>" in page
    assert 'href="/web/informeren?alle=1&amp;partij=burgemeester&amp;gemeente=Kerkrade"' in page
    gemeente = c.get("/web/informeren?partij=gemeente").text
    assert "Gemeente Kerkrade" in gemeente and "FL-W" in gemeente and "FL-K" not in gemeente
    # A value that is not among the choices (a tampered address) filters nothing and is not shown.
    page = c.get("/web/informeren?partij=%3Cscript%3E&gemeente=Atlantis").text
    assert all(k in page for k in ("FL-B", "FL-K", "FL-W")) and "Atlantis" not in page and "<script>" not in page
    assert "Geen taken met deze filters." in c.get("/web/informeren?verlopen=1").text


def test_top_x_is_offered_on_a_pga_case_only_and_the_worklist_can_be_read_as_it_stood(loketten):
    intake = loketten.token("anna", "intake")
    auditor = loketten.token("olga", "auditor")
    bij = ontvang(loketten, intake, kenmerk="NT-B", bron="dji", soort="art18", gemeente="Brunssum",
                  signalen={"delict": "zeden"})
    pga = ontvang(loketten, intake, kenmerk="NT-P")
    c = loketten.client
    loketten.inloggen(intake)
    assert "Top X toekennen" not in c.get(f"/web/meldingen/{bij}").text
    refused = c.post(f"/meldingen/{bij}/topx", json={"aan": True, "reden": "Onrust"}, headers=loketten.als(intake))
    assert refused.status_code == 409
    before = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    c.post(f"/meldingen/{pga}/topx", json={"aan": True, "reden": "Onrust"}, headers=loketten.als(intake))
    then = c.get("/informeren", params={"as_of": before}, headers=loketten.als(auditor)).json()
    now = c.get("/informeren", headers=loketten.als(auditor)).json()
    assert [r["kenmerk"] for r in then["rijen"]] == ["NT-B"]
    assert sorted(r["kenmerk"] for r in now["rijen"]) == ["NT-B", "NT-P"]
    # The auditor reads the worklist and records nothing on it.
    loketten.inloggen(auditor)
    page = c.get("/web/informeren").text
    assert "NT-P" in page and "Geïnformeerd</button>" not in page


def test_the_worklist_banner_names_no_melding_the_user_may_not_see(loketten):
    intake = loketten.token("anna", "intake")
    piet = loketten.token("piet", "zvh", "parkstad")
    maastricht = ontvang(loketten, intake, kenmerk="GEHEIM-M", bron="dji", soort="art18", gemeente="Maastricht",
                         signalen={"delict": "zeden"})
    loketten.inloggen(piet)
    page = loketten.client.get(f"/web/informeren?gedaan=geinformeerd&melding={maastricht}").text
    assert "GEHEIM-M" not in page and "De melding: vastgelegd wie is geïnformeerd" in page
    page = loketten.client.get("/web/informeren?gedaan=%3Cb%3Eklik%3C/b%3E&melding=x").text
    assert "klik" not in page


def test_a_page_past_the_last_says_so_and_links_to_the_first(loketten):
    intake = loketten.token("anna", "intake")
    ontvang(loketten, intake, kenmerk="PG-1", bron="dji", soort="art18", gemeente="Brunssum",
            signalen={"delict": "zeden"})
    loketten.inloggen(intake)
    page = loketten.client.get("/web/informeren?pagina=9&partij=burgemeester").text
    assert "Pagina 9 bestaat niet" in page and 'href="/web/informeren?partij=burgemeester"' in page
    assert "PG-1" in loketten.client.get("/web/informeren?pagina=nul").text  # not a number: the first page
