"""What a view shows, in words and numbers — the one source for KPI cards, tables, export subtitles and packs.

A *view* is a domain, an optional air altitude band and an optional what-if (contingents withdrawn) of one
plan revision. :func:`view_figures` gives the numbers for it (so the KPI cards, the gap table and an export's
subtitle cannot disagree), :func:`view_state` the words that say exactly what is shown whenever it differs
from the plain plan.

Examples
--------
>>> whatif_text(("FRA", "GBR"))
'WHAT-IF — without FRA, GBR: not the plan'
>>> band_label({"floor_ft": 0.0, "ceiling_ft": 10000.0})
'0–10,000 ft'
"""
from __future__ import annotations

LAYER_TITLES = {"air": "Air", "sea": "Sea", "land": "Land", "monitoring": "Monitoring"}


def band_label(band: dict) -> str:
    """``0–10,000 ft`` (an open ceiling is ``∞``)."""
    top = "∞" if band.get("ceiling_ft") is None else format(band["ceiling_ft"], ",.0f")
    return f"{band['floor_ft']:,.0f}–{top} ft"


def whatif_text(withdrawn) -> str:
    """The what-if marking, in capitals on purpose: a what-if must never be briefed as the plan."""
    return f"WHAT-IF — without {', '.join(withdrawn)}: not the plan" if withdrawn else ""


def overlap_kind(piece: dict) -> str:
    """``conflict`` (different leads), ``self-overlap`` (same lead) or ``overlap``."""
    return "conflict" if piece.get("conflict") else ("self-overlap" if piece.get("self_overlap") else "overlap")


def view_figures(analysis, domain: str, band: int | None = None) -> dict:
    """The numbers a view shows: extent, covered (km², %), gap, overlap, conflict, unassigned, and its gaps.

    With an air ``band``, covered, gap and the gap pieces are those of that altitude band; overlap and
    conflict stay the 2-D figures (``overlap_scope`` says so).
    """
    d = analysis.domains[domain]
    out = {"extent_km2": d["extent_km2"], "covered_km2": d["covered_km2"], "covered_pct": d["covered_pct"],
           "gap_km2": d["gap_km2"], "overlap_km2": d["overlap_km2"], "conflict_km2": d["conflict_km2"],
           "outside_km2": d.get("outside_km2", 0.0),
           "unassigned_sectors": d["unassigned_sectors"], "unassigned_km2": d["unassigned_km2"],
           "gaps": [g for g in analysis.gaps if g["domain"] == domain],
           "overlaps": [o for o in analysis.overlaps if o["domain"] == domain],
           "band": None, "overlap_scope": "all altitudes" if domain == "air" else ""}
    if domain == "air" and band is not None and 0 <= band < len(analysis.air_bands):
        b = analysis.air_bands[band]
        out.update(covered_km2=b["covered_km2"], covered_pct=b["covered_pct"], gap_km2=b["gap_km2"],
                   gaps=[{**g, "domain": "air"} for g in b["gaps"]], band=band_label(b))
    return out


def view_state(revision, plan, *, domain: str | None = None, band_text: str | None = None,
               withdrawn=(), day: str | None = None) -> list[str]:
    """Everything that says what a view shows: revision, domain, band, what-if, day, notional — in that order."""
    parts = []
    if revision is not None:
        parts.append(f"Plan revision {revision.id} · {revision.time.replace('T', ' ').replace('Z', ' UTC')}")
    if domain:
        parts.append(f"{LAYER_TITLES[domain]} domain")
    if band_text:
        parts.append(f"altitude band {band_text}")
    if day:
        parts.append(f"on {day}")
    if withdrawn:
        parts.append(whatif_text(withdrawn))
    if getattr(plan, "notional", False):
        parts.append("NOTIONAL plan — illustrative, not a real deployment")
    elif hasattr(plan, "notional_parts") and (notional := plan.notional_parts()):
        # a real plan measured against illustrative parts says so wherever it is shown
        parts.append(f"holds NOTIONAL parts: {', '.join(notional)}")
    return parts


def extent_bounds(plan, domain: str, margin: float = 0.08) -> tuple[float, float, float, float]:
    """The lon/lat box of a domain's extent with a margin: each domain's view is framed on its extent."""
    minx, miny, maxx, maxy = plan.full_extents().layers[domain].bounds
    dx, dy = (maxx - minx) * margin, (maxy - miny) * margin
    return (minx - dx, miny - dy, maxx + dx, maxy + dy)


def oblast_names() -> dict[str, str]:
    """ISO 3166-2 code -> English name of Ukraine's first-level units (tables name them in words).

    >>> n = oblast_names(); n["UA-30"], n["UA-32"], n["UA-53"]
    ('Kyiv city', 'Kyiv Oblast', 'Poltava')
    """
    from . import geodata

    ob = geodata.admin1()
    names = {c: n.replace(" Oblast", "") for c, n in zip(ob["code"], ob["name_en"])}
    # Kyiv city (UA-30) and Kyiv Oblast (UA-32) are named apart everywhere, never both "Kyiv"
    names.update({"UA-30": "Kyiv city", "UA-32": "Kyiv Oblast"})
    return names


def oblasts_in_words(codes, names: dict[str, str] | None = None) -> str:
    names = names or oblast_names()
    return ", ".join(names.get(c, c) for c in codes)
