"""Issue 27: a new plan set up honestly — whole-plan imports choose every part (never inherit the sample's notional
extents, phases and sensors), one answer everywhere (validate, analyze FILE, import --dry-run against the same
registry and extents), round trips through the product's own exports are no change, and every CSV is sniffed alike.

Tested on generated plans of several shapes (a grid of a few hundred zones, a Voronoi plan) with 20+ nations, some of
them unknown to the sample's registry.
"""
from __future__ import annotations

import json
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _cli import run_cli

from ua_coverage import geodata, workflow
from ua_coverage.domains import national_extents

from _stores import BACKENDS, PG_URL, backend_store  # noqa: E402,F401
#: 24 nations: the sample registry lacks CAN, AUS, JPN and NZL
NATIONS = ["FRA", "GBR", "DEU", "POL", "ITA", "NLD", "BEL", "DNK", "SWE", "NOR", "FIN", "EST", "LVA", "LTU", "ROU",
           "BGR", "ESP", "CZE", "PRT", "USA", "CAN", "AUS", "JPN", "NZL"]
SAMPLE_NATIONS = [c for c in NATIONS if c not in ("CAN", "AUS", "JPN", "NZL")]


def grid_plan(nx: int = 22, ny: int = 16, nations=NATIONS, seed: int = 5) -> gpd.GeoDataFrame:
    """A grid of zones over Ukraine's air extent (a few hundred), layers by where the cell lies, a monitoring strip."""
    rng = np.random.default_rng(seed)
    ext = national_extents()
    x0, y0, x1, y1 = ext.layers["air"].bounds
    xs, ys = np.linspace(x0, x1, nx + 1), np.linspace(y0, y1, ny + 1)
    rows = []
    land, sea = ext.layers["land"], ext.layers["sea"]
    for i in range(nx):
        for j in range(ny):
            cell = shapely.box(xs[i], ys[j], xs[i + 1], ys[j + 1])
            if not cell.intersects(ext.layers["air"]):
                continue
            domain = "sea" if cell.intersects(sea) and not cell.intersects(land) else "land"
            if (i + j) % 5 == 0:
                domain = "air"
            k = rng.integers(0, 3)
            codes = "" if k == 0 and rng.uniform() < 0.3 else ";".join(rng.choice(nations, size=max(k, 1), replace=False))
            rows.append({"sector_id": f"G-{i:02d}-{j:02d}", "name": f"Grid cell {i},{j}", "domain": domain,
                         "kind": "zone", "contingent": codes,
                         "floor_ft": 0.0 if domain == "air" else np.nan,
                         "ceiling_ft": 30000.0 if domain == "air" else np.nan, "geometry": cell})
    mon = ext.layers["monitoring"]
    mx0, my0, mx1, my1 = mon.bounds
    for k in range(6):
        strip = shapely.box(mx0 + (mx1 - mx0) * k / 6, my0, mx0 + (mx1 - mx0) * (k + 1) / 6, my1)
        rows.append({"sector_id": f"GM-{k}", "name": f"Monitoring {k}", "domain": "land", "kind": "monitoring",
                     "contingent": nations[k], "floor_ft": np.nan, "ceiling_ft": np.nan, "geometry": strip})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def voronoi_plan(n: int = 180, nations=NATIONS, seed: int = 11) -> gpd.GeoDataFrame:
    """Voronoi zones over the land extent, a quarter of them air zones with two altitude bands."""
    rng = np.random.default_rng(seed)
    land = national_extents().layers["land"]
    x0, y0, x1, y1 = land.bounds
    pts = []
    while len(pts) < n:
        p = shapely.Point(rng.uniform(x0, x1), rng.uniform(y0, y1))
        if land.contains(p):
            pts.append(p)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=shapely.box(x0, y0, x1, y1)))
    cells = [shapely.intersection(c, shapely.box(21.6, 43.6, 40.7, 52.9)) for c in cells]
    rows = []
    for i, c in enumerate(cells):
        air = i % 4 == 0
        rows.append({"sector_id": f"V{i:03d}", "name": f"Zone {i}", "domain": "air" if air else "land", "kind": "zone",
                     "contingent": ";".join(rng.choice(nations, size=int(rng.integers(1, 3)), replace=False)),
                     "floor_ft": float(rng.choice([0, 10000])) if air else np.nan,
                     "ceiling_ft": 45000.0 if air else np.nan, "geometry": c})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def registry_csv(path, codes, sep=","):
    from ua_coverage.ingest.nations import name_of

    sample = pd.read_csv(geodata.sample_contingents_path(), dtype=str, keep_default_na=False)
    have = set(sample["code"])
    extra = [{"code": c, "name": name_of(c), "colour": col, "notes": ""}
             for c, col in zip([c for c in codes if c not in have], ["#5e3c99", "#1b7837", "#8c510a", "#2166ac"])]
    pd.concat([sample, pd.DataFrame(extra)], ignore_index=True).to_csv(path, index=False, sep=sep)
    return path


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, monkeypatch):
    yield from backend_store(request.param, tmp_path, monkeypatch, "wp")


def _figures(domains: dict) -> dict:
    return {layer: {k: round(v[k], 3) for k in ("extent_km2", "covered_km2", "gap_km2", "overlap_km2", "outside_km2")}
            for layer, v in domains.items()}


@pytest.mark.parametrize("shape", ["grid", "voronoi"])
def test_a_whole_plan_on_top_of_the_sample_is_measured_against_national_extents(store, tmp_path, shape):
    plan = grid_plan() if shape == "grid" else voronoi_plan()
    assert len(plan) >= 180 and len({c for v in plan["contingent"] for c in v.split(";") if c}) >= 20
    path = tmp_path / "plan.geojson"
    plan.to_file(path)
    reg = registry_csv(tmp_path / "reg.csv", NATIONS)
    prop = workflow.propose(store, sectors=str(path), contingents=str(reg), scope="all")
    assert prop.accepted, prop.problems[:3]
    new = prop.plan
    # no sample extents, sensors or phases: the national defaults, each part saying where it came from
    assert new.extents.layers == {} and len(new.sensors) == 0 and len(new.phases) == 0
    assert prop.parts["choices"] == {"extents": "national", "registry": "file", "phases": "national",
                                     "sensors": "national"}
    src = new.part_sources()
    assert src["registry"] == {"source": "reg.csv", "notional": False, "present": True}
    assert all(v["default"] for v in src["extents"].values())
    assert new.notional_parts() == ["monitoring extent"]  # the national monitoring default is the sample's belt
    info = workflow.commit(store, prop, message="whole plan", author="staff")
    stored = store.load(info.id)
    assert stored.parts == new.parts and store.revision(info.id).notional_parts() == ["monitoring extent"]
    # the same figures as analyze FILE (the revision's stored summary and a fresh analysis of it)
    r = run_cli("analyze", str(path), "--contingents", str(reg), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert _figures(info.summary["domains"]) == _figures(doc["domains"])
    assert _figures(workflow.analyze_plan(stored).domains) == _figures(doc["domains"])
    land = doc["domains"]["land"]
    assert abs(land["extent_km2"] - 599_094.4) < 1  # Ukraine in its internationally recognised borders
    assert doc["plan"]["extent_source"]["land"].startswith("national default")
    assert doc["plan"]["notional_parts"] == ["monitoring extent"]


def test_keep_keeps_what_it_names(store, tmp_path):
    path = tmp_path / "plan.geojson"
    grid_plan(nations=SAMPLE_NATIONS).to_file(path)
    sample = store.load(1)
    for keep in (("phases", "sensors"), ("extents",), ("registry", "extents", "phases", "sensors")):
        prop = workflow.propose(store, sectors=str(path), scope="all", keep=keep)
        assert prop.accepted, prop.problems[:3]
        p = prop.plan
        assert (len(p.phases) == len(sample.phases)) == ("phases" in keep)
        assert (len(p.sensors) == len(sample.sensors)) == ("sensors" in keep)
        assert (set(p.extents.layers) == set(sample.extents.layers)) == ("extents" in keep)
        assert p.contingents.equals(sample.contingents)  # the registry is kept unless a file or --defaults replaces it
        notional = set(p.notional_parts())
        assert ("phases" in notional) == ("phases" in keep) and ("sensors" in notional) == ("sensors" in keep)
        assert ("land extent" in notional) == ("extents" in keep)
        assert "registry" in notional  # the sample's registry, kept, is NOTIONAL and says so
    # the CLI: --keep on import, each part listed with where it comes from
    r = run_cli("import", str(path), "--scope", "all", "--keep", "phases", "-m", "x", "--dry-run",
                "--data-dir", str(tmp_path / "cli"))
    assert r.returncode == 0, r.stderr
    assert "Parts of the new plan (scope all)" in r.stdout and "NOTIONAL parts" in r.stdout
    lines = {ln.split()[0]: ln for ln in r.stdout.splitlines() if ln.split()[:1] in (["phases"], ["sensors"])}
    assert "kept" in lines["phases"] and "sample/phases.csv" in lines["phases"]
    assert "national default" in lines["sensors"] and "no sensors" in lines["sensors"]
    bad = run_cli("import", str(path), "--scope", "all", "--keep", "phases", "--defaults", "phases", "-m", "x",
                  "--dry-run", "--data-dir", str(tmp_path / "cli"))
    assert bad.returncode == 2 and "parts-invalid" not in bad.stdout and "not both" in bad.stderr


def test_a_national_registry_names_the_nations_the_plan_uses(store, tmp_path):
    path = tmp_path / "plan.geojson"
    grid_plan().to_file(path)
    rejected = workflow.propose(store, sectors=str(path), scope="all")
    assert not rejected.accepted and {"AUS", "CAN", "JPN", "NZL"} <= set(rejected.unknown_codes)
    prop = workflow.propose(store, sectors=str(path), scope="all", defaults=("registry",))
    assert prop.accepted, prop.problems[:3]
    reg = prop.plan.contingents.set_index("code")
    assert reg.loc["CAN", "name"] == "Canada" and reg.loc["NZL", "name"] == "New Zealand"
    assert reg.loc["FRA", "colour"] == "#004488"  # a nation the current registry colours keeps its colour
    assert prop.plan.notional_parts() == ["monitoring extent"]


def test_validate_and_analyze_answer_against_the_stores_registry(tmp_path, monkeypatch):
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("UA_COVERAGE_DATA_DIR", str(tmp_path / "nowhere"))
    data = tmp_path / "data"
    path = tmp_path / "plan.geojson"
    grid_plan().to_file(path)
    reg = registry_csv(tmp_path / "reg.csv", NATIONS, sep=";")  # Excel in a European locale
    before = json.loads(run_cli("validate", str(path), "--data-dir", str(data), "--json").stdout)
    dry = run_cli("import", str(path), "-m", "x", "--dry-run", "--data-dir", str(data))
    assert not before["accepted"] and dry.returncode == 1  # CAN... unknown to the sample registry: both refuse
    assert before["registry_source"].startswith("sample/contingents.csv")
    r = run_cli("import", "--contingents", str(reg), "-m", "add CAN, AUS, JPN, NZL", "--data-dir", str(data))
    assert r.returncode == 0, r.stderr
    after = json.loads(run_cli("validate", str(path), "--data-dir", str(data), "--json").stdout)
    assert after["accepted"], after["problems"][:3]
    assert after["registry_source"] == "reg.csv, kept from revision 2"
    assert set(after["extent_source"]) == {"air", "sea", "land", "monitoring"}
    assert run_cli("import", str(path), "-m", "x", "--dry-run", "--data-dir", str(data)).returncode == 0
    # the sample registry of revision 1 still refuses it
    assert run_cli("validate", str(path), "--data-dir", str(data), "--revision", "1").returncode == 1
    a = json.loads(run_cli("analyze", str(path), "--data-dir", str(data), "--json").stdout)
    assert a["unknown_contingents"] == [] and a["plan"]["registry_source"] == "reg.csv, kept from revision 2"
    old = json.loads(run_cli("analyze", str(path), "--data-dir", str(data), "--revision", "1", "--json").stdout)
    assert set(old["unknown_contingents"]) == {"AUS", "CAN", "JPN", "NZL"}
    assert _figures(a["domains"]) == _figures(old["domains"])  # the registry names nations; it measures nothing


def _round_trip(store, tmp_path, plan, run):
    """Commit ``plan``, export it, and re-import each export of the sectors: every one is no change."""
    path = tmp_path / "plan.geojson"
    plan.to_file(path)
    info = workflow.commit(store, workflow.propose(store, sectors=str(path), scope="all", defaults=("registry",)),
                           message="plan", author="staff")
    out = tmp_path / "export"
    r = run("export", "--format", "data", "--out", str(out))
    assert r.returncode == 0, r.stderr
    for args in ([str(out / "sectors.geojson")], [str(out / "analysis.gpkg"), "--layer", "sectors"]):
        for scope in ("layers", "all"):
            keep = ["--keep", "extents,phases,sensors,registry"] if scope == "all" else []
            r = run("import", *args, "--scope", scope, *keep, "-m", "again", "--dry-run")
            assert r.returncode == 0, r.stderr
            assert "No change: revision" in r.stdout, (args, scope, r.stdout[:800])
            assert "lead" not in r.stdout
    return info


def test_round_trips_through_the_data_export_are_no_change(store, tmp_path):
    def run(*a):
        env = {"UA_COVERAGE_DATABASE_URL": getattr(store, "url", None)} if hasattr(store, "schema") else {}
        if hasattr(store, "schema"):
            env["UA_COVERAGE_DATABASE_URL"] = f"{store.url}{'&' if '?' in store.url else '?'}schema={store.schema}"
        return run_cli(*a, "--data-dir", str(store.data_dir), env=env)

    _round_trip(store, tmp_path, grid_plan(nx=14, ny=10), run)


def test_a_derived_field_that_disagrees_is_ignored_with_a_warning(tmp_path):
    from ua_coverage.ingest import read_sectors

    plan = grid_plan(nx=6, ny=5)
    plan["lead"] = [c.split(";")[0] for c in plan["contingent"]]
    plan.loc[0, "lead"] = "XYZ"
    path = tmp_path / "p.geojson"
    plan.to_file(path)
    res = read_sectors(path)
    assert res.accepted and "lead" not in res.sectors.columns
    assert [w.rule for w in res.warnings] == ["field-derived"]


def test_every_csv_is_sniffed_alike(tmp_path):
    from ua_coverage.errors import IngestError
    from ua_coverage.ingest import read_sectors
    from ua_coverage.ingest.phases import read_phases
    from ua_coverage.ingest.registry import read_contingents

    sample = pd.read_csv(geodata.sample_contingents_path(), dtype=str, keep_default_na=False)
    for sep in (",", ";", "\t", "|"):
        for enc in ("utf-8", "utf-8-sig", "cp1252"):
            data = sample.assign(name=sample["name"] + " é").to_csv(index=False, sep=sep).encode(enc)
            got = read_contingents(data)
            assert list(got["code"]) == list(sample["code"]) and got["name"].iloc[0] == "France é", (sep, enc)
        ph = read_phases(f"name{sep}start{sep}end\nEntry{sep}2027-01-01{sep}31.03.2027\n".encode())
        assert ph[["name", "start", "end"]].values.tolist() == [["Entry", "2027-01-01", "2027-03-31"]]
    cyr = sample.assign(name="Київ").to_csv(index=False, sep=";").encode("cp1251")
    got = read_contingents(cyr)
    assert got["name"].iloc[0] == "Київ" and [w.rule for w in got.attrs["warnings"]] == ["encoding-guessed"]
    with pytest.raises(IngestError) as e:
        read_contingents(b"code;name,colour\nFRA,France;#004488,x\nDEU;Germany;#F6A600;x;y\n")
    assert e.value.rule == "csv-delimiter" and "semicolon" in str(e.value) and "comma" in str(e.value)
    # a sector CSV (WKT with commas inside) and a sensor CSV, semicolon-separated
    plan = grid_plan(nx=5, ny=4)
    df = pd.DataFrame(plan.drop(columns="geometry"))
    df["wkt"] = shapely.to_wkt(plan.geometry.values, rounding_precision=-1)
    for quoting in (0, 3):  # minimal quotes (the WKT quoted for its commas), none at all (the WKT bare)
        if quoting == 3:  # bare: nations separated by commas then, as ';' is the delimiter
            df["contingent"] = df["contingent"].str.replace(";", ",")
        text = df.to_csv(index=False, sep=";", quoting=quoting)
        res = read_sectors(text.encode("utf-8"))
        assert res.accepted, res.problems[:2]
        assert list(res.sectors["sector_id"]) == list(plan["sector_id"])
    sensors = ("sensor_id;name;domain;contingent;range_km;wkt\n"
               "R-1;Radar one;land;FRA;40;POINT (30.5 50.4)\nR-2;Radar two;air;POL;120;POINT (34 48)\n").encode()
    from ua_coverage.ingest.sensors import read_sensors

    frame, problems, _ = read_sensors(sensors)
    assert not problems and list(frame["sensor_id"]) == ["R-1", "R-2"]
