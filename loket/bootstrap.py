"""The composition root: builds the application and its projections from settings."""

from __future__ import annotations

from dataclasses import dataclass

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.sqlite import SQLiteFactory
from eventsourcing.utils import Environment

from events.application import Loket
from loket.settings import Settings
from projections.caseload import CaseloadProjection, CaseloadView
from projections.runner import catch_up
from routing import Ruleset


@dataclass
class Systeem:
    settings: Settings
    app: Loket
    caseload: CaseloadProjection
    views: InfrastructureFactory

    def bij(self, **kwargs) -> int:
        """Bring the projections up to date with the event store."""
        return catch_up(self.app, self.caseload, **kwargs)

    def close(self) -> None:
        self.app.close()
        if self.views is not self.app.factory:
            self.views.close()


def bootstrap(settings: Settings | None = None, ruleset: Ruleset | None = None) -> Systeem:
    settings = settings or Settings.from_env()
    app = Loket(env=settings.event_store_env(), ruleset=ruleset)
    views = _views(app, settings)
    view = views.tracking_recorder(CaseloadView)
    return Systeem(settings=settings, app=app, caseload=CaseloadProjection(view), views=views)


def _views(app: Loket, settings: Settings) -> InfrastructureFactory:
    """Where the projections keep their rows and tracking positions.

    With SQLite, beside the events. The caseload view is SQLite-only for now, so
    with PostgreSQL as event store it lives in the SQLite file LOKET_DB (rows and
    tracking still commit together: exactly once holds) until it moves to PostgreSQL.
    """
    if settings.database_url is None:
        return app.factory
    return SQLiteFactory(Environment(app.name, {"SQLITE_DBNAME": str(settings.db)}))
