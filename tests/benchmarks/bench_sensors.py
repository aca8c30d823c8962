"""Time of ``ua-coverage analyze --sensors`` (not part of CI).

    python tests/benchmarks/bench_sensors.py                       # the sample, its NOTIONAL sensor set
    python tests/benchmarks/bench_sensors.py --sectors 2000 --sensors 500

Each line is the whole command in a fresh process (``--json`` to /dev/null), median of ``--repeat`` runs; the
plan alone is timed beside it, so the difference is what the sensors cost. Synthetic sensors: 60 % land (ground
radars and posts, 5–40 km, some on masts and some with a 120° sector), 20 % sea (coastal radars on 30 m masts,
80 km), 20 % air (250 km, 25 m masts), placed at random inside Ukraine (fixed seed).
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))
_sys.path.insert(0, str(_Path(__file__).resolve().parent))

import argparse
import statistics
import subprocess
import tempfile
import time


def make_sensors(n: int, seed: int = 11):
    import geopandas as gpd
    import numpy as np

    from _plans import CODES, random_points
    from ua_coverage.domains import national_extents

    rng = np.random.default_rng(seed)
    pts = random_points(national_extents().layers["land"], n, rng)
    rows = []
    for i, (x, y) in enumerate(pts):
        kind = rng.uniform()
        domain = "land" if kind < 0.6 else ("sea" if kind < 0.8 else "air")
        row = {"sensor_id": f"S-{i:04d}", "domain": domain, "contingent": ";".join(rng.choice(CODES, 2, replace=False)),
               "range_km": {"land": float(rng.uniform(5, 40)), "sea": 80.0, "air": 250.0}[domain],
               "antenna_m": {"land": float(rng.choice([0, 12])) or None, "sea": 30.0, "air": 25.0}[domain]}
        if domain == "land" and rng.uniform() < 0.3:
            a = float(rng.uniform(0, 360))
            row.update(azimuth_from_deg=a, azimuth_to_deg=(a + 120) % 360)
        rows.append(row)
    return gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(*zip(*pts)), crs=4326)


def _time(args: list[str], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        p = subprocess.run([_sys.executable, "-m", "ua_coverage", "analyze", *args, "--json"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        runs.append(time.perf_counter() - t)
        assert p.returncode == 0, p.stderr[-500:]
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sectors", type=int, default=0, help="a synthetic plan of about this many sectors (0: sample)")
    ap.add_argument("--sensors", type=int, default=0, help="synthetic sensors (0: the sample's NOTIONAL set)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    d = _Path(tempfile.mkdtemp(prefix="bench-sensors-"))
    plan_args: list[str] = []
    if args.sectors:
        from _plans import make_plan

        make_plan(args.sectors, clean=True, vertices=40).to_file(d / "plan.geojson")
        plan_args = [str(d / "plan.geojson")]
    if args.sensors:
        make_sensors(args.sensors).to_file(d / "sensors.geojson")
        sensor_args = ["--sensors", str(d / "sensors.geojson")]
    else:
        sensor_args = ["--sensors"]
    alone = _time(plan_args, args.repeat)
    both = _time(plan_args + sensor_args, args.repeat)
    what = f"{args.sectors:,} sectors" if args.sectors else "the sample"
    sensors = f"{args.sensors} synthetic sensors" if args.sensors else "its 10 NOTIONAL sensors"
    print(f"{what}: analyze {alone:.2f} s; with --sensors ({sensors}) {both:.2f} s; the sensors cost "
          f"{both - alone:.2f} s (median of {args.repeat}, whole command in a fresh process)")


if __name__ == "__main__":
    main()
