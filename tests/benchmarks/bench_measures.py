"""What the piece measures (by whom: candidates; since when: since/until) add to an analysis of a dated plan.

    python tests/benchmarks/bench_measures.py [--sectors 2000] [--repeat 3]

A synthetic Voronoi plan of N sectors with validity dates on four days; prints the median time of the engine's
analysis of one day (cold: its partition built; warm: reused), of the measures over that analysis, and their ratio,
in the same process. Not part of CI.
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sectors", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from _plans import make_plan

    from ua_coverage import workflow
    from ua_coverage.engine import analyze
    from ua_coverage.ingest import check_sectors

    gdf = make_plan(args.sectors, seed=5)
    rng = np.random.default_rng(3)
    gdf["valid_from"] = rng.choice(["2027-01-01", "2027-02-15", "2027-04-01", "2027-06-01", ""], len(gdf))
    gdf["valid_to"] = ""
    base = workflow.sample_plan()
    plan = dataclasses.replace(base, sectors=check_sectors(gdf, registry=None).sectors,
                               phases=base.phases.iloc[0:0], sensors=base.sensors.iloc[0:0])
    day = "2027-03-01"
    active = plan.active_on(day)
    t = time.perf_counter()
    analyze(plan.sectors, plan.full_extents(), plan.contingents, active=active)
    cold = time.perf_counter() - t
    warm, measures = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        a = analyze(plan.sectors, plan.full_extents(), plan.contingents, active=active)
        warm.append(time.perf_counter() - t)
        t = time.perf_counter()
        workflow._piece_measures(a, plan, day, active)
        measures.append(time.perf_counter() - t)
    m = statistics.median(measures)
    print(f"{args.sectors} sectors, {len(a.gaps)} gap and {len(a.overlaps)} overlap pieces on {day}")
    print(f"analysis: cold {cold:.2f} s, warm {statistics.median(warm):.2f} s; measures {m:.2f} s "
          f"({100 * m / cold:.0f} % of a cold analysis)")


if __name__ == "__main__":
    main()
