"""Bewaartermijnen as data, and which subjects are due for shredding."""

from __future__ import annotations

from datetime import date, timedelta

from privacy.retention import Termijn, load_bewaartermijnen, verlopen
from projections.bewaring import bewaarregels
from routing import load_ruleset
from routing.tijd import vandaag
from tests.conftest import BEHEER_ROL, handel, line


def test_every_product_routing_can_choose_has_its_own_term_with_a_reason():
    termijnen = load_bewaartermijnen()
    for product in sorted(load_ruleset().producten) + ["doorverwezen", "afgewezen"]:
        assert product in termijnen.producten, f"{product} has no bewaartermijn"
        assert termijnen.producten[product].waarom


def test_a_term_ends_on_the_same_day_of_the_month_or_the_last_day_there_is():
    assert Termijn(jaren=5).na(date(2025, 3, 4)) == date(2030, 3, 4)
    assert Termijn(jaren=1).na(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Termijn(maanden=3).na(date(2025, 11, 30)) == date(2026, 2, 28)


def row(subject: str, product: str | None, einde: date | None) -> dict:
    return {"betrokkene": subject, "product": product, "einde": einde}


def test_a_subject_is_due_when_all_their_meldingen_ended_and_the_longest_term_passed():
    termijnen = load_bewaartermijnen()
    rows = [
        row("a", "lokaal-veld", date(2020, 1, 1)), row("a", "pga", date(2021, 6, 1)),  # pga: 5 years wins
        row("b", "c-en-a", date(2020, 1, 1)), row("b", "pga", None),  # one still runs: keep everything
        row("c", "afgewezen", date(2026, 1, 10)),
    ]
    due = verlopen(rows, termijnen, date(2026, 6, 1))
    assert [(v.betrokkene, v.verlopen_op, v.product, v.meldingen) for v in due] == [
        ("c", date(2026, 4, 10), "afgewezen", 1),
        ("a", date(2026, 6, 1), "pga", 2),  # due on the very day
    ]
    assert [v.betrokkene for v in verlopen(rows, termijnen, date(2026, 5, 31))] == ["c"]


def test_closing_referring_out_or_rejecting_ends_a_melding_and_reopening_does_not(systeem):
    app = systeem.app
    closed = app.ontvang(line(kenmerk="B-1")).melding_id
    handel(app, closed, "close", actor="zvh", resultaat="afgerond")
    app.ontvang(line(kenmerk="B-2", gemeente="Venlo"))  # the same person, referred out of the region
    reopened = app.ontvang(line(kenmerk="B-3", gemeente="Venlo", persoon={"bsn": "111222333"})).melding_id
    handel(app, reopened, "reroute", actor="intake", zvh="parkstad", product="pga", reden="woont toch in Heerlen")
    app.ontvang('{"kapot')
    systeem.bij()
    rows = bewaarregels(systeem.projecties)
    today = vandaag()  # a melding ends on its Dutch calendar day
    ended = {r["product"]: r["einde"] for r in rows if r["einde"]}
    assert ended == {"pga": today, "doorverwezen": today, "afgewezen": today}
    assert [r["einde"] for r in rows if r["melding_id"] == str(reopened)] == [None]
    due = verlopen(rows, load_bewaartermijnen(), today + timedelta(days=5 * 366))
    assert {v.betrokkene for v in due} == {app.betrokkene_met_bsn("123456782"),
                                            app.melding(app.ontvang('{"kapot').melding_id).betrokkene}
    # Once shredded, a subject holds nothing more to shred.
    app.vernietig(app.betrokkene_met_bsn("123456782"), actor="fg", reden="bewaartermijn", rol=BEHEER_ROL)
    systeem.bij()
    assert app.betrokkene_met_bsn("123456782") not in {r["betrokkene"] for r in bewaarregels(systeem.projecties)}
