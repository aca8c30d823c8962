"""Watched, not only assigned: sensor footprints by geodesy (range, annulus, azimuth sector, radar horizon) and
what they watch per domain and per sector. Smooth earth: terrain masking is not modelled."""
from __future__ import annotations

import json
import re
import math
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
from _cli import run_cli
import shapely
from pyproj import Geod

from ua_coverage.domains import Extents
from ua_coverage.engine.geodesy import area_km2
from ua_coverage.engine.sensors import footprint, radar_horizon_km, reach_km, watched
from ua_coverage.ingest import validate_file  # noqa: F401  (the reader shares the upload pipeline)
from ua_coverage.ingest.sensors import read_sensors

GEOD = Geod(ellps="WGS84")


def true_circle_km2(lon: float, lat: float, r_km: float, n: int = 20000) -> float:
    """A very dense geodesic circle's ellipsoidal area (the 'true' area to compare with)."""
    az = np.linspace(0, 360, n, endpoint=False)
    x, y, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, np.full(n, r_km * 1000))
    return abs(GEOD.polygon_area_perimeter(x, y)[0]) / 1e6


@pytest.mark.parametrize("r", [5.0, 40.0, 250.0])
def test_footprints_are_within_a_tenth_of_a_percent_of_the_true_area(r):
    f = footprint(33.0, 48.0, r)
    assert f.is_valid and len(f.exterior.coords) >= 129
    ours = abs(GEOD.geometry_area_perimeter(f)[0]) / 1e6
    assert ours == pytest.approx(true_circle_km2(33.0, 48.0, r), rel=1e-3)


def test_annulus_sector_and_horizon():
    ring = footprint(30.0, 50.0, 30.0, min_km=10.0)
    assert abs(GEOD.geometry_area_perimeter(ring)[0]) / 1e6 == pytest.approx(
        true_circle_km2(30.0, 50.0, 30.0) - true_circle_km2(30.0, 50.0, 10.0), rel=2e-3)
    east = footprint(30.0, 50.0, 30.0, az_from=45.0, az_to=135.0)  # a quarter, facing east
    assert abs(GEOD.geometry_area_perimeter(east)[0]) / 1e6 == pytest.approx(
        true_circle_km2(30.0, 50.0, 30.0) / 4, rel=2e-3)
    assert east.centroid.x > 30.0 and abs(east.centroid.y - 50.0) < 0.05
    wrap = footprint(30.0, 50.0, 30.0, az_from=315.0, az_to=45.0)  # through north
    assert wrap.centroid.y > 50.0
    assert radar_horizon_km(10, 2) == pytest.approx(4.12 * (math.sqrt(10) + math.sqrt(2)))
    assert reach_km(100.0, 10.0, 2.0) == pytest.approx(radar_horizon_km(10, 2))  # the horizon limits a mast
    assert reach_km(100.0, 30.0, 3048 * 0.3048) == 100.0  # an aircraft at 10,000 ft is over the horizon's limit
    assert reach_km(8.0, None, 2.0) == 8.0


def sensors_frame(**changes) -> gpd.GeoDataFrame:
    rows = [{"sensor_id": "R-1", "name": "Mast radar", "domain": "land", "contingent": "POL", "range_km": 40.0,
             "antenna_m": 20.0, "target_m": 2.0},
            {"sensor_id": "R-2", "name": "Coastal radar", "domain": "sea", "contingent": "ROU", "range_km": 60.0,
             "azimuth_from_deg": 90.0, "azimuth_to_deg": 270.0},
            {"sensor_id": "R-3", "name": "Air surveillance", "domain": "air", "contingent": "FRA", "range_km": 300.0,
             "antenna_m": 30.0}]
    g = gpd.GeoDataFrame(rows, geometry=[shapely.Point(30.5, 50.4), shapely.Point(30.7, 46.4),
                                         shapely.Point(32.0, 49.0)], crs=4326)
    for k, v in changes.items():
        g.loc[0, k] = v
    return g


def test_sensor_files_are_checked_like_sector_files(tmp_path):
    p = tmp_path / "s.geojson"
    sensors_frame().to_file(p)
    s, problems, _ = read_sensors(str(p))
    assert problems == [] and list(s["sensor_id"]) == ["R-1", "R-2", "R-3"]
    for change, field in ((dict(range_km=-5.0), "range_km"), (dict(min_range_km=50.0), "min_range_km"),
                          (dict(azimuth_from_deg=10.0), "azimuth_from_deg"), (dict(antenna_m=5000.0), "antenna_m")):
        sensors_frame(**change).to_file(p)
        _, problems, _ = read_sensors(str(p))
        assert [(q.rule, q.field, q.feature) for q in problems][:1] == [("sensor-invalid", field, 0)], change
    g = sensors_frame()
    g.loc[1, "sensor_id"] = "R-1"
    g.to_file(p)
    _, problems, _ = read_sensors(str(p))
    assert problems[0].rule == "sector-id-duplicate"


def test_what_the_sensors_watch():
    box = shapely.box(30.0, 50.0, 31.0, 51.0)
    ext = Extents({k: box for k in ("air", "sea", "land", "monitoring")})
    s = sensors_frame()
    sectors = gpd.GeoDataFrame({"sector_id": ["L-1", "L-2"], "layer": ["land", "land"],
                                "contingents": [("POL",), ("CZE",)], "floor_ft": [np.nan, np.nan]},
                               geometry=[box, shapely.box(30.9, 50.9, 31.0, 51.0)], crs=4326)
    w = watched(s, ext, sectors, altitudes_ft=[1000.0, 30000.0])
    box_km2 = float(area_km2([box])[0])
    expected = true_circle_km2(30.5, 50.4, radar_horizon_km(20.0, 2.0))  # the mast's circle lies inside the box
    assert w["land"]["covered_km2"] == pytest.approx(expected, rel=2e-3)
    assert w["land"]["gap_km2"] == pytest.approx(box_km2 - expected, rel=1e-3)
    assert w["land"]["covered_pct"] == pytest.approx(100 * expected / box_km2, rel=2e-3)
    assert w["watched_pct"]["L-1"] == pytest.approx(100 * expected / box_km2, rel=2e-3)
    assert w["unwatched_sectors"] == ["L-2"]  # assigned, and its corner is out of every sensor's reach
    low, high = w["air"]["altitudes"]
    assert (low["altitude_ft"], high["altitude_ft"]) == (1000.0, 30000.0)
    assert low["covered_km2"] == 0 < high["covered_km2"]  # 1,000 ft is below its horizon 170 km out; 30,000 ft is not
    assert "terrain masking is not modelled" in w["note"]
    default = watched(s, ext, sectors)
    assert [a["altitude_ft"] for a in default["air"]["altitudes"]] == [0.0]  # 0 ft and the air zones' floors


def test_cli_analyze_with_sensors(tmp_path):
    p = tmp_path / "s.geojson"
    sensors_frame().to_file(p)
    out = run_cli("analyze", "--sensors", str(p), "--json", "--target-altitudes-ft", "1000,10000")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    sens = doc["sensors"]
    assert set(sens) >= {"land", "sea", "air", "unwatched_sectors", "note"}
    assert [a["altitude_ft"] for a in sens["air"]["altitudes"]] == [1000.0, 10000.0]
    assert sens["land"]["covered_km2"] > 1000 and sens["land"]["extent_km2"] > 400_000
    assert 0 < doc["sectors"]["L-01"]["watched_pct"] <= 100  # the mast radar stands in L-01
    assert "L-07" not in sens["unwatched_sectors"]  # unassigned sectors are not listed
    out = run_cli("analyze", "--sensors", str(p), "--json")
    floors = sorted({0.0} | {a for a in (0.0, 10000.0)})  # the sample's air zones have floors 0 and 10,000 ft
    assert [a["altitude_ft"] for a in json.loads(out.stdout)["sensors"]["air"]["altitudes"]] == floors



def test_per_contingent_figures_and_gap_pieces_come_from_the_partition_engine():
    """Per contingent: watched, alone and shared km² per domain (air per altitude); the unwatched area as gap
    pieces located by oblast, as sector gaps are; their areas add up to the domain's unwatched km²."""
    doc = json.loads(run_cli("analyze", "--sensors", "--json").stdout)["sensors"]
    usa, pol = doc["contingents"]["USA"]["land"], doc["contingents"].get("POL")
    assert pol is None and usa["sensors"] == 6  # USA supports every land sensor of the sample
    assert usa["watched_km2"] == pytest.approx(doc["land"]["covered_km2"], rel=1e-4)
    assert usa["exclusive_km2"] + usa["shared_km2"] == pytest.approx(usa["watched_km2"])
    dnk = doc["contingents"]["DNK"]["land"]
    assert dnk["sensors"] == 2 and 0 < dnk["watched_km2"] < usa["watched_km2"]
    gbr = doc["contingents"]["GBR"]["air"]
    assert [a["altitude_ft"] for a in gbr] == [0.0, 10000.0] and gbr[0]["watched_km2"] < gbr[1]["watched_km2"]
    for domain in ("land", "sea"):
        pieces = [g for g in doc["gaps"] if g["domain"] == domain]
        assert sum(g["area_km2"] for g in pieces) == pytest.approx(doc[domain]["gap_km2"], rel=1e-3)
        assert all(set(g) >= {"area_km2", "oblasts", "centroid", "at_sea"} for g in pieces)
    high = [g for g in doc["gaps"] if g["domain"] == "air" and g["altitude_ft"] == 10000.0]
    assert sum(g["area_km2"] for g in high) == pytest.approx(doc["air"]["altitudes"][1]["gap_km2"], rel=1e-3)


def test_the_sample_sensor_set_and_its_designed_findings():
    """The NOTIONAL sensor set (build_sample.py): ground radars and observation posts watch the monitoring sectors
    along the line but not M-04 (Dnipro); 25 m air radars see low-level targets only within the horizon (about
    21 km) and most of the air extent at 10,000 ft; the coastal radars are horizon-limited (about 33 km of their
    80 km), so the outer maritime zone S-02 is unwatched."""
    from ua_coverage import geodata
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    s, problems, _ = read_sensors(geodata.sample_sensors_path(), registry=plan.registry())
    assert problems == [] and len(s) == 10
    w = watched(s, plan.full_extents(), plan.sectors)
    assert "M-04" in w["unwatched_sectors"] and "S-02" in w["unwatched_sectors"]
    assert all(w["watched_pct"][m] > 5 for m in ("M-01", "M-02", "M-03"))
    low, high = w["air"]["altitudes"]
    assert (low["altitude_ft"], high["altitude_ft"]) == (0.0, 10000.0)
    assert low["covered_pct"] < 1 and high["covered_pct"] > 50
    assert w["watched_pct"]["A-03"] == pytest.approx(100)  # FL100 and up: the Dnipro radar sees all of it
    horizon = radar_horizon_km(40, 3)
    assert horizon == pytest.approx(33.2, abs=0.1)
    coast = footprint(30.74, 46.48, horizon)
    assert w["sea"]["covered_km2"] < 2 * float(area_km2([coast])[0])  # two horizon discs at most, not 80 km ones


def test_a_what_if_and_a_date_take_their_sensors_along():
    """A withdrawn nation's sensors go with it unless another nation mans them; a sensor out of service on a day is
    not counted that day."""
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    assert len(plan.sensors) == 10  # the sample plan carries its sensor set
    gone = plan.without(["GBR", "NOR"])
    assert "ASR-01" not in set(gone.sensors["sensor_id"]) and len(gone.sensors) == 9
    dnk = plan.without(["DNK"]).sensors
    assert dnk.loc[dnk["sensor_id"] == "GSR-01", "contingent"].item() == "USA"  # the supporting nation runs it
    ext = plan.full_extents()
    full = watched(plan.sensors, ext, plan.sectors, altitudes_ft=[10000.0])
    less = watched(gone.sensors, ext, gone.sectors, altitudes_ft=[10000.0])
    assert less["air"]["altitudes"][0]["covered_km2"] < full["air"]["altitudes"][0]["covered_km2"] - 50_000
    late = plan.sensors.copy()
    late.loc[late["sensor_id"] == "CR-02", "valid_from"] = "2027-03-01"
    dated = type(plan)(plan.sectors, plan.contingents, plan.extents, plan.notional, plan.phases, late)
    assert "CR-02" not in set(dated.sensors_on("2027-02-01")["sensor_id"])
    assert "CR-02" in set(dated.on("2027-03-01").sensors["sensor_id"])


def _sensor_trace(dash_duo) -> dict:
    from _browser import on_map

    return on_map(dash_duo, "var t = g.data.filter(function(d) { return d.name === 'Sensors'; })[0]; "
                            "return t ? {n: t.lon.length, colours: t.marker.color, hover: t.hovertext[0]} : null;")


@pytest.mark.browser
def test_the_sensors_layer_in_the_browser(dash_duo, app):
    """A planner ticks Sensors: the markers (coloured by lead), the footprints and the Watched KPI appear; in
    Monitoring the unwatched table puts M-04 first at 0 %; in Air the altitude picker changes what is watched."""
    from _browser import wait_for

    from ua_coverage.engine.sensors import sensor_layer
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    ext = plan.full_extents()
    colours = dict(zip(plan.contingents["code"], plan.contingents["colour"]))
    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    assert _sensor_trace(dash_duo) is None and not dash_duo.find_elements("#kpi-watched")  # off by default
    dash_duo.find_element("#layer-picker input[value='sensors']").click()
    land = sensor_layer(plan.sensors, ext, "land")
    dash_duo.wait_for_text_to_equal("#kpi-watched", f"{land['covered_pct']:.1f} %", timeout=20)
    wait_for(lambda: _sensor_trace(dash_duo) is not None, what="the sensor markers")
    t = _sensor_trace(dash_duo)
    assert t["n"] == 6 and t["colours"] == [colours[c] for c in ("DNK", "DNK", "EST", "LVA", "EST", "LVA")]
    assert "GSR-01" in t["hover"] and "radar horizon" in t["hover"] and "terrain masking is not modelled" in t["hover"]
    assert "smooth earth" in dash_duo.find_element("#kpis").text

    dash_duo.find_element("#domain-picker input[value='monitoring']").click()
    dash_duo.wait_for_text_to_equal("#kpi-extent", "14,564 km²", timeout=20)
    wait_for(lambda: dash_duo.find_element("#unwatched-table tbody tr:nth-child(2) td[data-dash-column='sector_id']")
             .text == "M-04", what="M-04 first in the unwatched table")
    row = dash_duo.find_element("#unwatched-table tbody tr:nth-child(2) td[data-dash-column='watched_pct']").text
    assert row == "0.0" and "1 of 4 assigned monitoring sectors unwatched" in dash_duo.find_element(
        "#unwatched-count").text

    dash_duo.find_element("#domain-picker input[value='air']").click()
    low = sensor_layer(plan.sensors, ext, "air", 0.0)
    dash_duo.wait_for_text_to_equal("#kpi-watched", f"{low['covered_pct']:.1f} %", timeout=20)
    dash_duo.select_dcc_dropdown("#sensor-altitude", value="10,000 ft (an air zone's floor)")
    high = sensor_layer(plan.sensors, ext, "air", 10000.0)
    dash_duo.wait_for_text_to_equal("#kpi-watched", f"{high['covered_pct']:.1f} %", timeout=20)
    assert high["covered_pct"] > 50 > low["covered_pct"] + 45
    assert "at 10,000 ft" in dash_duo.find_element("#kpis").text
    assert dash_duo.get_logs() == []


def test_exports_draw_the_sensor_layers_with_their_legend(tmp_path):
    """export --layers …,sensors,unwatched: the legend names the reach, the unwatched hatching and every sensor
    colour, the subtitle gives the watched share with the smooth-earth caveat; a plan without sensors refuses
    the layer, and an unknown layer is a usage error."""
    import re

    data = tmp_path / "d"
    out = run_cli("export", "--data-dir", str(data), "--domain", "air", "--layers", "zones,sensors,unwatched",
                  "--sensor-altitude-ft", "10000", "--format", "svg", "--out", str(tmp_path / "air.svg"))
    assert out.returncode == 0, out.stderr
    svg = (tmp_path / "air.svg").read_text(encoding="utf-8")
    text = " ".join(re.findall(r">([^<>]+)</text>", svg)).replace("&amp;", "&")
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import analyze_plan, sample_plan

    plan = sample_plan()
    fig = map_figure(plan, analyze_plan(plan), MapView(domain="air", layers=("unwatched",), sensor_altitude_ft=10000))
    (hatch,) = [t for t in fig["data"] if t.get("name") == "Unwatched"]
    lon = [x for x in hatch["lon"] if x is not None]
    assert len(lon) > 100 and min(lon) > 21.5 and max(lon) < 41  # diagonal lines, clipped to the unwatched air
    for label in ("Sensor reach at 10,000 ft (smooth earth)", "Unwatched at 10,000 ft (hatched)",
                  "Sensor, GBR lead", "Sensor, FRA lead"):
        assert label in text, label
    assert re.search(r"watched by 2 sensors at 10,000 ft 55\.8 % \(smooth earth, no terrain\)", text)
    bad = run_cli("export", "--data-dir", str(data), "--layers", "zones,radar", "--out", str(tmp_path / "x.png"))
    assert bad.returncode == 2 and "radar is not a layer" in bad.stderr
    # a revision with no sensor set (an empty sensor file is refused, so the test builds one in code)
    from ua_coverage.plan import empty_sensors
    from ua_coverage.workflow import commit_plan, open_store

    st = open_store(data)
    plan = st.load(1)
    plan.sensors = empty_sensors()
    commit_plan(st, plan, base=1, author="t", message="no sensors")
    none = run_cli("export", "--data-dir", str(data), "--layers", "sensors", "--out", str(tmp_path / "y.png"))
    assert none.returncode == 2 and "has no sensor set" in none.stderr


def test_the_pack_has_a_watched_page_and_a_what_if_takes_the_sensors(tmp_path):
    """The briefing pack of a plan with sensors has a "Watched by sensors" page with the designed findings and the
    smooth-earth caveat; in a what-if without GBR and NOR their air radar is gone from the figures."""
    import shutil

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    data = tmp_path / "d"
    pages = {}
    for name, extra in (("plan", ()), ("whatif", ("--without", "GBR,NOR"))):
        out = run_cli("export", "--data-dir", str(data), "--format", "pack", "--out", str(tmp_path / f"{name}.pdf"),
                      *extra)
        assert out.returncode == 0, out.stderr
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / f"{name}.pdf"), "-"], capture_output=True,
                              text=True, check=True).stdout
        pages[name] = next(p for p in text.split("\f") if "Watched by sensors" in p)
    plan = pages["plan"]
    assert "terrain masking is not modelled" in plan
    assert re.search(r"Air at 10,000 ft\s+2\s+[\d,]+\s+55\.8 %", plan)
    assert re.search(r"Sea\s+S-02", plan) and re.search(r"Monitoring\s+M-04", plan)
    wi = pages["whatif"]
    assert "WHAT-IF" in wi and "GBR, NOR" in wi
    assert re.search(r"Air at 10,000 ft\s+1\s+", wi)  # one air radar left (ASR-02, FRA;DEU)


def test_the_data_export_carries_the_sensors(tmp_path):
    """The data export of a plan with sensors: the points (with reach and horizon) and one footprint per sensor
    (air once per default altitude) in GeoJSON and the GeoPackage, and the analyze --sensors block in summary.json."""
    import geopandas as gpd

    out = run_cli("export", "--data-dir", str(tmp_path / "d"), "--format", "data", "--out", str(tmp_path / "x"))
    assert out.returncode == 0, out.stderr
    pts = gpd.read_file(tmp_path / "x" / "analysis.gpkg", layer="sensors")
    assert len(pts) == 10 and set(pts["lead"]) >= {"DNK", "GBR", "ROU"}
    cr = pts[pts["sensor_id"] == "CR-01"].iloc[0]
    assert cr["reach_km"] == pytest.approx(radar_horizon_km(40, 3)) and cr["range_km"] == 80
    fp = gpd.read_file(tmp_path / "x" / "sensor_footprints.geojson")
    assert len(fp) == 6 + 2 + 2 * 2  # land, sea, and the two air radars at 0 and 10,000 ft
    doc = json.loads((tmp_path / "x" / "summary.json").read_text())
    assert "M-04" in doc["sensors"]["unwatched_sectors"] and doc["sectors"]["M-04"]["watched_pct"] == 0
    assert doc["sensors"]["air"]["altitudes"][1]["covered_pct"] == pytest.approx(55.8, abs=0.05)


def test_an_uploaded_sensor_file_is_previewed_and_committed(tmp_path):
    """The upload page's path: the sensor file's bytes, proposed against the current revision, previewed (diff,
    unchanged coverage) and committed; a broken one is refused naming the feature and the rule."""
    from ua_coverage import workflow

    st = workflow.open_store(tmp_path / "d")
    g = sensors_frame()
    g["contingent"] = ["POL", "ROU", "FRA"]
    g.to_file(tmp_path / "s.geojson")
    prop = workflow.propose(st, sensors=(tmp_path / "s.geojson").read_bytes())
    assert prop.accepted and prop.changed and prop.inputs.source_name == "sensor file"
    assert prop.diff["sensors"]["added"] == ["R-1", "R-2", "R-3"] and len(prop.diff["sensors"]["removed"]) == 10
    assert all(v["gap_km2"]["change"] == 0 for v in prop.diff["coverage"].values())  # sensors watch, not assign
    info = workflow.commit(st, prop, message="new sensor set", author="staff")
    assert list(st.load(info.id).sensors["sensor_id"]) == ["R-1", "R-2", "R-3"]
    g.loc[1, "range_km"] = -5
    g.to_file(tmp_path / "bad.geojson")
    bad = workflow.propose(st, sensors=(tmp_path / "bad.geojson").read_bytes())
    assert [(p.rule, p.feature, p.field) for p in bad.problems] == [("sensor-invalid", 1, "range_km")]
    assert st.current().id == info.id


def test_kml_has_the_sensors_and_their_footprints(tmp_path):
    import xml.etree.ElementTree as ET

    out = run_cli("export", "--data-dir", str(tmp_path / "d"), "--format", "kml", "--out", str(tmp_path / "x.kml"))
    assert out.returncode == 0, out.stderr
    k = "{http://www.opengis.net/kml/2.2}"
    doc = ET.parse(tmp_path / "x.kml")
    folder = next(f for f in doc.iter(f"{k}Folder") if f.find(f"{k}name").text == "Sensors")
    points = [p for p in folder.iter(f"{k}Placemark") if p.find(f"{k}Point") is not None]
    assert len(points) == 10
    cr = next(p for p in points if p.find(f"{k}name").text == "CR-01")
    assert "33.2" in cr.find(f"{k}description").text and "terrain masking is not modelled" in cr.find(
        f"{k}description").text
    assert len([p for p in folder.iter(f"{k}Placemark") if p.find(f"{k}Polygon") is not None]) == 12


def test_sensors_through_time(tmp_path):
    """analyze --sensors --timeline: the sensors' own dates split the intervals; a coastal radar arriving on
    1 March watches the sea from then, not before."""
    from ua_coverage import geodata

    s = gpd.read_file(geodata.sample_sensors_path())
    s.loc[s["sensor_id"] == "CR-02", "valid_from"] = "2027-03-01"
    s.to_file(tmp_path / "s.geojson")
    doc = json.loads(run_cli("analyze", "--sensors", str(tmp_path / "s.geojson"), "--timeline", "--json").stdout)
    rows = {r["from"]: r for r in doc["sensors_timeline"]}
    assert "2027-03-01" in rows and rows["2027-02-15"]["to"] == "2027-03-01"
    assert rows["2027-02-15"]["active_sensors"] == 9 and rows["2027-03-01"]["active_sensors"] == 10
    assert rows["2027-02-15"]["sea"]["covered_km2"] < rows["2027-03-01"]["sea"]["covered_km2"] - 500
    assert [r["from"] for r in doc["timeline"]] == [None, "2027-01-01", "2027-02-15", "2027-04-01", "2027-04-08"]
    assert "M-04" in rows["2027-04-08"]["unwatched_sectors"]


def test_review_cases_blank_dates_unnamed_sensors_zero_target_and_bad_altitudes(tmp_path):
    """A file with dates on some sensors only is read (blank = open); a sensor no nation is named for still
    watches (its area is no gap piece); a 0 m target is a height, not a missing one; bad altitude lists are usage
    errors, not tracebacks."""
    from ua_coverage.domains import national_extents
    from ua_coverage.engine.sensors import sensor_layer

    g = sensors_frame()
    g["valid_from"] = ["2027-01-01", None, None]
    g.loc[1, "contingent"] = ""
    g.loc[0, "target_m"] = 0.0
    g.to_file(tmp_path / "s.geojson")
    s, problems, _ = read_sensors(str(tmp_path / "s.geojson"), strict=True)
    assert problems == [] and list(s["valid_from"]) == ["2027-01-01", "", ""]
    w = watched(s, national_extents(), altitudes_ft=[0.0])
    for domain in ("land", "sea"):
        pieces = sum(p["area_km2"] for p in w["gaps"] if p["domain"] == domain)
        assert pieces == pytest.approx(w[domain]["gap_km2"], rel=1e-4), domain
    row = sensor_layer(s, national_extents(), "land")["sensors"][0]
    assert row["target_m"] == 0.0 and row["horizon_km"] == pytest.approx(radar_horizon_km(20, 0))
    assert row["reach_km"] == pytest.approx(4.12 * math.sqrt(20))
    for bad in (",", "nan", "-5", "1,x"):
        out = run_cli("analyze", "--sensors", "--target-altitudes-ft", bad, "--json")
        assert out.returncode == 2 and "--target-altitudes-ft" in out.stderr, bad


def test_the_dashboard_offers_sensor_dates_and_sensor_nations(tmp_path):
    """A sensor's own dates are stops of the day slider, and a nation that only mans sensors can be withdrawn."""
    from ua_coverage.app.map_page import _used
    from ua_coverage.app.state import AppState
    from ua_coverage.workflow import commit_plan, open_store

    st = open_store(tmp_path / "d")
    plan = st.load(1)
    s = plan.sensors.copy()
    s.loc[s["sensor_id"] == "CR-02", ["valid_from", "contingent"]] = ["2027-05-20", "PRT"]  # PRT holds no sector
    plan.sensors = s
    info = commit_plan(st, plan, base=1, author="t", message="a late Portuguese radar")
    state = AppState(st)
    assert "2027-05-20" in state.days(info.id) and "2027-05-20" not in state.days(1)
    assert "PRT" in _used(state, info.id) and "PRT" not in _used(state, 1)
    assert "CR-02" not in set(state.plan(info.id, ("PRT",)).sensors["sensor_id"])
