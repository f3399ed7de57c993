"""The web pages and the API against the probe of the security issue: purposes from one list,
personal data only through a POST, security headers, server-side web sessions, fixed banners.

Each test here failed on the code before its fix (docs/security.md names them per finding).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit
from uuid import UUID

from fastapi.testclient import TestClient

from projections.toegangslog import toegangslog
from tests.conftest import melding
from tests.event_store import event_sql, loket_env
from tests.web_fixtures import Loketten, formuliertoken

BSN = "123456782"  # the person of tests.conftest.melding
# The purposes of privacy/verwerkingsactiviteiten.yaml (doelbinding): the only ones a read may give.
DOELEN = {"triage", "doorverwijzing", "behandeling", "controle", "inzageverzoek"}
INZAGE_1 = "urn:zlzvh:loket:verwerkingsactiviteit:inzage:1"  # reads with a free-text purpose
ONBEKEND = ("zzq", "nieuwsgierig", "<script>alert(1)</script>", "Zwartbles 999990019 " * 600)


def ontvang(loketten: Loketten, token: str, **overrides) -> str:
    answer = loketten.client.post("/meldingen", json=melding(**overrides), headers=loketten.als(token))
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["melding_id"]


def leeslog(loketten: Loketten, melding_id: str) -> list[dict]:
    dienst = loketten.client.app.state.dienst
    dienst.bij()
    return toegangslog(dienst.systeem.projecties, melding_id=melding_id)


def toon(loketten: Loketten, melding_id: str, **form: str):
    """The melding page's own form for personal data, posted as the browser posts it."""
    page = loketten.client.get(f"/web/meldingen/{melding_id}")
    return loketten.client.post(f"/web/meldingen/{melding_id}/persoonsgegevens",
                         data={"csrf": formuliertoken(page.text), **form}, follow_redirects=False)


# 6 and 9: a purpose from one fixed list; personal data on the web only through a POST ---------


def test_a_get_of_the_melding_page_with_a_purpose_reveals_no_personal_data(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="D-1")
    loketten.inloggen(intake)
    page = loketten.client.get(f"/web/meldingen/{mid}", params={"doel": "triage"})
    assert page.status_code == 200
    assert BSN not in page.text and "Testpersoon" not in page.text
    assert leeslog(loketten, mid) == []  # a link, a reload or the history reads nothing


def test_the_web_reveals_personal_data_through_a_post_with_purpose_and_form_token(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="D-2")
    loketten.inloggen(intake)
    forged = loketten.client.post(f"/web/meldingen/{mid}/persoonsgegevens", data={"doel": "triage"})
    assert forged.status_code == 403 and BSN not in forged.text
    assert leeslog(loketten, mid) == []

    shown = toon(loketten, mid, doel="behandeling")
    assert shown.status_code == 200
    assert BSN in shown.text and "vrije tekst over de persoon" in shown.text
    assert "no-store" in shown.headers["cache-control"]
    assert [(r["actor"], r["doel"], r["kanaal"], r["toegang"]) for r in leeslog(loketten, mid)] == [
        ("anna", "behandeling", "web", "verleend")]


def test_an_unknown_purpose_is_refused_alike_by_the_api_and_the_page_and_never_repeated(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="D-3")
    for doel in ONBEKEND:
        answer = loketten.client.get(f"/meldingen/{mid}", params={"doel": doel}, headers=loketten.als(intake))
        assert answer.status_code == 422, doel[:20]
        [fout] = answer.json()["errors"]
        assert fout["field"] == "doel"
        assert DOELEN <= set(re.findall(r"[a-z]+", fout["message"]))
        assert doel not in answer.text and BSN not in answer.text
    loketten.inloggen(intake)
    for doel in ONBEKEND:
        page = toon(loketten, mid, doel=doel)
        assert page.status_code == 422, doel[:20]
        assert doel not in page.text and "alert(1)" not in page.text and BSN not in page.text
        assert 'id="doel-fout"' in page.text and "Kies een doel" in page.text  # the error at the field, in Dutch
    assert leeslog(loketten, mid) == []
    allowed = loketten.client.get(f"/meldingen/{mid}", params={"doel": "triage"}, headers=loketten.als(intake))
    assert allowed.status_code == 200 and allowed.json()["persoonsgegevens"]["persoon"]["bsn"] == BSN


def test_the_cli_takes_its_purpose_from_the_same_list(tmp_path):
    db = tmp_path / "l.sqlite"
    env = {**os.environ, **loket_env(db, LOKET_USER="tester", LOKET_ROLE="intake")}
    loket = [sys.executable, "-m", "loket.cli"]
    line = '{"bron": "gemeente", "kenmerk": "C-1", "soort": "aanmelding", ' \
           '"ontvangen_op": "2025-03-01T09:00:00+01:00", "gemeente": "Heerlen", ' \
           '"persoon": {"bsn": "123456782"}, "toelichting": "geheim-cli"}\n'
    subprocess.run([*loket, "ontvang", "-"], input=line, env=env, text=True, check=True, capture_output=True)
    for doel in ONBEKEND[:3]:
        refused = subprocess.run([*loket, "show", "gemeente:C-1", "--purpose", doel], env=env, text=True,
                                 capture_output=True)
        assert refused.returncode == 2 and "Traceback" not in refused.stderr
        assert DOELEN <= set(re.findall(r"[a-z]+", refused.stderr)) and doel not in refused.stderr
        assert "geheim-cli" not in refused.stdout + refused.stderr
    shown = subprocess.run([*loket, "show", "gemeente:C-1", "--purpose", "controle", "--json"], env=env, text=True,
                           capture_output=True, check=True)
    assert "geheim-cli" in shown.stdout


def test_a_note_on_the_purpose_is_sealed_and_never_in_the_access_log_in_the_clear(loketten):
    note = "Klacht van mevrouw Zwartbles over de Kwakkelstraat 12"
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="D-4")
    read = loketten.client.post(f"/meldingen/{mid}/persoonsgegevens", json={"doel": "controle", "toelichting": note},
                                headers=loketten.als(intake))
    assert read.status_code == 200 and read.json()["persoonsgegevens"]["persoon"]["bsn"] == BSN
    assert "no-store" in read.headers["cache-control"]
    loketten.inloggen(intake)
    assert toon(loketten, mid, doel="triage", toelichting=note).status_code == 200
    too_long = loketten.client.post(f"/meldingen/{mid}/persoonsgegevens", headers=loketten.als(intake),
                                    json={"doel": "controle", "toelichting": "x" * 501})
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "toelichting"

    rows = leeslog(loketten, mid)
    assert [(r["doel"], r["kanaal"]) for r in rows] == [("controle", "api"), ("triage", "web")]
    assert note not in repr(rows)
    settings = loketten.settings
    with event_sql(settings) as sql:
        states = [bytes(s) for (s,) in sql.execute(f"SELECT state FROM {sql.events}")]
    assert not any(note.encode() in s or b"Zwartbles" in s for s in states)
    assert sum(b"doel_toelichting" in s and b"AES-256-GCM" in s for s in states) == 2  # kept, sealed
    for path in settings.db.parent.iterdir():
        if path.is_file() and not path.name.endswith(".master-key"):
            assert b"Zwartbles" not in path.read_bytes(), path.name


def test_access_log_lines_with_a_free_text_purpose_from_before_still_read(loketten):
    from events.logboek import Dataverwerking, span_id, trace_id

    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="D-5")
    app = loketten.client.app.state.dienst.app
    m = app.melding(UUID(mid))
    now = datetime.now(UTC)
    old = Dataverwerking(
        trace_id=trace_id(), span_id=span_id(), parent_span_id=None, naam="persoonsgegevens inzien",
        status="STATUS_CODE_OK", begin=now, eind=now, verwerkingsactiviteit=INZAGE_1,
        betrokkene=m.betrokkene, betrokkene_type="loket-pseudoniem:bsn", melding_id=m.id, actor="oud",
        rol="intake", doel="beoordelen melding", kanaal="api", toegang="verleend", weigering=None,
        doel_toelichting=None)
    [event] = old.collect_events()
    object.__delattr__(event, "doel_toelichting")  # as lines were written before a purpose had a note
    app.save(event)
    [row] = leeslog(loketten, mid)
    assert (row["actor"], row["doel"], row["verwerkingsactiviteit"]) == ("oud", "beoordelen melding", INZAGE_1)
    assert app.repository.get(old.id).doel == "beoordelen melding"


# 10: security headers on every answer; /docs without another origin --------------------


def _koppen(loketten: Loketten) -> dict[str, object]:
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="K-1")
    api = loketten.als(intake)
    answers = {
        "api melding": loketten.client.get(f"/meldingen/{mid}", headers=api),
        "api persoonsgegevens": loketten.client.get(f"/meldingen/{mid}", params={"doel": "triage"}, headers=api),
        "api 401": loketten.client.get("/caseload"),
        "api 404": loketten.client.get("/bestaat-niet"),
        "health": loketten.client.get("/health"),
        "metrics": loketten.client.get("/metrics"),
        "openapi": loketten.client.get("/openapi.json"),
        "docs": loketten.client.get("/docs"),
        "login": loketten.client.get("/web/inloggen"),
        "redirect": loketten.client.get("/web/triage", follow_redirects=False),
    }
    loketten.inloggen(intake)
    answers["page"] = loketten.client.get(f"/web/meldingen/{mid}")
    answers["page with personal data"] = toon(loketten, mid, doel="triage")
    answers["error page"] = loketten.client.get("/web/meldingen/00000000-0000-0000-0000-000000000000")
    return answers


def test_every_answer_carries_the_security_headers_and_none_may_be_cached(loketten):
    answers = _koppen(loketten)
    for name, answer in answers.items():
        csp = answer.headers.get("content-security-policy", "")
        policy = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert policy.get("default-src") == ["'none'"], name
        assert policy.get("frame-ancestors") == ["'none'"], name
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp and "*" not in csp, name
        assert all(source in ("'self'", "'none'", "data:") for sources in policy.values() for source in sources), name
        assert answer.headers.get("x-frame-options") == "DENY", name
        assert answer.headers.get("x-content-type-options") == "nosniff", name
        assert answer.headers.get("referrer-policy") == "no-referrer", name
        assert answer.headers.get("cache-control") == "no-store", name
    css = loketten.client.get("/static/loket.css")
    assert css.status_code == 200 and css.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in css.headers.get("cache-control", "")  # static assets may be cached


class _Bronnen(HTMLParser):
    """Every URL a page loads or links (src, href), and whether any script or style is inline."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v]
        if "style" in values or any(k.startswith("on") for k in values):
            self.inline.append(f"{tag} attribute")
        self._in = tag if tag in ("script", "style") and "src" not in values else None

    def handle_data(self, data: str) -> None:
        if self._in and data.strip():
            self.inline.append(self._in)

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def test_the_api_docs_load_every_asset_from_the_loket_itself(loketten):
    docs = loketten.client.get("/docs")
    assert docs.status_code == 200
    bronnen = _Bronnen()
    bronnen.feed(docs.text)
    assert bronnen.inline == []
    assert bronnen.urls and all(not urlsplit(u).netloc and not urlsplit(u).scheme for u in bronnen.urls), bronnen.urls
    for url in bronnen.urls:
        asset = loketten.client.get(url)
        assert asset.status_code == 200 and asset.content, url
    assert loketten.client.get("/redoc").status_code == 404  # it loaded its script and fonts from elsewhere


def test_no_page_relies_on_inline_script_or_style(loketten):
    for name, answer in _koppen(loketten).items():
        if answer.headers.get("content-type", "").startswith("text/html"):
            bronnen = _Bronnen()
            bronnen.feed(answer.text)
            assert bronnen.inline == [], name
            assert all(not urlsplit(u).netloc for u in bronnen.urls), name


# 11: server-side web sessions; login and logout forms with a form token -------------------


def test_the_session_cookie_is_not_the_api_token(loketten):
    intake = loketten.token("anna", "intake")
    answer = loketten.inloggen(intake)
    assert answer.status_code == 303
    assert intake not in answer.headers.get("set-cookie", "")
    assert all(intake not in value for value in loketten.client.cookies.values())
    assert loketten.client.get("/web/triage").status_code == 200


def test_after_logout_the_old_session_cookie_opens_nothing(loketten):
    intake = loketten.token("anna", "intake")
    loketten.inloggen(intake)
    cookies = dict(loketten.client.cookies.items())
    page = loketten.client.get("/web/triage")
    out = loketten.client.post("/web/uitloggen", data={"csrf": formuliertoken(page.text)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/inloggen"
    with TestClient(loketten.client.app, cookies=cookies) as stolen:
        again = stolen.get("/web/triage", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == "/web/inloggen"


def test_an_idle_or_too_old_session_sends_the_browser_to_the_login_page(loketten):
    intake = loketten.token("anna", "intake")
    start = datetime.now(UTC)
    loketten.tokens.klok = lambda: start
    loketten.inloggen(intake)
    assert loketten.client.get("/web/triage").status_code == 200
    loketten.tokens.klok = lambda: start + timedelta(minutes=31)  # half an hour without a request
    idle = loketten.client.get("/web/triage", follow_redirects=False)
    assert idle.status_code == 303 and idle.headers["location"] == "/web/inloggen"

    loketten.tokens.klok = lambda: start
    loketten.inloggen(intake)
    for minutes in range(20, 10 * 60, 20):  # busy all day, but a login lasts a working day at most
        loketten.tokens.klok = lambda m=minutes: start + timedelta(minutes=m)
        assert loketten.client.get("/web/triage", follow_redirects=False).status_code == 200, minutes
    loketten.tokens.klok = lambda: start + timedelta(hours=10, minutes=1)
    old = loketten.client.get("/web/triage", follow_redirects=False)
    assert old.status_code == 303 and old.headers["location"] == "/web/inloggen"


def test_revoking_a_token_ends_its_web_sessions(loketten):
    intake = loketten.token("anna", "intake")
    loketten.inloggen(intake)
    assert loketten.client.get("/web/triage").status_code == 200
    loketten.tokens.trek_in(loketten.tokens.lijst()[0].id)
    assert loketten.client.get("/web/triage", follow_redirects=False).status_code == 303


def test_login_and_logout_without_their_form_token_are_refused(loketten):
    intake = loketten.token("anna", "intake")
    forged = loketten.client.post("/web/inloggen", data={"token": intake}, follow_redirects=False)
    assert forged.status_code == 403 and not any(k == "loket_sessie" for k in loketten.client.cookies.keys())
    assert loketten.client.get("/web/triage", follow_redirects=False).status_code == 303

    assert loketten.inloggen(intake).status_code == 303
    out = loketten.client.post("/web/uitloggen", data={}, follow_redirects=False)
    assert out.status_code == 403
    assert loketten.client.get("/web/triage").status_code == 200  # still logged in


# 15: banners from a fixed set of messages, the melding named by its stored kenmerk ----------


def test_the_queue_and_triage_banners_never_print_text_from_the_url(loketten):
    intake = loketten.token("anna", "intake")
    mid = ontvang(loketten, intake, kenmerk="BAN-1")
    loketten.inloggen(intake)
    lure = "Uw sessie is verlopen, bel 0612345678"
    for path in ("/web/wachtrij", "/web/triage"):
        for params in ({"gedaan": lure, "melding": mid}, {"gedaan": "besloten", "melding": lure},
                       {"gedaan": "geaccepteerd", "melding": lure}):
            page = loketten.client.get(path, params={**params, "zvh": "parkstad"})
            assert page.status_code == 200
            assert lure not in page.text and 'role="status"' not in page.text, (path, params)
    banner = loketten.client.get("/web/wachtrij", params={"gedaan": "geaccepteerd", "melding": mid})
    assert "Melding gemeente:BAN-1 is geaccepteerd." in banner.text
    page = loketten.client.get(f"/web/meldingen/{mid}", params={"fout": lure, "status": "500"})
    assert page.status_code == 200 and lure not in page.text


def test_a_banner_does_not_name_a_melding_the_user_may_not_see(loketten):
    intake = loketten.token("anna", "intake")
    parkstad = loketten.token("piet", "zvh", zvh="parkstad")
    other = ontvang(loketten, intake, kenmerk="BAN-2", gemeente="Maastricht")
    loketten.inloggen(parkstad)
    page = loketten.client.get("/web/wachtrij", params={"gedaan": "geaccepteerd", "melding": other})
    assert "BAN-2" not in page.text and other not in page.text
    assert '<p class="gelukt" role="status">De melding is geaccepteerd.</p>' in page.text
