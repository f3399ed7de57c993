"""The access log as auditors query it: every line of the Logboek Dataverwerkingen.

The lines themselves are events (events/logboek.py): append-only and under the
hash chain. This table is only their read model, rebuilt from them at will.
`doel` is a purpose's code from the register (older lines: the reader's own text);
a sealed toelichting on it stays in the event and is not copied here.
"""

from __future__ import annotations

from typing import Any

from events.logboek import Dataverwerking
from projections.store import Projection, ProjectionStore, Statement

_COLUMNS = ("trace_id", "span_id", "parent_span_id", "naam", "status", "begin", "eind", "verwerkingsactiviteit",
            "betrokkene", "betrokkene_type", "melding_id", "actor", "rol", "doel", "kanaal", "toegang", "weigering")
_INSERT = (f"INSERT INTO toegangslog ({', '.join(_COLUMNS)}) "
           f"VALUES ({', '.join(':' + c for c in _COLUMNS)}) ON CONFLICT (span_id) DO NOTHING")


def _vastgelegd(e: Any) -> list[Statement]:
    row = {c: getattr(e, c) for c in _COLUMNS}
    row.update(begin=e.begin.isoformat(), eind=e.eind.isoformat(), melding_id=str(e.melding_id))
    return [(_INSERT, row)]


class Toegangslog(Projection):
    name = "toegangslog"
    tables = ("toegangslog",)
    create = (
        f"""CREATE TABLE IF NOT EXISTS toegangslog (
            span_id TEXT PRIMARY KEY,
            {', '.join(f'{c} TEXT' for c in _COLUMNS if c != 'span_id')})""",
        "CREATE INDEX IF NOT EXISTS toegangslog_melding ON toegangslog (melding_id)",
        "CREATE INDEX IF NOT EXISTS toegangslog_actor ON toegangslog (actor)",
        "CREATE INDEX IF NOT EXISTS toegangslog_begin ON toegangslog (begin)",
        "CREATE INDEX IF NOT EXISTS toegangslog_betrokkene ON toegangslog (betrokkene)",
    )
    handlers = {Dataverwerking.DataverwerkingVastgelegd: _vastgelegd}


def _filter(melding_id: str | None, actor: str | None, van: str | None, tot: str | None,
            doel: str | None, betrokkene: str | None) -> tuple[str, dict[str, Any]]:
    # CAST: PostgreSQL cannot tell the type of a parameter that is only tested for NULL.
    return ("WHERE (CAST(:melding AS TEXT) IS NULL OR melding_id = :melding) "
            "AND (CAST(:actor AS TEXT) IS NULL OR actor = :actor) "
            "AND (CAST(:van AS TEXT) IS NULL OR begin >= :van) AND (CAST(:tot AS TEXT) IS NULL OR begin < :tot) "
            "AND (CAST(:doel AS TEXT) IS NULL OR doel = :doel) "
            "AND (CAST(:betrokkene AS TEXT) IS NULL OR betrokkene = :betrokkene)",
            {"melding": melding_id, "actor": actor, "van": van, "tot": tot, "doel": doel, "betrokkene": betrokkene})


ALLE = 1 << 62


def toegangslog(store: ProjectionStore, *, melding_id: str | None = None, actor: str | None = None,
                van: str | None = None, tot: str | None = None, doel: str | None = None,
                betrokkene: str | None = None, limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Log lines, oldest first, for one melding, one actor, a period (`van` inclusive, `tot`
    exclusive, UTC ISO times), one purpose and/or one subject (pseudonym); `limit` lines from `offset`."""
    where, params = _filter(melding_id, actor, van, tot, doel, betrokkene)
    return store.rows(
        f"SELECT {', '.join(_COLUMNS)} FROM toegangslog {where} ORDER BY begin NULLS FIRST, span_id "
        "LIMIT :limit OFFSET :offset",
        # No limit: one past any count (SQLite reads -1 as none, PostgreSQL refuses it).
        {**params, "limit": ALLE if limit is None else limit, "offset": offset},
    )


def toegangslog_telling(store: ProjectionStore, *, melding_id: str | None = None, actor: str | None = None,
                        van: str | None = None, tot: str | None = None, doel: str | None = None,
                        betrokkene: str | None = None) -> int:
    where, params = _filter(melding_id, actor, van, tot, doel, betrokkene)
    return int(store.rows(f"SELECT COUNT(*) AS n FROM toegangslog {where}", params)[0]["n"])
