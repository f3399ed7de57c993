"""Read models built from the notification log: caseload, triage, deadlines, statistics, audit,
retention, the access log and the parties to inform; and the time line that maps a moment to a
position in the log, for reads "as of" a moment (the projections that keep history)."""

from datetime import datetime

from projections.audit import Audit
from projections.bewaring import Bewaring
from projections.caseload import Caseload
from projections.deadlines import Deadlines
from projections.informeren import Informeren
from projections.store import ProjectionStore
from projections.tellingen import Tellingen
from projections.tijdlijn import TijdlijnBasis, positie_op
from projections.toegangslog import Toegangslog

# What an as-of read reads: these keep history (or, append-only, each row's position).
HISTORISCH = (Caseload, Deadlines, Audit, Informeren, Tellingen)


class Tijdlijn(TijdlijnBasis):
    handlers = {event_class: lambda e: () for p in HISTORISCH for event_class in p.handlers}


class Projecties(ProjectionStore):
    """The loket's projections, together in one store."""

    projections = (Caseload, Deadlines, Audit, Bewaring, Toegangslog, Informeren, Tellingen, Tijdlijn)

    def als_op(self, moment: datetime, *, app_name: str) -> "Projecties":
        """The projections as they stood at `moment` (by recording time): the last position recorded
        at or before it, no further than every history-keeping projection has come."""
        positie = positie_op(self, moment)
        if positie:
            positie = min(positie, *(self.position(p, app_name) for p in (*HISTORISCH, Tijdlijn)))
        view = self.op(positie)
        assert isinstance(view, Projecties)
        return view
