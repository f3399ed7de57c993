"""Processes that start together on a fresh store: in production the consumer, the relay,
the projections and the API all start at once on an empty database."""

from __future__ import annotations

import os

from tests.conftest import run_together


def test_processes_starting_together_on_a_fresh_store_all_come_up(store):
    env = {**os.environ, "LOKET_DB": str(store.db), "LOKET_MASTER_KEY": "A" * 43 + "="}
    if store.database_url:
        env["LOKET_DATABASE_URL"] = store.database_url
    done = run_together("from loket.bootstrap import bootstrap", "bootstrap().close()", env)
    assert [p.stderr.strip().splitlines()[-1] for p in done if p.returncode != 0] == []
