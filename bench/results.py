"""bench/RESULTS.md: each benchmark owns one section ("## Title") and replaces only that one."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(title: str, section: str) -> None:
    """Replace the section headed `## {title}` (or append it), keep every other section."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n\n"
    start = text.find(f"## {title}\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
