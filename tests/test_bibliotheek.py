"""The eventsourcing library's internals the loket relies on (events/bibliotheek.py) are still there.

An upgrade of the library that renames or changes one fails here, naming it, before intake,
catch-up or the hash chain fail in some less telling way.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Iterable
from pathlib import Path

from eventsourcing.application import ProcessingEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from events.bibliotheek import INTERN
from loket.settings import postgres_env

ROOT = Path(__file__).parent.parent


def afwijkingen(voorbeelden: Iterable[object]) -> list[str]:
    """What of `INTERN` the installed library no longer has as the loket uses it (empty: all
    there). Attributes are looked for on the first of `voorbeelden` of their owner's type."""
    examples = list(voorbeelden)
    found: list[str] = []
    for intern in INTERN:
        where = f"{intern.owner.__qualname__}.{intern.name} (used by {intern.door})"
        if intern.parameters is None:
            example = next((e for e in examples if isinstance(e, intern.owner)), None)
            if example is None:
                found.append(f"{where}: no instance given to look for it on")
            elif not hasattr(example, intern.name):
                found.append(f"{where}: gone")
            continue
        member = getattr(intern.owner, intern.name, None)
        if not callable(member):
            found.append(f"{where}: gone")
            continue
        parameters = tuple(inspect.signature(member).parameters)
        if parameters != intern.parameters:
            found.append(f"{where}: parameters are now {parameters}, not {intern.parameters}")
    return found


def voorbeelden(tmp_path: Path) -> list[object]:
    """Instances of the library's own SQLite classes, made as it makes them."""
    sqlite = SQLiteDatastore(str(tmp_path / "events.sqlite"))
    return [ProcessingEvent(), sqlite, sqlite.pool]


def test_every_internal_the_loket_uses_is_in_the_installed_library_as_it_is_used(tmp_path, postgres):
    env = postgres_env(postgres.new_database())
    datastore = PostgresDatastore(env["POSTGRES_DBNAME"], env["POSTGRES_HOST"], env["POSTGRES_PORT"],
                                  env["POSTGRES_USER"], env["POSTGRES_PASSWORD"])
    try:
        assert afwijkingen([*voorbeelden(tmp_path), datastore, PostgresApplicationRecorder(datastore)]) == []
    finally:
        datastore.close()


def test_a_changed_internal_is_named_with_what_changed(tmp_path, monkeypatch):
    def _insert_tracking(self, cursor, tracking, extra):  # as a later version of the library might have it
        raise AssertionError

    monkeypatch.setattr(SQLiteTrackingRecorder, "_insert_tracking", _insert_tracking)
    monkeypatch.delattr(ProcessingEvent, "__init__")  # its instances would no longer have `events`
    found = afwijkingen(voorbeelden(tmp_path))
    assert found[:3] == [
        "ProcessingEvent.events (used by sla_op): gone",
        "ProcessingEvent.saved_kwargs (used by sla_op): gone",
        "SQLiteTrackingRecorder._insert_tracking (used by schrijf_tracking): parameters are now "
        "('self', 'cursor', 'tracking', 'extra'), not ('self', 'c', 'tracking')",
    ]
    # Without PostgreSQL instances to look on, their attributes are not taken as there.
    assert [a.split(" (")[0] for a in found[3:]] == [
        "PostgresApplicationRecorder.sql_create_statements", "PostgresDatastore.enable_db_functions"]


def test_the_library_is_pinned_to_the_series_these_internals_were_checked_on():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "eventsourcing~=9.5.6" in dependencies
