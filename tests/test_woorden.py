"""Every id a person can meet on a page has Dutch words: the houses, products, labels, soorten,
the parties a decision informs, the states and the events of a melding's life."""

from __future__ import annotations

import re
from pathlib import Path

from events import status
from events.melding import AfgewezenMelding, Melding
from routing import woorden
from routing.evaluator import Ruleset
from routing.gemeenten import default_register
from routing.loader import read_ruleset

RULES = Path(woorden.__file__).parent / "rules"


def test_every_id_of_the_ruleset_has_a_dutch_word() -> None:
    source = read_ruleset()
    w = woorden.woorden()
    assert sorted(source.producten - w["producten"].keys()) == []
    assert sorted(source.labels - w["labels"].keys()) == []
    assert sorted(source.soorten - w["soorten"].keys()) == []
    genoemd = set(re.findall(r"notify: \[([^\]]*)\]", "".join(p.read_text() for p in RULES.glob("*.yaml"))))
    partijen = {p.strip() for groep in genoemd for p in groep.split(",")}
    assert partijen and sorted(partijen - w["informeren"].keys()) == []
    assert woorden.wachtrij(Ruleset(source).triage_queue) == "Triage bij het loket"


def test_houses_and_queues_read_as_their_names() -> None:
    for zvh, naam in default_register().zvh_namen.items():
        assert woorden.huis(zvh) == naam
        assert woorden.wachtrij(f"{zvh}/zoco") == f"{naam} — Zorgcoördinatie mensenhandel"
    assert woorden.huis_kort("westelijke-mijnstreek") == "Westelijke Mijnstreek"
    assert woorden.product("c-en-a") == "Consult en advies"
    assert woorden.product("nieuw-product") == "nieuw-product"  # never hidden, shown as its id


def test_every_state_and_event_of_a_melding_has_a_dutch_word() -> None:
    namen = {n for cls in (Melding, AfgewezenMelding) for n, v in vars(cls).items()
             if isinstance(v, type) and issubclass(v, Melding.Event)} | {"DataverwerkingVastgelegd"}
    assert namen - {"Event", "Created"} <= status.GEBEURTENISSEN.keys()
    assert {"MeldingOntvangen", "TriageBesloten", "TopXAan"} <= namen
    staten = {v for k, v in vars(status).items() if k.isupper() and isinstance(v, str)}
    assert staten <= status.LABELS.keys()


def test_every_bron_of_the_intake_contract_has_a_dutch_word() -> None:
    from events.intake import BRONNEN

    assert sorted(set(BRONNEN) - woorden.woorden()["bronnen"].keys()) == []
    assert woorden.bron("veilig-thuis") == "Veilig Thuis"
