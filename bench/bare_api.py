"""A bare FastAPI app for bench/api.py: what any FastAPI service on the same machine costs.

`/health` answers a constant; `/meldingen/{id}` reads one row (the melding's first event) from
the same SQLite file the loket serves. Two flavours of each route, as FastAPI offers them:
`def` (run in the thread pool: FastAPI's advice for blocking I/O such as sqlite3) at `/sync/...`,
and `async def` (on the event loop) at `/async/...`. No middleware, no authentication, no logs.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from typing import Any

from fastapi import FastAPI

app = FastAPI()
DB = os.environ["LOKET_DB"]
_local = threading.local()
READ = "SELECT originator_version, topic FROM stored_events WHERE originator_id = ? ORDER BY originator_version LIMIT 1"


def _conn() -> sqlite3.Connection:
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(DB, check_same_thread=False)
    return conn


def _row(melding_id: str) -> dict[str, Any]:
    row = _conn().execute(READ, (melding_id.replace("-", ""),)).fetchone()
    return {"melding_id": melding_id, "versie": row[0] if row else None, "topic": row[1] if row else None}


@app.get("/sync/health")
def health_sync() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/async/health")
async def health_async() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/sync/meldingen/{melding_id}")
def melding_sync(melding_id: str) -> dict[str, Any]:
    return _row(melding_id)


@app.get("/async/meldingen/{melding_id}")
async def melding_async(melding_id: str) -> dict[str, Any]:
    return _row(melding_id)
