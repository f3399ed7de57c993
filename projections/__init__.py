"""Read models built from the notification log: caseload, triage, deadlines, statistics, audit."""

from projections.audit import Audit
from projections.caseload import Caseload
from projections.deadlines import Deadlines
from projections.store import ProjectionStore


class Projecties(ProjectionStore):
    """The loket's projections, together in one store."""

    projections = (Caseload, Deadlines, Audit)
