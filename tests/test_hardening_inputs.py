"""Hardening, third round: the client is never trusted, caches are bounded, dates have one range, the plan has an
area, and plan data is text in every output. Each test failed on the code before this round (issue 35).

Everything talks to the Flask test client (no socket) or runs in this process.
"""
from __future__ import annotations

import dataclasses
import json
import random
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from _cli import run_cli
from _files import base_plan, geojson_bytes

from ua_coverage.ingest import read_sectors
from ua_coverage.settings import Limits


# -- a callback as the browser would send it (or a crafted one) -------------------------------------------------
def _client(app):
    client = app.server.test_client()
    client.get("/")
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get_cookie("_csrf_token").value
    deps = json.loads(client.get("/_dash-dependencies").data)
    return client, deps


def _dep(deps, output: str):
    return next(d for d in deps if output in d["output"])


_DEFAULTS = {"revision.value": 1, "domain-picker.value": "land", "band-picker.value": "all",
             "layer-picker.value": ["zones", "gaps", "overlaps", "labels"], "lang.value": "en",
             "contingent-filter.value": [], "contingent-filter.options": [], "viewport.data": [1366, 900],
             "day-slider.value": 0, "day-list.data": [None], "map-view.data": None, "map-traces.data": None,
             "sensor-altitude.value": 0.0, "export-button.n_clicks": 1, "export-format.value": "html",
             "export-title.value": None}


def _outputs(dep):
    """The request's outputs as the renderer sends them: a list for a multi-output callback, else one."""
    outs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
            for o in dep["output"].strip(".").split("...")]
    return outs if dep["output"].startswith("..") else outs[0]


def _call(client, dep, changed: str, **values):
    vals = {**_DEFAULTS, **{k.replace("__", "-").replace("_dot_", "."): v for k, v in values.items()}}
    body = {"output": dep["output"], "outputs": _outputs(dep),
            "inputs": [{**i, "value": vals.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]],
            "state": [{**s, "value": vals.get(f"{s['id']}.{s['property']}")} for s in dep.get("state", [])],
            "changedPropIds": [changed]}
    return client.post("/_dash-update-component", json=body)


@pytest.fixture
def plan_app(tmp_path):
    from ua_coverage.app import create_app

    return create_app(tmp_path / "data", warm=False)


# -- exports write only where the server says --------------------------------------------------------------------
def test_a_crafted_day_cannot_make_an_export_write_outside_its_folder(plan_app, tmp_path):
    client, deps = _client(plan_app)
    dep = _dep(deps, "export-download.data")
    target = tmp_path / "evil"
    crafted = f"/../../../../../..{target}/x"
    r = _call(client, dep, "export-button.n_clicks", **{"day-slider.value": 1, "day-list.data": [None, crafted]})
    assert r.status_code == 200, r.data[:300]
    body = r.data.decode()
    assert "is not a date" in body and "Could not export this view" in body
    assert not target.exists(), "the crafted day made a folder outside the export folder"
    # a crafted domain likewise
    r = _call(client, dep, "export-button.n_clicks", **{"domain-picker.value": f"../../..{target}"})
    assert r.status_code == 200 and "is not a domain" in r.data.decode() and not target.exists()
    r = _call(client, dep, "export-button.n_clicks", **{"export-format.value": "../x"})
    assert r.status_code == 200 and "is not an export format" in r.data.decode()


def test_a_download_is_named_by_its_view(plan_app):
    client, deps = _client(plan_app)
    dep = _dep(deps, "export-download.data")
    opts = [{"label": c, "value": c} for c in ("FRA", "GBR", "NOR")]
    r = _call(client, dep, "export-button.n_clicks", **{
        "contingent-filter.value": ["FRA"], "contingent-filter.options": opts,
        "day-list.data": [None, "2027-04-01"], "day-slider.value": 1})
    out = json.loads(r.data)["response"]
    assert out["export-download"]["data"]["filename"] == "coverage-r1-land-without-GBR-NOR-2027-04-01.html"
    r = _call(client, dep, "export-button.n_clicks", **{"export-format.value": "kmz"})
    assert json.loads(r.data)["response"]["export-download"]["data"]["filename"] == "coverage-r1-land.kmz"


def test_download_names_are_made_of_safe_parts_only():
    from ua_coverage.app.map_page import download_name

    for fmt in ("png", "pdf", "svg", "html", "pack", "data", "kmz"):
        name = download_name(12, fmt, domain="air", withdrawn=("GBR",), day="2027-01-02", band="1,000–∞ ft")
        assert "/" not in name and ".." not in name and name.count(".") == 1, name
    assert download_name(3, "data", domain="sea") == "coverage-data-r3-sea.zip"


# -- bounded caches: the client's numbers never grow the server ---------------------------------------------------
def test_new_sensor_altitudes_do_not_grow_the_servers_memory(plan_app):
    from ua_coverage import figures

    client, deps = _client(plan_app)
    dep = _dep(deps, "map.figure")
    for k in range(30):
        r = _call(client, dep, "sensor-altitude.value", **{
            "domain-picker.value": "air", "layer-picker.value": ["zones", "sensors"],
            "sensor-altitude.value": 1234.5 + 97 * k})
        assert r.status_code == 200
    tables = [t for cache in figures._DISPLAY.values() for key, t in cache.items()
              if isinstance(key, tuple) and key[:1] == ("bounded",)]
    assert tables, "the sensor layers are kept in a bounded table"
    from ua_coverage.app.map_page import _altitude_options
    from ua_coverage.workflow import sample_plan

    offered = {o["value"] for o in _altitude_options(sample_plan())}
    for t in tables:
        assert len(t) <= figures.SENSOR_LAYERS_PER_ANALYSIS * 2
        for key in t:
            assert key[2] in offered, f"an altitude the page does not offer became a cache key: {key}"


def test_an_altitude_is_snapped_to_one_the_page_offers():
    from ua_coverage.app.inputs import altitude

    assert altitude(1234.5, [0.0, 1000.0, 5000.0]) == 1000.0
    assert altitude("nan", [0.0, 1000.0]) == 0.0 and altitude({"x": 1}, [0.0]) == 0.0
    assert altitude(1e300, [0.0, 20000.0]) == 20000.0


def test_the_analysis_cache_is_bounded_in_bytes():
    from ua_coverage.app.state import BoundedCache

    c = BoundedCache(lambda k: bytes(k), max_entries=100, max_bytes=1000, weigh=lambda _k, v: len(v))
    for k in range(50):
        c(300)  # one key, hit after the first
        c(k * 10)
        assert c.bytes <= 1000 or len(c.keys()) == 1
    assert c.cache_info().hits >= 49


# -- one supported range for every date --------------------------------------------------------------------------
def _sectors_with(**cols):
    g = base_plan()
    for k, v in cols.items():
        g[k] = v
    return g


@pytest.mark.parametrize("value", ["9999-12-31", "0001-01-01", "2201-01-01", "1899-12-31"])
def test_dates_outside_the_supported_range_are_refused(value):
    g = _sectors_with(valid_to=[value, "", "", ""])
    res = read_sectors(geojson_bytes(g), strict=True, limits=Limits())
    p = [p for p in res.problems if p.rule == "date-range"]
    assert p and p[0].field == "valid_to" and value in p[0].message and "1900-01-01" in p[0].message


def test_far_phase_ends_and_backwards_sensor_dates_are_refused(tmp_path):
    from ua_coverage.ingest.phases import read_phases
    from ua_coverage.errors import IngestError

    with pytest.raises(IngestError) as e:
        read_phases(b"name,start,end\nForever,2027-01-01,9999-12-31\n")
    assert [p.rule for p in e.value.problems] == ["date-range"]
    from ua_coverage.ingest.sensors import read_sensors

    pts = gpd.GeoDataFrame({"sensor_id": ["R1"], "range_km": [50.0], "valid_from": ["2027-05-01"],
                            "valid_to": ["2027-04-01"]}, geometry=[shapely.Point(31, 49)], crs=4326)
    _, problems, _ = read_sensors(geojson_bytes(pts))
    assert any(p.rule == "date-order" and "end before it starts" in p.message for p in problems)


def test_at_outside_the_range_is_a_usage_error(tmp_path):
    r = run_cli("analyze", "--at", "9999-12-31")
    assert r.returncode == 2 and "outside the supported dates" in r.stderr


def test_timelines_cope_with_the_ends_of_the_range(tmp_path):
    from ua_coverage.engine.timeline import timeline
    from ua_coverage.figures import timeline_figure
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    s = plan.sectors.copy()
    s.loc[s.index[0], "valid_from"], s.loc[s.index[0], "valid_to"] = "1900-01-01", "2200-12-31"
    plan = dataclasses.replace(plan, sectors=s)
    rows, holes = timeline(plan)
    assert rows and timeline_figure(rows, holes, None)["data"]
    from ua_coverage.plan import next_day

    assert next_day("2200-12-31") == "2201-01-01" and next_day("9999-12-31") is None


# -- the plan area -----------------------------------------------------------------------------------------------
def test_sensors_far_away_are_refused_and_footprints_never_wrap():
    from ua_coverage.engine.sensors import footprint
    from ua_coverage.engine.geodesy import area_km2
    from ua_coverage.ingest.sensors import read_sensors

    pts = gpd.GeoDataFrame({"sensor_id": ["R1", "R2", "R3"], "range_km": [300.0] * 3},
                           geometry=[shapely.Point(179.95, 48), shapely.Point(-179.95, 48), shapely.Point(31, 49)],
                           crs=4326)
    _, problems, _ = read_sensors(geojson_bytes(pts))
    far = [p for p in problems if p.rule == "outside-plan-area"]
    assert [p.feature for p in far] == [0, 1] and "plan area" in far[0].message
    f = footprint(179.95, 48.0, 300.0)
    minx, _, maxx, _ = f.bounds
    assert maxx - minx < 20, "a footprint across the antimeridian wrapped around the globe"
    assert abs(float(area_km2([f])[0]) / (3.141592653589793 * 300.0 ** 2) - 1) < 0.01


@pytest.mark.parametrize("box,words", [((2, 2, 6, 6), "lies at"), ((179, 40, 181, 45), "antimeridian"),
                                       ((-180, -90, 180, 90), "whole globe"), ((-179.9, 44, 179.9, 46), "antimeridian")])
def test_extents_outside_the_plan_area_are_refused(tmp_path, box, words):
    from ua_coverage.errors import IngestError
    from ua_coverage.ingest.extents import read_extents

    g = gpd.GeoDataFrame({"domain": ["land"]}, geometry=[shapely.box(*box)], crs=4326)
    with pytest.raises(IngestError) as e:
        read_extents(geojson_bytes(g))
    p = e.value.problems[0]
    assert p.rule == "outside-plan-area" and words in p.message and "has no area" not in p.message


# -- plan data is text -------------------------------------------------------------------------------------------
def _evil_plan():
    from ua_coverage.workflow import sample_plan

    plan = sample_plan()
    reg = plan.contingents.copy()
    reg.loc[reg["code"] == "FRA", "name"] = '<a href="https://x.example">France</a><span style="font-size:80px">X'
    return dataclasses.replace(plan, contingents=reg)


def test_registry_names_are_text_in_the_map_legend_and_snapshots():
    from ua_coverage.export import Snapshot, snapshot_figure
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import analyze_plan, open_store

    plan = _evil_plan()
    analysis = analyze_plan(plan)
    fig = map_figure(plan, analysis, MapView(domain="land"))
    names = [t.get("name", "") for t in fig["data"]]
    assert any("France" in n for n in names)
    assert not any("<a" in n or "<span" in n for n in names), names

    class Rev:
        id, time, author = 7, "2027-01-01T00:00:00Z", "x"
        message = '<a href="https://x.example">click</a>'

    snap = Snapshot(plan, analysis, Rev(), MapView(domain="land"), banner="<b style='font-size:90px'>BIG</b>",
                    title=Rev.message)
    out = snapshot_figure(snap, "slide")
    texts = [a["text"] for a in out["layout"]["annotations"]]
    assert not any("<a " in t or "<b style" in t for t in texts), texts
    assert any("&lt;a href" in t for t in texts) and any("&lt;b style" in t for t in texts)
    cells = json.dumps([t.get("cells", {}) for t in out["data"] if t.get("type") == "table"])
    assert "<a " not in cells


def test_kml_is_well_formed_whatever_the_names_hold(tmp_path):
    from ua_coverage.export.kml import write_kml
    from ua_coverage.workflow import analyze_plan

    plan = _evil_plan()
    reg = plan.contingents.copy()
    reg.loc[reg["code"] == "GBR", "name"] = "United\x0bKingdom\x07 ]]> <x>"
    plan = dataclasses.replace(plan, contingents=reg)
    out = write_kml(plan, analyze_plan(plan), tmp_path / "p.kml", marking="M <b>", state=["s & t\x01"])
    ET.parse(out)  # raises on a malformed document
    text = out.read_text(encoding="utf-8")
    assert "\x0b" not in text and "\x07" not in text and "<x>" not in text


def test_control_characters_in_plan_text_are_refused_at_upload():
    g = _sectors_with(name=["L\x1b[31m", "ok", "ok", "ok"], notes=["", "bell\x07", "", ""])
    res = read_sectors(geojson_bytes(g), strict=True, limits=Limits())
    got = sorted((p.feature, p.field) for p in res.problems if p.rule == "text-control")
    assert got == [(0, "name"), (1, "notes")]
    from ua_coverage.errors import IngestError
    from ua_coverage.ingest.registry import read_contingents

    with pytest.raises(IngestError) as e:
        read_contingents(b"code,name,colour\nFRA,Fr\x07ance,#004488\n")
    assert [p.rule for p in e.value.problems] == ["text-control"]


def test_hostile_red_is_judged_by_colour_difference():
    from ua_coverage.colours import is_hostile_red, suggest
    from ua_coverage.errors import IngestError
    from ua_coverage.ingest.registry import read_contingents
    from ua_coverage import geodata

    for red in ("#fe0000", "#ee1111", "#ff0000", "#FF8080", "#e41a1c", "#d62728", "#c00000", "#cc0000", "#f50a0a"):
        with pytest.raises(IngestError) as e:
            read_contingents(f"code,name,colour\nFRA,France,{red}\n".encode())
        assert e.value.problems[0].rule == "contingents-colour" and "hostile red" in e.value.problems[0].message
    reg = read_contingents(geodata.sample_contingents_path())
    assert not any(is_hostile_red(c) for c in reg["colour"])
    many = suggest(list(reg["colour"]), 300)
    assert len(set(many)) == 300 and not any(is_hostile_red(c) for c in many)


def test_the_colour_clash_check_is_near_linear_and_its_notes_summarised():
    import itertools
    import time

    from ua_coverage.colours import MIN_DELTA_E, as_filled, clash_notes, clashes, delta_e, suggest

    rng = random.Random(7)
    palette = suggest([], 40)
    reg = {f"{a}{b}{c}": rng.choice(palette) for a, b, c in itertools.islice(
        itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=3), 300)}
    brute = sorted((x, y) for x, y in itertools.combinations(sorted(reg), 2)
                   if delta_e(as_filled(reg[x]), as_filled(reg[y])) < MIN_DELTA_E)
    assert sorted((x, y) for x, y, _ in clashes(reg)) == brute
    big = {f"{a}{b}{c}": rng.choice(palette) for a, b, c in itertools.islice(
        itertools.product("ABCDEFGHIJKLMNOPQRSTUVWXYZ", repeat=3), 3000)}
    t = time.perf_counter()
    notes = clash_notes(big)
    took = time.perf_counter() - t
    assert len(notes) <= 13 and "more pairs" in notes[-1]
    print(f"3,000-nation clash notes: {took:.2f} s, {len(notes)} lines")


def test_csv_formulas_are_neutralised_in_every_semicolon_part():
    from ua_coverage.export.data import safe_cell

    assert safe_cell("FRA;=HYPERLINK(\"x\")") == "FRA;'=HYPERLINK(\"x\")"
    assert safe_cell("@SUM(1);+1;-1") == "'@SUM(1);'+1;'-1"
    assert safe_cell("L-04;M-02") == "L-04;M-02" and safe_cell(12.5) == 12.5
    assert safe_cell("a\x07b") == "ab"


def test_a_fid_field_does_not_break_the_data_export(tmp_path):
    import pyogrio

    g = _sectors_with(fid=["a", "b", "c", "d"])
    src = tmp_path / "s.geojson"
    src.write_bytes(geojson_bytes(g))
    r = run_cli("analyze", str(src), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    layers = {name for name, _ in pyogrio.list_layers(tmp_path / "out" / "analysis.gpkg")}
    assert {"gaps", "overlaps", "partition", "sectors"} <= layers


# -- files that lie ---------------------------------------------------------------------------------------------
def test_nul_bytes_deep_in_a_csv_are_called_binary_content():
    rows = ["sector_id,name,domain,kind,contingent,wkt"]
    for i in range(200):
        x = 22 + i * 0.05
        rows.append(f'L-{i},n{i},land,zone,FRA,"POLYGON(({x} 48,{x + 0.04} 48,{x + 0.04} 49,{x} 49,{x} 48))"')
    rows.append('L-x,bad\x00name,la\x00nd,zone,FRA,"POLYGON((30 48,31 48,31 49,30 49,30 48))"')
    res = read_sectors(("\n".join(rows) + "\n").encode(), strict=True, limits=Limits())
    assert len(res.problems) == 1 and "NUL bytes" in res.problems[0].message and "line 202" in res.problems[0].message


def test_curved_wkt_is_named_as_curved():
    data = (b'sector_id,name,domain,kind,contingent,wkt\nL-1,a,land,zone,FRA,'
            b'"CURVEPOLYGON(CIRCULARSTRING(30 48,31 49,32 48,31 47,30 48))"\n')
    res = read_sectors(data, strict=True, limits=Limits())
    assert [p.rule for p in res.problems] == ["geometry-type"]
    assert "curved geometry type (CURVEPOLYGON)" in res.problems[0].message


# -- pages and callbacks that took odd values -------------------------------------------------------------------
def test_odd_revision_parameters_show_the_current_plan(plan_app):
    client, deps = _client(plan_app)
    dep = _dep(deps, "page.children")
    for search in ("?revision=²", "?revision=-1", "?revision=99999999999999999999", "?at=9999-12-31",
                   "?revision=1&at=0001-01-01"):
        r = _call(client, dep, "url.pathname", **{"url.pathname": "/", "url.search": search, "route-key.data": None})
        assert r.status_code == 200, (search, r.data[:200])
        assert "revision-info" in r.data.decode()


def test_a_band_that_does_not_exist_is_refused_not_wrapped(plan_app):
    client, deps = _client(plan_app)
    dep = _dep(deps, "map.figure")
    r = _call(client, dep, "band-picker.value", **{"domain-picker.value": "air", "band-picker.value": "-1"})
    assert r.status_code == 200 and "does not exist" in r.data.decode()
    r = _call(client, dep, "band-picker.value", **{"domain-picker.value": "air", "band-picker.value": "0"})
    assert r.status_code == 200 and "does not exist" not in r.data.decode()


_ODD = [None, "", "x", "../../etc/passwd", "/tmp/../../x", "²", "-1", -1, 0, 1, 1e308, float("inf"), True,
        [], ["x", 1], {}, {"a": [1]}, "9999-12-31", "<script>alert(1)</script>", "a" * 5000]


def test_random_values_in_every_callback_input_never_give_a_500_or_a_stray_file(plan_app, tmp_path, caplog):
    """A fuzz of every callback of every page: random odd values in each input and state. The map page checks
    every value itself (nothing of it reaches the last line of defence, the app's error handler)."""
    import logging
    import tempfile
    import traceback

    caplog.set_level(logging.ERROR, logger="ua_coverage.app")

    client, deps = _client(plan_app)
    rng = random.Random(35)
    before = set(Path(tempfile.gettempdir()).iterdir())
    n = 0
    for dep in deps:
        if dep.get("clientside_function"):
            continue
        for _ in range(10):
            vals = {f"{i['id']}.{i['property']}": rng.choice(_ODD) for i in dep["inputs"] + dep.get("state", [])}
            vals = {k: (v if v != float("inf") else 1e308) for k, v in vals.items()}
            body = {"output": dep["output"], "outputs": _outputs(dep),
                    "inputs": [{**i, "value": vals[f"{i['id']}.{i['property']}"]} for i in dep["inputs"]],
                    "state": [{**s, "value": vals[f"{s['id']}.{s['property']}"]} for s in dep.get("state", [])],
                    "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}
            r = client.post("/_dash-update-component", json=body)
            n += 1
            assert r.status_code in (200, 204), (dep["output"], vals, r.status_code, r.data[:300])
            assert b"Traceback" not in r.data
    stray = {p for p in set(Path(tempfile.gettempdir()).iterdir()) - before
             if not p.name.startswith(("ua-export-", "ua-pack-", "tmp", "pytest"))}
    assert not stray, stray
    assert n > 100
    unchecked = [r.getMessage() for r in caplog.records if r.exc_info and any(
        "map_page.py" in f.filename for f in traceback.extract_tb(r.exc_info[2]))]
    assert not unchecked, unchecked


def test_kml_document_names_tell_the_plan_a_what_if_and_a_day_apart(tmp_path):
    from ua_coverage.export import run_export
    from ua_coverage.figures import MapView
    from ua_coverage.workflow import analyze_plan, open_store

    store = open_store(tmp_path / "data")
    rev = store.current()
    plan = store.load(rev.id)
    names = {}
    for label, withdrawn, day in (("plan", (), None), ("what-if", ("GBR", "NOR"), None), ("day", (), "2027-04-01")):
        p = plan.without(withdrawn)
        out = run_export(p, analyze_plan(p, at=day), rev, "kml", tmp_path / f"{label}.kml",
                         view=MapView(domain="land", withdrawn=withdrawn), day=day)
        names[label] = ET.parse(out).getroot().find("{http://www.opengis.net/kml/2.2}Document").find(
            "{http://www.opengis.net/kml/2.2}name").text
    assert len(set(names.values())) == 3, names
    assert "coverage plan" in names["plan"] and f"revision {rev.id}" in names["plan"]
    assert "WHAT-IF without GBR, NOR" in names["what-if"] and "coverage plan" not in names["what-if"]
    assert "on 2027-04-01" in names["day"]
