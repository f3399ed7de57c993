"""The production compose file: it parses, has every part, and runs only commands the CLI has.

Docker is not on these machines, so the file is checked, not run. Each service's
`loket ...` command is parsed by the real CLI parser (`loket.cli.parser()`), options
included.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from loket.cli import parser
from loket.cli.web import cmd_serve

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"

def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def loket_services() -> dict[str, list[str]]:
    return {
        name: service["command"]
        for name, service in compose()["services"].items()
        if isinstance(service.get("command"), list) and service["command"][:1] == ["loket"]
    }


def test_the_compose_file_has_broker_database_engine_processes_and_monitoring():
    services = compose()["services"]
    assert {"kafka", "postgres", "api", "consumer", "relay", "projections", "prometheus", "grafana"} <= set(services)
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


def scrape_targets() -> set[str]:
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text(encoding="utf-8"))
    return {t for job in config["scrape_configs"] for sc in job["static_configs"] for t in sc["targets"]}


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
    assert {e.split(":")[0] for e in endpoints} >= {"api", "consumer"}  # the API's counters, the consumer's lag
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
