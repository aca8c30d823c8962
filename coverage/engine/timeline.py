"""Coverage through time: the figures of every interval over which the plan's set of active sectors is constant.

The partition of a layer does not depend on the day, so it is built once (for all sectors) and each interval
only re-classifies its faces with the sectors active then (:func:`~ua_coverage.engine.analyze` with
``active=``). A *handover gap* is an interval in which a layer's gap is larger than in both neighbouring
intervals — the hole between one contingent leaving and the next arriving.
"""
from __future__ import annotations

from .analysis import domain_figures

TIMELINE_KEYS = ("covered_km2", "gap_km2", "overlap_km2", "conflict_km2", "covered_pct")


def _day_in(frm: str | None, to: str | None) -> str:
    """A day inside ``[frm, to)`` to evaluate the interval on."""
    from datetime import date, timedelta

    if frm:
        return frm
    if to:
        d = date.fromisoformat(to)
        return (d - timedelta(days=1)).isoformat() if d > date.min else to
    return "2000-01-01"


def timeline(plan, *, min_area_km2: float = 0.01, progress=None) -> tuple[list[dict], list[dict]]:
    """``(intervals, handover_gaps)`` of a plan (see the README for the JSON shape).

    >>> from ua_coverage.workflow import sample_plan
    >>> rows, holes = timeline(sample_plan())
    >>> [(r["from"], r["to"], r["active_sectors"]) for r in rows]  # doctest: +NORMALIZE_WHITESPACE
    [(None, '2027-01-01', 0), ('2027-01-01', '2027-02-15', 17), ('2027-02-15', '2027-04-01', 18),
     ('2027-04-01', '2027-04-08', 17), ('2027-04-08', None, 18)]
    >>> [(h["layer"], h["from"], h["to"], h["ended"], h["started"]) for h in holes]
    [('land', '2027-04-01', '2027-04-08', ['L-04'], ['L-08'])]
    """
    import numpy as np

    periods = plan.periods()
    starts = np.array([f or "" for f, _ in periods], dtype=object)
    ends = np.array([t or "9999-12-31" for _, t in periods], dtype=object)
    ids = [str(s) for s in plan.sectors["sector_id"]]
    rows = []
    spans = plan.intervals()
    extents, memo = plan.full_extents(), {}
    for k, (frm, to) in enumerate(spans):
        day = _day_in(frm, to)
        active = (starts <= day) & (day <= ends)
        domains = domain_figures(plan.sectors, extents, plan.contingents, active=active, memo=memo)
        rows.append({
            "from": frm, "to": to, "phase": plan.phases_on(day), "active_sectors": int(active.sum()),
            "starting": [i for i, (f, _) in zip(ids, periods) if frm is not None and f == frm],
            "ending": [i for i, (_, t) in zip(ids, periods) if frm is not None and t is not None and _next(t) == frm],
            "domains": {layer: {key: v[key] for key in TIMELINE_KEYS} for layer, v in domains.items()},
        })
        if progress:
            progress(k + 1, len(spans))
    holes = []
    for k in range(1, len(rows) - 1):
        for layer in rows[k]["domains"]:
            g = rows[k]["domains"][layer]["gap_km2"]
            before, after = rows[k - 1]["domains"][layer]["gap_km2"], rows[k + 1]["domains"][layer]["gap_km2"]
            if g > before + 0.01 and g > after + 0.01:
                layer_ids = set(plan.sectors["sector_id"].astype(str)[plan.sectors["layer"] == layer])
                ended = [s for s in rows[k]["ending"] if s in layer_ids]
                started = [s for s in rows[k + 1]["starting"] if s in layer_ids]
                holes.append({"layer": layer, "from": rows[k]["from"], "to": rows[k]["to"],
                              "gap_km2": g, "extra_km2": g - max(before, after), "ended": ended, "started": started,
                              "bounds": _bounds(plan, ended + started)})
    return rows, holes


def _bounds(plan, ids: list[str]) -> list[float] | None:
    """Where a handover hole is: the box of the sectors that ended before it and started after it."""
    import shapely

    sel = plan.sectors[plan.sectors["sector_id"].astype(str).isin(ids)]
    if not len(sel):
        return None
    return [float(v) for v in shapely.total_bounds(sel.geometry.values)]


def _next(day: str) -> str | None:
    from ..plan import next_day

    return next_day(day)
