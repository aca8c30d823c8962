"""The dashboard at plan sizes: one map figure per load, compressed responses, unchanged traces not resent.

Nothing here is timed (tests/benchmarks/bench_dashboard.py prints the numbers).
"""
from __future__ import annotations

import gzip
import json

import pytest

from _browser import wait_for


def _map_callback(app):
    client = app.server.test_client()
    client.get("/")
    client.environ_base["HTTP_X_CSRFTOKEN"] = client.get_cookie("_csrf_token").value
    deps = json.loads(client.get("/_dash-dependencies").data)
    return client, next(d for d in deps if "map.figure" in d["output"]
                        and any(i["id"] == "domain-picker" for i in d["inputs"]))


def _body(dep, viewport, held=None, ticked=("CZE", "DEU", "FRA", "GBR", "ITA", "POL")):
    vals = {"revision.value": 1, "domain-picker.value": "land", "band-picker.value": "all",
            "layer-picker.value": ["zones", "gaps", "overlaps", "labels"], "lang.value": "en",
            "contingent-filter.value": list(ticked), "viewport.data": viewport, "day-slider.value": 0,
            "contingent-filter.options": [{"label": c, "value": c} for c in ("CZE", "DEU", "FRA", "GBR", "ITA", "POL")],
            "day-list.data": [None], "map-view.data": None, "map-traces.data": held, "sensor-altitude.value": 0.0}
    outs = dep["output"].strip(".").split("...")
    return {"output": dep["output"],
            "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]} for o in outs],
            "inputs": [{**i, "value": vals[f"{i['id']}.{i['property']}"]} for i in dep["inputs"]],
            "state": [{**s, "value": vals[f"{s['id']}.{s['property']}"]} for s in dep["state"]],
            "changedPropIds": ["viewport.data"]}


def test_callback_responses_are_gzipped_when_the_client_accepts_gzip(app):
    client, dep = _map_callback(app)
    r = client.post("/_dash-update-component", json=_body(dep, [1366, 900]), headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == "gzip"
    out = json.loads(gzip.decompress(r.data))
    assert out["response"]["map"]["figure"]["data"]
    plain = client.post("/_dash-update-component", json=_body(dep, [1366, 900]), headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert json.loads(plain.data)["response"]["map"]["figure"]["data"]
    assert len(r.data) < len(plain.data) / 3


def test_the_map_waits_for_the_window_size(app):
    """Before the clientside callback has measured the window, the map callback draws nothing."""
    client, dep = _map_callback(app)
    r = client.post("/_dash-update-component", json=_body(dep, None))
    assert r.status_code in (200, 204)  # Dash answers "nothing to update" with an empty response
    assert r.status_code == 204 or not json.loads(r.data).get("response")


def _apply(data: list, patch: dict) -> list:
    """The renderer's list operations of a dash.Patch on ``figure.data`` (Delete, Insert)."""
    data = list(data)
    for op in patch["operations"]:
        loc = op["location"]
        if loc[:1] != ["data"]:
            continue
        if op["operation"] == "Delete":
            del data[loc[1]]
        elif op["operation"] == "Insert":
            data.insert(op["params"]["index"], op["params"]["value"])
        else:
            raise AssertionError(op)
    return data


def test_a_what_if_resends_only_the_traces_that_changed(app):
    client, dep = _map_callback(app)
    first = json.loads(client.post("/_dash-update-component", json=_body(dep, [1366, 900])).data)["response"]
    full, held = first["map"]["figure"], first["map-traces"]["data"]
    assert len(held) == len(full["data"])
    for ticked in (("CZE", "DEU", "FRA", "ITA", "POL"), ("CZE", "DEU", "ITA", "POL")):
        r = json.loads(client.post("/_dash-update-component", json=_body(dep, [1366, 900], held, ticked)).data)["response"]
        patch = r["map"]["figure"]
        assert patch.get("__dash_patch_update"), "a what-if sends a patch, not the whole figure"
        # the patch turns what the page held into exactly the full figure of the what-if
        whole = json.loads(client.post("/_dash-update-component", json=_body(dep, [1366, 900], None, ticked)).data)
        want = whole["response"]["map"]["figure"]
        assert _apply(full["data"], patch) == want["data"]
        assert next(op for op in patch["operations"] if op["location"] == ["layout"])["params"]["value"] == want["layout"]
        inserted = [op for op in patch["operations"] if op["operation"] == "Insert"]
        assert 0 < len(inserted) < len(want["data"])  # the base map and the labels are not resent
        full, held = want, r["map-traces"]["data"]


@pytest.mark.browser
def test_first_load_sends_one_map_figure_and_a_what_if_patches_it(dash_duo, app, data_dir):
    import flask

    sent = []

    @app.server.after_request
    def count(resp):
        if flask.request.path.endswith("/_dash-update-component") and resp.status_code == 200:
            raw = resp.get_data()
            if resp.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(raw)
            fig = json.loads(raw).get("response", {}).get("map", {}).get("figure")
            if fig is not None:
                sent.append("patch" if fig.get("__dash_patch_update") else "full")
        return resp

    dash_duo.start_server(app)
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    traces = "return document.querySelector('#map .js-plotly-plot').data.map(t => [t.name || '', (t.locations || t.lon || []).length]);"
    wait_for(lambda: len(dash_duo.driver.execute_script(traces)) > 10, what="map traces")
    dash_duo.wait_for_no_elements("._dash-loading", timeout=20)
    import time

    time.sleep(1.5)  # anything still on its way would arrive now
    assert sent == ["full"], sent

    dash_duo.find_element("#contingent-filter input[value='GBR']").click()
    wait_for(lambda: "without GBR" in dash_duo.find_element("#kpis").text, what="what-if note")
    wait_for(lambda: len(sent) == 2, what="the what-if's figure")
    assert sent[1] == "patch"

    # what the browser now draws is the figure the exports draw for the same view
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import analyze_plan, open_store

    plan = open_store(data_dir).load(1).without(("GBR",))
    want = map_figure(plan, analyze_plan(plan), MapView(domain="land", withdrawn=("GBR",)))
    expected = [[t.get("name") or "", len(t.get("locations") or t.get("lon") or [])] for t in want["data"]]
    wait_for(lambda: dash_duo.driver.execute_script(traces) == expected, timeout=20, what="patched map")
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_a_2000_sector_plan_in_the_browser(dash_duo, tmp_path):
    """A generated plan of about 2,000 sectors: the map shows its gaps, and the what-if, domain and layer
    controls work (their figures are the engine's). Nothing is timed here (bench_browser.py measures)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "benchmarks"))
    from _plans import make_plan

    from ua_coverage import workflow
    from ua_coverage.app import create_app
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.view import view_figures

    big = make_plan(2000, clean=True, vertices=40)
    big.to_file(tmp_path / "big.geojson")
    st = workflow.open_store(tmp_path / "data")
    p = workflow.propose(st, sectors=str(tmp_path / "big.geojson"), scope="all")
    assert p.accepted, p.problems[:3]
    workflow.commit(st, p, message="2,000 generated sectors", author="t")
    plan = st.load(2)
    whole = workflow.analyze_plan(plan)
    land = view_figures(whole, "land")
    assert len(plan.sectors) > 1900 and len(land["gaps"]) > 50

    def drawn_gaps(domain):  # gap faces as the figure code draws them (pieces grouped by face)
        fig = map_figure(plan, whole, MapView(domain=domain))
        return [len(t["locations"]) for t in fig["data"] if t.get("name") == "Gap"]

    dash_duo.start_server(create_app(tmp_path / "data"))
    kpi = lambda: dash_duo.find_element("#kpi-gap").text
    wait_for(lambda: kpi() == f"{land['gap_km2']:,.0f} km²", timeout=90, what=f"land gap KPI ({land['gap_km2']:,.0f})")
    # the map draws the gaps: one trace holding every land gap piece, and the table counts them
    gaps_on_map = ("return document.querySelector('#map .js-plotly-plot').data"
                   ".filter(t => t.name === 'Gap').map(t => t.locations.length)")
    want = drawn_gaps("land")
    assert want[0] > 20
    wait_for(lambda: dash_duo.driver.execute_script(gaps_on_map) == want, timeout=60, what=f"{want} gaps on the map")
    assert dash_duo.find_element("#gap-count").text.startswith(f"{len(land['gaps']):,} gaps")

    # what-if: untick the first contingent -> the KPI is the engine's figure for the plan without it
    code = dash_duo.find_element("#contingent-filter input").get_attribute("value")
    gone = view_figures(workflow.analyze_plan(plan.without((code,))), "land")
    dash_duo.find_element(f"#contingent-filter input[value='{code}']").click()
    wait_for(lambda: kpi() == f"{gone['gap_km2']:,.0f} km²", timeout=60, what=f"gap without {code}")
    assert gone["gap_km2"] > land["gap_km2"]
    dash_duo.find_element(f"#contingent-filter input[value='{code}']").click()
    wait_for(lambda: kpi() == f"{land['gap_km2']:,.0f} km²", timeout=60, what="the plan again")

    # domain switch and a layer toggle
    air = view_figures(whole, "air")
    dash_duo.find_element("#domain-picker input[value='air']").click()
    wait_for(lambda: kpi() == f"{air['gap_km2']:,.0f} km²", timeout=60, what="air gap KPI")
    want = drawn_gaps("air")
    wait_for(lambda: dash_duo.driver.execute_script(gaps_on_map) == want, timeout=60, what="air gaps")
    dash_duo.find_element("#layer-picker input[value='gaps']").click()
    wait_for(lambda: dash_duo.driver.execute_script(gaps_on_map) == [], timeout=60, what="gaps layer off")
    dash_duo.find_element("#layer-picker input[value='gaps']").click()
    wait_for(lambda: dash_duo.driver.execute_script(gaps_on_map) == want, timeout=60, what="gaps on")
    assert dash_duo.get_logs() == []


def test_the_dashboards_plotly_bundle_draws_every_trace_the_dashboard_sends(data_dir):
    """``assets/plotly-map.min.js`` is a partial plotly.js (a third of the full bundle's start-up in the browser):
    it must be the plotly.js the installed plotly package writes figures for, and hold every trace type the
    dashboard's figures use (map, upload preview, timeline), or that figure would draw nothing."""
    import re
    from pathlib import Path

    from plotly.offline import get_plotlyjs_version

    from ua_coverage.app.state import AppState
    from ua_coverage.figures import MapView, change_figure, map_figure, timeline_figure
    from ua_coverage.engine.diff import diff_plans
    from ua_coverage.workflow import analyze_plan, open_store

    head = (Path(__file__).parents[1] / "assets" / "plotly-map.min.js").read_text(encoding="utf-8")[:400]
    m = re.match(r"/\*! plotly\.js v(\S+) partial bundle for ua-coverage: ([a-z, ]+) \(MapLibre", head)
    assert m, head[:200]
    assert m[1] == get_plotlyjs_version(), ("assets/plotly-map.min.js is plotly.js v%s but plotly writes figures for "
                                            "v%s: rebuild it (coverage/app/plotly_bundle/README.md)"
                                            % (m[1], get_plotlyjs_version()))
    bundled = {t.strip() for t in m[2].split(",")}
    # offline: no online basemap, glyph or icon server, Chart Studio link or help link is left in any asset
    # (build.js turns fetchable URLs into local paths and removes the rest); XML namespace names are never fetched
    namespaces = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/xmlns/",
                  "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/1999/xhtml"}
    for asset in (Path(__file__).parents[1] / "assets").rglob("*"):
        if asset.suffix in (".js", ".css", ".txt", ".json"):
            urls = set(re.findall(r"https?://[^\"'`\s)<>\\]*", asset.read_text(encoding="utf-8"))) - namespaces
            assert not urls, f"{asset.name} points at {sorted(urls)[:5]}"
    for host in ("cartocdn.com", "openstreetmap.org", "openmaptiles.org", "jsdelivr.net", "plot.ly", "arcgisonline.com",
                 "icgc.cat"):
        assert host not in (Path(__file__).parents[1] / "assets" / "plotly-map.min.js").read_text(encoding="utf-8")

    store = open_store(data_dir)
    plan = store.load(1)
    analysis = analyze_plan(plan)
    figs = [map_figure(plan, analysis, MapView(domain=d, layers=("zones", "gaps", "overlaps", "labels", "sensors",
                                                                     "unwatched")))
            for d in ("land", "sea", "air", "monitoring")]
    figs.append(change_figure(plan, plan.without(("GBR",)), diff_plans(plan, plan.without(("GBR",)))))
    figs.append(timeline_figure(*AppState(store).timeline(1)))
    used = {t.get("type", "scatter") for f in figs for t in f["data"]}
    assert {"scattermap", "choroplethmap", "scatter"} <= used  # the figures were built
    assert used <= bundled, f"the dashboard draws {sorted(used - bundled)}: add them to the bundle and rebuild it"


def test_the_server_analyses_the_newest_revision_before_the_first_visitor(data_dir):
    """A start warms the cache: the first page load after it finds the newest revision analysed."""
    from ua_coverage.app.state import AppState
    from ua_coverage.workflow import open_store

    state = AppState(open_store(data_dir))
    t = state.warm_up()
    t.join(120)
    assert not t.is_alive()
    before = state._analysis.cache_info()
    assert before.currsize == 1
    head = state.store.current().id
    assert state.analysis(head).domains["land"]["gap_km2"] > 0
    assert state._analysis.cache_info().hits == before.hits + 1  # the page's call: no second analysis


def test_callers_of_one_uncached_key_wait_for_a_single_computation():
    import threading
    import time

    from ua_coverage.app.state import _single_flight

    calls = []

    def slow(key):
        calls.append(key)
        time.sleep(0.3)
        return key * 2

    f = _single_flight(slow, 4)
    out = []
    threads = [threading.Thread(target=lambda k=k: out.append(f(k % 2))) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(out) == [0, 0, 0, 2, 2, 2]
    assert sorted(calls) == [0, 1]  # once per key, not once per caller


def test_a_what_if_reuses_the_plans_dissolved_gaps_and_draws_the_same_map_as_a_fresh_one(data_dir):
    """What-ifs classify the plan's own faces, so a group of the same faces (a gap outside any unassigned sector,
    an overlap of sectors that stay) is the plan's shape again, not merged and repaired once more; and the map is
    the one computed from nothing."""
    import json

    from ua_coverage import figures
    from ua_coverage.engine import analysis as engine_analysis
    from ua_coverage.figures import MapView, map_figure
    from ua_coverage.workflow import analyze_plan, open_store

    plan = open_store(data_dir).load(1)
    view = MapView(domain="land", withdrawn=("FRA",))

    def fresh():
        engine_analysis._DISSOLVED.clear()
        figures._SHOWN.clear()
        return json.dumps(map_figure(plan.without(("FRA",)), analyze_plan(plan.without(("FRA",))), view),
                          sort_keys=True, default=float)

    cold = fresh()
    whole = analyze_plan(plan)
    base = whole.gap_faces("land")
    map_figure(plan, whole, MapView(domain="land"))
    what_if = analyze_plan(plan.without(("FRA",)))
    after = what_if.gap_faces("land")
    # without FRA, L-09 is unassigned: its new gap is a group of its own ("L-09"), and the gaps outside any
    # unassigned sector (group "") are the same faces as the plan's, so the same shape object
    assert set(after["sectors"]) - set(base["sectors"]), "the what-if opened no new gap group"
    outside = lambda frame: frame.geometry.values[list(frame["sectors"]).index("")]
    assert outside(after) is outside(base)
    warm = json.dumps(map_figure(plan.without(("FRA",)), what_if, view), sort_keys=True, default=float)
    assert warm == cold
