"""The timeline of a plan with many change dates against one analysis of it (the partition is built once).

    python tests/benchmarks/bench_timeline.py [--sectors 2000] [--dates 50] [--repeat 3]

A synthetic plan of N sectors whose validity dates fall on D distinct days; prints the median time of one
analysis (cold: the partition built; warm: reused), of the whole timeline, and their ratio. Not part of CI.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sectors", type=int, default=2000)
    ap.add_argument("--dates", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from _plans import make_plan

    from ua_coverage.engine import analysis as engine
    from ua_coverage.engine.timeline import timeline
    from ua_coverage.ingest.sectors import normalise_sectors
    from ua_coverage.ingest.registry import read_contingents
    from ua_coverage import geodata
    from ua_coverage.plan import Plan

    raw = make_plan(args.sectors, clean=True, vertices=40)
    rng = np.random.default_rng(7)
    days = [(date(2027, 1, 1) + timedelta(days=int(d))).isoformat()
            for d in sorted(rng.choice(365, size=args.dates, replace=False))]
    # about half the change dates are starts, half the day after an end
    raw["valid_from"] = [days[int(k)] if k < args.dates // 2 else "" for k in rng.integers(0, args.dates, len(raw))]
    raw["valid_to"] = [((date.fromisoformat(days[int(k)]) - timedelta(days=1)).isoformat() if k >= args.dates // 2
                        else "") for k in rng.integers(0, args.dates, len(raw))]
    frame, problems, _ = normalise_sectors(raw)
    frame = frame[[not p for p in [False] * len(frame)]]
    bad = {p.feature for p in problems if p.rule == "date-order"}
    frame.loc[list(bad), "valid_to"] = ""
    import geopandas as gpd

    plan = Plan(gpd.GeoDataFrame(frame, geometry="geometry", crs=4326),
                read_contingents(geodata.sample_contingents_path()))
    print(f"plan: {len(plan.sectors)} sectors, {len(plan.change_dates())} change dates, "
          f"{len(plan.intervals())} intervals")
    cold, warm, tl = [], [], []
    for _ in range(args.repeat):
        engine._ARRANGEMENTS.clear()
        t = time.perf_counter()
        engine.analyze(plan.sectors, plan.full_extents(), plan.contingents)
        cold.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine.analyze(plan.sectors, plan.full_extents(), plan.contingents, active=plan.active_on(days[len(days) // 2]))
        warm.append(time.perf_counter() - t)
        engine._ARRANGEMENTS.clear()
        t = time.perf_counter()
        timeline(plan)
        tl.append(time.perf_counter() - t)
    c, w, x = (statistics.median(v) for v in (cold, warm, tl))
    print(f"one analysis (partition built): {c:.2f} s; one day with the partition reused: {w:.2f} s")
    print(f"timeline of {len(plan.intervals())} intervals (partition built once): {x:.2f} s = {x / c:.2f}x one analysis")


if __name__ == "__main__":
    main()
