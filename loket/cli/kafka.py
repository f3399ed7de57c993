"""Kafka commands: `loket consume`, `loket relay`, `loket zvh-queue`.

The long-running ones stop on SIGTERM or SIGINT: the batch in hand is finished and
committed first, then they exit 0. A broker that is away is waited for, never a crash.
The Kafka client is imported inside the commands that use it, so that the other
commands of `loket` start faster.
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from rich.console import Console
from rich.table import Table

from consumers.topics import Topics
from loket import logs
from loket.bootstrap import Schrijfslot, onbereikbaar
from loket.cli.basis import CommandoFout, dienst, emit, gebruiker
from loket.metrics import CONSUMER_LAG, REGISTRY
from loket.service import Dienst, Inname
from loket.settings import Settings
from routing.gemeenten import default_register

if TYPE_CHECKING:
    from consumers.messages import Outgoing

log = structlog.get_logger(__name__)

T = TypeVar("T")


# Shared by the commands --------------------------------------------------------------


@contextmanager
def _until_signal() -> Iterator[threading.Event]:
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _when_broker_answers(make: Callable[[], T], stop: threading.Event) -> T | None:
    """`make()` once the broker answers; None if stopped first."""
    from kafka.errors import KafkaError

    while not stop.is_set():
        try:
            return make()
        except KafkaError as exc:
            log.warning("kafka.unreachable", error=type(exc).__name__)
            stop.wait(1.0)
    return None


def _topics(d: Dienst, stop: threading.Event) -> Topics | None:
    """The topics, created where missing; None if stopped before the broker answered."""
    from consumers import clients

    settings = d.systeem.settings
    logs.configure(settings.log_format)
    topics = d.systeem.topics
    def create() -> bool:
        clients.ensure_topics(settings.kafka, topics.all)
        return True

    return topics if _when_broker_answers(create, stop) else None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def _huizen() -> tuple[str, ...]:
    """The houses of the gemeente register: those that have a queue."""
    return tuple(default_register().zvh_namen)


def _zvh(value: str) -> str:
    if value not in _huizen():
        raise argparse.ArgumentTypeError(f"unknown zvh {value!r} (one of: {', '.join(_huizen())})")
    return value


@dataclass
class _Proces:
    """What a long-running Kafka command has: its settings, store, topics and publisher."""

    settings: Settings
    stop: threading.Event
    dienst: Dienst
    topics: Topics
    publisher: Any


@contextmanager
def _proces(*, slot: str | None = None, standby: bool = False) -> Iterator[_Proces | None]:
    """Set up until SIGTERM; None if stopped before the broker answered. `slot`: the single writer's
    lock (loket/bootstrap.py `Schrijfslot`) the command holds for its lifetime, taken before anything
    else: held by another process, SlotBezet (exit 5, one line), or with `standby` wait for it
    (None if stopped meanwhile)."""
    settings = Settings.from_env()
    with _until_signal() as stop, dienst(settings) as d, _enige(d, slot, stop, standby) as gehouden:
        if gehouden is False:
            yield None
            return
        topics = _topics(d, stop)
        if topics is None:
            yield None
            return
        publisher = _publisher(settings, gehouden)
        try:
            yield _Proces(settings, stop, d, topics, publisher)
        finally:
            publisher.close()


# The one relay --------------------------------------------------------------------

BEZET = {"relay": "another relay publishes the events of this store"}
STANDBY_SECONDS = 1.0  # how often one standing by tries the lock


@contextmanager
def _enige(d: Dienst, naam: str | None, stop: threading.Event, standby: bool) -> Iterator[Schrijfslot | bool | None]:
    """Hold the lock `naam` of this store for the body, and yield it (None: no lock asked for;
    False: stopped while standing by)."""
    if naam is None:
        yield None
        return
    slot = Schrijfslot(d.systeem.settings, naam)
    with slot.vasthouden(stop, bezet=BEZET[naam], wachten=standby, interval=STANDBY_SECONDS) as gehouden:
        if not gehouden:
            yield False
            return
        log.info("writer.lock", lock=naam, standby=standby)
        yield slot


def _publisher(settings: Settings, slot: Schrijfslot | bool | None) -> Any:
    """The command's publisher. Holding a single writer's lock, it makes sure before each batch that
    the lock is still its own: a PostgreSQL session can end under it (a restarted server), and it
    is taken again; if another process took it meanwhile, SlotBezet: the command stops (exit 5)
    rather than publish beside the other. While the server cannot be reached, the store's
    connection error, which the loop waits out as for any other store call."""
    from eventsourcing.persistence import OperationalError

    from consumers import clients

    def producer() -> Any:
        return clients.producer(settings.kafka)

    if not isinstance(slot, Schrijfslot):
        return clients.Publisher(producer)
    held = slot

    class AlsEnige(clients.Publisher):
        def publish(self, messages: Iterable[Outgoing]) -> int:
            try:
                held.bevestig()  # SlotBezet if another process holds it now
            except Exception as exc:
                if not onbereikbaar(exc):
                    raise
                raise OperationalError(f"the {held.naam} lock cannot be confirmed: {type(exc).__name__}") from exc
            return super().publish(messages)

    return AlsEnige(producer)


# consume -----------------------------------------------------------------------------


def cmd_consume(args: argparse.Namespace) -> int:
    from consumers import clients
    from consumers.inbound import InboundConsumer

    if args.metrics_port:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, registry=REGISTRY)  # a daemon thread: ends with us
    with _proces() as p:
        if p is None:
            return 0
        group = p.topics.intake_group
        consumer = _when_broker_answers(lambda: clients.consumer(p.settings.kafka, group=group), p.stop)
        if consumer is None:
            return 0
        inname = Inname(p.dienst, gebruiker(p.dienst))
        inbound = InboundConsumer(inname, consumer, p.publisher, p.topics, batch=args.batch, lag=CONSUMER_LAG)
        try:
            counts = inbound.run(p.stop)
        finally:
            consumer.close(autocommit=False)
    emit({
        "received": counts.total(),
        "new": counts["nieuw"],
        "duplicates": counts["duplicaat"],
        "rejected": counts["afgewezen"],
        "dead_lettered": inbound.dead_lettered,
    })
    return 0


# relay -------------------------------------------------------------------------------


def cmd_relay(args: argparse.Namespace) -> int:
    from consumers.relay import OutboxRelay

    with _proces(slot="relay", standby=args.standby) as p:
        if p is None:
            return 0
        relay = OutboxRelay(p.dienst.app, p.dienst.systeem.tracking_recorder(), p.publisher, p.topics)
        replayed = 0
        if args.replay_from is not None:
            replayed = _when_broker_answers(lambda: relay.replay(args.replay_from), p.stop) or 0
        relay.run(p.stop, page_size=args.page)
        emit({"published": relay.published, "replayed": replayed, "position": relay.position()})
    return 0


# zvh-queue ---------------------------------------------------------------------------


def _queue_table(zvh: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Wachtrij {zvh} ({len(rows)})")
    for column in ("melding", "bron", "kenmerk", "product", "gemeente", "ontvangen", "status"):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["melding_id"], r["bron"], r["kenmerk"], r["product"] or "", r["gemeente"] or "",
            r["ontvangen_op"][:10], r["status"],
        )
    return table


def cmd_zvh_queue(args: argparse.Namespace) -> int:
    from consumers.zvh_queue import ZvhQueueView

    settings = Settings.from_env()
    view = ZvhQueueView(Path(args.queue_db or f"zvh-queue-{args.zvh}.sqlite"), args.zvh)
    try:
        if args.accept or args.return_:
            return _act(args, settings, view)
        if args.follow or args.sync:
            _read_topic(settings, view, follow=args.follow)
        if args.follow:
            return 0
        rows = view.rows(everything=args.all)
    finally:
        view.close()
    if args.json:
        emit(rows)
    else:
        Console().print(_queue_table(args.zvh, rows))
    return 0


def _act(args: argparse.Namespace, settings: Settings, view: Any) -> int:
    """A worker of the house accepts or returns a melding of its queue (as LOKET_USER in LOKET_ROLE).

    The house's view changes when the relay's message about it comes back on the topic."""
    from loket.cli.levensloop import samenvatting

    if args.accept and not args.regisseur:
        raise CommandoFout("--accept needs --regisseur: who takes procesregie")
    if args.return_ and not args.reason:
        raise CommandoFout("--return needs --reason: why the house sends it back")
    with dienst(settings) as d:
        melding = d.melding_id_van(args.accept or args.return_)
        if not view.in_queue(str(melding)):
            raise CommandoFout(f"melding {melding} is not open in the queue of {view.zvh} "
                               "(read the topic first: --sync)")
        if args.accept:
            done = d.handel(gebruiker(d), "accept", melding, regisseur=args.regisseur)
        else:
            done = d.handel(gebruiker(d), "return", melding, reden=args.reason)
    emit(samenvatting(done))
    return 0


def _read_topic(settings: Settings, view: Any, *, follow: bool) -> None:
    from consumers import clients
    from consumers.zvh_queue import ZvhQueueConsumer

    topics = Topics(settings.kafka_topic_prefix, huizen=_huizen())
    with _until_signal() as stop:
        logs.configure(settings.log_format)
        consumer = _when_broker_answers(
            lambda: clients.consumer(settings.kafka, group=topics.zvh_queue_group(view.zvh)), stop
        )
        if consumer is None:
            return
        reader = ZvhQueueConsumer(view, consumer, topics.zvh(view.zvh))
        try:
            if follow:
                reader.run(stop)
            else:
                try:
                    reader.sync()
                except TimeoutError as exc:
                    raise CommandoFout(str(exc)) from None
            log.info("zvh-queue.read", zvh=view.zvh, applied=reader.applied, duplicates=reader.duplicates)
        finally:
            consumer.close(autocommit=False)


def register(command: Callable[..., argparse.ArgumentParser]) -> None:
    sp = command(
        "consume", cmd_consume,
        "store meldingen from the inbound Kafka topics (LOKET_KAFKA) until SIGTERM",
    )
    sp.add_argument("--batch", type=_positive, default=500, help="messages per poll and transaction (default 500)")
    sp.add_argument(
        "--metrics-port", type=_positive, metavar="PORT",
        help="serve the metrics (loket_consumer_lag) for Prometheus on this port",
    )

    sp = command(
        "relay", cmd_relay,
        "publish routing decisions and lifecycle changes to the ZVH topics until SIGTERM",
    )
    sp.add_argument(
        "--page", type=_positive, default=2_000,
        help="events per published page: a crash re-sends at most one (default 2000)",
    )
    sp.add_argument(
        "--replay-from", type=int, metavar="NOTIFICATION",
        help="first publish again everything after this notification id up to the tracked position",
    )
    sp.add_argument(
        "--standby", action="store_true",
        help="while another relay publishes the events of this store: wait to take over "
        "(without it, this one stops with exit code 5)",
    )

    sp = command("zvh-queue", cmd_zvh_queue, "a ZVH's own queue of routed meldingen, read from its topic")
    sp.add_argument("--zvh", type=_zvh, required=True, help="the house: " + ", ".join(_huizen()))
    sp.add_argument("--queue-db", help="the house's own queue file (default zvh-queue-<zvh>.sqlite)")
    what = sp.add_mutually_exclusive_group()
    what.add_argument("--sync", action="store_true", help="read the topic up to now, then list")
    what.add_argument("--follow", action="store_true", help="keep reading the topic until SIGTERM")
    what.add_argument("--accept", metavar="MELDING", help="accept a melding of the queue (id or BRON:KENMERK)")
    what.add_argument("--return", dest="return_", metavar="MELDING", help="send a melding back to the loket")
    sp.add_argument("--regisseur", help="with --accept: who takes procesregie")
    sp.add_argument("--reason", help="with --return: why")
    sp.add_argument("--list", action="store_true", help="list the open work (the default)")
    sp.add_argument("--all", action="store_true", help="list every melding the house has heard of")
    sp.add_argument("--json", action="store_true", help="rows as a JSON array")
