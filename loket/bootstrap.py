"""The composition root: builds the application and its projections from settings."""

from __future__ import annotations

from dataclasses import dataclass

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

    def bij(self, **kwargs) -> int:
        """Bring the projections up to date with the event store."""
        return catch_up(self.app, self.caseload, **kwargs)

    def close(self) -> None:
        self.app.close()


def bootstrap(settings: Settings | None = None, ruleset: Ruleset | None = None) -> Systeem:
    settings = settings or Settings.from_env()
    app = Loket(env=settings.event_store_env(), ruleset=ruleset)
    view = app.factory.tracking_recorder(CaseloadView)
    return Systeem(settings=settings, app=app, caseload=CaseloadProjection(view))
