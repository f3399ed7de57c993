"""Who may see what: the one role model and the one access check.

A role is a value: its kind, its house (for a house's staff) and the restricted
compartments it holds. Every adapter (API token, web session, CLI settings) makes one,
every use case asks `weigering` about it, and the access log writes it as text
(`intake`, `zvh:parkstad`, `auditor`, `beheer`). A refusal says why in terms of the
caller, never what the melding holds.

- `intake`: the loket's own team; every melding except the restricted compartment.
- `zvh`: staff of one house; only meldingen routed to that house (its caseload or its
  queue), while they are its work and after it closed them.
- `auditor`: reads everything the compartments allow, the audit trail and history as of
  a moment; changes nothing and reads no personal data.
- `beheer`: runs the system (every lifecycle action, keys, verify, retention, tokens); no
  personal data.

Compartments: radicalisering casuïstiek is shared "onder een apart landelijk convenant"
(seed 003) and worked within the Modelconvenant NCTV (seed 002), so its personal data is
sealed under a compartment key, and only a role holding the compartment sees those
meldingen at all, whatever its kind. A melding that has ever been in the compartment
stays in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from events.status import AFGEWEZEN, GESLOTEN, IN_BEHANDELING, OPEN

RADICALISERING = "radicalisering"
COMPARTIMENTEN = frozenset({RADICALISERING})

RolSoort = Literal["intake", "zvh", "auditor", "beheer"]
INTAKE: RolSoort = "intake"
ZVH: RolSoort = "zvh"
AUDITOR: RolSoort = "auditor"
BEHEER: RolSoort = "beheer"
ROLSOORTEN: tuple[RolSoort, ...] = (INTAKE, ZVH, AUDITOR, BEHEER)
# Read by nobody in these kinds: they audit or run the system.
GEEN_PERSOONSGEGEVENS = frozenset({AUDITOR, BEHEER})
# Earlier names of a kind, as tokens and settings may still hold them.
_EERDER = {"admin": BEHEER}

# A house sees what is routed to it, while it is its work and after it closed it.
_ZVH_STATUSSEN = (OPEN, IN_BEHANDELING, GESLOTEN)


class GeenToegang(PermissionError):
    """A read of personal data was refused; it is recorded in the access log all the same."""


class OngeldigeRol(ValueError):
    """A role that does not exist (an unknown kind, a house that does not exist)."""


@dataclass(frozen=True, slots=True)
class Rol:
    """A role: its kind, its house (kind zvh only) and the compartments it holds."""

    soort: RolSoort
    zvh: str | None = None
    compartimenten: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def maak(cls, soort: str, *, zvh: str | None = None, compartimenten: Iterable[str] = (),
             huizen: Iterable[str] | None = None) -> Rol:
        """A role from what a person or a setting says; OngeldigeRol names what is wrong."""
        soort = _EERDER.get(soort, soort)
        if soort not in ROLSOORTEN:
            raise OngeldigeRol(f"unknown role '{soort}' (known: {', '.join(ROLSOORTEN)})")
        if (soort == ZVH) != (zvh is not None):
            raise OngeldigeRol("a house is required for role zvh, and only for it")
        known = frozenset(huizen) if huizen is not None else None
        if zvh is not None and known is not None and zvh not in known:
            raise OngeldigeRol(f"unknown zvh '{zvh}' (known: {', '.join(sorted(known))})")
        held = frozenset(compartimenten)
        for c in sorted(held - COMPARTIMENTEN):
            raise OngeldigeRol(f"unknown compartment '{c}' (known: {', '.join(sorted(COMPARTIMENTEN))})")
        return cls(soort, zvh, held)

    @classmethod
    def uit_tekst(cls, text: str, compartimenten: Iterable[str] = (), huizen: Iterable[str] | None = None) -> Rol:
        """From its text (`intake`, `zvh:parkstad`, `auditor`, `beheer`), as settings and the access log write it."""
        soort, _, zvh = text.strip().partition(":")
        return cls.maak(soort, zvh=zvh or None, compartimenten=compartimenten, huizen=huizen)

    def __str__(self) -> str:
        return f"{ZVH}:{self.zvh}" if self.soort == ZVH else self.soort

    def houdt(self, compartiment: str | None) -> bool:
        return compartiment is None or compartiment in self.compartimenten

    def as_dict(self) -> dict[str, Any]:
        return {"rol": self.soort, "zvh": self.zvh, "compartimenten": sorted(self.compartimenten)}


def compartiment_van(soort: str | None, product: str | None) -> str | None:
    """The compartment a melding's soort or product puts it in, if any."""
    if RADICALISERING in (soort, product):
        return RADICALISERING
    return None


@dataclass(frozen=True, slots=True)
class Kenmerken:
    """What access to one melding depends on; no personal data. From the aggregate, or from a
    caseload row (which keeps the compartment a melding was ever in, as the aggregate does)."""

    compartiment: str | None
    zvh: str | None
    queue: str | None
    status: str

    @classmethod
    def uit_rij(cls, row: dict[str, Any]) -> Kenmerken:
        compartiment = row.get("compartiment") or compartiment_van(row.get("soort"), row.get("product"))
        return cls(compartiment, row.get("zvh"), row.get("queue"), row["status"])

    @property
    def huizen(self) -> set[str]:
        """The house owning the caseload and the house whose queue holds the work (VIA)."""
        return {h for h in (self.zvh, (self.queue or "").partition("/")[0]) if h}


def weigering(rol: Rol, kenmerken: Kenmerken, *, persoonsgegevens: bool = False) -> str | None:
    """Why this role may not see this melding (or, with `persoonsgegevens`, read its personal
    data); None when it may. The one access check: lists, pages, the API, the CLI and the read of
    personal data (which writes the answer in the access log) all ask it."""
    if not rol.houdt(kenmerken.compartiment):
        return "the melding lies in a restricted compartment the caller does not hold"
    if rol.soort == ZVH:
        if kenmerken.status == AFGEWEZEN or kenmerken.status not in _ZVH_STATUSSEN or rol.zvh not in kenmerken.huizen:
            return f"role {rol} reads only meldingen routed to its own house"
    if persoonsgegevens and rol.soort in GEEN_PERSOONSGEGEVENS:
        return f"role {rol} does not read personal data"
    return None


def mag_zien(rol: Rol, kenmerken: Kenmerken) -> bool:
    return weigering(rol, kenmerken) is None


def mag_telling_zien(rol: Rol, zvh: str | None) -> bool:
    """For counts per house and product (caseload, statistics), which are counted without the
    meldingen of compartments the role does not hold (projections/caseload.py)."""
    return rol.soort != ZVH or zvh == rol.zvh
