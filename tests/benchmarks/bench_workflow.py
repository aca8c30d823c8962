"""Scoped upload preview and commit through the plan workflow (what `import` and the upload page run).

    python tests/benchmarks/bench_workflow.py [--sectors 2000] [--repeat 3]

Times, in a fresh store each: `propose` (validate in the isolated worker, merge by scope, analyse once,
diff) and `commit`, for (a) a land cell's file of the sample's land zones (scope layers) and (b) a synthetic
plan of N sectors (scope all, then the same file's land layer again with scope layers). Prints medians.
Not part of CI.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd

sys.path.insert(0, str(Path(__file__).resolve().parent))


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sectors", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from _plans import make_plan

    from ua_coverage import geodata, workflow

    tmp = Path(tempfile.mkdtemp(prefix="bench-workflow-"))
    s = gpd.read_file(geodata.sample_sectors_path())
    s["valid_from"] = s["valid_from"].astype(str)
    land = s[(s["domain"] == "land") & (s["kind"] == "zone")].copy()
    land.loc[land["sector_id"] == "L-07", "contingent"] = "CZE"
    land.to_file(tmp / "land.geojson")
    big = make_plan(args.sectors, clean=True, vertices=40)
    big.to_file(tmp / "big.geojson")
    big_land = big[big["domain"] == "land"].copy()
    big_land["contingent"] = big_land["contingent"].where(big_land.index % 7 != 0, "FRA")
    big_land.to_file(tmp / "big_land.geojson")
    print(f"files: sample land cell {len(land)} zones; synthetic plan {len(big)} sectors "
          f"({(tmp / 'big.geojson').stat().st_size / 1e6:.1f} MB), its land layer {len(big_land)} sectors")
    rows = {}
    for r in range(args.repeat):
        st = workflow.open_store(tmp / f"store{r}")
        p, t = timed(lambda: workflow.propose(st, sectors=str(tmp / "land.geojson")))
        assert p.accepted and p.changed, p.problems[:3]
        rows.setdefault("sample land cell: propose (scope layers)", []).append(t)
        _, t = timed(lambda: workflow.commit(st, p, message="land cell", author="bench"))
        rows.setdefault("sample land cell: commit", []).append(t)
        p, t = timed(lambda: workflow.propose(st, sectors=str(tmp / "big.geojson"), scope="all"))
        assert p.accepted, p.problems[:3]
        rows.setdefault(f"{len(big)}-sector plan: propose (scope all)", []).append(t)
        _, t = timed(lambda: workflow.commit(st, p, message="big", author="bench"))
        rows.setdefault(f"{len(big)}-sector plan: commit", []).append(t)
        p, t = timed(lambda: workflow.propose(st, sectors=str(tmp / "big_land.geojson")))
        assert p.accepted and p.changed, p.problems[:3]
        rows.setdefault(f"{len(big_land)}-sector land layer on it: propose (scope layers)", []).append(t)
        _, t = timed(lambda: workflow.commit(st, p, message="big land", author="bench"))
        rows.setdefault(f"{len(big_land)}-sector land layer on it: commit", []).append(t)
    w = max(len(k) for k in rows)
    for k, v in rows.items():
        print(f"{k:<{w}}  median {statistics.median(v):6.2f} s  (runs: {', '.join(f'{x:.2f}' for x in v)})")


if __name__ == "__main__":
    main()
