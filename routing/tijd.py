"""Dutch time: the one time zone of the loket, and the routing date of a moment.

A melding is routed on the calendar day of its `ontvangen_op` in the Netherlands (the domain brief),
and people read and type times in Dutch time; every part of the project takes both from here.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

NL = ZoneInfo("Europe/Amsterdam")


def routing_datum(ontvangen_op: datetime | str) -> date:
    """The day a melding is routed on: its moment of receipt as a date in the Netherlands."""
    moment = datetime.fromisoformat(ontvangen_op) if isinstance(ontvangen_op, str) else ontvangen_op
    return moment.astimezone(NL).date()


def vandaag() -> date:
    """Today in the Netherlands."""
    return datetime.now(NL).date()
