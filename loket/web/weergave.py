"""How ids, dates and deadlines read on a page: the Jinja filters of the templates.

The words come from their one place (routing/woorden.py for houses, products, labels, soorten,
parties and queues; events/status.py for states and events); dates read as dd-mm-jjjj, times in
Dutch time. The API and the events keep the ids and ISO dates.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from events.status import GEBEURTENISSEN, LABELS
from routing import woorden
from routing.tijd import NL, vandaag


def datum(waarde: str | date | None) -> str:
    """An ISO date or date-time as dd-mm-jjjj (a date-time as its day in Dutch time)."""
    if not waarde:
        return ""
    if isinstance(waarde, datetime):
        return waarde.astimezone(NL).strftime("%d-%m-%Y") if waarde.tzinfo else waarde.strftime("%d-%m-%Y")
    if isinstance(waarde, date):
        return waarde.strftime("%d-%m-%Y")
    if len(waarde) == 10:
        return date.fromisoformat(waarde).strftime("%d-%m-%Y")
    return datum(datetime.fromisoformat(waarde))


def lokaal(tijdstip: str | datetime | None) -> str:
    """A recorded timestamp as Dutch local time: dd-mm-jjjj uu:mm (as people type it for as-of too)."""
    if not tijdstip:
        return ""
    moment = tijdstip if isinstance(tijdstip, datetime) else datetime.fromisoformat(tijdstip)
    if moment.tzinfo is not None:
        moment = moment.astimezone(NL)
    return moment.strftime("%d-%m-%Y %H:%M")


def over(dagen: int | None) -> str:
    """Days to a deadline as people say it: verlopen (6 dagen), vandaag, morgen, over 3 dagen."""
    if dagen is None:
        return ""
    if dagen < 0:
        return f"verlopen ({-dagen} {'dag' if dagen == -1 else 'dagen'})"
    return {0: "vandaag", 1: "morgen"}.get(dagen, f"over {dagen} dagen")


def tot(uiterlijk: str | date | None) -> str:
    """The time left to a deadline day (ISO date), in the words of `over`."""
    if not uiterlijk:
        return ""
    dag = uiterlijk if isinstance(uiterlijk, date) else date.fromisoformat(str(uiterlijk)[:10])
    return over((dag - vandaag()).days)


def status(waarde: str | None) -> str:
    return LABELS.get(waarde or "", waarde or "")


def gebeurtenis(naam: str | None) -> str:
    return GEBEURTENISSEN.get(naam or "", naam or "")


def labels(waarden: list[str] | tuple[str, ...] | None) -> str:
    return ", ".join(woorden.label(w) for w in waarden or ())


def uitkomst(waarde: str | None) -> str:
    return UITKOMSTEN.get(waarde or "", waarde or "")


# A decision's outcome (routing/decision.py) as people read it.
UITKOMSTEN = {"routed": "Gerouteerd", "triage": "Triage", "doorverwijzen": "Doorverwijzen buiten Zuid-Limburg",
              "rejected": "Afgewezen"}


def waarde(value: Any) -> str:
    """An audit detail as people read it: sealed free text says so, never shows an envelope."""
    if isinstance(value, dict):
        if value.get("verwijderd"):
            return "(verwijderd)"
        if value.get("versleuteld"):
            return "(versleuteld)"
    if isinstance(value, (list, tuple)):
        return "; ".join(waarde(v) for v in value)
    return "" if value is None else str(value)


def _lijst(woord: Callable[[str], str]) -> Callable[[Any], str]:
    return lambda v: ", ".join(woord(x) for x in v) if isinstance(v, (list, tuple)) else woord(v)


# The details of an event in an audit trail: the words for each field and how its value reads.
DETAILS: dict[str, tuple[str, Callable[[Any], str]]] = {
    "bron": ("Bron", waarde), "kenmerk": ("Kenmerk", waarde), "soort": ("Soort", woorden.soort),
    "gemeente": ("Gemeente", waarde), "ontvangen_op": ("Ontvangen op", lokaal),
    "persoonsgegevens": ("Persoonsgegevens", waarde), "outcome": ("Uitkomst", uitkomst),
    "zvh": ("Huis", woorden.huis), "product": ("Product", woorden.product), "queue": ("Wachtrij", woorden.wachtrij),
    "labels": ("Labels", _lijst(woorden.label)), "notify": ("Informeren", _lijst(woorden.partij)),
    "deadline": ("Termijn", datum), "reasons": ("Redenen", waarde), "regisseur": ("Regisseur", waarde),
    "reden": ("Reden", waarde), "resultaat": ("Resultaat", waarde), "errors": ("Fouten", waarde),
}


def detail(item: tuple[str, Any]) -> str:
    """One detail of an event as `Word: value`; a field without words keeps its name."""
    veld, value = item
    woord, lees = DETAILS.get(veld, (veld, waarde))
    return f"{woord}: {lees(value)}"


def adres(pad: str, params: Mapping[str, Any], **wijziging: Any) -> str:
    """This list's address with some of its parameters changed (None: left out), for page and sort links.
    Filters live in the URL, so a list can be bookmarked as it is shown."""
    samen = {**params, **wijziging}
    query = urlencode([(k, v) for k, v in samen.items() if v not in (None, "", False)])
    return f"{pad}?{query}" if query else pad


FILTERS: dict[str, Callable[..., str]] = {
    "datum": datum, "lokaal": lokaal, "over": over, "tot": tot, "status": status, "gebeurtenis": gebeurtenis,
    "labels": labels, "uitkomst": uitkomst, "huis": woorden.huis, "huis_kort": woorden.huis_kort,
    "product": woorden.product,
    "label": woorden.label, "soort": woorden.soort, "partij": woorden.partij, "wachtrij": woorden.wachtrij,
    "termijnsoort": woorden.termijn, "waarde": waarde, "detail": detail,
}
