"""Who may see and do what: roles, the own house, and the restricted compartment.

Pure rules on values, no web framework: the HTTP API and the web pages ask the
same questions here. A user comes from a token today (`loket/tokens.py`) and
can come from an OIDC identity provider later; the rules do not care which.

- `intake`: the loket's own team; every melding except the restricted compartment.
- `zvh`: staff of one house; only meldingen routed to that house (its caseload or its
  queue); accept, return and close them.
- `auditor`: reads everything the role may see, the audit trail, and history as of a moment;
  changes nothing and reads no personal data.
- `admin`: every action.
The `radicalisering` compartment (its own national convenant, seed 003) is unlocked by the
compartment flag alone: no role sees those meldingen without it, not even admin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from events.melding import GESLOTEN, IN_BEHANDELING, OPEN, AfgewezenMelding, Melding

Rol = Literal["intake", "zvh", "auditor", "admin"]
ROLLEN: tuple[str, ...] = Rol.__args__  # type: ignore[attr-defined]
COMPARTIMENTEN = ("radicalisering",)

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
    "persoonsgegevens": frozenset({"intake", "zvh", "admin"}),
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

    def as_dict(self) -> dict[str, Any]:
        return {"naam": self.naam, "rol": self.rol, "zvh": self.zvh,
                "compartimenten": sorted(self.compartimenten)}


@dataclass(frozen=True, slots=True)
class Kenmerken:
    """What access to one melding depends on; no personal data."""

    soort: str | None
    product: str | None
    zvh: str | None
    queue: str | None
    status: str

    @classmethod
    def van(cls, melding: Melding | AfgewezenMelding) -> Kenmerken:
        if isinstance(melding, AfgewezenMelding):
            return cls(_soort_uit(melding.payload), None, None, None, melding.status)
        b = melding.beslissing or {}
        return cls(melding.soort, b.get("product"), b.get("zvh"), b.get("queue"), melding.status)

    @classmethod
    def uit_rij(cls, row: dict[str, Any]) -> Kenmerken:
        """From a caseload projection row (melding_id, soort, product, zvh, queue, status)."""
        return cls(row.get("soort"), row.get("product"), row.get("zvh"), row.get("queue"), row["status"])

    @property
    def compartiment(self) -> str | None:
        # Once received under the convenant, a melding stays there, wherever it is routed.
        if "radicalisering" in (self.soort, self.product):
            return "radicalisering"
        return None

    @property
    def huizen(self) -> set[str]:
        """The house owning the caseload and the house whose queue holds the work (VIA)."""
        return {h for h in (self.zvh, (self.queue or "").partition("/")[0]) if h}


def _soort_uit(payload: str) -> str | None:
    """A rejected melding's soort, where it can be read: it decides the compartment."""
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        return None
    soort = data.get("soort") if isinstance(data, dict) else None
    return soort if isinstance(soort, str) else None


def mag_zien(gebruiker: Gebruiker, kenmerken: Kenmerken) -> bool:
    compartiment = kenmerken.compartiment
    if compartiment is not None and compartiment not in gebruiker.compartimenten:
        return False
    if gebruiker.rol == "zvh":
        return kenmerken.status in _ZVH_STATUSSEN and gebruiker.zvh in kenmerken.huizen
    return True


def mag_rij_zien(gebruiker: Gebruiker, zvh: str | None, product: str | None) -> bool:
    """For counts per house and product (caseload, statistics)."""
    if product == "radicalisering" and "radicalisering" not in gebruiker.compartimenten:
        return False
    return gebruiker.rol != "zvh" or zvh == gebruiker.zvh
