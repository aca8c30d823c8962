"""Colour arithmetic for contingent colours: how they look filled on the map, and which are too alike.

Contingents are filled translucently over a white map, so two registry colours are compared as the
fills a planner sees (:func:`as_filled`), by the CIE76 colour difference ΔE*ab in CIELAB. Two fills
closer than :data:`MIN_DELTA_E` are reported as a clash.

Examples
--------
>>> round(delta_e("#000000", "#ffffff"))
100
>>> clashes({"AAA": "#1f77b4", "BBB": "#1f78b5", "CCC": "#ff7f0e"})[0][:2]
('AAA', 'BBB')
"""
from __future__ import annotations

#: opacity of a contingent's fill on the map (the legend swatch uses the same blend)
FILL_OPACITY = 0.45
#: fills closer than this (ΔE*ab) are hard to tell apart
MIN_DELTA_E = 12.0


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.strip().lstrip("#")
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))


def as_filled(hex_colour: str, opacity: float = FILL_OPACITY, background: str = "#ffffff") -> str:
    """The opaque colour a translucent fill shows over ``background``."""
    fg, bg = _rgb(hex_colour), _rgb(background)
    return "#" + "".join(f"{round(255 * (opacity * f + (1 - opacity) * b)):02x}" for f, b in zip(fg, bg))


def _lab(hex_colour: str) -> tuple[float, float, float]:
    def lin(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in _rgb(hex_colour))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t):
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(c1: str, c2: str) -> float:
    """CIE76 colour difference between two ``#rrggbb`` colours."""
    a, b = _lab(c1), _lab(c2)
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def clashes(colours: dict[str, str], *, opacity: float = FILL_OPACITY,
            threshold: float = MIN_DELTA_E) -> list[tuple[str, str, float]]:
    """Pairs of codes whose map fills differ by less than ``threshold``, closest first."""
    filled = {c: as_filled(v, opacity) for c, v in colours.items()}
    codes = sorted(filled)
    out = [(x, y, delta_e(filled[x], filled[y])) for i, x in enumerate(codes) for y in codes[i + 1:]]
    return sorted((p for p in out if p[2] < threshold), key=lambda p: p[2])


#: candidate colours for new nations (never the APP-6 hostile reds)
_CANDIDATES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
               "#004d40", "#6a3d9a", "#b15928", "#33a02c", "#a6cee3", "#fdbf6f", "#cab2d6", "#ffd92f", "#1b9e77",
               "#7570b3", "#e6ab02", "#66a61e", "#a6761d", "#666666", "#0b4f8a", "#5e3c99", "#80cdc1", "#01665e",
               "#c51b7d", "#4d9221", "#f1b6da", "#b8e186", "#542788", "#fee08b", "#3288bd", "#5e4fa2", "#9e0142"]


def suggest(existing: list[str], n: int = 1) -> list[str]:
    """``n`` colours whose fills differ most from ``existing`` (and from each other)."""
    chosen: list[str] = []
    taken = [as_filled(c) for c in existing]
    for _ in range(n):
        best = max((c for c in _CANDIDATES if c not in chosen and c not in existing),
                   key=lambda c: min((delta_e(as_filled(c), t) for t in taken), default=100.0))
        chosen.append(best)
        taken.append(as_filled(best))
    return chosen
