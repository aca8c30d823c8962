"""Synthetic plans for benchmarks: Voronoi-like sectors over a Ukraine-sized extent (fixed seed)."""
from __future__ import annotations

import numpy as np
import shapely
import geopandas as gpd

CODES = ["FRA", "GBR", "DEU", "POL", "ITA", "NLD", "BEL", "DNK", "SWE", "NOR", "FIN", "EST", "LVA", "LTU", "ROU"]


def random_points(area, n: int, rng) -> np.ndarray:
    """``n`` uniformly random (lon, lat) points inside the polygon ``area``."""
    x0, y0, x1, y1 = area.bounds
    pts: list = []
    while len(pts) < n:
        cand = np.column_stack([rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)])
        pts.extend(cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])][: n - len(pts)])
    return np.asarray(pts)


def make_plan(n: int, seed: int = 42, vertices: int = 150, clean: bool = False) -> gpd.GeoDataFrame:
    """``n`` sectors, ~``vertices`` vertices each, 20 % grown (overlaps), 20 % shrunk (gaps), 5 % unassigned.

    Neighbouring cells share a border. By default each sector is densified on its own (its own
    vertex spacing), so a shared border is digitised twice with different vertices: nearly collinear
    edges that noding turns into thousands of slivers, as independently drawn files do. With
    ``clean`` every sector uses one spacing, so shared borders have the same vertices (as a plan
    drawn with snapping has); the gaps and overlaps are the same.
    """
    from ua_coverage.domains import national_extents

    rng = np.random.default_rng(seed)
    air = national_extents().layers["air"]
    x0, y0, x1, y1 = air.bounds
    pts = random_points(air, n, rng)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=shapely.box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)))
    tree = shapely.STRtree(cells)
    # order cells like the points
    order = np.empty(n, dtype=int)
    p_i, c_i = tree.query(shapely.points(pts), predicate="within")
    order[p_i] = c_i
    cells = cells[order]
    cell_size = np.sqrt(shapely.area(cells).mean())
    kind = rng.uniform(size=n)
    grow = np.where(kind < 0.2, 0.06, np.where(kind < 0.4, -0.04, 0.0)) * cell_size
    geoms = shapely.buffer(cells, grow, quad_segs=2, join_style="mitre")
    geoms = shapely.intersection(geoms, shapely.buffer(air, 0.05))
    # densify to about `vertices` vertices per sector
    perim = shapely.length(geoms)
    if clean:
        geoms = shapely.segmentize(geoms, float(np.median(perim)) / vertices)
    else:
        geoms = np.array([shapely.segmentize(g, max(p / vertices, 1e-4)) for g, p in zip(geoms, perim)], dtype=object)
    layer = rng.choice(["land", "air", "sea", "monitoring"], size=n, p=[0.5, 0.3, 0.1, 0.1])
    domain = np.where(layer == "monitoring", "land", layer)
    kinds = np.where(layer == "monitoring", "monitoring", "zone")
    conts = []
    for i in range(n):
        if rng.uniform() < 0.05:
            conts.append("")
        else:
            k = rng.integers(1, 3)
            conts.append(";".join(rng.choice(CODES, size=k, replace=False)))
    floors = np.where(layer == "air", rng.choice([0, 10000], size=n), np.nan)
    ceil = np.where(layer == "air", floors + rng.choice([10000, 56000], size=n), np.nan)
    gdf = gpd.GeoDataFrame({"sector_id": [f"B-{i:05d}" for i in range(n)], "name": [f"Sector {i}" for i in range(n)],
                            "domain": domain, "kind": kinds, "contingent": conts, "floor_ft": floors,
                            "ceiling_ft": ceil, "notes": "synthetic benchmark plan"},
                           geometry=geoms, crs=4326)
    gdf = gdf[~gdf.geometry.is_empty & gdf.geometry.is_valid].reset_index(drop=True)
    return gdf
