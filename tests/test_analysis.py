"""The coverage engine on the sample plan (designed findings) and on random plans (invariants)."""


import geopandas as gpd
import numpy as np
import pyproj
import pytest
from _engine import engine_settings
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ua_coverage import geodata
from ua_coverage.engine.analysis import analyze, area_km2, to_laea
from ua_coverage.domains import Extents, national_extents, sample_extents

GEOD = pyproj.Geod(ellps="WGS84")


def geod_km2(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(shapely.segmentize(geom, 0.05))[0]) / 1e6


@pytest.fixture(scope="module")
def plan():
    from ua_coverage.ingest import load_sectors

    s = load_sectors(geodata.sample_sectors_path()).sectors
    return s.set_index("sector_id", drop=False)


def _union(plan, ids):
    return shapely.union_all(plan.loc[list(ids), "geometry"].values)


def test_areas_agree_with_pyproj_geod(plan):
    geoms = list(plan.geometry) + [geodata.outline().geometry.iloc[0], geodata.territorial_sea().geometry.iloc[0]]
    ours = area_km2(geoms)
    for g, a in zip(geoms, ours):
        ref = geod_km2(g)
        assert abs(a - ref) / ref < 0.001, (a, ref)


def test_sample_domains_add_up(sample_result):
    for layer, d in sample_result.domains.items():
        assert d["gap_km2"] + d["covered_km2"] == pytest.approx(d["extent_km2"], rel=1e-9)
        ext = sample_extents().layers[layer]
        assert d["extent_km2"] == pytest.approx(geod_km2(ext), rel=1e-3)
        assert d["covered_pct"] == pytest.approx(100 * d["covered_km2"] / d["extent_km2"])


def test_designed_land_gap_is_poltava(sample_result, plan):
    land = sample_extents().layers["land"]
    poltava = geodata.admin1().set_index("code").loc["UA-53", "geometry"].intersection(land)
    sectors = _union(plan, [s for s in plan.index if s.startswith("L-")])
    expected = geod_km2(poltava.difference(sectors))
    gaps = [g for g in sample_result.gaps if g["domain"] == "land" and g["oblasts"] == ["UA-53"] and not g["sectors"]]
    assert sum(g["area_km2"] for g in gaps) == pytest.approx(expected, rel=1e-3)
    assert max(g["area_km2"] for g in gaps) > 20_000


def test_designed_unassigned_zone(sample_result, plan):
    assert sample_result.unassigned_sectors == ["L-07"]
    land = sample_extents().layers["land"]
    assigned = _union(plan, [s for s in plan.index if s.startswith("L-") and s != "L-07"])
    expected = geod_km2(plan.loc["L-07", "geometry"].intersection(land).difference(assigned))
    assert sample_result.domains["land"]["unassigned_km2"] == pytest.approx(expected, rel=1e-3)
    piece = next(g for g in sample_result.gaps if g["sectors"] == ["L-07"])
    assert piece["unassigned"] and set(piece["oblasts"]) == {"UA-14", "UA-23", "UA-63"}


@pytest.mark.parametrize("a,b,layer,conflict", [
    ("L-01", "L-08", "land", True), ("L-04", "L-08", "land", True), ("M-01", "M-02", "monitoring", True),
    ("A-01", "A-02", "air", True), ("S-01", "S-02", "sea", True), ("L-05", "L-09", "land", False),
])
def test_designed_overlaps(sample_result, plan, a, b, layer, conflict):
    expected = geod_km2(plan.loc[a, "geometry"].intersection(plan.loc[b, "geometry"]))
    pieces = [o for o in sample_result.overlaps if o["sectors"] == [a, b]]
    assert pieces and all(o["domain"] == layer for o in pieces)
    assert sum(o["area_km2"] for o in pieces) == pytest.approx(expected, rel=1e-3)
    assert all(o["conflict"] is conflict and o["self_overlap"] is (not conflict) for o in pieces)


def test_self_overlap_total_is_the_fra_reserve(sample_result, plan):
    expected = geod_km2(plan.loc["L-05", "geometry"].intersection(plan.loc["L-09", "geometry"]))
    assert sample_result.domains["land"]["self_overlap_km2"] == pytest.approx(expected, rel=1e-3)
    for layer in ("air", "sea", "monitoring"):
        assert sample_result.domains[layer]["self_overlap_km2"] == 0


def test_stacked_air_zones_are_not_an_overlap(sample_result, plan):
    # A-03 (FRA, 10,000 ft and up) sits above A-04 (FRA, up to 10,000 ft): same footprint, no overlap
    assert not any(set(o["sectors"]) == {"A-03", "A-04"} for o in sample_result.overlaps)
    bands = {(b["floor_ft"], b["ceiling_ft"]): b for b in sample_result.air_bands}
    assert set(bands) == {(0.0, 10000.0), (10000.0, 66000.0)}
    low, high = bands[(0.0, 10000.0)], bands[(10000.0, 66000.0)]
    # low band loses the south-east: air AOR east of 33.5°E and south of 48°N
    air = sample_extents().layers["air"]
    se = air.intersection(shapely.box(33.5, 40, 40, 48.0))
    assert low["gap_km2"] - high["gap_km2"] == pytest.approx(geod_km2(se), rel=2e-3)
    assert high["gap_km2"] == pytest.approx(sample_result.domains["air"]["gap_km2"], rel=1e-9)


def test_idle_unknown_and_contingent_summary(sample_result, plan):
    assert sample_result.idle_contingents == ["PRT"]
    assert sample_result.unknown_contingents == []
    fra = sample_result.contingents["FRA"]
    assert fra["lead_sectors"] == ["L-05", "L-09", "A-03", "A-04"]
    assert fra["assigned_km2"] == pytest.approx(fra["exclusive_km2"] + fra["shared_km2"])
    assert fra["shares_with"] == ["BEL", "DEU", "ITA"]
    # L-09 outside L-05 (in Poltava) is FRA's alone
    alone = geod_km2(plan.loc["L-09", "geometry"].difference(plan.loc["L-05", "geometry"]))
    assert fra["exclusive_km2"] == pytest.approx(alone, rel=1e-3)
    assert sample_result.contingents["PRT"]["assigned_km2"] == 0


def test_per_oblast_coverage(sample_result):
    ob = sample_result.oblasts
    assert ob["UA-53"]["layers"]["land"]["covered_pct"] < 30  # Poltava: the designed gap
    assert ob["UA-46"]["layers"]["land"]["covered_pct"] == pytest.approx(100, abs=0.01)  # Lviv
    assert "UA-43" not in ob  # Crimea is outside the sample AOR
    assert len(ob) >= 20


def test_sliver_filter_keeps_totals_exact(sample_result):
    f = sample_result.filtered["gaps"]
    listed = sum(g["area_km2"] for g in sample_result.gaps)
    total = sum(d["gap_km2"] for d in sample_result.domains.values())
    assert listed + f["area_km2"] == pytest.approx(total, rel=1e-9)
    assert all(g["area_km2"] >= 0.01 for g in sample_result.gaps)
    assert sample_result.gaps == sorted(sample_result.gaps, key=lambda g: -g["area_km2"])


def test_unknown_contingents_are_reported_not_refused(tmp_path):
    from ua_coverage.ingest import load_sectors
    from ua_coverage.ingest.registry import read_contingents

    reg = read_contingents(geodata.sample_contingents_path())
    raw = gpd.read_file(geodata.sample_sectors_path())
    raw.loc[raw["sector_id"] == "S-01", "contingent"] = "XYZ"
    raw.to_file(tmp_path / "plan.geojson")
    s = load_sectors(tmp_path / "plan.geojson", registry=set(reg["code"]), strict=False).sectors
    r = analyze(s, national_extents().replace(sample_extents()), reg)
    assert r.unknown_contingents == ["XYZ"]
    assert r.contingents["XYZ"]["known"] is False


# ---- invariants on random plans -------------------------------------------------------------

BOX = shapely.box(30.0, 50.0, 31.0, 50.7)  # around Kyiv


def _extents():
    return Extents({k: BOX for k in ("air", "sea", "land", "monitoring")}, {})


@st.composite
def random_plans(draw):
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        x = draw(st.floats(29.9, 31.0))
        y = draw(st.floats(49.9, 50.7))
        r = draw(st.floats(0.03, 0.35))
        shape = draw(st.sampled_from(["circle", "box"]))
        g = shapely.Point(x, y).buffer(r, 8) if shape == "circle" else shapely.box(x - r, y - r / 2, x + r, y + r)
        cont = draw(st.sampled_from([(), ("FRA",), ("GBR",), ("FRA", "BEL"), ("POL", "FRA")]))
        rows.append({"sector_id": f"S{i}", "name": f"s{i}", "layer": "land", "contingents": cont,
                     "floor_ft": np.nan, "ceiling_ft": np.nan, "geometry": g})
    return gpd.GeoDataFrame(rows, crs=4326)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plans(), st.randoms())
def test_partition_invariants(sectors, rnd):
    r = analyze(sectors, _extents(), None, min_area_km2=0)
    d = r.domains["land"]
    faces = r.faces[(r.faces["layer"] == "land") & r.faces["in_extent"]]
    ext = float(area_km2([BOX])[0])
    # faces tile the extent without overlap
    assert faces["area_km2"].sum() == pytest.approx(ext, rel=1e-7)
    assert float(area_km2([shapely.union_all(faces.geometry.values)])[0]) == pytest.approx(ext, rel=1e-6)
    assert d["gap_km2"] + d["covered_km2"] == pytest.approx(d["extent_km2"], rel=1e-9)
    # area-weighted count of covering sectors == sum of clipped sector areas
    # (clipped in the engine's working CRS, so both sides use the same edges)
    clipped = shapely.area(shapely.intersection(to_laea(sectors.geometry.values), to_laea([BOX])[0])).sum() / 1e6
    assert (faces["area_km2"] * faces["n_sectors"]).sum() == pytest.approx(clipped, rel=1e-6, abs=1e-6)
    # results do not depend on input order
    order = list(range(len(sectors)))
    rnd.shuffle(order)
    r2 = analyze(sectors.iloc[order], _extents(), None, min_area_km2=0)
    for k, v in d.items():
        if isinstance(v, float):
            assert r2.domains["land"][k] == pytest.approx(v, rel=1e-7, abs=1e-7), k
    assert sorted((g["area_km2"] for g in r2.gaps)) == pytest.approx(sorted(g["area_km2"] for g in r.gaps), rel=1e-6)


# ---- tiled partition (large plans) ------------------------------------------------------------

def _by_key(rows):
    """(position, row) sorted by what the row is, not by area (equal areas may swap places)."""
    return sorted(enumerate(rows), key=lambda ir: (ir[1]["domain"], ir[1].get("sectors") or [],
                                                   round(ir[1]["area_km2"], 6)))


def _same_result(a, b):
    for layer, d in a.domains.items():
        for k, v in d.items():
            if isinstance(v, float):
                assert b.domains[layer][k] == pytest.approx(v, rel=1e-9, abs=1e-9), (layer, k)
    for kind in ("gaps", "overlaps"):
        rows_a, rows_b = (_by_key(getattr(x, kind)) for x in (a, b))
        assert [(r["domain"], r.get("sectors"), r["oblasts"]) for _, r in rows_a] == \
            [(r["domain"], r.get("sectors"), r["oblasts"]) for _, r in rows_b], kind
        assert [r["area_km2"] for _, r in rows_b] == pytest.approx([r["area_km2"] for _, r in rows_a], rel=1e-9)
        assert np.ravel([r["centroid"] for _, r in rows_b]) == pytest.approx(
            np.ravel([r["centroid"] for _, r in rows_a]), abs=2e-5)
    for c, v in a.contingents.items():
        assert b.contingents[c]["assigned_km2"] == pytest.approx(v["assigned_km2"], rel=1e-9)
        assert b.contingents[c]["shares_with"] == v["shares_with"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_plans(), st.sampled_from([8, 20, 60]))
def test_tiled_partition_matches_the_untiled_one(sectors, per_tile):
    whole = analyze(sectors, _extents(), None)
    with engine_settings(per_tile):
        tiled = analyze(sectors, _extents(), None)
    _same_result(whole, tiled)
    faces = tiled.faces[(tiled.faces["layer"] == "land") & tiled.faces["in_extent"]]
    ext = float(area_km2([BOX])[0])
    assert faces["area_km2"].sum() == pytest.approx(ext, rel=1e-7)  # tiles still tile the extent
    assert float(area_km2([shapely.union_all(faces.geometry.values)])[0]) == pytest.approx(ext, rel=1e-6)
    # the gap pieces, joined across tile lines, are the same regions
    for (i, _), (j, _) in zip(_by_key(whole.gaps), _by_key(tiled.gaps)):
        # compared in the working CRS (a lon/lat round trip bends edges differently where tiles
        # added vertices)
        g_whole = whole._merge(whole._geometry()[whole._pieces["gaps"][1][i]])
        g_tiled = tiled._merge(tiled._geometry()[tiled._pieces["gaps"][1][j]])
        assert shapely.symmetric_difference(g_whole, g_tiled).area < 1e-6 * max(g_whole.area, 1.0)


def test_worker_processes_give_the_same_answer():
    """A synthetic 300-sector plan (all four layers) in tiles on two worker processes."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
    from _plans import make_plan

    from ua_coverage.engine import _partition
    from ua_coverage.ingest import check_sectors

    sectors = check_sectors(make_plan(300, vertices=40)).sectors
    ext = national_extents()
    whole = analyze(sectors, ext, None)
    with engine_settings(800, workers=2):
        pool = _partition.pool()
        assert len(pool) == 2
        pool[0].proc.kill()  # a dead worker is replaced, not fatal
        pool[0].proc.wait()
        seen = []
        calls = []
        real_call = _partition._Worker.call
        _partition._Worker.call = lambda self, job: calls.append(self.proc.pid) or real_call(self, job)
        try:
            tiled = analyze(sectors, ext, None, progress=lambda done, total: seen.append((done, total)))
        finally:
            _partition._Worker.call = real_call
    assert seen and seen[-1][0] == seen[-1][1] > 4  # progress reached every tile
    # the tiles really ran on the workers: two live processes, the killed one replaced
    assert len(calls) == seen[-1][1] and len(set(calls)) == 2 and pool[0].proc.pid not in calls
    _same_result(whole, tiled)
    assert len(tiled.gaps) > 5 and len(tiled.overlaps) > 20


def test_engine_leaves_the_garbage_collector_as_it_was():
    import gc

    from ua_coverage.workflow import analyze_sample

    assert gc.isenabled()
    analyze_sample()
    assert gc.isenabled()
    gc.disable()
    try:
        analyze_sample()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_partition_layer_has_no_tile_cuts():
    """The sample is tiled (the units' boundaries make its layers big); its written partition is not."""
    from ua_coverage.engine import _partition
    from ua_coverage.workflow import analyze_sample

    tiled = analyze_sample()
    assert tiled._faces["tiled"]
    saved = _partition.VERTICES_PER_TILE
    _partition.VERTICES_PER_TILE = 10**9
    try:
        from ua_coverage.engine import analysis

        analysis._ARRANGEMENTS.clear()
        whole = analyze_sample()
    finally:
        _partition.VERTICES_PER_TILE = saved
        analysis._ARRANGEMENTS.clear()
    assert not whole._faces["tiled"]
    assert len(tiled._faces["area_km2"]) > len(whole._faces["area_km2"])  # the tiles did cut faces
    a, b = whole.faces, tiled.faces
    # the same faces, except that a sliver under a millimetre wide where it crosses a tile line stays cut
    big_a, big_b = a[a["area_km2"] >= 1e-3], b[b["area_km2"] >= 1e-3]
    assert len(big_b) == len(big_a)
    assert len(b) - len(a) <= 0.01 * len(a)
    key = ["layer", "sectors", "oblast", "in_extent"]
    a_sum = a.groupby(key)["area_km2"].sum().sort_index()
    b_sum = b.groupby(key)["area_km2"].sum().sort_index()
    assert list(a_sum.index) == list(b_sum.index)
    assert np.allclose(a_sum.values, b_sum.values, rtol=1e-9)


def test_a_tile_failing_in_a_worker_raises_in_the_caller_and_the_worker_survives():
    from ua_coverage.engine import _partition

    with engine_settings(800, workers=2):
        bad = {"sectors": np.array([b"not wkb"], dtype=object), "sector_idx": np.array([0]),
               "extent": shapely.to_wkb(shapely.box(0, 0, 1, 1)), "oblasts": np.array([], dtype=object),
               "oblast_idx": np.array([], dtype=np.int64), "box": None, "weight": 1}
        runner = _partition.Runner(parallel=True)
        runner.add([bad, bad])
        with pytest.raises(shapely.errors.GEOSException):
            runner.finish()
        workers = _partition.pool()
        assert all(w.alive() for w in workers)
        good = dict(bad, sectors=shapely.to_wkb(np.array([shapely.box(0, 0, 0.5, 1)], dtype=object)))
        runner = _partition.Runner(parallel=True)
        runner.add([good, good])
        out = runner.finish()
        assert [round(float(r["area_m2"].sum()), 6) for r in out] == [1.0, 1.0]
