"""By whom and since when (issue 28, items 2 and 3), checked against independent computations on generated plans:
each gap piece's candidates are the nations whose zones lie within 1 m of it, with the boundary they share
(geodesic km); each piece's ``since``/``until`` are the run of days, found day by day, on which the whole piece is a
gap (or an overlap)."""
from __future__ import annotations

import dataclasses
import sys
from datetime import date, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Geod

sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
from _plans import make_plan  # noqa: E402

from ua_coverage import workflow  # noqa: E402
from ua_coverage.ingest import check_sectors  # noqa: E402

CODES = ["FRA", "GBR", "DEU", "POL", "ITA", "NLD", "BEL", "DNK", "SWE", "NOR", "FIN", "EST", "LVA", "LTU", "ROU",
         "BGR", "ESP", "CZE", "USA"]  # the sample registry's, less PRT (idle)
GEOD = Geod(ellps="WGS84")


def _grid(n_side: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_side):
        for j in range(n_side):
            if rng.uniform() < 0.12:
                continue  # a hole: a gap whose diagonal neighbours touch it at a corner only
            x, y = 24.0 + i * 0.8, 46.5 + j * 0.5
            k = int(rng.integers(0, 3))
            rows.append({"sector_id": f"G-{i:02d}-{j:02d}", "name": "cell", "domain": "land", "kind": "zone",
                         "contingent": ";".join(rng.choice(CODES, size=k, replace=False)) if k else "",
                         "geometry": shapely.box(x, y, x + 0.8, y + 0.5)})
    return gpd.GeoDataFrame(rows, crs=4326)


def _voronoi(n: int, seed: int) -> gpd.GeoDataFrame:
    g = make_plan(n, seed=seed, vertices=40, clean=True)
    rng = np.random.default_rng(seed)
    g["contingent"] = [";".join(rng.choice(CODES, size=int(rng.integers(0, 3)), replace=False)) for _ in range(len(g))]
    return g


def _plan(gdf, dates=None):
    gdf = gdf.copy()
    if dates is not None:
        gdf["valid_from"], gdf["valid_to"] = dates
    res = check_sectors(gdf, registry=None)
    assert not res.problems, res.problems[:3]
    base = workflow.sample_plan()
    return dataclasses.replace(base, sectors=res.sectors, phases=base.phases.iloc[0:0], sensors=base.sensors.iloc[0:0])


def _independent_candidates(plan, analysis, i, active=None):
    """Nations within 1 m of gap piece ``i`` and the km of its edge within 1 m of their zones (off the extent's
    outline), in a local metric projection: shapely geometry on the exported piece, not the partition's topology."""
    piece = analysis.gap_pieces.geometry.values[i]
    layer = analysis.gaps[i]["domain"]
    crs = 32636 if piece.centroid.x > 30 else 32635
    to_m = gpd.GeoSeries([piece], crs=4326).to_crs(crs).values[0]
    s = plan.sectors if active is None else plan.sectors[active]
    s = s[(s["layer"] == layer) & s["contingents"].map(bool)]
    # edges as the engine draws them: densified before projecting (a straight lon/lat edge is not straight in UTM)
    dense = shapely.segmentize(np.asarray(s.geometry.values, dtype=object), 0.01)
    zones = gpd.GeoSeries(dense, crs=4326).to_crs(crs).values
    outline = gpd.GeoSeries([shapely.segmentize(plan.full_extents().layers[layer].boundary, 0.01)],
                            crs=4326).to_crs(crs).values[0]
    edge = shapely.difference(to_m.boundary, outline.buffer(1.0))
    near, km = set(), {}
    for z, cs in zip(zones, s["contingents"]):
        if shapely.distance(z, to_m) <= 1.0:
            near |= set(cs)
            shared = shapely.intersection(edge, z.buffer(1.0))
            if not shared.is_empty:
                length = GEOD.geometry_length(gpd.GeoSeries([shared], crs=crs).to_crs(4326).values[0]) / 1000.0
                for c in cs:
                    km[c] = km.get(c, 0.0) + length
    return near, km


@pytest.mark.parametrize("kind,size,seed", [("grid", 9, 3), ("voronoi", 150, 11), ("voronoi", 300, 5)])
def test_candidates_equal_the_nations_within_a_metre_and_their_shared_border(kind, size, seed):
    plan = _plan(_grid(size, seed) if kind == "grid" else _voronoi(size, seed))
    a = workflow.analyze_plan(plan)
    checked = 0
    for i, g in enumerate(a.gaps):
        if g["area_km2"] < 5:
            continue
        near, km = _independent_candidates(plan, a, i)
        got = {c["code"]: c for c in g["candidates"] if not c["idle"]}
        assert set(got) == near, (kind, i, sorted(got), sorted(near))
        for code, c in got.items():
            want = km.get(code, 0.0)
            assert c["border_km"] == pytest.approx(want, rel=0.005, abs=0.05), (kind, i, code, c["border_km"], want)
            assert c["assigned_km2"] == pytest.approx(a.contingents[code]["assigned_km2"])
            assert c["zones_led"] == len(a.contingents[code]["lead_sectors"])
        borders = [c["border_km"] for c in g["candidates"] if not c["idle"]]
        assert borders == sorted(borders, reverse=True) or max(np.diff(borders)) < 0.011
        idle = [c["code"] for c in g["candidates"] if c["idle"]]
        assert idle == sorted(a.idle_contingents) and "PRT" in idle
        checked += 1
    assert checked >= 3


def _dated(gdf, seed):
    rng = np.random.default_rng(seed)
    starts = ["", "2027-01-01", "2027-02-15", "2027-04-01"]
    ends = ["", "2027-03-31", "2027-05-31"]
    vf = rng.choice(starts, len(gdf))
    vt = np.array([e if (not f or not e or f <= e) else "" for f, e in zip(vf, rng.choice(ends, len(gdf)))])
    return vf, vt


def _run_in(window: list[str], day: str, holds) -> tuple:
    """Day by day: the first and last days of the run around ``day`` on which ``holds``; an end that reaches the
    window's edge is open (None)."""
    lo = hi = window.index(day)
    while lo > 0 and holds(window[lo - 1]):
        lo -= 1
    while hi < len(window) - 1 and holds(window[hi + 1]):
        hi += 1
    return (None if lo == 0 else window[lo], None if hi == len(window) - 1 else window[hi])


def _days(a: str, b: str):
    d, end = date.fromisoformat(a), date.fromisoformat(b)
    while d <= end:
        yield d.isoformat()
        d += timedelta(days=1)


@pytest.mark.parametrize("kind,size,seed,day", [("grid", 8, 4, "2027-03-01"), ("voronoi", 160, 9, "2027-04-15")])
def test_since_and_until_equal_a_day_by_day_computation(kind, size, seed, day):
    gdf = _grid(size, seed) if kind == "grid" else _voronoi(size, seed)
    plan = _plan(gdf, _dated(gdf, seed))
    a = workflow.analyze_plan(plan, at=day)
    window = list(_days("2026-11-01", "2027-07-31"))
    active = {d: plan.active_on(d) for d in window}
    s = plan.sectors
    checked = 0
    for i, g in enumerate(a.gaps[:12]):
        piece = a.gap_pieces.geometry.values[i]
        # the zones that reach into the piece: more than a hairline (the piece is drawn in lon/lat, the partition
        # in an equal-area plane: their edges differ by centimetres), so against the piece shrunk by 10 m
        core = gpd.GeoSeries([piece], crs=4326).to_crs(32636).buffer(-10).to_crs(4326).values[0]
        inside = [k for k in range(len(s)) if s["layer"].iat[k] == g["domain"] and s["contingents"].iat[k]
                  and shapely.intersects(shapely.segmentize(s.geometry.values[k], 0.01), core)]

        def gap_on(d):
            return not any(active[d][k] for k in inside)

        assert gap_on(day)
        want = _run_in(window, day, gap_on)
        assert (g["since"], g["until"]) == want, (i, g["since"], g["until"], want)
        checked += 1
    for o in a.overlaps[:12]:
        ids = o["sectors"]
        rows = [int(np.flatnonzero(s["sector_id"].astype(str).values == x)[0]) for x in ids]
        leads = [s["contingents"].iat[r][0] if s["contingents"].iat[r] else "" for r in rows]

        def over_on(d):
            on = [r for r in rows if active[d][r]]
            return len({leads[rows.index(r)] for r in on if leads[rows.index(r)]}) >= 2 if o["conflict"] else len(on) >= 2

        assert (o["since"], o["until"]) == _run_in(window, day, over_on)
        checked += 1
    assert checked >= 4


def test_the_whole_plan_marks_conflicts_that_happen_on_no_day():
    a = workflow.analyze_plan(workflow.sample_plan())
    kyiv = [o for o in a.overlaps if set(o["sectors"]) == {"L-04", "L-08"}]
    assert kyiv and all(o["on_no_day"] for o in kyiv)  # the NLD/GBR handover: L-04 ends before L-08 starts
    assert any(not o["on_no_day"] for o in a.overlaps)
    assert "since" not in a.gaps[0] and "candidates" in a.gaps[0]


def test_an_undated_plan_has_open_runs():
    plan = _plan(_grid(6, 2))
    a = workflow.analyze_plan(plan, at="2027-03-01")
    assert all(g["since"] is None and g["until"] is None for g in a.gaps)
    assert all(not o.get("on_no_day", False) for o in workflow.analyze_plan(plan).overlaps)


def test_the_page_shows_by_whom_since_when_and_the_idle_nation(tmp_path):
    import json

    from test_hardening_inputs import _call, _client, _dep

    from ua_coverage.app import create_app

    app = create_app(tmp_path / "data", warm=False)
    client, deps = _client(app)
    dep = _dep(deps, "map.figure")
    r = json.loads(_call(client, dep, "day-slider.value", **{"day-list.data": [None, "2027-04-03"],
                                                            "day-slider.value": 1}).data)["response"]
    rows = r["gap-table"]["data"]
    want = workflow.analyze_plan(workflow.sample_plan(), at="2027-04-03")
    land = [g for g in want.gaps if g["domain"] == "land"]
    assert [row["since"] for row in rows] == [g["since"] or "open" for g in land]
    assert rows[0]["candidates"].startswith(land[0]["candidates"][0]["code"]) and "idle: PRT" in rows[0]["candidates"]
    assert any(row["until"] == "2027-04-07" for row in rows)  # the handover hole, inclusive end
    assert any(c["code"] == "PRT" and "idle" in c["leads"] for c in r["contingent-table"]["data"])
    whole = json.loads(_call(client, dep, "revision.value", **{"day-list.data": [None, "2027-04-03"]}).data)["response"]
    assert "occur on no day" in json.dumps(whole["overlap-count"]) and "validity dates ignored" in json.dumps(
        whole["gap-count"])
    page = _call(client, _dep(deps, "page.children"), "url.pathname",
                 **{"url.pathname": "/", "url.search": "", "route-key.data": None})
    assert "PRT \u2014 Portugal (idle: nothing assigned)" in page.data.decode()  # listed in the filter, not tickable


@pytest.mark.browser
def test_any_day_can_be_picked_and_the_tables_follow(dash_duo, app):
    """The date picker takes a day that is no change date; the page is drawn for it, gaps with their runs."""
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    box = dash_duo.find_element("input#day-picker")
    box.click()
    box.send_keys("2027-04-03")
    from selenium.webdriver.common.keys import Keys

    box.send_keys(Keys.ENTER)
    from _browser import wait_for

    wait_for(lambda: "on 2027-04-03" in dash_duo.find_element("#revision-info").text, timeout=30, what="the day")
    wait_for(lambda: "2027-04-07" in dash_duo.find_element("#gap-table").text, timeout=30, what="until (incl.)")
    assert "2027-04-01" in dash_duo.find_element("#gap-table").text  # since
    assert "?revision=1&at=2027-04-03" in dash_duo.driver.current_url
    assert dash_duo.get_logs() == []
