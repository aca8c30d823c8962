"""Since when: how long each gap and overlap piece of a day has been (and will stay) what it is.

For a piece of day D, ``since`` and ``until`` are the first and last days (both inclusive; ``None`` = open) of the
continuous run of days around D on which the *whole piece* is a gap — or an overlap. A gap piece stays a gap while
no assigned zone of its layer that reaches into it is active; an overlap piece stays an overlap while two or more
of its sectors are active (a conflict: two or more different leads). The partition does not depend on the day, so
this only reads the sectors' periods (:meth:`ua_coverage.plan.Plan.periods`) over the plan's intervals.

In the whole-plan view (no day) dates are ignored; there an overlap or conflict whose sectors are never active
together is marked ``on_no_day``.

Examples
--------
>>> runs = [(None, "2027-01-01"), ("2027-01-01", "2027-02-15"), ("2027-02-15", None)]
>>> _run(runs, "2027-01-10", lambda d: d < "2027-02-15")
(None, '2027-02-14')
"""
from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import shapely

from .zones import ZoneIndex


def _rep(frm: str | None, to: str | None) -> str:
    """A day inside the interval ``[frm, to)`` (the timeline's own choice)."""
    from .timeline import _day_in

    return _day_in(frm, to)


def _run(intervals, day: str, holds) -> tuple[str | None, str | None]:
    """``(since, until)``: the run of intervals around ``day`` on which ``holds(a day of the interval)``."""
    k = next(i for i, (f, t) in enumerate(intervals) if (f is None or f <= day) and (t is None or day < t))
    lo = hi = k
    while lo > 0 and holds(_rep(*intervals[lo - 1])):
        lo -= 1
    while hi < len(intervals) - 1 and holds(_rep(*intervals[hi + 1])):
        hi += 1
    since = intervals[lo][0]
    to = intervals[hi][1]
    until = (date.fromisoformat(to) - timedelta(days=1)).isoformat() if to else None
    return since, until


def _active(period, day: str) -> bool:
    f, t = period
    return (f is None or f <= day) and (t is None or day <= t)


def _gap_runs(analysis, rows, members, zones, periods, intervals, day) -> list[dict]:
    """since/until of each gap piece: the zones that reach into a piece are those holding a point of one of its
    faces (each face of the partition lies wholly inside or outside each sector, whatever the day)."""
    faces = analysis._geometry()
    area = analysis._faces["area_km2"]
    # hairline faces (the noding's, under a square metre) reach into nothing: a point on one may fall in a zone
    members = [m[area[m] > 1e-6] for m in members]
    mem_all = np.concatenate(members)
    piece_of = np.repeat(np.arange(len(members)), [len(m) for m in members])
    pts = shapely.point_on_surface(faces[mem_all])
    layer_of = np.asarray([r["domain"] for r in rows], dtype=object)
    inside: list[set[int]] = [set() for _ in rows]
    for layer in sorted(set(layer_of)):
        z_rows, _, tree = zones.layer(layer)
        if not len(z_rows):
            continue
        here = np.flatnonzero(layer_of[piece_of] == layer)
        p_i, z_k = tree.query(pts[here], predicate="within")
        for p, k in zip(piece_of[here][p_i], z_k):
            inside[p].add(int(z_rows[k]))
    out = []
    for zs in inside:
        since, until = _run(intervals, day, lambda d, zs=zs: not any(_active(periods[m], d) for m in zs))
        out.append({"since": since, "until": until})
    return out


def piece_runs(analysis, plan, day: str | None, zones: ZoneIndex | None = None) -> dict:
    """``{"gaps": [{"since", "until"} …], "overlaps": [{"since", "until", "on_no_day"} …]}``, in the order of
    ``analysis.gaps`` and ``analysis.overlaps``; ``plan`` is the plan the analysis was made of (what-if included),
    with every sector whatever the day. Without ``day``: only ``on_no_day`` of the overlaps."""
    periods = plan.periods()
    intervals = plan.intervals()
    dated = len(intervals) > 1
    s = plan.sectors
    ids = [str(v) for v in s["sector_id"]]
    at = {sid: i for i, sid in enumerate(ids)}
    leads = [c[0] if c else "" for c in s["contingents"]]
    out_o = []
    for o in analysis.overlaps:
        members = [at[x] for x in o.get("sectors", []) if x in at]
        conflict = bool(o.get("conflict"))

        def holds(d, members=members, conflict=conflict):
            on = [m for m in members if _active(periods[m], d)]
            return len({leads[m] for m in on if leads[m]}) >= 2 if conflict else len(on) >= 2

        row: dict = {}
        if day is not None and dated:
            row["since"], row["until"] = _run(intervals, day, holds)
        elif day is not None:
            row["since"] = row["until"] = None
        else:
            row["on_no_day"] = bool(dated and not any(holds(_rep(*iv)) for iv in intervals))
        out_o.append(row)
    out_g = []
    if day is not None:
        rows, members = analysis._pieces["gaps"]
        if not dated:
            out_g = [{"since": None, "until": None} for _ in rows]
        elif rows:
            out_g = _gap_runs(analysis, rows, members, zones or ZoneIndex(s), periods, intervals, day)
    return {"gaps": out_g, "overlaps": out_o}
