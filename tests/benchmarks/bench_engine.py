"""Benchmark the coverage engine against what a typical user writes (not part of CI).

    python tests/benchmarks/bench_engine.py              # 100, 1,000, 10,000 sectors; baseline at 100 and 1,000
    python tests/benchmarks/bench_engine.py --sizes 100 1000 --baseline-max 100
    python tests/benchmarks/bench_engine.py --sizes 10000 --plans clean --repeat 5
    python tests/benchmarks/bench_engine.py --engine-only PLAN.gpkg --repeat 5   # just the engine, as JSON

Plans are Voronoi-like sectors over Ukraine's air extent (fixed seed, ~150 vertices each, 20 % grown into
their neighbours, 20 % shrunk, 5 % unassigned; 50 % land, 30 % air, 10 % sea, 10 % monitoring), in two
kinds: "slivers" (each sector densified on its own, so shared borders are nearly-collinear double lines)
and "clean" (shared borders share vertices). For each size it prints the engine's seconds (median of
--repeat runs in a fresh process once the plan is read, partition memo cleared each time), the in-process shapely.union_all of the sectors for
scale, faces, grid cells, peak RSS of this process and of the engine's workers, the baseline's seconds
(a geopandas.overlay(how='union') loop per layer), checks that both agree on gap and overlap km² (non-air layers, within 0.1 %), and times
the whole `ua-coverage analyze FILE --json` process against a process that only reads the same file and
computes shapely.union_all of its sectors and the gap against the extent.
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plans import make_plan  # noqa: E402

from ua_coverage.engine.analysis import _ARRANGEMENTS, analyze, to_laea  # noqa: E402
from ua_coverage.domains import national_extents  # noqa: E402
from ua_coverage.ingest import load_sectors  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(sectors: gpd.GeoDataFrame, extents) -> dict:
    """gap and overlap km² per non-air layer with a geopandas.overlay union loop."""
    out = {}
    for layer in ("land", "sea", "monitoring"):
        sel = sectors[sectors["layer"] == layer]
        ext = gpd.GeoDataFrame(geometry=to_laea([extents.layers[layer]]), crs="EPSG:3035")
        geoms = to_laea(sel.geometry.values)
        assigned = np.array([bool(c) for c in sel["contingents"]])
        acc = None
        for g in geoms:
            nxt = gpd.GeoDataFrame({"m": [1]}, geometry=[g], crs="EPSG:3035")
            if acc is None:
                acc = nxt.rename(columns={"m": "n"})
                continue
            acc = gpd.overlay(acc, nxt, how="union", keep_geom_type=True)
            acc["n"] = acc["n"].fillna(0) + acc["m"].fillna(0)
            acc = acc.drop(columns="m")
        inside = gpd.overlay(acc, ext, how="intersection", keep_geom_type=True) if acc is not None else None
        overlap = float(inside.loc[inside["n"] >= 2].area.sum() / 1e6) if inside is not None else 0.0
        covered = gpd.GeoDataFrame(geometry=[shapely.union_all(geoms[assigned])], crs="EPSG:3035")
        gap = float(gpd.overlay(ext, covered, how="difference").area.sum() / 1e6)
        out[layer] = {"gap_km2": gap, "overlap_km2": overlap}
    return out


def workers_peak_mb() -> float:
    """Peak resident memory of the engine's worker processes (they are long-lived, so read /proc)."""
    from ua_coverage.engine import _partition

    total = 0.0
    for w in _partition._POOL or []:
        try:
            for line in open(f"/proc/{w.proc.pid}/status"):
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            pass
    return total


def time_process(args: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def engine_only(path: str, repeat: int) -> None:
    """Time the engine in this (fresh) process on a read plan: the median of ``repeat`` runs."""
    from ua_coverage.engine import _partition

    sectors = load_sectors(path).sectors
    extents = national_extents()
    _partition.warm_up()
    times = []
    for _ in range(repeat):
        _ARRANGEMENTS.clear()  # every run computes the partition (no memo)
        t = time.perf_counter()
        result = analyze(sectors, extents, None)
        times.append(time.perf_counter() - t)
    tiles = sum(p.tiles ** 2 for p in list(_ARRANGEMENTS.values())[-4:])
    t = time.perf_counter()
    shapely.union_all(sectors.geometry.values)  # the floor every exact method pays, same process
    union = time.perf_counter() - t
    print(json.dumps({"engine_s": float(np.median(times)), "union_s": union, "faces": len(result._faces["area_km2"]),
                      "tiles": tiles, "peak_mb": peak_mb(), "workers_mb": workers_peak_mb()}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--engine-only", metavar="PATH", help="only time the engine on this file (JSON output)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--baseline-max", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3, help="engine runs per size (median reported)")
    ap.add_argument("--plans", nargs="+", default=["slivers", "clean"], choices=["slivers", "clean"],
                    help="slivers: shared borders digitised twice (default plan); clean: shared vertices")
    args = ap.parse_args()
    if args.engine_only:
        return engine_only(args.engine_only, args.repeat)
    extents = national_extents()
    tmp = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    print(f"{'plan':>8} {'sectors':>8} {'engine s':>9} {'union s':>8} {'faces':>8} {'tiles':>6} {'peak MB':>8} {'workers MB':>10} "
          f"{'baseline s':>11} {'speed-up':>9} {'CLI s':>7} {'read+union s':>13} {'CLI ratio':>10}")
    for kind, n in [(k, n) for k in args.plans for n in args.sizes]:
        plan = make_plan(n, clean=kind == "clean")
        path = tmp / f"plan{n}{kind}.gpkg"
        plan.to_file(path)
        sectors = load_sectors(path).sectors
        m = json.loads(subprocess.run([sys.executable, __file__, "--engine-only", str(path), "--repeat",
                                       str(args.repeat)], check=True, capture_output=True, text=True).stdout)
        eng, union, nfaces, tiles = m["engine_s"], m["union_s"], m["faces"], m["tiles"]
        base_s = speed = "-"
        if n <= args.baseline_max:
            result = analyze(sectors, extents, None)
            t = time.perf_counter()
            ref = baseline(sectors, extents)
            base = time.perf_counter() - t
            base_s, speed = f"{base:.2f}", f"{base / eng:.0f}x"
            for layer, v in ref.items():
                for k, want in v.items():
                    got = result.domains[layer][k]
                    if abs(got - want) > max(1e-3 * max(want, 1.0), 0.05):
                        print(f"  DISAGREE {layer} {k}: engine {got:.3f} baseline {want:.3f}")
        cli = float(np.median([time_process([sys.executable, "-m", "ua_coverage", "analyze", str(path), "--json"])
                               for _ in range(args.repeat)]))
        floor_code = (
            "import sys, pyogrio, shapely; from ua_coverage.domains import national_extents;"
            f"df = pyogrio.read_dataframe({str(path)!r});"
            "u = shapely.union_all(df.geometry.values);"
            "g = national_extents().layers['air'].difference(u)")
        floor = float(np.median([time_process([sys.executable, "-c", floor_code]) for _ in range(args.repeat)]))
        print(f"{kind:>8} {n:>8} {eng:>9.2f} {union:>8.2f} {nfaces:>8} {tiles:>6} {m['peak_mb']:>8.0f} "
              f"{m['workers_mb']:>10.0f} "
              f"{base_s:>11} {speed:>9} {cli:>7.2f} {floor:>13.2f} {cli / floor:>9.2f}x", flush=True)


if __name__ == "__main__":
    main()
