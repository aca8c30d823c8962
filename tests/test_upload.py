"""Uploading a revised sector file in the browser; roles, CSRF and conflicts over HTTP."""
from __future__ import annotations

import base64
import json

import geopandas as gpd
import pytest

from _browser import wait_for

from ua_coverage import geodata

from _files import kml_bytes, shapefile_zip




def revised(contingent: str) -> gpd.GeoDataFrame:
    s = gpd.read_file(geodata.sample_sectors_path())
    s["valid_from"] = s["valid_from"].astype(str)
    s.loc[s["sector_id"] == "L-07", "contingent"] = contingent
    return s


def write_format(fmt: str, gdf, tmp) -> str:
    if fmt == "geojson":
        p = tmp / "plan.geojson"
        gdf.to_file(p)
    elif fmt == "shp":
        p = tmp / "plan.zip"
        p.write_bytes(shapefile_zip(gdf, tmp))
    elif fmt == "gpkg":
        p = tmp / "plan.gpkg"
        gdf.to_file(p, driver="GPKG")
    else:
        p = tmp / "plan.kml"
        p.write_bytes(kml_bytes(gdf, tmp))
    return str(p)


@pytest.fixture
def app_and_store(tmp_path):
    from ua_coverage.app import create_app
    from ua_coverage.workflow import open_store

    d = tmp_path / "data"
    store = open_store(d)
    return create_app(d), store


@pytest.mark.browser
def test_upload_preview_and_commit_in_four_formats(dash_duo, app_and_store, tmp_path):
    app, store = app_and_store
    dash_duo.start_server(app)
    prev = "unassigned"
    for i, (fmt, code) in enumerate([("geojson", "CZE"), ("shp", "DEU"), ("gpkg", "ITA"), ("kml", "POL")]):
        dash_duo.driver.get(dash_duo.server_url + "/upload")
        dash_duo.wait_for_element("#upload", timeout=20)
        sub = tmp_path / fmt
        sub.mkdir()
        path = write_format(fmt, revised(code), sub)
        dash_duo.find_element("#upload input[type=file]").send_keys(path)
        wait_for(lambda: "ACCEPTED" in dash_duo.find_element("#preview-summary").text
                 and "re-assigned L-07" in dash_duo.find_element("#change-list").text
                 and "land" in dash_duo.find_element("#effect-table").text, what=f"{fmt} accepted")
        changes = dash_duo.find_element("#change-list").text
        assert f"re-assigned L-07: {prev} → {code}" in changes, changes
        assert "land" in dash_duo.find_element("#effect-table").text
        dash_duo.find_element("#commit-message").send_keys(f"L-07 to {code} ({fmt})")
        dash_duo.find_element("#commit-button").click()
        wait_for(lambda: f"Committed revision {i + 2}" in dash_duo.find_element("#commit-status").text,
                 what=f"{fmt} commit")
        assert store.current().id == i + 2
        assert store.load(i + 2).sectors.set_index("sector_id").loc["L-07", "contingent"] == code
        prev = code
    assert [r.source_format for r in store.history()[1:]] == ["GeoJSON", "Shapefile", "GeoPackage", "KML"]
    assert dash_duo.get_logs() == []


@pytest.mark.browser
def test_bad_upload_is_refused_and_changes_nothing(dash_duo, app_and_store, tmp_path):
    app, store = app_and_store
    before = store.current()
    dash_duo.start_server(app)
    dash_duo.driver.get(dash_duo.server_url + "/upload")
    dash_duo.wait_for_element("#upload", timeout=20)
    bad = revised("XYZ")
    path = write_format("geojson", bad, tmp_path)
    dash_duo.find_element("#upload input[type=file]").send_keys(path)
    # the problems table renders a moment after the heading: wait for both
    wait_for(lambda: "REJECTED" in dash_duo.find_element("#upload-report").text
             and "contingent-unknown" in dash_duo.find_element("#upload-report").text, what="rejection")
    report = dash_duo.find_element("#upload-report").text
    assert "revision 1 is still current" in report
    assert "contingent-unknown" in report and "'XYZ' is not in the contingents registry" in report
    assert dash_duo.find_element("#preview").get_attribute("hidden")
    assert store.current() == before
    # the map still shows revision 1
    dash_duo.driver.get(dash_duo.server_url + "/")
    dash_duo.wait_for_text_to_equal("#kpi-extent", "483,305 km²", timeout=30)
    assert "Revision 1" in dash_duo.find_element("#revision-info").text


# -- over plain HTTP: roles, CSRF, conflicts ------------------------------------------------------------
def _callback(client, output_id: str):
    deps = json.loads(client.get("/_dash-dependencies").data)
    return next(d for d in deps if d["output"].strip(".").split("...")[0].split(".")[0] == output_id
                and not d.get("clientside_function"))


def _call(client, dep, inputs: dict, state: dict, csrf: str | None):
    body = {"output": dep["output"],
            "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
                        for o in dep["output"].strip(".").split("...")],
            "inputs": [{"id": i["id"], "property": i["property"], "value": inputs.get(i["id"])} for i in dep["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": state.get(s["id"])} for s in dep["state"]],
            "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.post("/_dash-update-component", json=body, headers=headers)


def _csrf(client) -> str:
    client.get("/upload")
    return client.get_cookie("_csrf_token").value


def _upload(client, csrf, gdf, tmp):
    path = write_format("geojson", gdf, tmp)
    contents = "data:application/geo+json;base64," + base64.b64encode(open(path, "rb").read()).decode()
    dep = _callback(client, "upload-report")
    r = _call(client, dep, {"upload": contents}, {"upload": "plan.geojson", "pending": None}, csrf)
    assert r.status_code == 200, r.data[:300]
    return json.loads(r.data)["response"]["pending"]["data"]


def _commit(client, csrf, pending, message):
    dep = _callback(client, "commit-status")
    r = _call(client, dep, {"commit-button": 1}, {"pending": pending, "commit-message": message}, csrf)
    assert r.status_code == 200, r.data[:300]
    return json.dumps(json.loads(r.data)["response"]["commit-status"]["children"])


def test_viewer_cannot_commit_over_http_and_csrf_is_required(tmp_path, monkeypatch):
    from ua_coverage.app import create_app
    from ua_coverage.app.auth import save_user
    from ua_coverage.workflow import open_store

    users = tmp_path / "users.json"
    save_user(users, "vera", "viewer-pass", ["viewer"])
    save_user(users, "ed", "editor-pass", ["editor"])
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    store = open_store(tmp_path / "data")
    app = create_app(tmp_path / "data")
    c = app.server.test_client()
    assert c.get("/").status_code == 302  # to the login page
    csrf = c.get("/login") and c.get_cookie("_csrf_token").value
    assert c.post("/login", data={"user": "vera", "password": "wrong", "csrf": csrf}).status_code == 200
    assert c.post("/login", data={"user": "vera", "password": "viewer-pass"}).status_code == 403  # no CSRF token
    assert c.post("/login", data={"user": "vera", "password": "viewer-pass", "csrf": csrf}).status_code == 302
    # a preview runs the engine, so a viewer may not even preview (hardening: bounded work per request)
    path = write_format("geojson", revised("CZE"), tmp_path)
    contents = "data:application/geo+json;base64," + base64.b64encode(open(path, "rb").read()).decode()
    r = _call(c, _callback(c, "upload-report"), {"upload": contents}, {"upload": "plan.geojson", "pending": None}, csrf)
    resp = json.loads(r.data)["response"]
    assert resp["pending"]["data"] is None and "the editor role is needed" in json.dumps(resp["upload-report"])
    pending = {"token": "forged-token", "base": 1}
    out = _commit(c, csrf, pending, "sneaky")
    assert "vera may not commit: the editor role is needed" in out
    dep = _callback(c, "commit-status")
    assert _call(c, dep, {"commit-button": 1}, {"pending": pending, "commit-message": "x"}, None).status_code == 403
    assert _call(c, dep, {"commit-button": 1}, {"pending": pending, "commit-message": "x"}, "forged").status_code == 403
    assert store.current().id == 1
    e = app.server.test_client()
    csrf_e = e.get("/login") and e.get_cookie("_csrf_token").value
    e.post("/login", data={"user": "ed", "password": "editor-pass", "csrf": csrf_e})
    pend_e = _upload(e, csrf_e, revised("CZE"), tmp_path / "e" if (tmp_path / "e").mkdir() is None else tmp_path)
    assert "Committed revision 2" in _commit(e, csrf_e, pend_e, "L-07 to CZE")


def test_two_editors_on_the_same_base(tmp_path):
    from ua_coverage.app import create_app
    from ua_coverage.workflow import open_store

    store = open_store(tmp_path / "data")
    app = create_app(tmp_path / "data")  # workstation mode: 127.0.0.1 has every role
    a, b = app.server.test_client(), app.server.test_client()
    ca, cb = _csrf(a), _csrf(b)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pa = _upload(a, ca, revised("CZE"), tmp_path / "a")
    pb = _upload(b, cb, revised("DEU"), tmp_path / "b")
    assert pa["base"] == pb["base"] == 1
    assert "Committed revision 2" in _commit(a, ca, pa, "A: L-07 to CZE")
    out = _commit(b, cb, pb, "B: L-07 to DEU")
    assert "CONFLICT" in out and "based on revision 1, but revision 2 is now current" in out
    assert store.current().id == 2
    assert store.load(2).sectors.set_index("sector_id").loc["L-07", "contingent"] == "CZE"


def test_trusted_header_mode(tmp_path, monkeypatch):
    from ua_coverage.app import create_app
    from ua_coverage.app.auth import save_user

    users = tmp_path / "users.json"
    save_user(users, "ed", None, ["editor"])
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    monkeypatch.setenv("UA_COVERAGE_TRUST_HEADER", "X-Remote-User")
    app = create_app(tmp_path / "data")
    c = app.server.test_client()
    assert c.get("/").status_code == 401  # the proxy did not say who this is
    r = c.get("/", headers={"X-Remote-User": "ed"})
    assert r.status_code == 200
    with app.server.test_request_context("/", headers={"X-Remote-User": "ed"}):
        from ua_coverage.app.auth import current_user

        u = current_user()
        assert (u.name, u.can("editor"), u.can("exporter")) == ("ed", True, False)
    with app.server.test_request_context("/", headers={"X-Remote-User": "someone"}):
        from ua_coverage.app.auth import current_user

        assert sorted(current_user().roles) == ["viewer"]
