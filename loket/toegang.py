"""Who may see and do what: roles, the own house, and the restricted compartment.

Pure rules on values, no web framework: the HTTP API and the web pages ask the
same questions here. A user comes from a token today (`loket/tokens.py`) and
can come from an OIDC identity provider later; the rules do not care which.

- `intake`: the loket's own team; every melding except the restricted compartment.
- `zvh`: staff of one house; only meldingen routed to that house (its caseload or its
  queue); accept, return and close them.
- `auditor`: reads everything the role may see, the audit trail, and history as of a moment;
  changes nothing and reads no personal data.
- `admin`: runs the system: every action, but no personal data (`beheer` in the access log).
The `radicalisering` compartment (its own national convenant, seed 003) is unlocked by the
compartment flag alone: no role sees those meldingen without it, not even admin.
Reading personal data is decided once more, and logged, by `Loket.persoonsgegevens`
(events/toegang.py), in the access-log role `rol_in_logboek` gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from events import toegang as logboek
from events.melding import GESLOTEN, IN_BEHANDELING, OPEN, AfgewezenMelding, Melding

Rol = Literal["intake", "zvh", "auditor", "admin"]
ROLLEN: tuple[str, ...] = Rol.__args__  # type: ignore[attr-defined]
COMPARTIMENTEN: tuple[str, ...] = tuple(sorted(logboek.COMPARTIMENTEN))

Handeling = Literal[
    "ontvangen", "lezen", "audit", "als_op", "triage", "persoonsgegevens",
    "accept", "return", "close", "reroute", "decide", "topx",
]

_MAG: dict[str, frozenset[str]] = {
    "ontvangen": frozenset({"intake", "admin"}),
    "lezen": frozenset(ROLLEN),
    "audit": frozenset(ROLLEN),
    "als_op": frozenset({"intake", "auditor", "admin"}),
    "triage": frozenset({"intake", "auditor", "admin"}),
    "persoonsgegevens": frozenset({"intake", "zvh"}),
    "accept": frozenset({"zvh", "admin"}),
    "return": frozenset({"zvh", "admin"}),
    "close": frozenset({"zvh", "intake", "admin"}),
    "reroute": frozenset({"intake", "admin"}),
    "decide": frozenset({"intake", "admin"}),
    "topx": frozenset({"intake", "admin"}),
}

# A house sees what is routed to it, while it is its work and after it closed it.
_ZVH_STATUSSEN = (OPEN, IN_BEHANDELING, GESLOTEN)


@dataclass(frozen=True, slots=True)
class Gebruiker:
    naam: str
    rol: Rol
    zvh: str | None = None
    compartimenten: frozenset[str] = field(default_factory=frozenset)

    def mag(self, handeling: Handeling) -> bool:
        return self.rol in _MAG[handeling]

    @property
    def rol_in_logboek(self) -> str:
        """The role as the access log (Loket.persoonsgegevens) knows it."""
        return {"intake": logboek.INTAKE, "auditor": logboek.AUDITOR, "admin": logboek.BEHEER}.get(
            self.rol, f"{logboek.ZVH}{self.zvh}")

    def as_dict(self) -> dict[str, Any]:
        return {"naam": self.naam, "rol": self.rol, "zvh": self.zvh,
                "compartimenten": sorted(self.compartimenten)}


@dataclass(frozen=True, slots=True)
class Kenmerken:
    """What access to one melding depends on; no personal data."""

    compartiment: str | None
    zvh: str | None
    queue: str | None
    status: str

    @classmethod
    def van(cls, melding: Melding | AfgewezenMelding) -> Kenmerken:
        # The aggregate knows its compartment (a rejected one too, from what could be read of it).
        b = melding.beslissing
        return cls(melding.compartiment, b.zvh if b else None, b.queue if b else None, melding.status)

    @classmethod
    def uit_rij(cls, row: dict[str, Any]) -> Kenmerken:
        """From a caseload projection row (compartiment, zvh, queue, status). The row keeps the
        compartment a melding was ever in, as the aggregate does."""
        compartiment = row.get("compartiment") or logboek.compartiment_van(row.get("soort"), row.get("product"))
        return cls(compartiment, row.get("zvh"), row.get("queue"), row["status"])

    @property
    def huizen(self) -> set[str]:
        """The house owning the caseload and the house whose queue holds the work (VIA)."""
        return {h for h in (self.zvh, (self.queue or "").partition("/")[0]) if h}


def mag_zien(gebruiker: Gebruiker, kenmerken: Kenmerken) -> bool:
    compartiment = kenmerken.compartiment
    if compartiment is not None and compartiment not in gebruiker.compartimenten:
        return False
    if gebruiker.rol == "zvh":
        return kenmerken.status in _ZVH_STATUSSEN and gebruiker.zvh in kenmerken.huizen
    return True


def mag_rij_zien(gebruiker: Gebruiker, zvh: str | None, product: str | None) -> bool:
    """For counts per house and product (caseload, statistics), counted without the meldingen of
    compartments the user does not hold (projections/caseload.py leaves them out)."""
    compartiment = logboek.compartiment_van(None, product)
    if compartiment is not None and compartiment not in gebruiker.compartimenten:
        return False
    return gebruiker.rol != "zvh" or zvh == gebruiker.zvh
