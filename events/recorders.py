"""The event store's recorders, with one question added for bulk intake.

Group commit asks, for a whole batch, which meldingen are already stored. The
library's recorders answer that one aggregate at a time (a query per melding);
these answer it for the batch in one query on the primary key. Which recorder
is used is chosen by the environment (APPLICATION_RECORDER_TOPIC, set in
`loket.settings`), like the rest of the persistence; `Loket` falls back to one
query per melding on a store without them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

# SQLite allows 32766 bound parameters since 3.32; older builds only 999.
_CHUNK = 900


def _chunks(ids: Sequence[UUID], size: int = _CHUNK) -> Iterator[Sequence[UUID]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class SQLiteLoketRecorder(SQLiteApplicationRecorder):
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
