"""Informing the parties a decision names (`notify`): by when, and how it was done.

Every party in a decision's `notify` becomes a task on the melding (`InformerenGevraagd`):
who must be told (the party, and the gemeente it is about), by when. Marking it done records
who told whom, when and through which channel (`PartijGeinformeerd`). The terms count working
days (Monday to Friday; public holidays are not known here and count as working days, so a
term never ends later than meant):

- `gemeente` (Wvggz outside the Westelijke Mijnstreek): 1 working day. The gemeente does the
  verkennend onderzoek itself within 14 days of the melding (002); every day the loket holds
  it is a day less for the gemeente.
- `burgemeester` (art. 18 Pbw / BIJ): 2 working days. The BIJ means the burgemeester "tijdig
  wordt geinformeerd over de aanstaande terugkeer" (000, 001); the art. 18 melding comes before
  the release, and two days leave room for the risk inventory's first look without eating
  into the time before the person returns.
- `lokale-driehoek` (every Top X case, also when the label is given later by hand): 5 working
  days. The driehoek "wordt altijd geïnformeerd" (003), through the OOV-ambtenaar of the
  gemeente who keeps it up to date on the list (000): a report within the week, before its
  next meeting, not an alarm.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import get_args
from uuid import UUID, uuid5

from routing.decision import Notify

# The parties a decision can name, as the decision contract has them (each has a Kafka topic).
PARTIJEN: tuple[str, ...] = get_args(Notify)

TERMIJN_WERKDAGEN: dict[str, int] = {"gemeente": 1, "burgemeester": 2, "lokale-driehoek": 5}
STANDAARD_WERKDAGEN = 2  # a party the rules name later without a term here

# How a party was told, as people choose it (ids in events and the API, words on the pages).
KANALEN: dict[str, str] = {
    "telefoon": "Telefonisch",
    "e-mail": "Per (beveiligde) e-mail",
    "overleg": "In een overleg",
    "brief": "Per brief",
    "koppeling": "Via de koppeling met het systeem van de gemeente",
}

# What made a task: a decision's `notify`, or Top X switched on (also by hand, later).
AANLEIDINGEN = {"besluit": "Beslissing", "top-x": "Top X aangezet"}


def uiterlijk(partij: str, vanaf: date) -> date:
    """The last day to inform `partij` about a melding whose task arose on `vanaf`."""
    dagen, dag = TERMIJN_WERKDAGEN.get(partij, STANDAARD_WERKDAGEN), vanaf
    while dagen > 0:
        dag += timedelta(days=1)
        if dag.weekday() < 5:
            dagen -= 1
    return dag


def taak_id(melding_id: UUID, partij: str, volgnummer: int) -> str:
    """A task's id: the same on every replay (the melding, the party, and how many it had before)."""
    return str(uuid5(melding_id, f"informeren:{partij}:{volgnummer}"))
