"""A line chart as inline SVG, drawn on the server: no chart library, no script in the browser.

Readable without colour (each house also has its own dash pattern and a label at
the line's end) and by a screen reader (a title, and a table of the same numbers
on the page).
"""

from __future__ import annotations

from markupsafe import Markup, escape

BREEDTE, HOOGTE = 760, 300
LINKS, RECHTS, BOVEN, ONDER = 48, 230, 28, 40
MAANDEN = ("jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec")
# Colour-blind-safe (Okabe-Ito) colours, each with its own dash pattern.
STIJLEN = [("#0072B2", ""), ("#D55E00", "6 3"), ("#009E73", "2 3"), ("#CC79A7", "8 3 2 3"), ("#E69F00", "1 2")]


def _stap(top: int) -> int:
    """A round grid step giving four or five lines."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000):
        if top / step <= 5:
            return step
    return max(1, top // 5)


def _maand(label: str) -> str:
    """2025-07 → "jul 2025"."""
    return f"{MAANDEN[int(label[5:7]) - 1]} {label[:4]}"


def lijnen(series: dict[str, list[tuple[str, int]]], *, titel: str, naam: str = "grafiek") -> Markup:
    """`naam` makes the chart's ids unique on a page with more than one."""
    labels = next((([x for x, _ in punten]) for punten in series.values() if punten), [])
    if not labels:
        return Markup('<p class="leeg">Nog geen gegevens voor een grafiek.</p>')
    top = max(1, max(v for punten in series.values() for _, v in punten))
    step = _stap(top)
    top = -(-top // step) * step
    w, h = BREEDTE - LINKS - RECHTS, HOOGTE - BOVEN - ONDER

    def x(i: int) -> float:
        return LINKS + (w * i / (len(labels) - 1) if len(labels) > 1 else w / 2)

    def y(v: int) -> float:
        return BOVEN + h - h * v / top

    parts = [
        f'<svg class="grafiek" viewBox="0 0 {BREEDTE} {HOOGTE}" role="img" aria-labelledby="{naam}-titel" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{naam}-titel">{escape(titel)}</title>',
    ]
    for v in range(0, top + 1, step):
        parts.append(f'<line class="raster" x1="{LINKS}" x2="{LINKS + w}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        parts.append(f'<text class="as" x="{LINKS - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    every = 1 if len(labels) <= 8 else 3 if len(labels) <= 18 else 6
    for i, label in enumerate(labels):
        if int(label[5:7]) % every == 1 or every == 1:
            parts.append(f'<text class="as" x="{x(i):.1f}" y="{BOVEN + h + 18}" text-anchor="middle">'
                         f'{escape(_maand(label))}</text>')
    # Names at the lines' ends, pushed apart where lines end close together.
    eind_y: dict[str, float] = {}
    for naam, punten in sorted(series.items(), key=lambda kv: -kv[1][-1][1] if kv[1] else 0):
        want = y(punten[-1][1]) + 4 if punten else BOVEN
        eind_y[naam] = max(want, max(eind_y.values(), default=-1e9) + 15)
    for n, (naam, punten) in enumerate(series.items()):
        kleur, streep = STIJLEN[n % len(STIJLEN)]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, (_, v) in enumerate(punten))
        dash = f' stroke-dasharray="{streep}"' if streep else ""
        parts.append(f'<polyline fill="none" stroke="{kleur}" stroke-width="2.5"{dash} points="{coords}">'
                     f'<title>{escape(naam)}</title></polyline>')
        if punten:
            last = punten[-1][1]
            parts.append(f'<text class="reeks" x="{x(len(punten) - 1) + 8:.1f}" y="{eind_y[naam]:.1f}" '
                         f'fill="{kleur}">{escape(naam)} ({last})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
