"""The Zuid-Limburg routing policy as a GoRules JDM decision graph, for the zen-engine baseline.

Written by hand from routing/rules/*.yaml, table for table and row for row, in the evaluation
order of our evaluator (priority, then file). The only generated part is the gemeente lookup:
its rows come from the gemeente register (routing/data/gemeenten.yaml, resolved through the
public `GemeenteRegister.resolve` on every date where an entry starts or ends), so both engines
decide on the same register. `python bench/jdm/zl_routing.py > zl-routing.jdm.json` writes the graph
for the GoRules editor.

Inputs (prepared from `Feiten`, like ours): soort, bron, dag (date ordinal), gemeente (as
written), leeftijd, leefgebieden, ketens, the boolean signals, bollenmodel, delict.

Known differences, on purpose: name matching is case and surrounding spaces only (ours also
ignores diacritics, hyphens and apostrophes); reasons (free text) are not produced; a deadline
past the end of the calendar is not turned into triage.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

import yaml

from routing.gemeenten import DEFAULT_PATH, GemeenteRegister


def dag(iso: str) -> int:
    return date.fromisoformat(iso).toordinal()


def _q(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def _een_van(*values: str) -> str:
    return ", ".join(_q(v) for v in values)


# -- the policy tables (routing/rules), by hand ------------------------------------------------

ZL = "'zuid-limburg'"
DETENTIE = _een_van("detentie-in", "detentie-uit", "art18")
ONBEKEND = "$ == null"
MINDERJARIG = "$ != null and $ <= 17"
MEERDERJARIG = "$ != null and $ >= 18"

PRODUCT_INPUTS = ["g.status", "soort", "g.zvh", "g.gemeente", "dag", "leeftijd", "hic",
                  "delict_sleutel", "bollenmodel", "psychisch", "criteria", "criteria_a"]
PRODUCT_OUTPUTS = ["p.product", "p.outcome", "p.queue", "p.dagen", "p.notify"]

# One dict per row: input column -> unary test, output column -> expression. In the order of
# our FIRST table `product`: by priority, ties in file order (rows of one soort never tie).
PRODUCT_ROWS: list[dict[str, str]] = [
    # p10
    {"soort": "'aanmelding'", "g.zvh": "'parkstad'", "bollenmodel": "'III'", "psychisch": "true",
     "delict_sleutel": "''", "p.product": "'ketenveldnorm'"},                # aanmelding.ketenveldnorm
    {"soort": DETENTIE, "leeftijd": ONBEKEND, "p.outcome": "'triage'"},        # detentie.leeftijd-onbekend
    {"soort": "'jpp'", "leeftijd": ONBEKEND, "p.outcome": "'triage'"},         # jpp.leeftijd-onbekend
    {"soort": "'huisverbod'", "dag": f">= {dag('2009-01-01')}", "p.product": "'huisverbod'",
     "p.dagen": "10"},                                                         # huisverbod.wth
    {"soort": "'mensenhandel'", "p.product": "'zoco'"},                        # mensenhandel.zoco
    {"soort": "'radicalisering'", "p.product": "'radicalisering'"},            # radicalisering.weegploeg
    {"soort": "'vt-routeertafel'", "dag": f">= {dag('2020-10-01')}", "criteria_a": "true",
     "p.product": "'mda-plus'"},                                               # vt.mda-plus
    {"soort": "'via'", "dag": f"<= {dag('2019-07-31')}", "p.outcome": "'triage'"},  # via.voor-start
    {"soort": "'wvggz'", "dag": f"<= {dag('2019-12-31')}", "p.outcome": "'triage'"},  # wvggz.voor-wet
    {"soort": "'zsm-buikpijn'", "criteria": "true", "p.product": "'pga'"},     # zsm.pga
    # p11
    {"soort": "'jpp'", "leeftijd": MEERDERJARIG, "p.outcome": "'triage'"},     # jpp.volwassen
    # p20
    {"soort": "'aanmelding'", "criteria": "true", "p.product": "'pga'"},       # aanmelding.pga
    {"soort": DETENTIE, "leeftijd": MINDERJARIG, "p.product": "'rvdk'"},       # detentie.minderjarig
    {"soort": "'jpp'", "g.zvh": "'parkstad'", "leeftijd": MINDERJARIG, "p.product": "'jpp'"},  # jpp.parkstad
    {"soort": "'via'", "dag": f">= {dag('2019-08-01')}", "p.product": "'via'",
     "p.queue": "'westelijke-mijnstreek/via'"},                                # via.team
    {"soort": "'wvggz'", "g.zvh": "'westelijke-mijnstreek'", "dag": f">= {dag('2020-01-01')}",
     "p.product": "'wvggz'", "p.dagen": "14"},                                 # wvggz.westelijke-mijnstreek
    # p30
    {"soort": "'aanmelding'", "criteria": "false", "leeftijd": "$ != null and $ >= 8 and $ <= 27",
     "g.gemeente": _een_van("Heerlen", "Sittard-Geleen"), "hic": "true",
     "dag": f">= {dag('2025-01-01')}", "p.product": "'preventie-met-gezag'"},  # preventie-met-gezag.hic
    {"soort": "'art18'", "delict_sleutel": _een_van("zeden", "zwaar-geweld", "tbs"),
     "p.product": "'bij'", "p.notify": "['burgemeester']"},                    # art18.bij
    {"soort": "'jpp'", "leeftijd": MINDERJARIG, "p.product": "'lokaal-veld'"},  # jpp.lokaal-veld
    {"soort": "'wvggz'", "dag": f">= {dag('2020-01-01')}", "p.product": "'lokaal-veld'",
     "p.notify": "['gemeente']", "p.dagen": "14"},                             # wvggz.gemeente
    # p31
    {"soort": "'aanmelding'", "criteria": "false", "leeftijd": "$ != null and $ >= 8 and $ <= 27",
     "g.gemeente": _een_van("Heerlen", "Sittard-Geleen"), "delict_sleutel": "$ != ''",
     "dag": f">= {dag('2025-01-01')}", "p.product": "'preventie-met-gezag'"},  # preventie-met-gezag.delict
    # p40
    {"soort": "'aanmelding'", "criteria": "false", "g.zvh": "'parkstad'", "leeftijd": MINDERJARIG,
     "p.product": "'beschermingstafel'"},                                      # aanmelding.beschermingstafel
    {"soort": DETENTIE, "leeftijd": MEERDERJARIG, "p.product": "'nazorg'"},    # detentie.nazorg
    # p90
    {"soort": "'aanmelding'", "criteria": "false", "p.product": "'c-en-a'"},   # aanmelding.c-en-a
    {"soort": "'vt-routeertafel'", "p.product": "'vt-routeertafel'"},          # vt.routeertafel
    {"soort": "'zsm-buikpijn'", "criteria": "false", "p.product": "'lokaal-veld'"},  # zsm.lokaal-veld
    # p999
    {"p.outcome": "'triage'"},                                                 # product.geen-regel
]

AANVULLING_INPUTS = ["p.product", "soort", "g.zvh", "leeftijd", "hic", "maatschappelijke_onrust",
                     "dag", "bollenmodel"]
AANVULLING_OUTPUTS = ["label", "notify"]
AANVULLING_ROWS: list[dict[str, str]] = [
    {"p.product": "'pga'", "maatschappelijke_onrust": "true", "label": "'top-x'",
     "notify": "['lokale-driehoek']"},                                         # pga.top-x
    {"p.product": "'nazorg'", "soort": _een_van("detentie-uit", "art18"), "g.zvh": "'parkstad'",
     "leeftijd": "$ != null and $ >= 18 and $ <= 27", "hic": "true",
     "dag": f"[{dag('2025-01-01')}..{dag('2026-12-31')}]", "label": "'rio'"},  # nazorg.rio
    {"p.product": "'via'", "soort": "'via'", "bollenmodel": _een_van("III", "IV"),
     "label": "'pga-kandidaat'"},                                              # via.pga-kandidaat
]

AFLEIDING = {
    "gemeente_sleutel": "lower(trim(gemeente ?? ''))",
    "delict_sleutel": "lower(trim(delict ?? ''))",
    "psychisch": "some(leefgebieden, lower(trim(#)) == 'psychisch')",
    # landelijke criteria (a) and (b), routing/rules/landelijke-criteria.yaml
    "criteria_a": "len(leefgebieden) >= 2 and len(ketens) >= 2 and dwang_drang and impact_omgeving",
    "criteria": "$.criteria_a or ernstig_veiligheidsprobleem or maatschappelijke_onrust",
}

BESLISSING = {
    "outcome": "g.status == 'buiten-regio' ? 'doorverwijzen' : (g.status != 'zuid-limburg' ? "
               "'triage' : (p.outcome ?? (p.product != null ? 'routed' : 'triage')))",
    "zvh": "$.outcome == 'doorverwijzen' ? null : g.zvh",
    "product": "$.outcome == 'routed' ? p.product : null",
    "gemeente": "g.status == 'zuid-limburg' ? g.gemeente : null",
    "labels": "$.outcome == 'routed' ? filter(map(aanvulling ?? [], #.label), # != null) : []",
    "notify": "flatMap([p.notify ?? [], flatMap(aanvulling ?? [], #.notify ?? [])], #)",
    "queue": "$.outcome == 'routed' ? (p.queue ?? (g.zvh + '/' + p.product)) : 'loket/' + $.outcome",
    "deadline": "$.outcome == 'routed' and p.dagen != null ? dag + p.dagen : null",
}


# -- the gemeente lookup, generated from the register data -------------------------------------


def gemeente_rows(register_path: Path = DEFAULT_PATH) -> list[dict[str, str]]:
    data = yaml.safe_load(register_path.read_text(encoding="utf-8"))
    register = GemeenteRegister(data, source=str(register_path))
    names = [r["naam"] for r in data.get("gemeenten") or []]
    names += [r["naam"] for r in data.get("plaatsnamen") or []]
    names += [r["naam"] for r in data.get("dubbelzinnig") or []]
    buiten = [n for regio in data.get("buiten_regio") or [] for n in regio.get("gemeenten") or []]
    cuts = {date.min}
    for section in ("gemeenten", "plaatsnamen", "dubbelzinnig"):
        for row in data.get(section) or []:
            if row.get("geldig_van"):
                cuts.add(row["geldig_van"])
            if row.get("geldig_tot"):
                cuts.add(row["geldig_tot"] + timedelta(days=1))
    ordered = sorted(cuts)
    rows: list[dict[str, str]] = []
    for name in dict.fromkeys(names + buiten):
        segments = []
        for i, cut in enumerate(ordered):
            uitslag = register.resolve(name, cut)
            end = ordered[i + 1] - timedelta(days=1) if i + 1 < len(ordered) else date.max
            if segments and segments[-1][2] == uitslag:
                segments[-1] = (segments[-1][0], end, uitslag)
            else:
                segments.append((cut, end, uitslag))
        for van, tot, uitslag in segments:
            dagen = "" if (van, tot) == (date.min, date.max) else \
                f"[{van.toordinal()}..{tot.toordinal()}]"
            rows.append({"gemeente_sleutel": _q(name.strip().lower()), "dag": dagen,
                         "g.status": _q(uitslag.kind),
                         "g.zvh": _q(uitslag.zvh) if uitslag.zvh else "null",
                         "g.gemeente": _q(uitslag.gemeente) if uitslag.gemeente else "null"})
    rows.append({"gemeente_sleutel": "''", "g.status": "'ontbreekt'"})
    rows.append({"g.status": "'onbekend'"})
    return rows


# -- JDM ---------------------------------------------------------------------------------------


def _table(node_id: str, name: str, hit_policy: str, inputs: list[str], outputs: list[str],
           rows: list[dict[str, str]], output_path: str | None = None) -> dict:
    content: dict = {
        "hitPolicy": hit_policy, "passThrough": True,
        "inputs": [{"id": f"{node_id}-i{i}", "name": f, "field": f} for i, f in enumerate(inputs)],
        "outputs": [{"id": f"{node_id}-o{i}", "name": f, "field": f}
                    for i, f in enumerate(outputs)],
        "rules": [{"_id": f"{node_id}-r{n}",
                   **{f"{node_id}-i{i}": row.get(f, "") for i, f in enumerate(inputs)},
                   **{f"{node_id}-o{i}": row.get(f, "") for i, f in enumerate(outputs)}}
                  for n, row in enumerate(rows)],
    }
    if output_path:
        content["outputPath"] = output_path
    return {"id": node_id, "type": "decisionTableNode", "name": name,
            "position": {"x": 0, "y": 0}, "content": content}


def _expressions(node_id: str, name: str, expressions: dict[str, str], passthrough: bool) -> dict:
    return {"id": node_id, "type": "expressionNode", "name": name, "position": {"x": 0, "y": 0},
            "content": {"passThrough": passthrough,
                        "expressions": [{"id": f"{node_id}-{i}", "key": k, "value": v}
                                        for i, (k, v) in enumerate(expressions.items())]}}


def graph(register_path: Path = DEFAULT_PATH) -> dict:
    nodes = [
        {"id": "in", "type": "inputNode", "name": "melding", "position": {"x": 0, "y": 0}},
        _expressions("afleiding", "afleiding", AFLEIDING, passthrough=True),
        _table("gemeente", "gemeente", "first", ["gemeente_sleutel", "dag"],
               ["g.status", "g.zvh", "g.gemeente"], gemeente_rows(register_path)),
        # a product is only decided for a Zuid-Limburg gemeente (ours: triage and
        # doorverwijzen of the gemeente table end the evaluation)
        _table("product", "product", "first", PRODUCT_INPUTS, PRODUCT_OUTPUTS,
               [{"g.status": ZL, **row} for row in PRODUCT_ROWS]),
        _table("aanvulling", "aanvulling", "collect", AANVULLING_INPUTS, AANVULLING_OUTPUTS,
               AANVULLING_ROWS, output_path="aanvulling"),
        _expressions("beslissing", "beslissing", BESLISSING, passthrough=False),
        {"id": "out", "type": "outputNode", "name": "beslissing", "position": {"x": 0, "y": 0}},
    ]
    chain = [n["id"] for n in nodes]
    edges = [{"id": f"e{i}", "sourceId": a, "targetId": b, "type": "edge"}
             for i, (a, b) in enumerate(pairwise(chain))]
    return {"nodes": nodes, "edges": edges}


if __name__ == "__main__":
    print(json.dumps(graph(), indent=1, ensure_ascii=False))
