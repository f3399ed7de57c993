"""Entering a melding by hand, correcting a rejected one, and the house to propose in triage: the
service's use cases, the contract's errors in Dutch, and the pages' guards (form token, the seal
of the checked payload, the intake role, no personal data in answer to a GET)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest

from events.foutteksten import nederlands, per_veld
from events.handelingen import Gebruiker
from events.intake import Ongeldig, parse
from events.melding import AfgewezenMelding, OngeldigeOvergang
from events.status import AFGEWEZEN, HERSTELD
from events.toegang import Rol
from loket.service import Dienst, NietGevonden, Verboden
from loket.web.invoer import Invoer, nl_datum, nl_moment
from tests.conftest import melding
from tests.web_fixtures import formuliertoken

ANNA = Gebruiker("anna", Rol("intake"))
PIET = Gebruiker("piet", Rol("zvh", zvh="parkstad"))


@pytest.fixture
def dienst(systeem) -> Iterator[Dienst]:
    yield Dienst(systeem)


def raw(**overrides) -> bytes:
    return json.dumps(melding(**overrides)).encode()


# The check before storing ----------------------------------------------------------------


def test_a_melding_checked_before_storing_is_explained_and_nothing_is_stored(dienst):
    voorbeeld = dienst.voorbeeld(ANNA, raw(kenmerk="V-1", gemeente="Heerlen"))
    assert voorbeeld.fouten == () and voorbeeld.bestaand is None
    assert voorbeeld.trace is not None
    b = voorbeeld.trace.beslissing
    assert (b.outcome, b.zvh, b.product) == ("routed", "parkstad", "pga")
    assert voorbeeld.trace.gemeente.gemeente == "Heerlen"
    with pytest.raises(NietGevonden):
        dienst.melding(ANNA, dienst.melding_id_van("gemeente:V-1"))


def test_the_check_names_every_bad_field_and_stores_no_rejection(dienst):
    voorbeeld = dienst.voorbeeld(ANNA, raw(kenmerk="V-2", persoon={"bsn": "123456789"}, ontvangen_op="31-02-2025"))
    assert {e.field for e in voorbeeld.fouten} == {"persoon.bsn", "ontvangen_op"}
    assert voorbeeld.trace is None
    with dienst.overzicht(ANNA) as o:
        assert o.afgewezen() == []


def test_the_check_says_when_the_kenmerk_is_stored_already(dienst):
    stored = dienst.ontvang(ANNA, raw(kenmerk="V-3"))
    assert dienst.voorbeeld(ANNA, raw(kenmerk="V-3", gemeente="Maastricht")).bestaand == stored.melding_id


def test_only_a_role_that_may_receive_meldingen_may_check_one(dienst):
    with pytest.raises(Verboden):
        dienst.voorbeeld(PIET, raw())


# Correcting a rejected melding -----------------------------------------------------------


def _afgewezen(dienst: Dienst, **overrides) -> AfgewezenMelding:
    o = dienst.ontvang(ANNA, raw(**overrides))
    assert o.status == "afgewezen"
    found = dienst.melding(ANNA, o.melding_id)
    assert isinstance(found, AfgewezenMelding)
    return found


def test_a_corrected_melding_is_stored_under_its_kenmerk_and_the_rejection_stays_marked(dienst):
    kapot = _afgewezen(dienst, kenmerk="AF-1", ontvangen_op="30-06-2025")
    o = dienst.herstel(ANNA, kapot.id, raw(kenmerk="AF-1", ontvangen_op="2025-06-30T09:00:00+02:00"))
    assert o.status == "nieuw" and o.melding_id == dienst.melding_id_van("gemeente:AF-1")
    oud = dienst.melding(ANNA, kapot.id)
    assert isinstance(oud, AfgewezenMelding)
    assert (oud.status, oud.hersteld_als) == (HERSTELD, str(o.melding_id))
    with dienst.overzicht(ANNA) as overzicht:
        assert overzicht.afgewezen() == []  # nothing left to correct
        trail = overzicht.audit(kapot.id)
    assert [r["gebeurtenis"] for r in trail] == ["MeldingAfgewezen", "AfwijzingHersteld"]
    assert trail[-1]["actor"] == "anna" and trail[-1]["details"]["kenmerk"] == "AF-1"
    with pytest.raises(OngeldigeOvergang):
        dienst.herstel(ANNA, kapot.id, raw(kenmerk="AF-1b"))


def test_a_correction_that_is_still_wrong_leaves_the_rejection_to_do(dienst):
    kapot = _afgewezen(dienst, kenmerk="AF-2", soort="onbekend")
    o = dienst.herstel(ANNA, kapot.id, raw(kenmerk="AF-2", persoon={"bsn": "1"}))
    assert o.status == "afgewezen"
    assert dienst.melding(ANNA, kapot.id).status == AFGEWEZEN


def test_a_correction_under_a_kenmerk_stored_already_changes_nothing(dienst):
    dienst.ontvang(ANNA, raw(kenmerk="AF-3"))
    kapot = _afgewezen(dienst, kenmerk="AF-3", toelichting=5)
    assert dienst.herstel(ANNA, kapot.id, raw(kenmerk="AF-3")).status == "duplicaat"
    assert dienst.melding(ANNA, kapot.id).status == AFGEWEZEN


def test_only_a_rejected_melding_can_be_corrected(dienst):
    valid = dienst.ontvang(ANNA, raw(kenmerk="AF-4"))
    with pytest.raises(NietGevonden):
        dienst.herstel(ANNA, valid.melding_id, raw(kenmerk="AF-4"))
    kapot = _afgewezen(dienst, kenmerk="AF-5", bron="niemand")
    with pytest.raises(Verboden):
        dienst.herstel(PIET, kapot.id, raw(kenmerk="AF-5"))


def test_rejected_meldingen_come_fifty_a_page_newest_first(dienst):
    for i in range(120):
        dienst.ontvang(ANNA, raw(kenmerk=f"P-{i:03d}", soort="fout"))
    with dienst.overzicht(ANNA) as o:
        eerste_blad, laatste_blad = o.afgewezen_pagina(1), o.afgewezen_pagina(3)
        eerste, totaal, laatste = eerste_blad.rijen, eerste_blad.totaal, laatste_blad.rijen
    assert totaal == 120 and len(eerste) == 50 and len(laatste) == 20
    assert eerste[0]["kenmerk"] == "P-119" and laatste[-1]["kenmerk"] == "P-000"


# The house to propose ---------------------------------------------------------------------


@pytest.mark.parametrize(("gemeente", "ontvangen_op", "zvh", "soort"), [
    ("Heerlen", "2025-03-04T10:00:00+01:00", "parkstad", "zuid-limburg"),
    ("Schinnen", "2018-06-01T10:00:00+02:00", "westelijke-mijnstreek", "zuid-limburg"),
    ("Schinnen", "2020-06-01T10:00:00+02:00", "parkstad", "zuid-limburg"),
    ("Venlo", "2025-03-04T10:00:00+01:00", None, "buiten-regio"),
    (None, "2025-03-04T10:00:00+01:00", None, "onbekend"),
])
def test_the_proposed_house_is_the_one_serving_the_gemeente_on_its_date(dienst, gemeente, ontvangen_op, zvh, soort):
    o = dienst.ontvang(ANNA, raw(kenmerk=f"VS-{gemeente}-{ontvangen_op[:4]}", gemeente=gemeente,
                                 ontvangen_op=ontvangen_op))
    voorstel = dienst.voorstel(ANNA, o.melding_id)
    assert (voorstel.zvh, voorstel.soort) == (zvh, soort)


def test_the_proposal_is_not_the_house_it_came_back_from(dienst):
    o = dienst.ontvang(ANNA, raw(kenmerk="VS-TERUG", gemeente="Kerkrade"))
    dienst.handel(ANNA, "reroute", o.melding_id, zvh="maastricht-heuvelland", product="pga", reden="test")
    dienst.handel(Gebruiker("mia", Rol("zvh", zvh="maastricht-heuvelland")), "return", o.melding_id, reden="niet hier")
    assert dienst.voorstel(ANNA, o.melding_id).zvh == "parkstad"


# The contract's errors in Dutch -----------------------------------------------------------

ENGELS = re.compile(r"\b(must|should|Input|Field|required|item|known|valid|the|not a|is not)\b")


@pytest.mark.parametrize("overrides", [
    {"soort": "x", "bron": "y", "kenmerk": "", "ontvangen_op": "30-06-2025"},
    {"ontvangen_op": "2025-06-30T10:00:00"},
    {"gemeente": "x" * 101, "toelichting": 5},
    {"persoon": {"bsn": "12345", "geboortedatum": "06-05-1990", "naam": "x" * 301, "foo": 1}},
    {"persoon": {"bsn": "123456789", "geboortedatum": "2030-01-01"}},
    {"signalen": {"leefgebieden": ["wonen", "blabla", "nog"], "ketens": "zorg", "dwang_drang": "misschien",
                  "bollenmodel": "V", "delict": "xyz", "hic": None}},
    {"signalen": {"leefgebieden": ["a" * 61] * 21}},
    {"extra": 1, "persoon": "Jan"},
])
def test_every_error_of_the_contract_reads_in_dutch_and_repeats_nothing_sent(overrides):
    with pytest.raises(Ongeldig) as exc:
        parse(json.dumps(melding(**overrides)))
    for e in exc.value.errors:
        tekst = nederlands(e.field, e.message)
        assert not ENGELS.search(tekst), (e.field, e.message, tekst)
        assert "blabla" not in tekst and "Jan" not in tekst and "123456789" not in tekst


def test_errors_are_grouped_by_field_a_list_position_with_its_list():
    fouten = per_veld([{"field": "signalen.leefgebieden.3", "message": "Input should be a valid string"},
                       {"field": "persoon.bsn", "message": "fails the elfproef (BSN check digit)"}])
    assert set(fouten) == {"signalen.leefgebieden", "persoon.bsn"}
    assert fouten["persoon.bsn"] == ["Dit BSN bestaat niet: het klopt niet met de elfproef. Controleer de cijfers."]
    json_fout = nederlands("melding", "not valid JSON (line 1, column 2)")
    assert json_fout == "De melding is geen geldige JSON (regel 1, kolom 2)."


# Dates as people type them, and the form as the contract ---------------------------------


@pytest.mark.parametrize(("typed", "iso"), [
    ("30-06-2025 10:15", "2025-06-30T10:15:00+02:00"),
    ("1-2-2025 9.05", "2025-02-01T09:05:00+01:00"),
    ("30/06/2025", "2025-06-30T00:00:00+02:00"),
    ("2025-06-30T10:15", "2025-06-30T10:15:00+02:00"),
    ("2025-06-30T10:15:00Z", "2025-06-30T10:15:00+00:00"),
    ("31-02-2025 10:00", "31-02-2025 10:00"),  # not a day: left for the contract to refuse at its field
    ("gisteren", "gisteren"),
])
def test_a_moment_typed_the_dutch_way_is_sent_in_the_contracts_form(typed, iso):
    assert nl_moment(typed) == iso


def test_a_dutch_birth_date_is_read_and_anything_else_left_as_typed():
    assert nl_datum("06-05-1990") == "1990-05-06"
    assert nl_datum("6/5/1990") == "1990-05-06"
    assert nl_datum("30-02-1990") == "30-02-1990"


def test_a_payload_read_back_into_the_form_gives_the_same_melding():
    origineel = melding(signalen={"leefgebieden": ["Wonen", "schulden"], "ketens": ["zorg"], "hic": True,
                                  "delict": "Zwaar geweld", "bollenmodel": "III"})
    invoer = Invoer.uit_payload(origineel)
    assert invoer.ontvangen_op == "04-03-2025 10:00" and invoer.geboortedatum == "06-05-1990"
    assert invoer.leefgebieden == ["wonen", "financien"] and invoer.delict == "zwaar-geweld"
    assert parse(invoer.payload()) == parse(json.dumps(origineel))


# The pages' guards ------------------------------------------------------------------------


def _controle(loketten, **velden: str):
    form = loketten.client.get("/web/meldingen/nieuw").text
    data = {"csrf": formuliertoken(form), "soort": "aanmelding", "bron": "gemeente", "kenmerk": "WEB-1",
            "ontvangen_op": "30-06-2025 10:15", "gemeente": "Heerlen", "bsn": "123456782", "naam": "Jan Testpersoon",
            **velden}
    return data, loketten.client.post("/web/meldingen/nieuw", data=data)


def _verborgen(page: str, naam: str) -> str:
    found = re.search(rf'name="{naam}" value="([^"]*)"', page)
    assert found, naam
    return html.unescape(found.group(1))


def test_the_confirmation_stores_exactly_what_was_checked_and_nothing_else(loketten):
    loketten.inloggen(loketten.token("anna", "intake"))
    data, controle = _controle(loketten)
    assert controle.status_code == 200 and "Controleer de melding" in controle.text
    payload, zegel = _verborgen(controle.text, "payload"), _verborgen(controle.text, "zegel")
    anders = payload.replace("Heerlen", "Maastricht")
    tampered = loketten.client.post("/web/meldingen/nieuw", data={
        "csrf": data["csrf"], "actie": "opslaan", "payload": anders, "zegel": zegel}, follow_redirects=False)
    assert tampered.status_code == 403
    no_token = loketten.client.post("/web/meldingen/nieuw", data={
        "actie": "opslaan", "payload": payload, "zegel": zegel}, follow_redirects=False)
    assert no_token.status_code == 403
    dienst = loketten.client.app.state.dienst
    with pytest.raises(NietGevonden):
        dienst.melding(ANNA, dienst.melding_id_van("gemeente:WEB-1"))
    stored = loketten.client.post("/web/meldingen/nieuw", data={
        "csrf": data["csrf"], "actie": "opslaan", "payload": payload, "zegel": zegel}, follow_redirects=False)
    assert stored.status_code == 303
    assert dienst.melding(ANNA, dienst.melding_id_van("gemeente:WEB-1")).gemeente == "Heerlen"
    banner = loketten.client.get(stored.headers["location"]).text
    assert "Melding gemeente:WEB-1 is opgeslagen." in banner and "Jan" not in banner


def test_a_bad_field_comes_back_at_the_field_in_dutch_with_the_input_kept(loketten):
    loketten.inloggen(loketten.token("anna", "intake"))
    _, answer = _controle(loketten, bsn="123456789", ontvangen_op="30-06-2025 25:00")
    assert answer.status_code == 422
    assert re.search(r'id="veld-persoon-bsn" name="bsn" value="123456789"[^>]*aria-invalid="true"', answer.text)
    assert 'value="30-06-2025 25:00"' in answer.text
    assert 'id="veld-persoon-bsn-fout"' in answer.text and "elfproef" in answer.text
    assert "must" not in answer.text and "Input should" not in answer.text


def test_only_the_intake_team_enters_meldingen_and_others_are_told_in_dutch(loketten):
    loketten.inloggen(loketten.token("piet", "zvh", "parkstad"))
    answer = loketten.client.get("/web/meldingen/nieuw")
    assert answer.status_code == 403 and "Alleen het intaketeam kan meldingen invoeren" in answer.text
    assert "Melding invoeren" not in loketten.client.get("/web/wachtrij").text
    loketten.inloggen(loketten.token("bea", "beheer"))
    assert loketten.client.get("/web/meldingen/nieuw").status_code == 403


def test_a_rejected_melding_shows_its_errors_on_a_get_and_its_payload_only_for_a_purpose(loketten):
    token = loketten.token("anna", "intake")
    broken = melding(kenmerk="AFW-1", ontvangen_op="30-06-2025")
    rejected = loketten.client.post("/meldingen", json=broken, headers=loketten.als(token)).json()["melding_id"]
    loketten.inloggen(token)
    lijst = loketten.client.get("/web/afgewezen").text
    page = loketten.client.get(f"/web/afgewezen/{rejected}").text
    for text in (lijst, page):
        assert "Vul de datum en tijd van ontvangst in als dd-mm-jjjj uu:mm" in text
        assert "123456782" not in text and "Jan Testpersoon" not in text
    no_purpose = loketten.client.post(f"/web/afgewezen/{rejected}/herstellen",
                                      data={"csrf": formuliertoken(page), "doel": "nieuwsgierig"})
    assert no_purpose.status_code == 422 and "Kies een doel uit de lijst." in no_purpose.text
    assert "Jan Testpersoon" not in no_purpose.text
    opened = loketten.client.post(f"/web/afgewezen/{rejected}/herstellen",
                                  data={"csrf": formuliertoken(page), "doel": "triage"})
    assert opened.status_code == 200 and 'value="Jan Testpersoon"' in opened.text
    assert f'name="hersteld_van" value="{rejected}"' in opened.text
    dienst = loketten.client.app.state.dienst
    gelezen = dienst.toegangslog(Gebruiker("bea", Rol("beheer")), melding=rejected)
    assert [(r["actor"], r["doel"], r["toegang"]) for r in gelezen] == [("anna", "triage", "verleend")]


def test_a_rejected_meldings_own_page_names_its_errors_in_dutch_and_leads_to_correcting_it(loketten):
    token = loketten.token("anna", "intake")
    broken = melding(kenmerk="AFW-2", soort="onbekend")
    rejected = loketten.client.post("/meldingen", json=broken, headers=loketten.als(token)).json()["melding_id"]
    loketten.inloggen(token)
    page = loketten.client.get(f"/web/meldingen/{rejected}").text
    assert "<h1>Afgewezen melding gemeente:AFW-2" in page
    assert "Kies de soort melding uit de lijst." in page and "Input should" not in page
    assert f'href="/web/afgewezen/{rejected}"' in page


def test_the_rejected_list_is_for_the_intake_team_paged_and_refuses_in_dutch(loketten):
    token = loketten.token("anna", "intake")
    for i in range(55):
        loketten.client.post("/meldingen", json=melding(kenmerk=f"LP-{i:02d}", soort="fout"),
                             headers=loketten.als(token))
    loketten.inloggen(token)
    eerste = loketten.client.get("/web/afgewezen").text
    assert "55 nog te herstellen" in eerste and eerste.count('<li>\n    <h2 class="klein-kop">') == 50
    assert "Pagina 1 van 2" in eerste and 'href="/web/afgewezen?pagina=2"' in eerste
    for adres in ("/web/afgewezen?pagina=2", "/web/afgewezen?pagina=99", "/web/afgewezen?pagina=x"):
        assert loketten.client.get(adres).status_code == 200
    assert "gemeente:LP-00" in loketten.client.get("/web/afgewezen?pagina=99").text  # the last page, oldest
    loketten.inloggen(loketten.token("piet", "zvh", "parkstad"))
    geweigerd = loketten.client.get("/web/afgewezen")
    assert geweigerd.status_code == 403 and "Afgewezen meldingen zijn er voor het intaketeam." in geweigerd.text
    onbekend = loketten.client.get("/web/afgewezen/00000000-0000-0000-0000-000000000000")
    assert onbekend.status_code == 404 and "Deze afgewezen melding bestaat niet" in onbekend.text


def test_changing_a_checked_correction_keeps_it_a_correction(loketten):
    token = loketten.token("anna", "intake")
    rejected = loketten.client.post("/meldingen", json=melding(kenmerk="AFW-3", soort="fout"),
                                    headers=loketten.als(token)).json()["melding_id"]
    loketten.inloggen(token)
    page = loketten.client.get(f"/web/afgewezen/{rejected}").text
    csrf = formuliertoken(page)
    form = loketten.client.post(f"/web/afgewezen/{rejected}/herstellen", data={"csrf": csrf, "doel": "triage"}).text
    assert 'value="AFW-3"' in form and "Wat de bron oorspronkelijk stuurde" in form
    data = {"csrf": csrf, "hersteld_van": rejected, "soort": "aanmelding", "bron": "gemeente", "kenmerk": "AFW-3",
            "ontvangen_op": "04-03-2025 10:00", "gemeente": "Heerlen"}
    controle = loketten.client.post("/web/meldingen/nieuw", data=data).text
    terug = loketten.client.post("/web/meldingen/nieuw", data={
        "csrf": csrf, "actie": "wijzigen", "hersteld_van": rejected, "payload": _verborgen(controle, "payload"),
        "zegel": _verborgen(controle, "zegel")}).text
    assert "<h1>Afgewezen melding herstellen</h1>" in terug and f'name="hersteld_van" value="{rejected}"' in terug
    assert 'value="04-03-2025 10:00"' in terug and "None" not in terug
    # The seal covers which rejection it corrects: the same payload cannot be stored as another's correction.
    ander = loketten.client.post("/web/meldingen/nieuw", data={
        "csrf": csrf, "actie": "opslaan", "hersteld_van": "", "payload": _verborgen(controle, "payload"),
        "zegel": _verborgen(controle, "zegel")}, follow_redirects=False)
    assert ander.status_code == 403
    opgeslagen = loketten.client.post("/web/meldingen/nieuw", data={
        "csrf": csrf, "actie": "opslaan", "hersteld_van": rejected, "payload": _verborgen(controle, "payload"),
        "zegel": _verborgen(controle, "zegel")}, follow_redirects=False)
    assert opgeslagen.headers["location"].startswith("/web/afgewezen?gedaan=hersteld")
    assert "is hersteld en opgeslagen" in loketten.client.get(opgeslagen.headers["location"]).text
