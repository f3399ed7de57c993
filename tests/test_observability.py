"""Metrics, dashboard and logs fit together: what Grafana asks for exists, and logs keep secrets."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import structlog
import yaml

from events.toegang import Rol
from loket import logs, metrics
from loket.service import Dienst, Gebruiker
from tests.conftest import line

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def registered() -> dict[str, str]:
    """Every series name the registry can produce, mapped to its metric's name."""
    names = {}
    for family in metrics.REGISTRY.collect():
        for suffix in SUFFIXES[family.type]:
            names[family.name + suffix] = family.name
    return names


def dashboard_exprs() -> list[str]:
    board = json.loads((DEPLOY / "grafana" / "loket.json").read_text())
    return [t["expr"] for panel in board["panels"] for t in panel["targets"]]


def test_every_metric_is_prefixed_loket_and_on_the_dashboard_and_the_dashboard_asks_for_nothing_else():
    series = registered()
    assert series and all(name.startswith("loket_") for name in series)
    used = {m for expr in dashboard_exprs() for m in re.findall(r"\b(loket_[a-z_]+)", expr)}
    assert used <= set(series), used - set(series)
    assert {series[name] for name in used} == set(series.values())


def test_prometheus_scrapes_the_metrics_endpoint_of_loket_serve():
    config = yaml.safe_load((DEPLOY / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["loket-api"]["metrics_path"] == "/metrics"
    # Every replica of the api service of deploy/compose.yaml (found by its name), on the port
    # `loket serve` listens on there.
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    [found] = jobs["loket-api"]["dns_sd_configs"]
    [host], port = found["names"], str(found["port"])
    assert host in compose["services"]
    assert "serve" in compose["services"][host]["command"] and port in " ".join(compose["services"][host]["command"])


def test_a_field_the_contract_does_not_know_is_one_label_not_a_new_series_per_key():
    assert metrics.afwijzingsreden("persoon.bsn") == "persoon.bsn"
    assert metrics.afwijzingsreden("melding") == "melding"
    assert metrics.afwijzingsreden("Jan Jansen woont hier") == "onbekend-veld"
    # Under a known field too: the key itself may be a name (the probe's "Zwartbles 999990019").
    assert metrics.afwijzingsreden("signalen.buurman") == "onbekend-veld"
    assert metrics.afwijzingsreden("persoon.Zwartbles 999990019 Kwakkelstraat") == "onbekend-veld"
    # List positions are one label, not one per position.
    assert metrics.afwijzingsreden("signalen.leefgebieden.17") == "signalen.leefgebieden.*"


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    structlog.reset_defaults()
    root.handlers[:], root.level = handlers, level


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_a_logged_failure_shows_no_local_variables(log_format, capsys, restore_logging):
    logs.configure(log_format)
    log = logs.logger("proef")
    logs.bind(request_id="r-1", melding_id="m-1")
    bsn = "111222333"  # a local a traceback renderer could print
    try:
        raise KeyError("kapot")
    except KeyError:
        log.error("mislukt", exc_info=True)
    logs.clear()
    out = capsys.readouterr().err
    assert bsn not in out
    assert "KeyError" in out and "r-1" in out and "m-1" in out
    if log_format == "json":
        line = json.loads(out.strip().splitlines()[-1])
        assert (line["event"], line["request_id"], line["melding_id"]) == ("mislukt", "r-1", "m-1")


def _counts() -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in metrics.REGISTRY.collect() for s in family.samples if s.name.endswith("_total")}


def test_a_batch_is_counted_as_its_meldingen_one_by_one(systeem):
    """A Kafka batch is counted per distinct set of labels: the same counts as one melding at a time,
    duplicates, rejections and the radicalisering compartment (counted nowhere) included."""
    batch = [line(kenmerk="B-1"), line(kenmerk="B-2"), line(kenmerk="B-1"),  # a duplicate in the batch
             line(kenmerk="B-3", bron="politie", soort="via"),
             line(kenmerk="B-4", persoon={"bsn": "111111111"}), "{kapot",
             line(kenmerk="B-5", soort="radicalisering")]
    dienst = Dienst(systeem)
    before = _counts()
    dienst.ontvang_batch(Gebruiker("anna", Rol("intake")), [b.encode() for b in batch])
    after = _counts()
    grew = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}

    def n(name: str, **labels: str) -> float:
        return grew.get((name, frozenset(labels.items())), 0)

    assert n("loket_meldingen_ontvangen_total", bron="gemeente", soort="aanmelding") == 2
    assert n("loket_meldingen_ontvangen_total", bron="politie", soort="via") == 1
    assert n("loket_meldingen_duplicaat_total") == 1
    assert n("loket_meldingen_afgewezen_total", reden="persoon.bsn") == 1
    assert sum(v for (name, _), v in grew.items() if name == "loket_meldingen_afgewezen_total") == 2
    assert sum(v for (name, _), v in grew.items() if name == "loket_beslissingen_total") == 3
    assert not any("radicalisering" in str(labels) for _, labels in grew)
