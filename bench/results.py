"""bench/RESULTS.md: each benchmark owns one "## " section and replaces only that one."""

from __future__ import annotations

import argparse
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(heading: str, section: str) -> None:
    """Replace the section that starts with `heading` (a "## " line), keep every other section."""
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
