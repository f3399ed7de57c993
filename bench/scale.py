"""What the scale benchmarks (intake, catch-up, growth) share.

The project first on sys.path (these benchmarks measure this working copy),
interleaved rounds of which the best counts (noise only ever slows a round
down), the options every benchmark takes, and a line saying where it ran.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from loket.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# First, even before bench/ itself: bench/routing.py must not stand in for the `routing` package.
sys.path[:0] = [str(ROOT)]


def werkmap(prefix: str) -> Path:
    """A fresh temporary directory for a benchmark's stores, removed when the run ends, however it
    ends (short of being killed): bench-smoke runs every benchmark in every CI run."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    return tmp


def options(doc: str) -> argparse.ArgumentParser:
    """--meldingen, --rounds and --no-write, as the other benchmarks take them; add your own."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--meldingen", type=int, default=7_000, help="synthetic meldingen (lines) per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    return p


def interleaved(rounds: int, **sides: Callable[[], float]) -> dict[str, float]:
    """Seconds of each side: every round runs each side once, the best round counts."""
    best: dict[str, float] = {}
    for r in range(rounds):
        for name, side in sides.items():
            seconds = side()
            print(f"  round {r + 1}: {name}: {seconds:.2f} s", flush=True)
            best[name] = min(seconds, best.get(name, seconds))
    return best


def lines(n: int) -> list[str]:
    """n lines of synthetic years (`loket.synthetic.jaar`), resends and broken lines included."""
    from loket.synthetic import jaar

    out: list[str] = []
    seed = 2025
    while len(out) < n:
        out.extend(jaar(2025, seed, max(0.1, n / 6_800)))
        seed += 1
    return out[:n]


def machine() -> str:
    from results import machine

    return machine()


def profile_seconds(run: Callable[[], object], parts: dict[str, tuple[str, str]]) -> tuple[float, dict[str, float]]:
    """Run once under cProfile: the total seconds, and each part's cumulative seconds.

    `parts` maps a label to (file name ending, function name), e.g. ("events/application.py", "_lees").
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run)
    stats = pstats.Stats(profiler).stats
    total = max(ct for (_, _, _, ct, _) in stats.values())  # the outermost call
    seconds = {
        label: sum(ct for (f, _, fn), (_, _, _, ct, _) in stats.items() if fn == name and f.endswith(ending))
        for label, (ending, name) in parts.items()
    }
    return total, seconds


def profile_shares(run: Callable[[], object], parts: dict[str, tuple[str, str]]) -> str:
    """Each part's share of the time of one profiled run, as `label N%`."""
    total, seconds = profile_seconds(run, parts)
    return ", ".join(f"{label} {s / total:.0%}" for label, s in seconds.items())


# A fixed master key: the benchmarks seal personal data like production, without a key file.
MASTER_KEY = "bG9rZXQtYmVuY2gtbWFzdGVyLWtleS0zMi1ieXRlcyE="


def store(directory: Path, name: str, database_url: str | None = None) -> Settings:
    """Settings for a fresh store: SQLite `directory/name.sqlite`, or PostgreSQL events at
    `database_url` (with the projections beside them); the key store in `directory`."""
    from loket.settings import Settings

    env = {"LOKET_DB": str(directory / f"{name}.sqlite"), "LOKET_MASTER_KEY": MASTER_KEY}
    if database_url:
        env["LOKET_DATABASE_URL"] = database_url
    return Settings.from_env(env)
