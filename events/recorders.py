"""The event store's recorders, with what bulk intake asks of them.

Group commit asks, for a whole batch, which meldingen are already stored. The
library's recorders answer that one aggregate at a time (a query per melding);
these answer it for the batch in one query on the primary key. Which recorder
is used is chosen by the environment (APPLICATION_RECORDER_TOPIC, set in
`loket.settings`), like the rest of the persistence; `Loket` falls back to one
query per melding on a store without them.

They also keep, beside the events, which melding each `(bron, kenmerk)` is
(`melding_kenmerken`): a melding's id grows with time (events/melding.py), so
its (bron, kenmerk) cannot be hashed into it, and the duplicate check asks this
table instead. Its rows are inserted with the melding's events, in the same
transaction (`insert_events(..., kenmerken=[(bron, kenmerk, id)])`): a melding
is never stored without its row, nor a row without the melding, and a
(bron, kenmerk) that another writer stored first fails the whole insert as an
IntegrityError, as the same id did before. Meldingen stored before the table
was kept have no row; their id is still the hash of (bron, kenmerk), so intake
looks for that id too (`Loket._bestaande`). The table is keyed by
(bron, kenmerk): where a source numbers its kenmerken in time, as case numbers
go, a batch's rows go to a few places at the end of each source's range.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

# SQLite allows 32766 bound parameters since 3.32; older builds only 999.
_CHUNK = 900
KENMERKEN = "melding_kenmerken"
Kenmerk = tuple[str, str]  # (bron, kenmerk)


def _chunks(ids: Sequence[UUID], size: int = _CHUNK) -> Iterator[Sequence[UUID]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class SQLiteLoketRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {KENMERKEN} (bron TEXT NOT NULL, kenmerk TEXT NOT NULL, "
            "melding_id TEXT NOT NULL, PRIMARY KEY (bron, kenmerk)) WITHOUT ROWID",
        ]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if kenmerken := kwargs.get("kenmerken"):
            c.executemany(f"INSERT INTO {KENMERKEN} VALUES (?, ?, ?)",
                          [(bron, kenmerk, i.hex) for bron, kenmerk, i in kenmerken])
        return positions

    def melding_ids(self, kenmerken: Collection[Kenmerk]) -> dict[Kenmerk, UUID]:
        """The stored melding of each of these (bron, kenmerk) that has one (in the table)."""
        found: dict[Kenmerk, UUID] = {}
        wanted = list(kenmerken)
        with self.datastore.transaction(commit=False) as c:
            for i in range(0, len(wanted), _CHUNK // 2):
                chunk = wanted[i : i + _CHUNK // 2]
                c.execute(
                    # CROSS JOIN keeps the wanted rows outside: a search of the key for each.
                    f"WITH w(bron, kenmerk) AS (VALUES {','.join(['(?, ?)'] * len(chunk))}) "
                    f"SELECT k.bron, k.kenmerk, k.melding_id FROM w CROSS JOIN {KENMERKEN} k "
                    "ON k.bron = w.bron AND k.kenmerk = w.kenmerk",
                    [v for pair in chunk for v in pair],
                )
                found.update(((r[0], r[1]), UUID(r[2])) for r in c.fetchall())
        return found

    def existing(self, originator_ids: Collection[UUID]) -> set[UUID]:
        found: set[UUID] = set()
        with self.datastore.transaction(commit=False) as c:
            for chunk in _chunks(list(originator_ids)):
                c.execute(
                    f"SELECT DISTINCT originator_id FROM {self.events_table_name} "
                    f"WHERE originator_id IN ({','.join('?' * len(chunk))})",
                    [i.hex for i in chunk],
                )
                found.update(UUID(row["originator_id"]) for row in c.fetchall())
        return found


class PostgresLoketRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._kenmerken = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier(KENMERKEN))
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {} (bron TEXT NOT NULL, kenmerk TEXT NOT NULL, "
                "melding_id {} NOT NULL, PRIMARY KEY (bron, kenmerk))").format(
                self._kenmerken, Identifier(self.datastore.originator_id_type))
        )

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        positions = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        # After the events, so under the events table's lock: writers take turns, and a (bron,
        # kenmerk) another writer stored is committed already and fails here at once.
        # A cursor of its own: in the insert's pipeline, what this one is asked next would otherwise
        # get this statement's result.
        if kenmerken := kwargs.get("kenmerken"):
            with curs.connection.cursor() as own:
                own.executemany(SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self._kenmerken),
                                [(bron, kenmerk, self._id(i)) for bron, kenmerk, i in kenmerken])
        return positions

    def _id(self, originator_id: UUID) -> UUID | str:
        return str(originator_id) if self.datastore.originator_id_type == "text" else originator_id

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def melding_ids(self, kenmerken: Collection[Kenmerk]) -> dict[Kenmerk, UUID]:
        """The stored melding of each of these (bron, kenmerk) that has one (in the table)."""
        wanted = list(kenmerken)
        statement = SQL("SELECT k.bron, k.kenmerk, k.melding_id FROM {} k "
                        "JOIN unnest(%s::text[], %s::text[]) AS w(bron, kenmerk) "
                        "ON k.bron = w.bron AND k.kenmerk = w.kenmerk").format(self._kenmerken)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [[b for b, _ in wanted], [k for _, k in wanted]], prepare=True)
            return {(r["bron"], r["kenmerk"]): UUID(str(r["melding_id"])) for r in curs.fetchall()}

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def existing(self, originator_ids: Collection[UUID]) -> set[UUID]:
        statement = SQL("SELECT DISTINCT originator_id FROM {}.{} WHERE originator_id = ANY(%s)").format(
            Identifier(self.datastore.schema), Identifier(self.events_table_name)
        )
        ids: list[UUID] | list[str] = list(originator_ids)
        if self.datastore.originator_id_type == "text":
            ids = [str(i) for i in originator_ids]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, [ids], prepare=True)
            return {UUID(str(row["originator_id"])) for row in curs.fetchall()}
