"""Routing: which Zorg- en Veiligheidshuis and which product handle a melding, and why.

The policy is data (`routing/rules/*.yaml`, decision tables citing the seed documents) and the
gemeente register is data (`routing/data/gemeenten.yaml`, effective-dated). This package imports
nothing of the rest of the project.

    ruleset = load_ruleset()              # the shipped rules; or load_ruleset(Path("rules-2018"))
    beslissing = ruleset.decide(feiten)   # never raises for a valid Feiten
    print(ruleset.explain(feiten).render())
"""

from routing.decision import Beslissing
from routing.evaluator import Ruleset, load_ruleset
from routing.facts import Feiten
from routing.gemeenten import GemeenteRegister, GemeenteUitslag, resolve
from routing.loader import RulesetError
from routing.trace import Trace

__all__ = [
    "Beslissing",
    "Feiten",
    "GemeenteRegister",
    "GemeenteUitslag",
    "Ruleset",
    "RulesetError",
    "Trace",
    "load_ruleset",
    "resolve",
]
