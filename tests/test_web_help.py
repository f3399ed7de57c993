"""The help page tells each role what it can do, in Dutch, and says nothing the system does not do:
every screen it names opens for that role, every action it lists is one the action table allows."""

from __future__ import annotations

import re

import pytest

from events.handelingen import HANDELINGEN
from events.status import LABELS, ONTVANGEN
from events.toegang import Rol
from routing import load_ruleset
from tests.web_fixtures import Loketten

ROLLEN = {
    "intake": ("intake", None),
    "zvh": ("zvh", "parkstad"),
    "auditor": ("auditor", None),
}


def help_als(loketten: Loketten, rol: str) -> str:
    soort, zvh = ROLLEN[rol]
    loketten.inloggen(loketten.token(f"{rol}-medewerker", soort, zvh=zvh))
    answer = loketten.client.get("/web/help")
    assert answer.status_code == 200
    return answer.text


def schermen(page: str) -> dict[str, str]:
    """The screens the help's list names: their address and name."""
    lijst = page.split('id="kop-schermen"', 1)[1].split("</dl>", 1)[0]
    return dict(re.findall(r'<dt><a href="([^"]+)">([^<]+)</a></dt>', lijst))


@pytest.mark.parametrize("rol", sorted(ROLLEN))
def test_every_screen_the_help_names_opens_for_that_role(loketten: Loketten, rol: str) -> None:
    page = help_als(loketten, rol)
    genoemd = schermen(page)
    assert genoemd, "the help names no screen"
    for adres, naam in genoemd.items():
        answer = loketten.client.get(adres)
        assert answer.status_code == 200, f"{rol}: '{naam}' ({adres}) gives {answer.status_code}"


def test_each_role_reads_what_it_may_do_and_no_more(loketten: Loketten) -> None:
    intake = help_als(loketten, "intake")
    assert "Triage" in schermen(intake).values() and "Nieuwe melding" in schermen(intake).values()
    assert "Triage besluiten" in intake

    zvh = help_als(loketten, "zvh")
    assert "/web/triage" not in schermen(zvh) and "/web/meldingen/nieuw" not in schermen(zvh)
    assert "Zorg- en Veiligheidshuis Parkstad" in zvh
    rol = Rol.maak("zvh", zvh="parkstad")
    for h in HANDELINGEN.values():
        zin = h.naam[:1].upper() + h.naam[1:]
        assert (f"<li>{zin}</li>" in zvh) == h.mag(rol), h.id


def test_the_help_explains_every_state_and_the_routing_steps_in_their_order(loketten: Loketten) -> None:
    page = help_als(loketten, "auditor")
    for status, woord in LABELS.items():
        if status == ONTVANGEN:  # within one transaction only: nobody ever sees it
            continue
        assert f"<dt>{woord}</dt>" in page
    regels = page.split('id="kop-regels"', 1)[1]
    ruleset = load_ruleset()
    posities = [regels.index(beschrijving) for _, beschrijving, _ in ruleset.stappen]
    assert posities == sorted(posities) and len(posities) == 4
    assert ruleset.version in regels
