"""The production files: the compose file parses, has every part, and runs only commands the CLI
has; the image and the development install take the exact versions of the locks.

Docker is not on these machines, so the files are checked, not run. Each service's
`loket ...` command is parsed by the real CLI parser (`loket.cli.parser()`), options
included. Every run of `make test` installs from requirements-dev.lock itself.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from loket.cli import parser
from loket.cli.web import cmd_serve
from loket.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"

def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def loket_services() -> dict[str, list[str]]:
    return {
        name: service["command"]
        for name, service in compose()["services"].items()
        if isinstance(service.get("command"), list) and service["command"][:1] == ["loket"]
    }


SERVERS = ("postgres", "kafka", "prometheus", "grafana")


def test_the_compose_file_has_broker_database_engine_processes_and_monitoring():
    services = compose()["services"]
    assert {"kafka", "postgres", "api", "consumer", "relay", "relay-standby", "projections", "prometheus",
            "grafana"} <= set(services)
    assert not any("zookeeper" in name for name in services)


def test_kafka_runs_in_kraft_mode_as_broker_and_controller():
    env = compose()["services"]["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")


def test_the_engine_uses_postgresql_and_the_broker_of_the_compose_file():
    services = compose()["services"]
    for name in loket_services():
        env = services[name]["environment"]
        assert env["LOKET_DATABASE_URL"].startswith("postgresql://loket:")
        assert "@postgres:5432/" in env["LOKET_DATABASE_URL"]
        assert env["LOKET_KAFKA"] == "kafka:9092"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_only_the_projection_worker_writes_the_projections_the_api_only_reads():
    services = compose()["services"]
    for name, argv in loket_services().items():
        env = Settings.from_env(services[name]["environment"])
        if parser().parse_args(argv[1:]).handler is cmd_serve:
            assert not env.catch_up_on_read, name
    assert loket_services()["projections"][1:4] == ["projections", "catch-up", "--follow"]


def scrape_targets() -> set[str]:
    """service:port of every target: listed, or found by the service's name (each of its replicas)."""
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    listed = {t for job in config["scrape_configs"] for sc in job.get("static_configs", []) for t in sc["targets"]}
    found = {f"{name}:{sd['port']}" for job in config["scrape_configs"] for sd in job.get("dns_sd_configs", [])
             for name in sd["names"]}
    return listed | found


def metrics_endpoints() -> set[str]:
    """service:port of every engine process that serves metrics, read from its command by the CLI."""
    endpoints = set()
    for name, argv in loket_services().items():
        args = parser().parse_args(argv[1:])
        if args.handler is cmd_serve:  # /metrics beside the API
            endpoints.add(f"{name}:{args.port}")
        elif getattr(args, "metrics_port", None):
            endpoints.add(f"{name}:{args.metrics_port}")
    return endpoints


def test_prometheus_scrapes_every_service_of_the_compose_file_that_serves_metrics():
    endpoints = metrics_endpoints()
    # the API's counters, the consumer's lag, the projections' lag
    assert {e.split(":")[0] for e in endpoints} >= {"api", "consumer", "projections"}
    assert endpoints <= scrape_targets()


def test_prometheus_scrapes_only_services_of_the_compose_file():
    services = set(compose()["services"])
    assert all(t.split(":")[0] in services | {"localhost"} for t in scrape_targets())


@pytest.mark.parametrize(
    "service",
    [
        name
        for name in sorted(loket_services())
    ],
)
def test_every_service_runs_a_command_the_loket_cli_accepts(service):
    argv = loket_services()[service][1:]
    try:
        args = parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"loket {' '.join(argv)}: not accepted by the CLI")
    assert callable(args.handler)


def test_every_engine_process_reads_the_master_key_from_a_secret_not_the_environment():
    spec = compose()
    for name in loket_services():
        service = spec["services"][name]
        secret = Path(service["environment"]["LOKET_MASTER_KEY_FILE"]).name
        assert secret in service["secrets"] and secret in spec["secrets"]
        assert "LOKET_MASTER_KEY" not in service["environment"]


def test_grafana_is_provisioned_with_the_dashboard_and_prometheus():
    mounts = [v.split(":")[0] for v in compose()["services"]["grafana"]["volumes"] if v.startswith("./")]
    assert {"./grafana/datasources.yaml", "./grafana/dashboards.yaml", "./grafana/loket.json"} <= set(mounts)
    assert all((DEPLOY / m).is_file() for m in mounts)


# Locks -----------------------------------------------------------------------------------


def locked(lock: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of a lock written by `make lock`."""
    pins: dict[str, tuple[str, int]] = {}
    for entry in re.split(r"\n(?=\S)", (ROOT / lock).read_text(encoding="utf-8")):
        found = re.match(r"([A-Za-z0-9._-]+)==([^ ;\\]+)", entry)
        if found:
            pins[canonicalize_name(found.group(1))] = (found.group(2), entry.count("--hash=sha256:"))
    return pins


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in project["dependencies"]] + [
        Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()),
                                              ("requirements-dev.lock", ("test", "lint"))])
def test_a_lock_pins_every_dependency_of_pyproject_within_its_range_with_hashes(lock, extras):
    pins = locked(lock)
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {lock}: run `make lock`"
        version, hashes = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), \
            f"{lock} pins {name}=={version}, outside {requirement}: run `make lock`"
        assert hashes, f"{name} has no hash in {lock}"


def test_the_tests_run_on_the_versions_the_image_runs():
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {n: v for n, (v, _) in runtime.items()} == {n: dev[n][0] for n in runtime if n in dev}
    assert set(runtime) <= set(dev)


def dockerfile() -> list[list[str]]:
    """The Dockerfile's instructions, each as its words (continued lines joined)."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    return [shlex.split(line) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_the_image_installs_the_locked_versions_with_hashes_then_the_engine_without_dependencies():
    steps = dockerfile()
    copied = {words[-1]: words[1:-1] for words in steps if words[0] == "COPY"}
    installs = [words for words in steps if words[0] == "RUN" and "pip" in words and "install" in words]
    assert len(installs) == 2, installs
    locked_install, engine = installs
    lock = locked_install[locked_install.index("-r") + 1]
    assert "--require-hashes" in locked_install and copied[lock] == ["requirements.lock"]
    assert "--no-deps" in engine  # nothing beside the lock: every version in the image is a locked one
    assert steps.index(locked_install) < steps.index(engine)


def test_the_lock_is_in_the_image_build_context():
    ignored = [line for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
               if line.strip() and not line.startswith("#")]
    assert (ROOT / "requirements.lock").is_file()
    assert not any(fnmatch.fnmatch("requirements.lock", pattern) for pattern in ignored)


def test_the_keys_live_in_a_database_of_their_own_under_a_role_of_their_own():
    """The events' role cannot read the keys and the keys' role cannot read the events: two URLs with
    two roles and two databases, made by the init script, each closed to everyone but its owner."""
    services = compose()["services"]
    for name in loket_services():
        env = services[name]["environment"]
        events, keys = env["LOKET_DATABASE_URL"], env["LOKET_KEYSTORE_URL"]
        assert keys.startswith("postgresql://loket_keys:") and keys.endswith("@postgres:5432/loket_keys")
        assert events.endswith("/loket") and "LOKET_KEYSTORE" not in env  # no key file on the volume
    postgres = services["postgres"]
    assert postgres["environment"]["POSTGRES_USER"] not in ("loket", "loket_keys")  # neither is the superuser
    assert "./postgres-init:/docker-entrypoint-initdb.d:ro" in postgres["volumes"]
    init = (DEPLOY / "postgres-init" / "10-roles.sh").read_text(encoding="utf-8")
    for role in ("loket", "loket_keys"):
        assert f"CREATE ROLE {role} LOGIN PASSWORD" in init and f"CREATE DATABASE {role} OWNER {role};" in init
        assert f"REVOKE CONNECT, TEMPORARY ON DATABASE {role} FROM PUBLIC;" in init
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    assert {"POSTGRES_PASSWORD", "LOKET_DATABASE_PASSWORD", "LOKET_KEYSTORE_PASSWORD"} <= set(
        re.findall(r"^([A-Z_]+)=", example, re.MULTILINE))


# Nothing on local disk: every engine process can run on any host -----------------------


def replicas(service: dict) -> int:
    return int(service.get("deploy", {}).get("replicas", 1))


def named_volumes(service: dict) -> set[str]:
    """The named volumes a service mounts (a bind of a file of deploy/ or a path is not one)."""
    names = set()
    for mount in service.get("volumes", []):
        source = mount["source"] if isinstance(mount, dict) else mount.split(":")[0]
        if not source.startswith((".", "/", "~")):
            names.add(source)
    return names


def test_no_volume_is_shared_between_two_services_each_server_keeps_its_own():
    spec = compose()
    users: dict[str, list[str]] = {}
    for name, service in spec["services"].items():
        for volume in named_volumes(service):
            users.setdefault(volume, []).append(name)
    assert all(len(names) == 1 for names in users.values()), users
    assert {names[0] for names in users.values()} <= set(SERVERS), users  # data of a server, nothing else
    assert set(spec["volumes"]) == set(users)  # no volume declared for something else


def test_no_engine_service_mounts_a_volume_or_may_write_its_file_system():
    """The loket keeps its state in PostgreSQL; a replica on another host needs no file of this one
    (tests/kafka/test_kafka_geen_bestanden.py shows the processes write none)."""
    services = compose()["services"]
    for name in loket_services():
        service = services[name]
        assert "volumes" not in service, name
        assert service.get("read_only") is True, name
        assert not {"LOKET_DB", "LOKET_KEYSTORE", "LOKET_MASTER_KEY"} & set(service["environment"]), name


def test_the_api_runs_as_two_replicas_without_a_clash_of_host_ports():
    services = compose()["services"]
    assert replicas(services["api"]) == 2
    published: list[int] = []
    for name, service in services.items():
        for port in service.get("ports", []):
            host = str(port).rsplit(":", 1)[0]
            first, _, last = host.partition("-")
            ports = list(range(int(first), int(last or first) + 1))
            assert len(ports) >= replicas(service), f"{name}: {replicas(service)} replicas on {host}"
            published += ports
    assert len(published) == len(set(published)), published


def commands() -> list[tuple[str, int, object]]:
    """(service, replicas, parsed arguments) of every engine process."""
    services = compose()["services"]
    return [(name, replicas(services[name]), parser().parse_args(argv[1:])) for name, argv in loket_services().items()]


def test_one_projection_worker_one_relay_and_one_standing_by_consumers_up_to_the_partitions():
    from consumers.clients import PARTITIONS
    from loket.cli.kafka import cmd_consume, cmd_relay
    from loket.cli.overzichten import cmd_catch_up

    workers = [(n, r) for n, r, args in commands()
               if getattr(args, "projections_handler", None) is cmd_catch_up and args.follow]
    assert workers == [("projections", 1)]
    relays = [(n, r, args.standby) for n, r, args in commands() if args.handler is cmd_relay]
    assert sorted(relays) == [("relay", 1, True), ("relay-standby", 1, True)]
    consumers = [r for _, r, args in commands() if args.handler is cmd_consume]
    assert 1 <= sum(consumers) <= PARTITIONS
