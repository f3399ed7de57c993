"""Time travel: the projections as they stood at a moment in the past.

Replays the notification log into a fresh in-memory store, keeping only events
recorded at or before the moment. It never writes to the live projections.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application

from events.datastore import Datastore
from projections import Projecties
from projections.runner import catch_up


def as_of(app: Application[Any], moment: datetime, *, page_size: int = 5_000) -> Projecties:
    if moment.tzinfo is None:
        raise ValueError("the moment must carry a time zone")
    datastore = Datastore(db_name=f"file:loket-as-of-{uuid4().hex}?mode=memory&cache=shared")
    store = Projecties(datastore)
    store.create_table()
    catch_up(app, store, until=moment, page_size=page_size)
    return store
