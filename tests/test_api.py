"""The HTTP API as its clients use it: intake, reading, lifecycle, roles, compartments, as-of, metrics."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import melding
from tests.web_fixtures import Loketten

MAASTRICHT = {"gemeente": "Maastricht"}
ZONDER_GEMEENTE = {"gemeente": None}


def post(loketten: Loketten, token: str, **overrides):
    return loketten.client.post("/meldingen", json=melding(**overrides), headers=loketten.als(token))


def test_a_new_melding_is_stored_and_decided_and_a_resend_returns_the_same_id(loketten):
    intake = loketten.token("anna", "intake")
    first = post(loketten, intake, kenmerk="A-1")
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "nieuw"
    assert (body["beslissing"]["outcome"], body["beslissing"]["zvh"], body["beslissing"]["product"]) == (
        "routed", "parkstad", "pga")
    assert first.headers["location"] == f"/meldingen/{body['melding_id']}"

    again = post(loketten, intake, kenmerk="A-1")
    assert again.status_code == 200
    assert again.json()["melding_id"] == body["melding_id"] and again.json()["status"] == "duplicaat"

    stored = loketten.client.get(f"/meldingen/{body['melding_id']}", headers=loketten.als(intake)).json()
    assert stored["status"] == "open" and stored["beslissing"] == body["beslissing"]
    assert stored["persoonsgegevens"] is None


def test_an_invalid_melding_is_answered_422_naming_every_bad_field_and_still_recorded(loketten):
    intake = loketten.token("anna", "intake")
    answer = post(loketten, intake, kenmerk="B-1", soort="onbekend", ontvangen_op="gisteren",
                  persoon={"bsn": "12", "naam": "X"})
    assert answer.status_code == 422
    assert {e["field"] for e in answer.json()["errors"]} == {"soort", "ontvangen_op", "persoon.bsn"}

    recorded = loketten.client.get(f"/meldingen/{answer.json()['melding_id']}", headers=loketten.als(intake))
    assert recorded.status_code == 200
    assert recorded.json()["status"] == "afgewezen"
    assert {e["field"] for e in recorded.json()["errors"]} == {"soort", "ontvangen_op", "persoon.bsn"}

    resent = post(loketten, intake, kenmerk="B-1", soort="onbekend", ontvangen_op="gisteren",
                  persoon={"bsn": "12", "naam": "X"})
    assert resent.status_code == 422 and resent.json()["melding_id"] == answer.json()["melding_id"]


def test_input_that_is_no_melding_at_all_is_recorded_as_rejected_not_a_crash(loketten):
    intake = loketten.token("anna", "intake")
    for body in (b"[" * 50_000, b"\xff\xfe not utf-8", b"42", b""):
        answer = loketten.client.post("/meldingen", content=body, headers=loketten.als(intake))
        assert answer.status_code == 422, body[:10]
        assert [e["field"] for e in answer.json()["errors"]] == ["melding"]
    too_big = loketten.client.post("/meldingen", content=b" " * (2 << 20), headers=loketten.als(intake))
    assert too_big.status_code == 413


def test_without_a_valid_token_every_route_answers_401(loketten):
    some = uuid.uuid4()
    token = loketten.token("anna", "intake")
    revoked_id = loketten.tokens.lijst()[0].id
    loketten.tokens.trek_in(revoked_id)
    for headers in ({}, {"Authorization": "Bearer loket_niet-bestaand"}, loketten.als(token)):
        for method, path in [("GET", f"/meldingen/{some}"), ("GET", "/caseload"), ("GET", "/triage"),
                             ("GET", "/deadlines"), ("GET", "/stats"), ("POST", "/meldingen"),
                             ("POST", f"/meldingen/{some}/accept")]:
            answer = loketten.client.request(method, path, headers=headers, json={})
            assert answer.status_code == 401, (method, path)
            assert answer.headers["www-authenticate"] == "Bearer"
    assert loketten.client.get("/health").status_code == 200


def test_a_house_sees_only_what_is_routed_to_it_and_the_rest_looks_like_it_does_not_exist(loketten):
    intake = loketten.token("anna", "intake")
    parkstad = loketten.token("piet", "zvh", zvh="parkstad")
    own = post(loketten, intake, kenmerk="H-1").json()["melding_id"]
    other = post(loketten, intake, kenmerk="H-2", **MAASTRICHT).json()["melding_id"]

    assert loketten.client.get(f"/meldingen/{own}", headers=loketten.als(parkstad)).status_code == 200
    hidden = loketten.client.get(f"/meldingen/{other}", headers=loketten.als(parkstad))
    never = loketten.client.get(f"/meldingen/{uuid.uuid4()}", headers=loketten.als(parkstad))
    assert hidden.status_code == never.status_code == 404
    assert hidden.json()["detail"].replace(other, "ID") == never.json()["detail"].rsplit(" ", 1)[0] + " ID"

    caseload = loketten.client.get("/caseload", headers=loketten.als(parkstad)).json()
    assert caseload and {r["zvh"] for r in caseload} == {"parkstad"}
    queue = loketten.client.get("/wachtrij?zvh=maastricht-heuvelland", headers=loketten.als(parkstad)).json()
    assert [r["melding_id"] for r in queue] == [own]

    accepted = loketten.client.post(f"/meldingen/{own}/accept", json={"regisseur": "A. Janssen"},
                                    headers=loketten.als(parkstad))
    assert accepted.status_code == 200
    assert (accepted.json()["status"], accepted.json()["regisseur"]) == ("in-behandeling", "A. Janssen")
    assert loketten.client.post(f"/meldingen/{other}/accept", json={"regisseur": "X"},
                                headers=loketten.als(parkstad)).status_code == 404
    assert loketten.client.post(f"/meldingen/{own}/reroute", json={"zvh": "parkstad", "product": "c-en-a",
                                "reden": "x"}, headers=loketten.als(parkstad)).status_code == 403
    assert loketten.client.get("/triage", headers=loketten.als(parkstad)).status_code == 403


def test_the_radicalisering_compartment_is_opened_by_the_flag_alone(loketten):
    intake = loketten.token("anna", "intake")
    admin = loketten.token("root", "admin")
    auditor = loketten.token("olga", "auditor")
    weegploeg = loketten.token("wim", "intake", compartimenten=("radicalisering",))
    sent = post(loketten, intake, kenmerk="R-1", soort="radicalisering", bron="politie")
    assert sent.status_code == 201 and sent.json()["beslissing"]["product"] == "radicalisering"
    rid = sent.json()["melding_id"]

    for token in (intake, admin, auditor):
        assert loketten.client.get(f"/meldingen/{rid}", headers=loketten.als(token)).status_code == 404
        assert loketten.client.get(f"/meldingen/{rid}/explain", headers=loketten.als(token)).status_code == 404
        assert loketten.client.get(f"/meldingen/{rid}/audit", headers=loketten.als(token)).status_code == 404
        products = {r["product"] for r in loketten.client.get("/caseload", headers=loketten.als(token)).json()}
        assert "radicalisering" not in products
    assert loketten.client.get(f"/meldingen/{rid}", headers=loketten.als(weegploeg)).status_code == 200
    products = {r["product"] for r in loketten.client.get("/caseload", headers=loketten.als(weegploeg)).json()}
    assert "radicalisering" in products


def test_the_intake_team_decides_a_triage_item_and_it_leaves_the_queue(loketten):
    intake = loketten.token("anna", "intake")
    mid = post(loketten, intake, kenmerk="T-1", **ZONDER_GEMEENTE).json()["melding_id"]
    queue = loketten.client.get("/triage", headers=loketten.als(intake)).json()
    assert [r["melding_id"] for r in queue] == [mid]

    why = loketten.client.get(f"/meldingen/{mid}/explain", headers=loketten.als(intake)).json()
    assert why["trace"]["beslissing"]["outcome"] == "triage"
    assert "Beslissing: triage" in why["tekst"]

    decided = loketten.client.post(f"/meldingen/{mid}/decide", headers=loketten.als(intake),
                                   json={"zvh": "westelijke-mijnstreek", "product": "pga", "reden": "Stein"})
    assert decided.status_code == 200 and decided.json()["status"] == "open"
    assert loketten.client.get("/triage", headers=loketten.als(intake)).json() == []
    trail = loketten.client.get(f"/meldingen/{mid}/audit", headers=loketten.als(intake)).json()
    assert (trail[-1]["gebeurtenis"], trail[-1]["actor"]) == ("TriageBesloten", "anna")


def test_the_house_queue_shows_the_top_x_label_after_topx_on_and_not_after_off(loketten):
    intake = loketten.token("anna", "intake")
    parkstad = loketten.token("piet", "zvh", zvh="parkstad")
    mid = post(loketten, intake, kenmerk="X-1").json()["melding_id"]  # routed to parkstad/pga

    def labels() -> list[str]:
        [row] = loketten.client.get("/wachtrij", headers=loketten.als(parkstad)).json()
        assert row["melding_id"] == mid
        return row["labels"]

    assert labels() == []
    on = loketten.client.post(f"/meldingen/{mid}/topx", json={"aan": True, "reden": "hoog risico"},
                              headers=loketten.als(intake))
    assert on.status_code == 200 and "top-x" in on.json()["beslissing"]["labels"]
    assert labels() == ["top-x"]
    off = loketten.client.post(f"/meldingen/{mid}/topx", json={"aan": False, "reden": "afgeschaald"},
                               headers=loketten.als(intake))
    assert off.status_code == 200 and off.json()["beslissing"]["labels"] == []
    assert labels() == []


def test_an_illegal_transition_is_409_with_the_reason_and_records_nothing(loketten):
    intake = loketten.token("anna", "intake")
    admin = loketten.token("root", "admin")
    mid = post(loketten, intake, kenmerk="C-1").json()["melding_id"]
    assert loketten.client.post(f"/meldingen/{mid}/close", json={"resultaat": "klaar"},
                                headers=loketten.als(intake)).status_code == 200
    before = loketten.client.get(f"/meldingen/{mid}/audit", headers=loketten.als(admin)).json()
    answer = loketten.client.post(f"/meldingen/{mid}/accept", json={"regisseur": "R"}, headers=loketten.als(admin))
    assert answer.status_code == 409 and "gesloten" in answer.json()["detail"]
    assert loketten.client.get(f"/meldingen/{mid}/audit", headers=loketten.als(admin)).json() == before


def test_bad_lifecycle_requests_are_422_naming_each_field(loketten):
    intake = loketten.token("anna", "intake")
    mid = post(loketten, intake, kenmerk="V-1").json()["melding_id"]
    empty = loketten.client.post(f"/meldingen/{mid}/reroute", json={}, headers=loketten.als(intake))
    assert empty.status_code == 422
    assert {e["field"] for e in empty.json()["errors"]} == {"body.zvh", "body.product", "body.reden"}
    unknown = loketten.client.post(f"/meldingen/{mid}/reroute", headers=loketten.als(intake),
                                   json={"zvh": "venlo", "product": "pga", "reden": "x"})
    assert unknown.status_code == 422 and [e["field"] for e in unknown.json()["errors"]] == ["zvh"]
    not_an_id = loketten.client.get("/meldingen/gemeente:V-1", headers=loketten.als(intake))
    assert not_an_id.status_code == 422 and not_an_id.json()["errors"][0]["field"] == "path.melding_id"


def test_an_auditor_reads_history_as_of_a_moment_and_changes_nothing(loketten):
    intake = loketten.token("anna", "intake")
    auditor = loketten.token("olga", "auditor")
    parkstad = loketten.token("piet", "zvh", zvh="parkstad")
    first = post(loketten, intake, kenmerk="O-1").json()["melding_id"]
    moment = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    post(loketten, intake, kenmerk="O-2")
    loketten.client.post(f"/meldingen/{first}/close", json={"resultaat": "klaar"}, headers=loketten.als(intake))

    def open_count(**params):
        rows = loketten.client.get("/caseload", params=params, headers=loketten.als(auditor)).json()
        return sum(r["count"] for r in rows)

    assert open_count(as_of=moment) == 1
    assert open_count() == 1  # O-1 closed since, O-2 came in
    then = loketten.client.get(f"/meldingen/{first}/audit", params={"as_of": moment}, headers=loketten.als(auditor))
    assert [e["gebeurtenis"] for e in then.json()] == ["MeldingOntvangen", "MeldingGerouteerd"]

    assert loketten.client.post(f"/meldingen/{first}/accept", json={"regisseur": "R"},
                                headers=loketten.als(auditor)).status_code == 403
    assert loketten.client.get(f"/meldingen/{first}", params={"doel": "controle"},
                               headers=loketten.als(auditor)).status_code == 403
    assert loketten.client.get("/caseload", params={"as_of": moment}, headers=loketten.als(parkstad)).status_code == 403
    bad = loketten.client.get("/caseload", params={"as_of": "gisteren"}, headers=loketten.als(auditor))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "as_of"


def test_personal_data_comes_only_with_a_purpose(loketten):
    intake = loketten.token("anna", "intake")
    mid = post(loketten, intake, kenmerk="P-1").json()["melding_id"]
    plain = loketten.client.get(f"/meldingen/{mid}", headers=loketten.als(intake))
    assert "123456782" not in plain.text and "Testpersoon" not in plain.text
    asked = loketten.client.get(f"/meldingen/{mid}", params={"doel": "triage"}, headers=loketten.als(intake))
    assert asked.json()["persoonsgegevens"]["persoon"]["bsn"] == "123456782"
    assert asked.json()["persoonsgegevens"]["toelichting"] == "vrije tekst over de persoon"


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text) for s in family.samples
    }


def test_metrics_count_meldingen_decisions_rejections_and_requests_by_route(loketten):
    intake = loketten.token("anna", "intake")
    before = _samples(loketten.client.get("/metrics").text)
    mid = post(loketten, intake, kenmerk="M-1").json()["melding_id"]
    post(loketten, intake, kenmerk="M-1")
    post(loketten, intake, kenmerk="M-2", persoon={"bsn": "111111111"})
    loketten.client.get(f"/meldingen/{mid}", headers=loketten.als(intake))
    after = _samples(loketten.client.get("/metrics").text)

    def grew(name: str, **labels: str) -> float:
        key = (name, frozenset(labels.items()))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("loket_meldingen_ontvangen_total", bron="gemeente", soort="aanmelding") == 1
    assert grew("loket_meldingen_duplicaat_total") == 1
    assert grew("loket_beslissingen_total", zvh="parkstad", product="pga", outcome="routed", door="regels") == 1
    assert grew("loket_meldingen_afgewezen_total", reden="persoon.bsn") == 1
    assert grew("loket_routing_seconds_count") == 0  # the plain ruleset here; `loket serve` times it
    assert grew("loket_http_requests_total", method="POST", route="/meldingen", status="201") == 1
    assert grew("loket_http_requests_total", method="POST", route="/meldingen", status="422") == 1
    assert grew("loket_http_requests_total", method="GET", route="/meldingen/{melding_id}", status="200") == 1
    # Writes commit events only; the projections catch up when someone reads them.
    lag = ("loket_projectie_achterstand", frozenset({("projectie", "caseload")}))
    assert after[lag] > 0
    loketten.client.get("/caseload", headers=loketten.als(intake))
    assert _samples(loketten.client.get("/metrics").text)[lag] == 0
    assert all(not name.startswith("loket") or name.startswith("loket_") for name, _ in after)
    assert json.dumps(sorted(str(k) for k in after)).count("111111111") == 0


def test_a_web_form_posted_without_its_form_token_changes_nothing(loketten):
    intake = loketten.token("anna", "intake")
    mid = post(loketten, intake, kenmerk="X-1", **ZONDER_GEMEENTE).json()["melding_id"]
    loketten.inloggen(intake)
    form = {"zvh": "parkstad", "product": "pga", "reden": "van een andere site", "terug": "triage"}
    forged = loketten.client.post(f"/web/meldingen/{mid}/decide", data=form, follow_redirects=False)
    assert forged.status_code == 403
    assert loketten.client.get(f"/meldingen/{mid}", headers=loketten.als(intake)).json()["status"] == "triage"

    page = loketten.client.get(f"/web/meldingen/{mid}")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = loketten.client.post(f"/web/meldingen/{mid}/decide", data={**form, "csrf": csrf}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/web/triage?gedaan=besloten")
    assert loketten.client.get(f"/meldingen/{mid}", headers=loketten.als(intake)).json()["status"] == "open"


def test_every_read_of_personal_data_is_in_the_access_log_with_role_channel_and_request(loketten):
    from projections.toegangslog import toegangslog

    intake = loketten.token("anna", "intake")
    parkstad = loketten.token("piet", "zvh", zvh="parkstad")
    admin = loketten.token("root", "admin")
    mid = post(loketten, intake, kenmerk="LOG-1").json()["melding_id"]
    trace = uuid.uuid4().hex
    read = loketten.client.get(f"/meldingen/{mid}", params={"doel": "behandeling"},
                               headers={**loketten.als(parkstad), "X-Request-ID": trace})
    assert read.status_code == 200
    assert loketten.client.get(f"/meldingen/{mid}", params={"doel": "beheer"},
                               headers=loketten.als(admin)).status_code == 403  # admin runs, reads no one

    dienst = loketten.client.app.state.dienst
    dienst.bij()
    rows = toegangslog(dienst.systeem.projecties, melding_id=mid)
    assert [(r["actor"], r["rol"], r["kanaal"], r["doel"], r["trace_id"]) for r in rows] == [
        ("piet", "zvh:parkstad", "api", "behandeling", trace)]
