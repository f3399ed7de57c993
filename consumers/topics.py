"""The one place that knows Kafka topic and consumer group names.

Inbound: the shared topic `loket.meldingen` plus one per stream the product owner
named (VIA, ZSM, Veilig Thuis, DJI), so each publisher can be granted its own topic
alone. Outbound: one topic per Zorg- en Veiligheidshuis (where its work lands),
`loket.triage` for what the loket itself must look at (triage, doorverwijzen), and one per
party a decision says must be informed (`loket.informeren.<partij>`), for the gemeenten' systems.
A prefix (LOKET_KAFKA_TOPIC_PREFIX) namespaces every name, groups included.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.informeren import PARTIJEN

# The four inbound streams of the domain brief: police VIA, ZSM buikpijn, Veilig Thuis, DJI detention.
STREAMS = ("via", "zsm", "veilig-thuis", "dji")


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names of one installation. `huizen`: the houses that have a queue topic, as the
    ruleset knows them (given by the composition root, loket/bootstrap.py)."""

    prefix: str = ""
    huizen: tuple[str, ...] = ()
    partijen: tuple[str, ...] = PARTIJEN

    @property
    def meldingen(self) -> str:
        return f"{self.prefix}loket.meldingen"

    @property
    def inbound(self) -> tuple[str, ...]:
        return (self.meldingen, *(f"{self.meldingen}.{stream}" for stream in STREAMS))

    @property
    def dlq(self) -> str:
        return f"{self.meldingen}.dlq"

    @property
    def triage(self) -> str:
        return f"{self.prefix}loket.triage"

    def zvh(self, zvh_id: str) -> str:
        return f"{self.prefix}loket.zvh.{zvh_id}"

    def voor_queue(self, queue: str) -> str:
        """The topic where the work of a decision's queue lands.

        A queue is `<house>/<product>` (`westelijke-mijnstreek/via`: the one VIA team) or
        `loket/<what>` (`loket/triage`, `loket/doorverwijzen`): the loket's own desk.
        """
        house = queue.split("/", 1)[0]
        return self.triage if house == "loket" else self.zvh(house)

    def informeren(self, partij: str) -> str:
        """Where the notices to inform a party go (`burgemeester`, `lokale-driehoek`, `gemeente`)."""
        return f"{self.prefix}loket.informeren.{partij}"

    @property
    def werk(self) -> tuple[str, ...]:
        """Where the work lands: the loket's triage desk and each house."""
        return (self.triage, *(self.zvh(z) for z in self.huizen))

    @property
    def outbound(self) -> tuple[str, ...]:
        return (*self.werk, *(self.informeren(p) for p in self.partijen))

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.inbound, self.dlq, *self.outbound)

    # Consumer groups: one per reading application, so each keeps its own offsets.

    @property
    def intake_group(self) -> str:
        return f"{self.prefix}loket.intake"

    def zvh_queue_group(self, zvh_id: str) -> str:
        return f"{self.prefix}loket.zvh-queue.{zvh_id}"
