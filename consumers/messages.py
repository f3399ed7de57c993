"""The messages the loket publishes about meldingen: one per routing decision or lifecycle change.

A message tells a house *that* there is work and where it stands: the decision, the
melding's id, `bron` and `kenmerk`, dates. It never carries personal data (names, BSN,
birth date, toelichting, the raw melding): a house fetches those through the
access-controlled API. The decision's free-text `reasons` stay home too, because they
can quote the free-form `delict`; the rule ids that fired say the same to a reader.

`event_id` is uuid5(melding id, version): the same event re-sent after a crash is the
same message, byte for byte, so consumers deduplicate on it. `melding_version` orders
the messages of one melding even when a re-send arrives late.

A new event type is one line in `MESSAGES`. Formats: docs/messages.md, docs/schemas/.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid5

from consumers.topics import Topics
from events.melding import MELDING_NAMESPACE, Melding

SCHEMA_VERSION = 1
# One encoder for every message (json.dumps with options makes a new one per call).
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
EVENT_NAMESPACE = uuid5(MELDING_NAMESPACE, "event")

# The decision contract minus its free text (`reasons`; `errors` only exist on rejections).
DECISION_FIELDS = (
    "outcome", "zvh", "product", "gemeente", "labels", "notify", "queue", "deadline", "ruleset", "rules",
)


def event_id(melding_id: UUID, version: int) -> UUID:
    return uuid5(EVENT_NAMESPACE, f"{melding_id}:{version}")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One Kafka message to publish."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(slots=True)
class RelayMelding:
    """A melding as the relay needs it just before an event: its identity and current queue."""

    bron: str
    kenmerk: str
    soort: str
    gemeente: str | None
    ontvangen_op: str
    queue: str | None = None

    @classmethod
    def of(cls, melding: Any) -> RelayMelding:
        """From a `Melding`, or from its `MeldingOntvangen` event (no decision yet: no queue)."""
        beslissing = getattr(melding, "beslissing", None)
        return cls(melding.bron, melding.kenmerk, melding.soort, melding.gemeente, melding.ontvangen_op,
                   beslissing.queue if beslissing else None)


Route = Callable[[Any, RelayMelding], tuple[str, ...]]

# Where a melding sent back by a house lands: a person at the loket decides again.
TRIAGE_QUEUE = "loket/triage"


def decision_queue(event: Any, melding: RelayMelding) -> tuple[str, ...]:
    """Where the decision sends the work."""
    return (event.beslissing.queue,)


def current_queue(event: Any, melding: RelayMelding) -> tuple[str, ...]:
    """Where the melding is now: the house working on it hears what happened."""
    return (melding.queue,) if melding.queue else ()


def moved(event: Any, melding: RelayMelding) -> tuple[str, ...]:
    """Both ends of a move: the house that loses the work hears it is gone, the other gets it."""
    return (*current_queue(event, melding), *decision_queue(event, melding))


def returned(event: Any, melding: RelayMelding) -> tuple[str, ...]:
    return (*current_queue(event, melding), TRIAGE_QUEUE)


def _stays(event: Any) -> str | None:
    return None


def _to_decided_queue(event: Any) -> str | None:
    return event.beslissing.queue


def _to_triage(event: Any) -> str | None:
    return TRIAGE_QUEUE


@dataclass(frozen=True, slots=True)
class MessageType:
    """How one event type becomes a message: where it goes (the topics of the queues `route` names,
    or the topics `naar` names), which event fields it carries (`hernoemd`: under another name), and
    the queue the melding is in afterwards (None: unchanged)."""

    route: Route
    fields: tuple[str, ...] = ()
    queue_after: Callable[[Any], str | None] = _stays
    schema_version: int = SCHEMA_VERSION
    naar: Callable[[Any, Topics], tuple[str, ...]] | None = None
    hernoemd: tuple[tuple[str, str], ...] = ()


def _partij(event: Any, topics: Topics) -> tuple[str, ...]:
    """A notice to inform a party goes to that party's topic, for the gemeenten' systems."""
    return (topics.informeren(event.partij),)


_DECISION = MessageType(decision_queue, ("beslissing",), _to_decided_queue)
_BY_HAND = MessageType(moved, ("actor", "beslissing"), _to_decided_queue)

# Free text (a decision's `reasons`, a `reden`, a `resultaat`) stays in the store: people
# write it and it may name people. `actor` and `regisseur` are staff, not the person concerned.
MESSAGES: dict[type, MessageType] = {
    Melding.MeldingGerouteerd: _DECISION,
    Melding.MeldingInTriage: _DECISION,
    Melding.MeldingDoorverwezen: _DECISION,
    Melding.MeldingGeaccepteerd: MessageType(current_queue, ("actor", "regisseur")),
    Melding.MeldingTeruggestuurd: MessageType(returned, ("actor",), _to_triage),
    Melding.MeldingHergerouteerd: _BY_HAND,
    Melding.TriageBesloten: _BY_HAND,
    Melding.TopXAan: MessageType(current_queue, ("actor",)),
    Melding.TopXAf: MessageType(current_queue, ("actor", "via")),
    Melding.MeldingGesloten: MessageType(current_queue, ("actor",)),
    Melding.RegisseurToegewezen: MessageType(current_queue, ("actor", "regisseur")),
    # To the party's topic: what must be told, about which melding, by when; then that it was done and
    # how. No staff names either: a gemeente's system needs the melding and the party, not who did it.
    Melding.InformerenGevraagd: MessageType(current_queue, ("taak", "partij", "uiterlijk", "aanleiding"),
                                            naar=_partij, hernoemd=(("gemeente", "partij_gemeente"),)),
    Melding.PartijGeinformeerd: MessageType(current_queue, ("taak", "partij", "kanaal"), naar=_partij),
}


def _carried(name: str, value: Any) -> Any:
    if name == "beslissing":
        contract = value.as_contract()
        return {k: contract[k] for k in DECISION_FIELDS}
    return value


def body(event: Any, melding: RelayMelding, kind: MessageType) -> dict[str, Any]:
    melding_id = event.originator_id
    return {
        # Where the melding is after this event: a house sees whether it is (still) its work.
        "queue": kind.queue_after(event) or melding.queue,
        "event_id": str(event_id(melding_id, event.originator_version)),
        "event_type": type(event).__name__,
        "schema_version": kind.schema_version,
        "melding_id": str(melding_id),
        "melding_version": event.originator_version,
        "tijdstip": event.timestamp.isoformat(),
        "bron": melding.bron,
        "kenmerk": melding.kenmerk,
        "soort": melding.soort,
        "gemeente": melding.gemeente,
        "ontvangen_op": melding.ontvangen_op,
        **{name: _carried(name, getattr(event, name)) for name in kind.fields},
        **{key: getattr(event, name) for name, key in kind.hernoemd},
    }


def outgoing(
    events: Iterable[Any], topics: Topics, melding_before: Callable[[Any], RelayMelding]
) -> Iterator[Outgoing]:
    """The messages for a page of events, in order.

    `melding_before(event)` answers for a melding whose MeldingOntvangen lies in an earlier page.
    """
    known: dict[UUID, RelayMelding] = {}
    for event in events:
        if isinstance(event, Melding.MeldingOntvangen):
            known[event.originator_id] = RelayMelding.of(event)
            continue
        kind = MESSAGES.get(type(event))
        if kind is None:
            continue
        melding = known.get(event.originator_id) or melding_before(event)
        known[event.originator_id] = melding
        message = body(event, melding, kind)
        value = _JSON.encode(message).encode()
        headers = [
            ("event_type", message["event_type"].encode()),
            ("schema_version", str(kind.schema_version).encode()),
            ("event_id", message["event_id"].encode()),
        ]
        queues = kind.route(event, melding)
        targets = kind.naar(event, topics) if kind.naar else tuple(topics.voor_queue(q) for q in queues)
        for topic in dict.fromkeys(targets):
            yield Outgoing(topic, message["melding_id"].encode(), value, headers)
        melding.queue = kind.queue_after(event) or melding.queue
