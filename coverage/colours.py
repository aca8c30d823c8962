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


def _clash_pairs(colours: dict[str, str], opacity: float, threshold: float):
    """Every pair of codes whose fills differ by less than ``threshold``, by a grid of CIELAB cells of that size
    (each colour is compared with the colours of its own and the 26 neighbouring cells only): near-linear in the
    number of distinct colours, whatever the registry's size. Codes of one colour pair up without a comparison."""
    by_colour: dict[str, list[str]] = {}
    for code, c in colours.items():
        by_colour.setdefault(as_filled(c, opacity), []).append(code)
    labs = {c: _lab(c) for c in by_colour}
    grid: dict[tuple, list[str]] = {}
    for c, lab in labs.items():
        grid.setdefault(tuple(int(v // threshold) for v in lab), []).append(c)
    for codes in by_colour.values():
        codes.sort()
        for i, x in enumerate(codes):
            for y in codes[i + 1:]:
                yield x, y, 0.0
    for cell, members in grid.items():
        near = [c for dx in (-1, 0, 1) for dy in (-1, 0, 1) for dz in (-1, 0, 1)
                for c in grid.get((cell[0] + dx, cell[1] + dy, cell[2] + dz), ())]
        for c1 in members:
            for c2 in near:
                if c2 <= c1:
                    continue  # each pair of colours once
                d = sum((p - q) ** 2 for p, q in zip(labs[c1], labs[c2])) ** 0.5
                if d < threshold:
                    for x in by_colour[c1]:
                        for y in by_colour[c2]:
                            yield (x, y, d) if x < y else (y, x, d)


def clashes(colours: dict[str, str], *, opacity: float = FILL_OPACITY,
            threshold: float = MIN_DELTA_E) -> list[tuple[str, str, float]]:
    """Pairs of codes whose map fills differ by less than ``threshold``, closest first."""
    return sorted(_clash_pairs(colours, opacity, threshold), key=lambda p: (p[2], p[0], p[1]))


def clash_notes(colours: dict[str, str], focus: set[str] | None = None, *, limit: int = 12,
                opacity: float = FILL_OPACITY, threshold: float = MIN_DELTA_E) -> list[str]:
    """Notes on the colour clashes that involve a code of ``focus`` (all codes when None): the ``limit``
    closest pairs, then one line counting the rest and the nations they involve — a registry of thousands
    gets a dozen lines, not a line per pair.

    >>> clash_notes({"AAA": "#1f77b4", "BBB": "#1f78b5", "CCC": "#1f77b4"}, limit=1)  # doctest: +NORMALIZE_WHITESPACE
    ['colour clash: AAA and CCC are hard to tell apart (ΔE 0)',
     'colour clash: 2 more pairs hard to tell apart, among 3 nations (AAA, BBB, CCC)']
    """
    pairs = [p for p in _clash_pairs(colours, opacity, threshold)
             if focus is None or p[0] in focus or p[1] in focus]
    if not pairs:
        return []
    pairs.sort(key=lambda p: (p[2], p[0], p[1]))
    notes = [f"colour clash: {x} and {y} are hard to tell apart (ΔE {d:.0f})" for x, y, d in pairs[:limit]]
    rest = pairs[limit:]
    if rest:
        codes = sorted({c for x, y, _ in rest for c in (x, y)})
        shown = ", ".join(codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
        notes.append(f"colour clash: {len(rest):,} more pairs hard to tell apart, among {len(codes):,} nations "
                     f"({shown})")
    return notes


#: APP-6's hostile colours (the frame red and the light-red fill) and how close (ΔE*ab) a friendly colour may come:
#: every red a planner could mistake for hostile is refused, salmon and vermilion stay allowed
HOSTILE_RED, HOSTILE_LIGHT_RED = "#ff0000", "#ff8080"
HOSTILE_DELTA_E, HOSTILE_LIGHT_DELTA_E = 30.0, 10.0


def is_hostile_red(hex_colour: str) -> bool:
    """True for a colour too close to APP-6's hostile red to be used for a friendly nation (judged by colour
    difference, not a list: ``#fe0000`` and ``#ee1111`` are as red as ``#ff0000``).

    >>> is_hostile_red("#fe0000"), is_hostile_red("#d62728"), is_hostile_red("#D55E00"), is_hostile_red("#F99379")
    (True, True, False, False)
    """
    return (delta_e(hex_colour, HOSTILE_RED) < HOSTILE_DELTA_E
            or delta_e(hex_colour, HOSTILE_LIGHT_RED) < HOSTILE_LIGHT_DELTA_E)


#: candidate colours for new nations (never the APP-6 hostile reds)
_CANDIDATES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
               "#004d40", "#6a3d9a", "#b15928", "#33a02c", "#a6cee3", "#fdbf6f", "#cab2d6", "#ffd92f", "#1b9e77",
               "#7570b3", "#e6ab02", "#66a61e", "#a6761d", "#666666", "#0b4f8a", "#5e3c99", "#80cdc1", "#01665e",
               "#c51b7d", "#4d9221", "#f1b6da", "#b8e186", "#542788", "#fee08b", "#3288bd", "#5e4fa2", "#9e0142"]


def _more_candidates():
    """Colours beyond the hand-picked list: hues by the golden angle at three lightnesses, never a hostile red."""
    import colorsys

    k = 0
    while True:
        h = (k * 0.618033988749895) % 1.0
        light, sat = (0.35, 0.85), (0.50, 0.75)
        r, g, b = colorsys.hls_to_rgb(h, light[k % 2], sat[(k // 2) % 2])
        c = "#" + "".join(f"{round(255 * v):02x}" for v in (r, g, b))
        k += 1
        if not is_hostile_red(c):
            yield c


def suggest(existing: list[str], n: int = 1) -> list[str]:
    """``n`` colours whose fills differ most from ``existing`` (and from each other); never a hostile red.

    The hand-picked candidates come first; past them (a registry of dozens of new nations) generated hues fill
    in, so any ``n`` gets an answer.

    >>> len(set(suggest([], 300)))
    300
    """
    chosen: list[str] = []
    taken = [as_filled(c) for c in existing]
    seen = {c.lower() for c in existing}
    pool = [c for c in _CANDIDATES if c not in seen]
    extra = _more_candidates()
    for _ in range(n):
        while len(pool) < 8:  # always a few to choose from
            c = next(extra)
            if c not in seen and c not in chosen and c not in pool:
                pool.append(c)
        recent = taken[-64:] if len(taken) > 64 else taken  # bounded work per pick: the nearest recent fills
        best = max(pool, key=lambda c: min((delta_e(as_filled(c), t) for t in recent), default=100.0))
        pool.remove(best)
        chosen.append(best)
        taken.append(as_filled(best))
    return chosen
