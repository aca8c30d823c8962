"""How long does `validate` take on a 5,000-feature valid upload? (not part of CI)

    python tests/benchmarks/bench_ingest.py

Builds a valid plan of 5,000 Voronoi-like sectors (~40 vertices each, all codes in the sample registry)
in GeoJSON, GeoPackage and zipped Shapefile, and times `ua_coverage.ingest.validate_file` (the full upload
path: sniffing, the isolated GDAL worker, schema and geometry rules) and the `ua-coverage validate` process.
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))  # this checkout, not an installed copy

import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _plans import make_plan  # noqa: E402

from ua_coverage.ingest import validate_file  # noqa: E402


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    plan = make_plan(5200, vertices=40)
    plan["geometry"] = shapely.set_precision(plan.geometry.values, 1e-5)
    plan = plan[plan.geometry.is_valid & ~plan.geometry.is_empty].iloc[:5000].reset_index(drop=True)
    print(f"plan: {len(plan)} features, {shapely.get_num_coordinates(plan.geometry.values).sum():,} vertices")
    files = {"GeoJSON": tmp / "plan.geojson", "GeoPackage": tmp / "plan.gpkg"}
    plan.to_file(files["GeoJSON"], COORDINATE_PRECISION=5)
    plan.to_file(files["GeoPackage"])
    shp = tmp / "shp"
    shp.mkdir()
    plan.to_file(shp / "plan.shp")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for f in os.listdir(shp):
            z.write(shp / f, f)
    files["Shapefile (zip)"] = tmp / "plan.zip"
    files["Shapefile (zip)"].write_bytes(buf.getvalue())
    print(f"{'format':<16} {'MB':>6} {'validate_file s':>16} {'CLI process s':>14} {'accepted':>9}")
    for fmt, path in files.items():
        t = time.perf_counter()
        rep = validate_file(path)
        api = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "ua_coverage", "validate", str(path)], stdout=subprocess.DEVNULL)
        cli = time.perf_counter() - t
        print(f"{fmt:<16} {path.stat().st_size / 2**20:>6.1f} {api:>16.2f} {cli:>14.2f} {str(rep['accepted']):>9}"
              + ("" if rep["accepted"] else f"  {rep['problems'][:2]}"))


if __name__ == "__main__":
    main()
