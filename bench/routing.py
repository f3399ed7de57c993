"""Routing speed, measured side by side in one run on the same meldingen.

    python bench/routing.py [--meldingen 20000] [--rounds 3]

Contenders, each over the same valid meldingen of a synthetic year (`loket.synthetic.jaar`),
with their input prepared beforehand:
- ours: `Ruleset.decide(feiten)`, the compiled evaluator with its indexes;
- validation: `MeldingIn.model_validate(dict)`, the pydantic intake contract (and `parse` of the
  JSON text, for reference): the target is that deciding costs less than validating;
- zen-engine: GoRules' Rust engine evaluating the same policy as a JDM decision graph
  (bench/jdm/zl_routing.py) through `ZenEngine.evaluate` with a static loader, its fastest
  per-melding path (`ZenDecision.evaluate` recompiles per call and is far slower).

Rounds are interleaved and the best round of each counts (noise only ever slows a round down);
the cyclic garbage collector is off inside timed sections, as in `timeit`.
Agreement: the share of meldingen on which zen-engine's decision (outcome, zvh, product,
gemeente, labels, notify, queue, deadline) equals ours. Writes the "Routing" section of
bench/RESULTS.md.
"""

from __future__ import annotations

import gc
import json
import platform
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "jdm")]  # the project first: `routing` is ours

import zen  # noqa: E402

from events.intake import MeldingIn, Ongeldig, parse  # noqa: E402
from loket.synthetic import jaar  # noqa: E402
from results import arguments, write_section  # noqa: E402
from routing import Beslissing, Feiten, load_ruleset  # noqa: E402
from zl_routing import graph  # noqa: E402

TARGET_ZEN, TARGET_VALIDATION = 20.0, 1.0


def sample(n: int) -> tuple[list[str], list[MeldingIn]]:
    """n valid meldingen (JSON text and validated) of synthetic years, in arrival order."""
    raws, meldingen = [], []
    seed = 2025
    while len(meldingen) < n:
        for line in jaar(2025, seed, max(0.1, n / 6_800)):
            try:
                meldingen.append(parse(line))
            except Ongeldig:
                continue  # broken on purpose: validation's business, not routing's
            raws.append(line)
        seed += 1
    return raws[:n], meldingen[:n]


def zen_input(f: Feiten) -> dict:
    return {
        "soort": f.soort, "bron": f.bron, "dag": f.datum.toordinal(), "gemeente": f.gemeente,
        "leeftijd": f.leeftijd, "leefgebieden": sorted(f.leefgebieden), "ketens": sorted(f.ketens),
        "dwang_drang": f.dwang_drang, "impact_omgeving": f.impact_omgeving,
        "ernstig_veiligheidsprobleem": f.ernstig_veiligheidsprobleem,
        "maatschappelijke_onrust": f.maatschappelijke_onrust, "bollenmodel": f.bollenmodel,
        "delict": f.delict, "hic": f.hic, "kinderen_betrokken": f.kinderen_betrokken,
    }


def ours_key(b: Beslissing) -> tuple:
    return (b.outcome, b.zvh, b.product, b.gemeente, tuple(b.labels), tuple(b.notify), b.queue,
            b.deadline.toordinal() if b.deadline else None)


def zen_key(result: dict) -> tuple:
    r = result["result"]
    deadline = r.get("deadline")
    return (r["outcome"], r.get("zvh"), r.get("product"), r.get("gemeente"),
            tuple(r.get("labels") or ()), tuple(r.get("notify") or ()), r.get("queue"),
            int(deadline) if deadline is not None else None)


@contextmanager
def no_gc() -> Iterator[None]:
    """As timeit does: no cyclic garbage collection inside a timed section, for every
    contender alike (a pass over the sample's live objects would land on whoever runs then)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def timed(fn: Callable, items: Sequence) -> float:
    with no_gc():
        started = time.perf_counter()
        for item in items:
            fn(item)
        return time.perf_counter() - started


def run(n: int, rounds: int) -> dict:
    raws, meldingen = sample(n)
    dicts = [json.loads(raw) for raw in raws]
    ruleset = load_ruleset()
    feiten = [m.feiten() for m in meldingen]
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"routing": graph()}}})
    inputs = [zen_input(f) for f in feiten]

    def zen_decide(context: dict) -> dict:
        return engine.evaluate("routing", context)

    ours = [ruleset.decide(f) for f in feiten]  # warm: indexes built on first use per key
    theirs = [zen_decide(c) for c in inputs]
    disagree = [(f, o, t) for f, o, t in zip(feiten, ours, theirs, strict=True)
                if ours_key(o) != zen_key(t)]

    def cold(items: Sequence[Feiten]) -> None:
        fresh = load_ruleset()  # loading is not timed: a first pass, every key new
        cold_seconds.append(timed(fresh.decide, items))

    cold_seconds: list[float] = []
    contenders: dict[str, tuple[Callable, Sequence]] = {
        "ours": (ruleset.decide, feiten),
        "validation": (MeldingIn.model_validate, dicts),
        "parse": (parse, raws),
        "zen": (zen_decide, inputs),
    }
    best = {name: float("inf") for name in contenders}
    for _ in range(rounds):
        for name, (fn, items) in contenders.items():
            best[name] = min(best[name], timed(fn, items))
        cold(feiten)
    rate = {name: n / seconds for name, seconds in best.items()}
    rate["ours_cold"] = n / min(cold_seconds)

    # the slower per-call zen path, once on a slice, to say what it costs
    decision = zen.ZenEngine().create_decision(json.dumps(graph()))
    slice_ = inputs[: max(1, n // 20)]
    rate["zen_decision"] = len(slice_) / timed(decision.evaluate, slice_)
    return {
        "n": n, "rounds": rounds, "rate": rate,
        "agreement": 1 - len(disagree) / n,
        "disagree": disagree,
        "soorten": Counter(f.soort for f in feiten),
        "version": ruleset.version,
        "distinct": len({b.model_dump_json() for b in ours}),
    }


def report(r: dict) -> str:
    rate = r["rate"]
    vs_zen = rate["ours"] / rate["zen"]
    vs_validation = rate["ours"] / rate["validation"]
    lines = [
        "## Routing",
        "",
        f"`python bench/routing.py` on {date.today().isoformat()}, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}; {r['n']} valid meldingen of synthetic "
        f"years (`loket.synthetic.jaar`), inputs prepared beforehand; best of {r['rounds']} "
        f"interleaved rounds. Ruleset {r['version']}.",
        "",
        "| contender | decisions or validations / s | ours is |",
        "|---|---:|---:|",
        f"| ours: `Ruleset.decide` (compiled, indexed, decision memo) | {rate['ours']:,.0f} | 1× |",
        f"| ours, cold: first pass of a fresh ruleset | {rate['ours_cold']:,.0f} | "
        f"{rate['ours'] / rate['ours_cold']:.1f}× slower |",
        f"| pydantic `MeldingIn.model_validate` (dict) | {rate['validation']:,.0f} | "
        f"{vs_validation:.1f}× faster |",
        f"| `events.intake.parse` (JSON text) | {rate['parse']:,.0f} | "
        f"{rate['ours'] / rate['parse']:.1f}× faster |",
        f"| zen-engine {zen_version()} `ZenEngine.evaluate` (JDM, static loader) | "
        f"{rate['zen']:,.0f} | {vs_zen:.1f}× faster |",
        f"| zen-engine `ZenDecision.evaluate` (recompiles per call) | {rate['zen_decision']:,.0f} | "
        f"{rate['ours'] / rate['zen_decision']:.0f}× faster |",
        "",
        f"Targets: ours ≥ {TARGET_ZEN:.0f}× zen-engine: **{vs_zen:.1f}×** "
        f"({'met' if vs_zen >= TARGET_ZEN else 'MISSED'}); faster than validating the melding: "
        f"**{vs_validation:.1f}×** ({'met' if vs_validation > TARGET_VALIDATION else 'MISSED'}).",
        f"Cold, ours is {rate['ours_cold'] / rate['zen']:.1f}× zen-engine and "
        f"{rate['ours_cold'] / rate['validation']:.1f}× validation.",
        f"Agreement of zen-engine's decisions with ours on the sample: "
        f"**{r['agreement']:.2%}** ({len(r['disagree'])} of {r['n']} differ).",
        "",
        f"Why ours is fast: rows are indexed by (soort, plaats, product) and date, so a melding "
        f"meets only the rows that can apply; and a decision is memoised on exactly the facts "
        f"the rows in force can read (for VIA: none beyond the gemeente resolution); the "
        f"{r['n']} meldingen have {r['distinct']:,} distinct decisions. zen-engine pays per "
        f"call for converting the input dict to its own values and the result back, and scans "
        f"each decision table row by row (the gemeente table has a row per name and period).",
        "",
    ]
    return "\n".join(lines)


def zen_version() -> str:
    from importlib.metadata import version

    return version("zen-engine")


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, argv)
    r = run(args.meldingen, args.rounds)
    section = report(r)
    print(section)
    for f, o, t in r["disagree"][:5]:
        print(f"differs: {f.soort} {f.gemeente!r} {f.datum}: ours {ours_key(o)} zen {zen_key(t)}")
    if not args.no_write:
        write_section("## Routing", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
