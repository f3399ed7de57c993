"""Regie and informeren through the service layer, on both event stores: a house (re)assigns its
regisseur and each person sees their own cases; every party a decision names, and the driehoek of
every Top X case, becomes a task on the worklist until someone records how they told it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from uuid import UUID

import pytest

from events.handelingen import Gebruiker
from events.informeren import uiterlijk
from events.melding import OngeldigeOvergang
from events.toegang import Rol
from loket.bootstrap import bootstrap
from loket.service import Dienst, NietGevonden, OngeldigVeld, Overzicht, Verboden
from loket.settings import Settings
from projections.audit import trail
from projections.caseload import Caseload
from tests.conftest import melding

ANNA = Gebruiker("anna", Rol("intake"))
PIET = Gebruiker("piet", Rol("zvh", "parkstad"))
KEES = Gebruiker("kees", Rol("zvh", "parkstad"))
MIEKE = Gebruiker("mieke", Rol("zvh", "maastricht-heuvelland"))
RADICAAL = Gebruiker("rita", Rol("intake", compartimenten=frozenset({"radicalisering"})))


@pytest.fixture
def dienst(store: Settings) -> Iterator[Dienst]:
    systeem = bootstrap(store)
    yield Dienst(systeem)
    systeem.close()


def ontvang(d: Dienst, **overrides) -> UUID:
    o = d.ontvang(ANNA, json.dumps(melding(**overrides)).encode())
    assert o.beslissing is not None and o.beslissing.outcome != "rejected", o.beslissing
    return o.melding_id


def art18(d: Dienst, kenmerk: str = "A18-1", gemeente: str = "Brunssum") -> UUID:
    return ontvang(d, bron="dji", soort="art18", kenmerk=kenmerk, gemeente=gemeente, signalen={"delict": "zeden"})


def test_a_house_reassigns_its_regisseur_and_each_sees_only_their_own_cases(dienst):
    pga = ontvang(dienst, kenmerk="R-1")
    other = ontvang(dienst, kenmerk="R-2")
    dienst.handel(PIET, "accept", pga, regisseur="piet")
    dienst.handel(PIET, "accept", other, regisseur="piet")
    with dienst.overzicht(PIET) as o:
        assert sorted(r["kenmerk"] for r in o.mijn_zaken().rijen) == ["R-1", "R-2"]

    m = dienst.handel(PIET, "assign", pga, regisseur="kees")
    assert m.regisseur == "kees"
    with dienst.overzicht(PIET) as o:
        assert [r["kenmerk"] for r in o.mijn_zaken().rijen] == ["R-2"]
    with dienst.overzicht(KEES) as o:
        [zaak] = o.mijn_zaken().rijen
        assert (zaak["kenmerk"], zaak["regisseur"], zaak["status"]) == ("R-1", "kees", "in-behandeling")
        [entry] = [e for e in o.audit(pga) if e["gebeurtenis"] == "RegisseurToegewezen"]
        assert (entry["actor"], entry["details"]) == ("piet", {"regisseur": "kees", "vorige": "piet"})

    # A closed case is no longer one of "mijn zaken".
    dienst.handel(KEES, "close", pga, resultaat="Doelen bereikt")
    with dienst.overzicht(KEES) as o:
        assert o.mijn_zaken().totaal == 0


def test_assigning_follows_the_action_table(dienst):
    pga = ontvang(dienst, kenmerk="R-3")
    with pytest.raises(OngeldigeOvergang, match="not allowed"):  # not accepted yet: accepting names the first
        dienst.handel(PIET, "assign", pga, regisseur="kees")
    dienst.handel(PIET, "accept", pga, regisseur="piet")
    with pytest.raises(Verboden):
        dienst.handel(ANNA, "assign", pga, regisseur="kees")
    with pytest.raises(NietGevonden):  # another house's melding does not exist for Maastricht
        dienst.handel(MIEKE, "assign", pga, regisseur="mieke")
    with pytest.raises(OngeldigVeld, match="regisseur"):
        dienst.handel(PIET, "assign", pga, regisseur="  ")
    with pytest.raises(OngeldigeOvergang, match="already assigned"):
        dienst.handel(PIET, "assign", pga, regisseur="piet")
    assert dienst.melding(PIET, pga).regisseur == "piet"


def test_an_art18_melding_asks_to_inform_the_burgemeester_by_a_term(dienst):
    bij = art18(dienst)
    with dienst.overzicht(ANNA) as o:
        [taak] = o.informeren().rijen
    assert (taak["kenmerk"], taak["partij"], taak["gemeente"], taak["aanleiding"]) == (
        "A18-1", "burgemeester", "Brunssum", "besluit")
    assert taak["uiterlijk"] == uiterlijk("burgemeester", date.today()).isoformat()
    assert taak["open"] and not taak["te_laat"]

    dienst.handel(ANNA, "inform", bij, taak=taak["taak"], kanaal="telefoon")
    with dienst.overzicht(ANNA) as o:
        assert o.informeren().totaal == 0
        [gedaan] = o.informeren(open_only=False).rijen
        assert (gedaan["open"], gedaan["gedaan_door"], gedaan["kanaal"]) == (False, "anna", "telefoon")
    with pytest.raises(OngeldigeOvergang, match="already informed"):
        dienst.handel(ANNA, "inform", bij, taak=taak["taak"], kanaal="e-mail")


def test_top_x_switched_on_by_hand_asks_to_inform_the_driehoek_each_time(dienst):
    pga = ontvang(dienst, kenmerk="TX-1")
    with dienst.overzicht(ANNA) as o:
        assert o.informeren().totaal == 0
    dienst.handel(ANNA, "topx-aan", pga, reden="Onrust in de wijk")
    with dienst.overzicht(ANNA) as o:
        [taak] = o.informeren().rijen
    assert (taak["partij"], taak["aanleiding"], taak["gevraagd_door"]) == ("lokale-driehoek", "top-x", "anna")
    assert taak["gemeente"] == "Heerlen"

    # Off and on again while the driehoek has not been told yet: still the one task.
    dienst.handel(ANNA, "topx-af", pga, reden="Weegtafel: afgeschaald")
    dienst.handel(ANNA, "topx-aan", pga, reden="Opnieuw onrust")
    with dienst.overzicht(ANNA) as o:
        assert [t["taak"] for t in o.informeren().rijen] == [taak["taak"]]
    dienst.handel(ANNA, "inform", pga, taak=taak["taak"], kanaal="overleg")
    dienst.handel(ANNA, "topx-af", pga, reden="Weegtafel: afgeschaald")
    dienst.handel(ANNA, "topx-aan", pga, reden="Weer onrust")
    with dienst.overzicht(ANNA) as o:
        [nieuw] = o.informeren().rijen
        assert nieuw["taak"] != taak["taak"] and nieuw["partij"] == "lokale-driehoek"
        assert len(o.informeren_van(pga)) == 2


def test_a_reroute_that_keeps_the_party_asks_nothing_new(dienst):
    bij = art18(dienst, "A18-2")
    dienst.handel(ANNA, "reroute", bij, zvh="parkstad", product="bij", reden="Zelfde huis, nagekeken")
    with dienst.overzicht(ANNA) as o:
        assert o.informeren().totaal == 1


def test_a_rules_top_x_case_informs_the_driehoek_at_intake(dienst):
    ontvang(dienst, kenmerk="TX-2", gemeente="Landgraaf",
            signalen={**melding()["signalen"], "maatschappelijke_onrust": True})
    with dienst.overzicht(ANNA) as o:
        [taak] = o.informeren().rijen
    assert (taak["partij"], taak["aanleiding"], taak["gevraagd_door"]) == ("lokale-driehoek", "besluit", "regels")


def test_marking_informed_asks_for_a_known_task_and_channel(dienst):
    bij = art18(dienst, "A18-3")
    with dienst.overzicht(ANNA) as o:
        [taak] = o.informeren().rijen
    with pytest.raises(OngeldigVeld, match="kanaal"):
        dienst.handel(ANNA, "inform", bij, taak=taak["taak"], kanaal="postduif")
    with pytest.raises(OngeldigVeld, match="taak"):
        dienst.handel(ANNA, "inform", bij, taak="", kanaal="telefoon")
    with pytest.raises(OngeldigeOvergang, match="no such task"):
        dienst.handel(ANNA, "inform", bij, taak="00000000-0000-0000-0000-000000000000", kanaal="telefoon")
    with pytest.raises(Verboden):
        dienst.handel(Gebruiker("ad", Rol("auditor")), "inform", bij, taak=taak["taak"], kanaal="telefoon")


def test_the_worklist_keeps_house_isolation_and_the_compartment(dienst):
    art18(dienst, "A18-P", gemeente="Brunssum")  # Parkstad
    art18(dienst, "A18-M", gemeente="Maastricht")  # Maastricht-Heuvelland
    radicaal = ontvang(dienst, kenmerk="RAD-1", soort="radicalisering", bron="politie")
    dienst.handel(RADICAAL, "reroute", radicaal, zvh="parkstad", product="pga", reden="Weegploeg: PGA")
    dienst.handel(RADICAAL, "topx-aan", radicaal, reden="Openbare orde")
    with dienst.overzicht(PIET) as o:
        assert [t["kenmerk"] for t in o.informeren().rijen] == ["A18-P"]
    with dienst.overzicht(MIEKE) as o:
        assert [t["kenmerk"] for t in o.informeren().rijen] == ["A18-M"]
    with dienst.overzicht(ANNA) as o:
        assert sorted(t["kenmerk"] for t in o.informeren().rijen) == ["A18-M", "A18-P"]
    with dienst.overzicht(RADICAAL) as o:
        assert "RAD-1" in [t["kenmerk"] for t in o.informeren().rijen]
    with pytest.raises(NietGevonden):
        dienst.handel(MIEKE, "inform", radicaal, taak="x", kanaal="telefoon")


def test_the_worklist_is_paged(dienst):
    for i in range(7):
        art18(dienst, f"A18-{i:02d}")
    with dienst.overzicht(ANNA) as o:
        eerste, laatste = o.informeren(per_pagina=3), o.informeren(pagina=3, per_pagina=3)
        with pytest.raises(OngeldigVeld, match="pagina"):
            o.informeren(pagina=0)
    assert (eerste.totaal, eerste.paginas, len(eerste.rijen), len(laatste.rijen)) == (7, 3, 3, 1)


def test_the_worklist_filters_by_party_gemeente_and_term(dienst):
    art18(dienst, "F-B", gemeente="Brunssum")
    art18(dienst, "F-K", gemeente="Kerkrade")
    pga = ontvang(dienst, kenmerk="F-T", gemeente="Kerkrade")
    dienst.handel(ANNA, "topx-aan", pga, reden="Onrust")
    with dienst.overzicht(ANNA) as o:
        assert {r["kenmerk"] for r in o.informeren(partij="burgemeester").rijen} == {"F-B", "F-K"}
        assert {r["kenmerk"] for r in o.informeren(gemeente="Kerkrade").rijen} == {"F-K", "F-T"}
        assert [r["kenmerk"] for r in o.informeren(partij="lokale-driehoek", gemeente="Kerkrade").rijen] == ["F-T"]
        assert o.informeren(verlopen=True).totaal == 0
        with pytest.raises(OngeldigVeld, match="partij"):
            o.informeren(partij="koning")
    # Ten days on, every term (at most five working days) has passed.
    later = Overzicht(dienst, ANNA, dienst.systeem.projecties, date.today() + timedelta(days=10))
    assert later.informeren(verlopen=True).totaal == 3
    assert later.informeren(verlopen=True, partij="burgemeester").rijen[0]["te_laat"]


def test_the_trail_says_who_informed_whom_and_how(dienst):
    bij = art18(dienst, "A18-T")
    with dienst.overzicht(ANNA) as o:
        [taak] = o.informeren().rijen
    dienst.handel(ANNA, "inform", bij, taak=taak["taak"], kanaal="e-mail")
    dienst.bij()
    entries = {e["gebeurtenis"]: e for e in trail(dienst.systeem.projecties, str(bij))}
    assert entries["InformerenGevraagd"]["details"]["partij"] == "burgemeester"
    assert entries["PartijGeinformeerd"]["actor"] == "anna"
    assert entries["PartijGeinformeerd"]["details"] == {"partij": "burgemeester", "kanaal": "e-mail"}


def test_a_store_whose_caseload_was_written_by_version_2_is_rebuilt_with_the_current_regisseur(store):
    systeem = bootstrap(store)
    d = Dienst(systeem)
    pga = ontvang(d, kenmerk="MIG-1")
    d.handel(PIET, "accept", pga, regisseur="piet")
    d.handel(PIET, "assign", pga, regisseur="kees")
    d.bij()
    # As version 2 of the caseload left it: it knew no RegisseurToegewezen and kept the first regisseur.
    with systeem.projecties.datastore.transaction(commit=True) as c:
        c.execute("UPDATE caseload_meldingen SET regisseur = 'piet'")
        c.execute("UPDATE projection_versions SET version = 2 WHERE name = 'caseload'")
    systeem.close()

    systeem = bootstrap(store)
    d = Dienst(systeem)
    try:
        with d.overzicht(KEES) as o:
            assert [r["kenmerk"] for r in o.mijn_zaken().rijen] == ["MIG-1"]
        with d.overzicht(PIET) as o:
            assert o.mijn_zaken().totaal == 0
        versions = {r["name"]: r["version"] for r in systeem.projecties.rows(
            "SELECT name, version FROM projection_versions")}
        assert versions["caseload"] == Caseload.version  # rebuilt by the current version
    finally:
        systeem.close()
