"""Every polygon the product writes or draws is valid, each layer's partition is a valid polygonal
coverage, and the GeoJSON it writes follows RFC 7946 (right-hand rule, lon/lat, 1e-7°).

Checked on the bundled sample and on generated plans (a grid of land zones clipped to Ukraine's
outline; Voronoi cells re-digitised on their own so shared borders become slivers, some grown into
their neighbours, some shrunk, some with holes, some multipolygons), untiled, tiled, and tiled on
worker processes.
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from _engine import engine_settings
import shapely

from ua_coverage import figures, geodata
from ua_coverage.domains import national_extents
from ua_coverage.engine import analyze
from ua_coverage.export.data import GEOJSON_DECIMALS, rfc7946_geometries, write_layers
from ua_coverage.plan import Plan
from ua_coverage.schema import LAYERS

CODES = ["FRA", "GBR", "DEU", "POL", "ITA"]
REGISTRY = pd.DataFrame({"code": CODES, "name": CODES, "colour": ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                                                  "#9467bd"]})


def _frame(geoms, layers, rng) -> gpd.GeoDataFrame:
    rows = []
    for i, (g, layer) in enumerate(zip(geoms, layers)):
        k = rng.integers(0, 4)
        conts = () if rng.uniform() < 0.08 else tuple(rng.choice(CODES, size=k or 1, replace=False))
        floor, ceil = (float(rng.choice([0, 10000])), float("nan")) if layer == "air" else (np.nan, np.nan)
        rows.append({"sector_id": f"Z{i:04d}", "name": f"zone {i}", "kind": "zone", "layer": layer,
                     "contingents": conts, "contingent": ";".join(conts), "floor_ft": floor, "ceiling_ft": ceil,
                     "notes": "", "geometry": g})
    return gpd.GeoDataFrame(rows, crs=4326)


def grid_plan(n: int = 200, seed: int = 3) -> gpd.GeoDataFrame:
    """About ``n`` land zones: a lon/lat grid clipped to Ukraine's outline (every 9th zone is air)."""
    rng = np.random.default_rng(seed)
    outline = geodata.outline().geometry.iloc[0]
    x0, y0, x1, y1 = outline.bounds
    step = (outline.area / n) ** 0.5
    xs, ys = np.meshgrid(np.arange(x0, x1, step), np.arange(y0, y1, step))
    cells = shapely.intersection(shapely.box(xs.ravel(), ys.ravel(), xs.ravel() + step, ys.ravel() + step), outline)
    cells = cells[~shapely.is_empty(cells) & (shapely.area(cells) > 0)]
    layers = np.where(np.arange(len(cells)) % 9 == 4, "air", "land")
    return _frame(cells, layers, rng)


def voronoi_plan(n: int = 60, seed: int = 7) -> gpd.GeoDataFrame:
    """Voronoi cells over central Ukraine, each densified on its own (so shared borders are nearly
    collinear double lines: slivers), a quarter grown into their neighbours, some shrunk, some with
    a hole, some joined to a far cell (multipolygons); all four layers."""
    rng = np.random.default_rng(seed)
    region = shapely.intersection(geodata.outline().geometry.iloc[0], shapely.box(27.5, 47.0, 34.5, 51.5))
    x0, y0, x1, y1 = region.bounds
    pts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts),
                                                       extend_to=shapely.box(x0 - 1, y0 - 1, x1 + 1, y1 + 1)))
    cells = shapely.intersection(cells, region)
    size = float(np.sqrt(shapely.area(cells).mean()))
    out = []
    for i, c in enumerate(cells):
        k = rng.uniform()
        if k < 0.25:
            c = shapely.buffer(c, 0.03 * size, quad_segs=2, join_style="mitre")  # overlaps
        elif k < 0.4:
            c = shapely.buffer(c, -0.02 * size, quad_segs=2, join_style="mitre")  # gaps
        elif k < 0.5:
            hole = shapely.buffer(shapely.point_on_surface(c), 0.1 * size, quad_segs=4)
            c = shapely.difference(c, hole)  # a hole (or a notch)
        elif k < 0.6:
            c = shapely.union(c, cells[(i + len(cells) // 2) % len(cells)])  # often a multipolygon
        c = shapely.segmentize(c, max(float(shapely.length(c)) / rng.integers(40, 160), 1e-4))
        out.append(shapely.make_valid(c))
    out = np.asarray(out, dtype=object)
    parts = [shapely.union_all(shapely.get_parts(g)[np.isin(shapely.get_type_id(shapely.get_parts(g)), (3, 6))])
             for g in out]
    out = np.asarray(parts, dtype=object)
    keep = ~shapely.is_empty(out) & shapely.is_valid(out)
    layers = rng.choice(LAYERS, size=len(out), p=[0.3, 0.1, 0.45, 0.15])
    return _frame(out[keep], layers[keep], rng)


@pytest.fixture
def engine_mode(request):
    """``"untiled"``, ``"tiled"`` (tiny tiles) or ``"workers"`` (tiny tiles on two worker processes)."""
    mode = getattr(request, "param", "untiled")
    per_tile, workers = {"untiled": (10**9, 0), "tiled": (150, 0), "workers": (150, 2)}[mode]
    with engine_settings(per_tile, workers):
        yield mode


def _rings_of(geom: dict):
    polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
    for rings in polys:
        for k, ring in enumerate(rings):
            yield k, ring


def check_geojson(path) -> int:
    """Every feature of a GeoJSON file we wrote: a valid polygon, exterior rings counter-clockwise
    and holes clockwise (RFC 7946 §3.1.6), lon/lat rounded to GEOJSON_DECIMALS. Returns the count."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    unrounded = 0
    for feat in doc["features"]:
        geom = feat["geometry"]
        if geom is None:  # a sliver the projection flattened altogether
            continue
        g = shapely.from_geojson(json.dumps(geom))
        assert shapely.is_valid(g), (path.name, shapely.is_valid_reason(g))
        assert geom["type"] in ("Polygon", "MultiPolygon")
        xy = shapely.get_coordinates(g)
        assert ((-180 <= xy[:, 0]) & (xy[:, 0] <= 180) & (-90 <= xy[:, 1]) & (xy[:, 1] <= 90)).all()
        if np.abs(np.round(xy, GEOJSON_DECIMALS) - xy).max() > 1e-12:
            # written at full precision only where the polygon is thinner than the grid
            unrounded += 1
            assert shapely.is_empty(shapely.set_precision(g, 10.0 ** -GEOJSON_DECIMALS))
        for k, ring in _rings_of(geom):
            ring = shapely.linearrings(np.asarray(ring, dtype=float))
            assert shapely.is_ccw(ring) == (k == 0), (path.name, feat["properties"], k)
    assert unrounded <= 0.1 * len(doc["features"]), unrounded
    return len(doc["features"])


def check_result(result, plan: Plan, tmp_path, *, figures_too: bool = True) -> dict:
    counts = {}
    faces = result.faces
    geoms = faces.geometry.values
    assert shapely.is_valid(geoms).all(), faces[~shapely.is_valid(geoms)].head()
    for layer in LAYERS:
        sel = geoms[(faces["layer"] == layer).values]
        assert shapely.coverage_is_valid(sel), (layer, shapely.coverage_invalid_edges(sel))
    assert shapely.is_valid(result.gap_pieces.geometry.values).all()
    assert shapely.is_valid(result.overlap_pieces.geometry.values).all()
    for layer in LAYERS:
        assert shapely.is_valid(result.gap_faces(layer).geometry.values).all(), layer
        assert shapely.is_valid(result.overlap_faces(layer).geometry.values).all(), layer
    for b in range(len(result.air_bands)):
        assert shapely.is_valid(result.gap_faces("air", b).geometry.values).all(), b
    # the totals are measured on the faces, in the working CRS, and do not depend on their lon/lat shape
    for layer, d in result.domains.items():
        m = (faces["layer"] == layer).values & faces["in_extent"].values
        assert faces["area_km2"].values[m].sum() == pytest.approx(d["extent_km2"], rel=1e-9)

    out = tmp_path / "layers"
    write_layers(result, out)
    for name in ("gaps", "overlaps", "partition"):
        gpkg = gpd.read_file(out / "analysis.gpkg", layer=name)
        assert gpkg.geometry.is_valid.all(), name
        for g in gpkg.geometry.values:
            for part in shapely.get_parts(g):
                if not part.is_empty:  # a sliver the projection flattened altogether
                    assert shapely.is_ccw(part.exterior) and not any(shapely.is_ccw(h) for h in part.interiors)
        counts[name] = check_geojson(out / f"{name}.geojson")
        assert counts[name] == len(gpkg)
    part = gpd.read_file(out / "analysis.gpkg", layer="partition")
    for layer in LAYERS:
        assert shapely.coverage_is_valid(part.geometry.values[(part["layer"] == layer).values]), layer

    if figures_too:
        from ua_coverage.engine.geodesy import area_km2

        for layer in LAYERS:
            fig = figures.map_figure(plan, result, figures.MapView(domain=layer))
            assert fig["data"]
            # what the map draws of the gaps and overlaps has the area the tables give: no polygon lost on the
            # way to the screen (a self-crossing projected union was once rebuilt empty)
            for faces in (result.gap_faces(layer), result.overlap_faces(layer)):
                if len(faces):
                    drawn = float(area_km2(faces.geometry.values).sum())
                    assert drawn == pytest.approx(float(faces["area_km2"].sum()), rel=2e-3), layer
    return counts


def test_sample_writes_no_invalid_polygon(sample_result, tmp_path):
    counts = check_result(sample_result, None, tmp_path, figures_too=False)
    assert counts["partition"] > 1000 and counts["gaps"] > 0 and counts["overlaps"] > 0


PLANS = {"grid": grid_plan, "voronoi": voronoi_plan}


@pytest.mark.parametrize("engine_mode", ["untiled", "tiled"], indirect=True)
@pytest.mark.parametrize("kind", sorted(PLANS))
def test_generated_plans_are_valid(kind, engine_mode, tmp_path):
    sectors = PLANS[kind]()
    plan = Plan(sectors, REGISTRY)
    result = analyze(sectors, plan.full_extents(), REGISTRY)
    assert result._faces["tiled"] == (engine_mode == "tiled")
    check_result(result, plan, tmp_path, figures_too=engine_mode == "tiled")


@pytest.mark.parametrize("engine_mode", ["workers"], indirect=True)
def test_tiles_on_worker_processes_are_valid(engine_mode, tmp_path):
    from ua_coverage.engine import _partition

    sectors = voronoi_plan(80, seed=11)
    calls = []
    real_call = _partition._Worker.call
    _partition._Worker.call = lambda self, job: calls.append(job["box"]) or real_call(self, job)
    try:
        result = analyze(sectors, national_extents(), REGISTRY)
    finally:
        _partition._Worker.call = real_call
    assert len(calls) > 4  # the tiles really ran on the workers
    check_result(result, Plan(sectors, REGISTRY), tmp_path, figures_too=False)


def test_tile_lines_share_vertices():
    """Two tiles' faces along their common line get each other's vertices: an exact coverage."""
    from ua_coverage.engine._partition import match_tile_lines, polygons

    left = shapely.Polygon([(0, 0), (10, 0), (10, 4), (10, 10), (0, 10)])   # vertex at y=4 on x=10
    right = shapely.Polygon([(10, 0), (20, 0), (20, 10), (10, 10), (10, 7), (10, 2)])  # y=7 and y=2
    assert not shapely.coverage_is_valid([left, right])
    rings, ring_face = shapely.get_rings([left, right], return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    ring_len = np.bincount(ring_of)
    face_rings = np.bincount(ring_face)
    boxes = np.array([[0, 0, 10, 10], [10, 0, 20, 10]], dtype=float)
    xy2, ring_len2 = match_tile_lines(xy, ring_len, face_rings, boxes)
    a, b = polygons(xy2, ring_len2, face_rings)
    assert shapely.coverage_is_valid([a, b]) and shapely.equals(a, left) and shapely.equals(b, right)
    assert shapely.get_num_coordinates(a) == shapely.get_num_coordinates(left) + 2
    assert shapely.get_num_coordinates(b) == shapely.get_num_coordinates(right) + 1
    assert shapely.equals(shapely.coverage_union_all([a, b]), shapely.box(0, 0, 20, 10))
    # faces of other layers on the same line are left alone
    xy3, _ = match_tile_lines(xy, ring_len, face_rings, boxes, group=np.array([0, 1]))
    assert np.array_equal(xy3, xy)


def test_round_geojson_never_raises():
    """Invalid input that makes shapely.set_precision raise still draws (each geometry on its own)."""
    hole_outside = shapely.Polygon([(30, 50), (31, 50), (31, 51), (30, 51)],
                                   [[(32, 52), (32.1, 52), (32.1, 52.1), (32, 52.1)]])
    bowtie = shapely.Polygon([(30, 50), (31, 51), (31, 50), (30, 51)])
    good = shapely.box(30, 49, 30.5, 49.5)
    with pytest.raises(shapely.errors.GEOSException):
        shapely.set_precision(np.array([good, hole_outside, bowtie], dtype=object), 1e-4)
    fc = figures._round_geojson([good, hole_outside, None, bowtie], ["a", "b", "c", "d"])
    ids = [f["id"] for f in fc["features"]]
    assert ids[0] == "a" and "b" in ids and "d" in ids
    for f in fc["features"]:
        assert shapely.is_valid(shapely.from_geojson(json.dumps(f["geometry"])))
    assert figures._round_geojson([good], ["a"], 0)["features"]


def test_rfc7946_rounding_keeps_a_thin_sliver_valid():
    # a triangle 1 mm wide: rounding its vertices to 1e-7° (about 1 cm) would flatten it
    sliver = shapely.Polygon([(30.0, 50.0), (30.5, 50.00000004), (31.0, 50.0)])
    square_cw = shapely.Polygon([(30, 50), (30, 51), (31, 51), (31, 50)], [[(30.2, 50.2), (30.8, 50.2),
                                                                             (30.8, 50.8), (30.2, 50.8)]])
    assert shapely.is_valid(sliver) and not shapely.is_ccw(square_cw.exterior)
    out = rfc7946_geometries([sliver, square_cw, None])
    assert shapely.is_valid(out[0]) and not shapely.is_empty(out[0])
    assert shapely.is_ccw(out[0].exterior)
    assert shapely.is_ccw(out[1].exterior) and not shapely.is_ccw(out[1].interiors[0])
    assert out[2] is None
    assert shapely.equals(out[1], square_cw)
