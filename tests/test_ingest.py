"""Reading sector files safely: every rule has a bad file here, and good files agree across formats.

Every file is generated in the test (small). Each bad file must be refused with a specific rule and
a message a staff officer understands; nothing in it may be read from elsewhere.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pytest
from _cli import run_cli
import shapely

from ua_coverage import geodata
from ua_coverage.ingest import read_sectors, validate_file
from ua_coverage.ingest.registry import read_contingents
from ua_coverage.settings import Limits

from _files import (base_plan, csv_bytes, geojson_bytes, gpkg_stale_count, kml_bytes, shapefile_zip, write,
                    zip_of)

REG = set(read_contingents(geodata.sample_contingents_path())["code"])
VRT = b"""<OGRVRTDataSource><OGRVRTLayer name="passwd"><SrcDataSource>/etc/passwd</SrcDataSource>
<GeometryType>wkbNone</GeometryType></OGRVRTLayer></OGRVRTDataSource>"""


@pytest.fixture(scope="module")
def plan():
    return base_plan()


def mod(plan, **changes):
    """A copy of the plan with column values changed on the first feature (or whole columns)."""
    g = plan.copy()
    for k, v in changes.items():
        if isinstance(v, list):
            g[k] = v
        else:
            g[k] = g[k].astype(object)
            g.loc[0, k] = v
    return g


def with_geom(plan, geom, i=0):
    g = plan.copy()
    geoms = list(g.geometry)
    geoms[i] = geom
    return gpd.GeoDataFrame(g.drop(columns="geometry"), geometry=geoms, crs=4326)


BOWTIE = shapely.Polygon([(30.0, 50.0), (30.4, 50.4), (30.4, 50.0), (30.0, 50.4), (30.0, 50.0)])


def gj(g, **kw):
    return lambda tmp, plan: geojson_bytes(g(plan) if callable(g) else g, **kw)


# (id, builder(tmp_path, plan) -> bytes | path, expected rule, words in the message, read_sectors kwargs)
BAD = [
    ("empty-file", lambda t, p: b"", "file-empty", "empty", {}),
    ("too-large", gj(lambda p: p), "file-too-large", "limit is", {"limits": Limits(max_file_mb=0.001)}),
    ("binary-junk", lambda t, p: bytes(range(256)) * 8, "format-unknown", "not a format we read", {}),
    ("vrt-renamed-geojson", lambda t, p: VRT, "format-unknown", "root element is <OGRVRTDataSource>", {}),
    ("vrt-in-zip", lambda t, p: zip_of({"plan.vrt": VRT}), "zip-no-layer", "no shapefile", {}),
    ("gml", lambda t, p: b'<?xml version="1.0"?><gml:FeatureCollection xmlns:gml="http://www.opengis.net/gml"/>',
     "format-unknown", "not <kml>", {}),
    ("geojson-crs-link", gj(lambda p: p, crs_member={"type": "link", "properties": {"href": "http://127.0.0.1:9/x"}}),
     "geojson-crs", "type 'link'", {}),
    # a legacy crs member naming an accepted CRS is honoured (the issue on real plans): EPSG:3857 with lon/lat
    # numbers is then out of area; a CRS we do not accept is refused as before
    ("geojson-crs-3857", gj(lambda p: p, crs_member={"type": "name", "properties": {"name": "EPSG:3857"}}),
     "out-of-area", "check the CRS the file declares", {}),
    ("geojson-crs-4269", gj(lambda p: p, crs_member={"type": "name", "properties": {"name": "EPSG:4269"}}),
     "geojson-crs", "names no CRS we accept", {}),
    ("json-broken", lambda t, p: b'{"type": "FeatureCollection", "features": [', "json-invalid", "not valid JSON", {}),
    ("esri-json", lambda t, p: b'{"geometryType": "esriGeometryPolygon", "features": []}', "format-unknown",
     "not GeoJSON", {}),
    ("geojson-latin1", lambda t, p: geojson_bytes(p).replace("ü".encode(), "ü".encode("latin-1")),
     "encoding-invalid", "UTF-8", {}),
    ("kml-xxe", lambda t, p: b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
     b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>&x;</name></Document></kml>',
     "xml-doctype", "DOCTYPE", {}),
    ("kml-networklink", lambda t, p: b'<kml xmlns="http://www.opengis.net/kml/2.2"><NetworkLink><Link><href>'
     b'http://127.0.0.1:9/a.kml</href></Link></NetworkLink></kml>', "kml-networklink", "NetworkLink", {}),
    ("zip-bomb-declared", lambda t, p: zip_of({"a.shp": b"\0" * (60 * 1024 * 1024)}), "zip-too-large",
     "unpacks to", {}),
    ("zip-ratio", lambda t, p: zip_of({"sectors.shp": b"\0" * (5 * 1024 * 1024), "sectors.shx": b"\0" * 100,
                                       "sectors.dbf": b"\0" * 100}), "zip-ratio", "zip bomb", {}),
    ("zip-too-many-entries", lambda t, p: zip_of({f"f{i}.txt": b"x" for i in range(25)}), "zip-entries",
     "25 entries", {}),
    ("zip-dotdot", lambda t, p: zip_of({"../evil.shp": b"x"}), "zip-path", "'..'", {}),
    ("zip-absolute", lambda t, p: zip_of({"/etc/evil.shp": b"x"}), "zip-path", "absolute", {}),
    ("zip-symlink", lambda t, p: zip_of({}, symlink="sectors.dbf"), "zip-symlink", "symbolic link", {}),
    ("zip-nested-archive", lambda t, p: zip_of({"inner.zip": zip_of({"a.txt": b"x"})}), "zip-nested",
     "another archive", {}),
    ("zip-nested-folders", lambda t, p: zip_of({"a/b/c.shp": b"x"}), "zip-nested", "more than one folder", {}),
    ("zip-disguised-archive", lambda t, p: zip_of({"sectors.shp": zip_of({"a": b"x"}), "sectors.shx": b"x",
                                                   "sectors.dbf": b"x"}), "zip-nested", "itself an archive", {}),
    ("zip-damaged", lambda t, p: b"PK\x03\x04" + b"\0" * 200, "zip-damaged", "damaged", {}),
    ("shapefile-no-dbf", lambda t, p: shapefile_zip(p, t, drop=(".dbf",)), "shapefile-incomplete", ".dbf", {}),
    ("shapefile-two-layers", lambda t, p: zip_of({"a.shp": b"x", "b.shp": b"y"}), "layer-multiple",
     "several shapefiles", {}),
    ("zip-with-geojson", lambda t, p: zip_of({"plan.geojson": geojson_bytes(p)}), "zip-unsupported", "unzipped", {}),
    ("shapefile-no-prj-degrees", lambda t, p: shapefile_zip(p, t, drop=(".prj",)), "crs-missing",
     "look like degrees", {}),
    ("shapefile-no-prj-metres", lambda t, p: shapefile_zip(p.to_crs(32636), t, drop=(".prj",)), "crs-missing",
     "look like metres", {}),
    ("shapefile-crs-not-allowed", lambda t, p: shapefile_zip(p.to_crs(2180), t), "crs-not-allowed", "EPSG:2180", {}),
    ("shapefile-cp1251-no-cpg", lambda t, p: shapefile_zip(mod(p, name="Київ"), t, drop=(".cpg",),
                                                           encoding="cp1251"), "encoding-invalid", ".cpg", {}),
    ("gpkg-two-layers", lambda t, p: (write(p, t / "two.gpkg", "GPKG", layer="a"),
                                      write(p, t / "two.gpkg", "GPKG", layer="b"))[1], "layer-multiple",
     "2 layers", {}),
    ("gpkg-stale-count", lambda t, p: gpkg_stale_count(p, t / "stale.gpkg"), "gpkg-feature-count", "stale", {}),
    ("sqlite-not-gpkg", lambda t, p: b"SQLite format 3\x00" + b"\0" * 200, "format-unknown", "not a GeoPackage", {}),
    ("feature-limit", gj(lambda p: p), "feature-limit", "limit is 2", {"limits": Limits(max_features=2)}),
    ("vertex-limit-feature", gj(lambda p: p), "vertex-limit-feature", "per feature",
     {"limits": Limits(max_vertices_per_feature=100)}),
    ("vertex-limit-file", gj(lambda p: p), "vertex-limit-file", "simplify",
     {"limits": Limits(max_vertices_per_file=500, max_vertices_per_feature=10**6)}),
    ("field-limit", gj(lambda p: p), "field-limit", "limit is 5", {"limits": Limits(max_fields=5)}),
    ("text-too-long", gj(lambda p: mod(p, notes="x" * 300)), "text-too-long", "300 characters", {}),
    ("field-missing", gj(lambda p: p.drop(columns="kind")), "field-missing", "'kind' is missing", {}),
    ("field-duplicate-case", gj(lambda p: p.assign(SECTOR_ID=p["sector_id"])), "field-duplicate",
     "differ only in case", {}),
    ("domain-invalid", gj(lambda p: mod(p, domain="space")), "domain-invalid", "'space'", {}),
    ("kind-invalid", gj(lambda p: mod(p, kind="patrol")), "kind-invalid", "'patrol'", {}),
    # (a country's name is read as its code since issue 27: "FRANCE" is FRA; a word that names no country is not)
    ("contingent-invalid", gj(lambda p: mod(p, contingent="ATLANTIS")), "contingent-invalid", "alpha-3", {}),
    ("contingent-unknown", gj(lambda p: mod(p, contingent="XYZ")), "contingent-unknown", "registry", {}),
    ("contingent-duplicate", gj(lambda p: mod(p, contingent="FRA;FRA")), "contingent-duplicate", "twice", {}),
    ("sector-id-duplicate", gj(lambda p: mod(p, sector_id="S-01")), "sector-id-duplicate", "also used", {}),
    ("sector-id-duplicate-nfkc", gj(lambda p: mod(p, sector_id="\uff33-01 ")), "sector-id-duplicate", "'S-01'", {}),
    ("sector-id-missing", gj(lambda p: mod(p, sector_id="  ")), "sector-id-missing", "empty", {}),
    ("name-missing", gj(lambda p: mod(p, name="")), "name-missing", "human label", {}),
    ("altitude-not-air", gj(lambda p: mod(p, floor_ft=100.0)), "altitude-not-air", "only allowed on air", {}),
    ("altitude-order", gj(lambda p: p.assign(floor_ft=np.where(p.domain == "air", 70000.0, np.nan))),
     "altitude-order", "not below", {}),
    ("altitude-invalid", gj(lambda p: mod(p, floor_ft="high")), "altitude-invalid", "not a number", {}),
    ("geometry-point", gj(lambda p: with_geom(p, shapely.Point(30.5, 50.4))), "geometry-type", "Point", {}),
    ("geometry-line-mixed", gj(lambda p: with_geom(p, shapely.LineString([(30, 50), (31, 51)]), 1)),
     "geometry-type", "LineString", {}),
    ("geometry-null", gj(lambda p: with_geom(p, None)), "geometry-empty", "no geometry", {}),
    ("invalid-bowtie", gj(lambda p: with_geom(p, BOWTIE)), "invalid-geometry", "Self-intersection", {}),
    ("geometry-nan", lambda t, p: write(with_geom(p, shapely.Polygon([(30, 50), (math.nan, 50.5), (31, 50)])),
                                        t / "nan.gpkg", "GPKG"), "geometry-not-finite", "NaN", {}),
    ("out-of-area-paris", gj(lambda p: with_geom(p, shapely.box(2.2, 48.8, 2.4, 48.9))), "out-of-area",
     "outside Ukraine", {}),
    ("latlon-swapped", gj(lambda p: with_geom(p, shapely.box(50.0, 30.0, 50.4, 30.5))), "latlon-swapped",
     "swapped", {}),
    ("metres-declared-degrees", gj(lambda p: with_geom(p, shapely.box(300000, 5500000, 310000, 5510000))),
     "crs-wrong", "look like metres", {}),
    ("no-features", gj(lambda p: p.iloc[0:0]), "no-features", "no features", {}),
    ("csv-without-wkt", lambda t, p: b"sector_id,name\nA,B\n", "format-unknown", "WKT geometry column", {}),
    ("parse-timeout", gj(lambda p: p), "parse-timeout", "longer than", {"limits": Limits(parse_timeout_s=0.01),
                                                                        "isolate": True}),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_file_is_refused_with_a_specific_message(tmp_path, plan, case):
    name, build, rule, words, kw = case
    src = build(tmp_path, plan)
    kw = {"isolate": False, **kw}
    res = read_sectors(src, registry=REG, strict=True, **kw)
    rules = [p.rule for p in res.problems]
    assert not res.accepted, f"{name} was accepted"
    assert rule in rules, (name, [str(p) for p in res.problems])
    msg = next(p for p in res.problems if p.rule == rule).message
    assert words in msg, (name, msg)


def test_corpus_covers_at_least_forty_bad_files():
    assert len(BAD) >= 40
    assert len({c[2] for c in BAD}) >= 40  # distinct rules


def test_problem_names_feature_sector_and_field(plan):
    res = read_sectors(geojson_bytes(mod(plan, domain="space")), registry=REG, strict=True, isolate=False)
    p = next(p for p in res.problems if p.rule == "domain-invalid")
    assert (p.feature, p.sector_id, p.field) == (0, "L-04", "domain")
    assert str(p).startswith("[domain-invalid] feature 0, sector 'L-04', field 'domain':")


def test_vrt_cannot_reach_gdal_even_past_the_sniffer():
    # Straight to the worker, named .geojson: GDAL_SKIP has removed the VRT driver
    from ua_coverage.ingest._worker import read_prepared

    out = read_prepared({"plan.geojson": VRT}, "plan.geojson", "GeoJSON", None, vars(Limits()))
    assert out["problems"] and out["records"] == []
    assert "root:" not in json.dumps(out)


def test_gdal_only_has_the_drivers_we_need():
    code = "import coverage, pyogrio; print(sorted(pyogrio.list_drivers()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert set(eval(out)) <= {"CSV", "ESRI Shapefile", "FlatGeobuf", "GPKG", "GeoJSON", "LIBKML", "MEM"}


def test_contingent_unknown_is_lenient_for_local_analysis(plan):
    res = read_sectors(geojson_bytes(mod(plan, contingent="XYZ")), registry=REG, strict=False)
    assert res.accepted
    assert res.sectors.loc[0, "contingents"] == ("XYZ",)


def test_repair_is_opt_in(plan):
    data = geojson_bytes(with_geom(plan, BOWTIE))
    res = read_sectors(data, registry=REG, strict=True, repair=True, isolate=False)
    assert res.accepted
    assert [w.rule for w in res.warnings] == ["geometry-repaired"]
    assert res.sectors.geometry.iloc[0].is_valid and res.sectors.geometry.iloc[0].area > 0


def test_z_is_dropped_with_a_warning(plan):
    g = plan.copy()
    g["geometry"] = shapely.force_3d(g.geometry.values, 100.0)
    res = read_sectors(geojson_bytes(g), registry=REG, strict=True, isolate=False)
    assert res.accepted
    assert {w.rule for w in res.warnings} == {"geometry-z-dropped"}
    assert not shapely.has_z(res.sectors.geometry.values).any()


def test_lookalike_ids_are_flagged(plan):
    g = mod(plan, sector_id="А-03")  # Cyrillic А; the plan has Latin A-03
    res = read_sectors(geojson_bytes(g), registry=REG, strict=True, isolate=False)
    assert res.accepted
    assert [w.rule for w in res.warnings] == ["sector-id-lookalike"]
    assert "'A-03' looks like 'А-03'" in res.warnings[0].message  # Latin A-03 vs Cyrillic А-03


def test_cp1251_shapefile_reads_when_the_encoding_is_named(tmp_path, plan):
    data = shapefile_zip(mod(plan, name="Київ"), tmp_path, drop=(".cpg",), encoding="cp1251")
    res = read_sectors(data, registry=REG, strict=True, encoding="cp1251", isolate=False)
    assert res.accepted, res.problems
    assert res.sectors.loc[0, "name"].strip() == "Київ"


def test_named_layer_of_a_multi_layer_geopackage(tmp_path, plan):
    write(plan, tmp_path / "two.gpkg", "GPKG", layer="old")
    write(plan.iloc[:2], tmp_path / "two.gpkg", "GPKG", layer="new")
    res = read_sectors(tmp_path / "two.gpkg", registry=REG, strict=True, layer="new", isolate=False)
    assert res.accepted and len(res.sectors) == 2


def _good_files(tmp, plan) -> dict[str, object]:
    files = {
        "GeoJSON": geojson_bytes(plan),
        "GeoPackage": write(plan, tmp / "good.gpkg", "GPKG"),
        "Shapefile": shapefile_zip(plan, tmp),
        "Shapefile (UTM 36N)": shapefile_zip(plan.to_crs(32636), tmp, stem="utm"),
        "KML": kml_bytes(plan, tmp),
        "FlatGeobuf": write(plan, tmp / "good.fgb", "FlatGeobuf"),
        "CSV": csv_bytes(plan),
    }
    files["KMZ"] = zip_of({"doc.kml": files["KML"]})
    return files


def test_good_files_in_every_format_yield_identical_sectors(tmp_path, plan):
    results = {}
    for fmt, src in _good_files(tmp_path, plan).items():
        res = read_sectors(src, registry=REG, strict=True, isolate=False)
        assert res.accepted, (fmt, [str(p) for p in res.problems])
        assert res.format == fmt.split(" ")[0], fmt
        results[fmt] = res.sectors.sort_values("sector_id").reset_index(drop=True)  # FlatGeobuf reorders
    ref = results["GeoJSON"]
    for fmt, s in results.items():
        for col in ("sector_id", "name", "domain", "kind", "contingent", "layer", "notes"):
            assert list(s[col]) == list(ref[col]), (fmt, col)
        for col in ("floor_ft", "ceiling_ft"):
            np.testing.assert_array_equal(s[col].to_numpy(), ref[col].to_numpy(), err_msg=f"{fmt} {col}")
        tol = 1e-6 if "UTM" in fmt else 1e-9
        for a, b in zip(s.geometry, ref.geometry):
            assert shapely.equals_exact(shapely.normalize(a), shapely.normalize(b), tolerance=tol), fmt


def test_good_upload_through_the_isolated_worker(tmp_path, plan):
    report = validate_file(shapefile_zip(plan, tmp_path))
    assert report["accepted"], report
    assert (report["format"], report["driver"], report["features"]) == ("Shapefile", "ESRI Shapefile", 4)


def test_validate_cli_json_and_exit_codes(tmp_path, plan):
    good = tmp_path / "good.geojson"
    good.write_bytes(geojson_bytes(plan))
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(geojson_bytes(with_geom(plan, BOWTIE)))
    run = lambda *a: run_cli("validate", *a)
    p = run(str(good), "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["accepted"] is True
    p = run(str(bad), "--json")
    assert p.returncode == 1
    doc = json.loads(p.stdout)
    assert doc["accepted"] is False and doc["format"] == "GeoJSON" and doc["driver"] == "GeoJSON"
    prob = doc["problems"][0]
    assert set(prob) >= {"rule", "message", "feature", "sector_id", "field"}  # "advice" was added
    assert (prob["rule"], prob["feature"], prob["sector_id"]) == ("invalid-geometry", 0, "L-04")
    p = run(str(bad))
    assert p.returncode == 1 and "REJECTED" in p.stdout and "Self-intersection" in p.stdout
    p = run()
    assert p.returncode == 2
