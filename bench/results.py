"""bench/RESULTS.md: each benchmark owns one "## " section and replaces only that one."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"


def commit() -> str:
    """The commit this working copy stands on, and whether its code differs from it: a figure
    means nothing without the code it was measured on."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/RESULTS.md")
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


AT_START = commit()  # the code a benchmark runs is the code of when it started
LOAD_AT_START = os.getloadavg()[0]  # a shared machine: how busy it was


def machine() -> str:
    """Where and on what a section was measured: date, commit, Python, cores."""
    return (f"{time.strftime('%Y-%m-%d')}, {AT_START}, CPython {platform.python_version()}, "
            f"{platform.machine()}, {os.cpu_count()} cores, load average {LOAD_AT_START:.1f} at the start")


def write_section(heading: str, section: str) -> None:
    """Replace the section that starts with `heading` (a "## " line), keep every other section.
    Every section names the commit it was measured on (`machine()`)."""
    if "commit " not in section:
        raise ValueError(f"{heading}: a section must name the commit it was measured on")
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section.rstrip("\n") + "\n\n" + (text[end + 1:] if end != -1 else "")
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def arguments(doc: str, argv: list[str] | None = None, *, meldingen: int = 20_000) -> argparse.Namespace:
    """The options every benchmark takes: how many meldingen, how many rounds, and --no-write."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--meldingen", type=int, default=meldingen)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md")
    return p.parse_args(argv)
