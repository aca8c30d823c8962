"""The `ua-coverage` command line: exit codes, JSON contract, human tables, layer files."""
import json
import subprocess
import sys

import geopandas as gpd
import pytest

from ua_coverage import geodata


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ua_coverage", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def analyze_json():
    p = run("analyze", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_analyze_json_contract(analyze_json):
    d = analyze_json
    assert set(d["domains"]) == {"air", "sea", "land", "monitoring"}
    for v in d["domains"].values():
        assert {"extent_km2", "covered_km2", "gap_km2", "unassigned_km2", "overlap_km2", "conflict_km2",
                "self_overlap_km2", "outside_km2", "covered_pct"} <= set(v)
    for v in d["contingents"].values():
        assert {"assigned_km2", "exclusive_km2", "shared_km2", "shares_with"} <= set(v)
    for g in d["gaps"]:
        assert {"domain", "area_km2", "centroid", "oblasts"} <= set(g) and len(g["centroid"]) == 2
    for o in d["overlaps"]:
        assert {"domain", "area_km2", "sectors", "contingents", "conflict"} <= set(o)
    assert d["unassigned_sectors"] == ["L-07"]
    assert d["idle_contingents"] == ["PRT"]
    assert d["unknown_contingents"] == []
    assert d["plan"]["notional"] is True
    assert [b["floor_ft"] for b in d["air_bands"]] == [0, 10000]


def test_analyze_human_table_is_labelled_notional():
    p = run("analyze")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("*** NOTIONAL PLANNING DATA")
    assert "Unassigned sectors: L-07" in p.stdout
    assert "Registered contingents with nothing assigned: PRT" in p.stdout
    assert "L-05, L-09" in p.stdout and "self-overlap" in p.stdout


def test_analyze_writes_layers_for_qgis(tmp_path, analyze_json):
    p = run("analyze", "--out", str(tmp_path / "out"), "--json")
    assert p.returncode == 0, p.stderr
    gaps = gpd.read_file(tmp_path / "out" / "gaps.geojson")
    assert len(gaps) >= len(analyze_json["gaps"])
    import pyogrio

    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "out" / "analysis.gpkg")}
    assert layers == {"gaps", "overlaps", "partition", "sectors", "layer_styles"}  # sectors and styles added
    # the sensor layers come with --sensors, for the set it names (as --json gives them)
    p = run("analyze", "--out", str(tmp_path / "with"), "--sensors", "--target-altitudes-ft", "5000")
    assert p.returncode == 0, p.stderr
    fp = gpd.read_file(tmp_path / "with" / "analysis.gpkg", layer="sensor_footprints")
    assert sorted(set(fp["altitude_ft"].dropna())) == [5000.0] and len(fp) == 6 + 2 + 2
    part = gpd.read_file(tmp_path / "out" / "analysis.gpkg", layer="partition")
    land = part[(part.layer == "land") & part.in_extent]
    assert land.area_km2.sum() == pytest.approx(analyze_json["domains"]["land"]["extent_km2"], rel=1e-9)


def test_analyze_with_extents_file_replaces_only_named_layers(tmp_path):
    ext = gpd.GeoDataFrame({"domain": ["monitoring"]}, geometry=[geodata.admin1().set_index("code")
                                                                 .loc["UA-63", "geometry"]], crs=4326)
    ext.to_file(tmp_path / "ext.geojson")
    p = run("analyze", str(geodata.sample_sectors_path()), "--extents", str(tmp_path / "ext.geojson"), "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["domains"]["monitoring"]["extent_source"] == "ext.geojson"
    assert d["domains"]["land"]["extent_source"].startswith("Ukraine's land")
    assert 30_000 < d["domains"]["monitoring"]["extent_km2"] < 33_000  # Kharkiv Oblast


def test_analyze_from_any_directory(tmp_path):
    p = run("analyze", "--json", cwd=tmp_path)
    assert p.returncode == 0, p.stderr


def test_usage_error_exit_2():
    p = run("analyze", "--min-area", "lots")
    assert p.returncode == 2
    assert "invalid float value" in p.stderr


def test_unreadable_file_exit_1_with_message(tmp_path):
    bad = tmp_path / "plan.geojson"
    bad.write_text("this is not geojson", encoding="utf-8")
    p = run("analyze", str(bad))
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "cannot read" in p.stderr or "format" in p.stderr
