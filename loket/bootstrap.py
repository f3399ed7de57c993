"""The composition root: builds the application and its projections from settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from events.application import Loket
from events.datastore import Factory
from loket.settings import Settings
from projections import Projecties
from projections.replay import as_of
from projections.runner import catch_up
from routing import Ruleset


@dataclass
class Systeem:
    settings: Settings
    app: Loket
    projecties: Projecties
    views: InfrastructureFactory

    def bij(self, **kwargs: Any) -> int:
        """Bring the projections up to date with the event store."""
        return catch_up(self.app, self.projecties, **kwargs)

    def als_op(self, moment: datetime) -> Projecties:
        """The projections as they stood at `moment` (a fresh replay; live ones untouched)."""
        return as_of(self.app, moment)

    def close(self) -> None:
        self.app.close()
        if self.views is not self.app.factory:
            self.views.close()


def bootstrap(settings: Settings | None = None, ruleset: Ruleset | None = None) -> Systeem:
    settings = settings or Settings.from_env()
    app = Loket(env=settings.event_store_env(), ruleset=ruleset)
    views = _views(app, settings)
    projecties = views.tracking_recorder(Projecties)
    return Systeem(settings=settings, app=app, projecties=projecties, views=views)


def _views(app: Loket, settings: Settings) -> InfrastructureFactory:
    """Where the projections keep their rows and tracking positions.

    With SQLite, beside the events. The projection store is SQLite-only for now, so
    with PostgreSQL as event store it lives in the SQLite file LOKET_DB (rows and
    tracking still commit together: exactly once holds) until it moves to PostgreSQL.
    """
    if settings.database_url is None:
        return app.factory
    return Factory(Environment(app.name, {"SQLITE_DBNAME": str(settings.db)}))
