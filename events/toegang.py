"""Who may read a melding's personal data: role, house and compartment.

The API passes the caller's role and compartments from its authentication; the
CLI takes them from settings (LOKET_ROLE, LOKET_COMPARTIMENTEN). A refusal
says why in terms of the caller, never what the melding holds.

Compartments: radicalisering casuïstiek is shared "onder een apart landelijk
convenant" (seed 003) and worked within the Modelconvenant NCTV (seed 002), so
its personal data is sealed under a compartment key and only callers holding
the compartment read it, whatever their role. Everyone else sees that such a
melding exists where they must (caseload counts, statistics, audit trail of
who did what), never its personal data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

RADICALISERING = "radicalisering"
COMPARTIMENTEN = frozenset({RADICALISERING})

INTAKE = "intake"  # the central loket's intake team: every melding (outside compartments)
ZVH = "zvh:"  # a house, e.g. "zvh:parkstad": the meldingen routed to it or waiting in its queues
AUDITOR = "auditor"  # replays the audit trail and the access log; never personal data
BEHEER = "beheer"  # runs the system (keys, verify, retention); never personal data
GEEN_PERSOONSGEGEVENS = (AUDITOR, BEHEER)


class GeenToegang(PermissionError):
    """A read of personal data was refused; it is recorded in the access log all the same."""


def rollen(zvh_ids: Iterable[str]) -> tuple[str, ...]:
    """Every role there is, for these houses."""
    return (INTAKE, *(ZVH + z for z in sorted(zvh_ids)), AUDITOR, BEHEER)


def compartiment_van(soort: str | None, product: str | None) -> str | None:
    """The compartment a melding's personal data belongs to, if any."""
    if RADICALISERING in (soort, product):
        return RADICALISERING
    return None


def weigering(
    *, rol: str, compartimenten: frozenset[str], compartiment: str | None, beslissing: dict[str, Any] | None,
    afgewezen: bool,
) -> str | None:
    """Why this caller may not read this melding's personal data; None when it may."""
    if compartiment is not None and compartiment not in compartimenten:
        return "the melding lies in a restricted compartment the caller does not hold"
    if rol == INTAKE:
        return None
    if rol in GEEN_PERSOONSGEGEVENS:
        return f"role {rol} does not read personal data"
    if rol.startswith(ZVH) and len(rol) > len(ZVH):
        house = rol[len(ZVH):]
        b = beslissing or {}
        if not afgewezen and (b.get("zvh") == house or str(b.get("queue") or "").startswith(house + "/")):
            return None
        return f"role {rol} reads only meldingen routed to its own house"
    return f"unknown role {rol!r}"
