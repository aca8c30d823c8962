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
            "day-list.data": [None], "map-view.data": None, "map-traces.data": held}
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
