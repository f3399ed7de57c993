"""Read models built from the notification log: caseload, triage, deadlines, statistics, audit,
retention, the access log and the parties to inform."""

from projections.audit import Audit
from projections.bewaring import Bewaring
from projections.caseload import Caseload
from projections.deadlines import Deadlines
from projections.informeren import Informeren
from projections.store import ProjectionStore
from projections.toegangslog import Toegangslog


class Projecties(ProjectionStore):
    """The loket's projections, together in one store."""

    projections = (Caseload, Deadlines, Audit, Bewaring, Toegangslog, Informeren)
