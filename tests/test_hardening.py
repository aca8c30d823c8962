"""Hardening: the browser's host, sign-in, sessions, files that lie, ids that hide things, bounded work,
stores that are not stores, and messages instead of tracebacks. Everything talks to 127.0.0.1 or a test client."""
from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
import zipfile

import geopandas as gpd
import numpy as np
import pytest
from _cli import run_cli
import shapely

from ua_coverage import workflow
from ua_coverage.errors import StoreError
from ua_coverage.ingest import validate_file
from ua_coverage.settings import Limits

from _files import base_plan, geojson_bytes, shapefile_zip


def cli(*args, env=None):
    return run_cli(*args, env=env)


# -- host check and sign-in ------------------------------------------------------------------------------------
@pytest.fixture
def workstation(tmp_path):
    from ua_coverage.app import create_app

    return create_app(tmp_path / "data").server


def test_only_known_host_names_are_answered(workstation):
    c = workstation.test_client()
    assert c.get("/", headers={"Host": "127.0.0.1:8050"}).status_code == 200
    assert c.get("/", headers={"Host": "localhost"}).status_code == 200
    r = c.get("/", headers={"Host": "rebind.attacker.example:8050"})
    assert r.status_code == 400 and b"host name" in r.data
    # no cookie, no CSRF token, no role for a rebinding page
    assert "_csrf_token" not in r.headers.get("Set-Cookie", "")
    with workstation.test_request_context("/", headers={"Host": "rebind.attacker.example"},
                                          environ_base={"REMOTE_ADDR": "127.0.0.1"}):
        from ua_coverage.app.auth import current_user

        assert current_user().roles == frozenset({"viewer"})  # loopback peer but a foreign host: no grant


def test_allowed_hosts_setting(tmp_path, monkeypatch):
    from ua_coverage.app import create_app

    monkeypatch.setenv("UA_COVERAGE_ALLOWED_HOSTS", "coverage.hq.example")
    c = create_app(tmp_path / "data", host="10.1.2.3").server.test_client()
    assert c.get("/", headers={"Host": "coverage.hq.example"}).status_code == 200
    assert c.get("/", headers={"Host": "10.1.2.3:8050"}).status_code == 200
    assert c.get("/", headers={"Host": "other.example"}).status_code == 400


@pytest.fixture
def with_users(tmp_path, monkeypatch):
    from ua_coverage.app import create_app
    from ua_coverage.app.auth import save_user

    users = tmp_path / "users.json"
    save_user(users, "ed", "editor-pass-1", ["editor"])
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    return create_app(tmp_path / "data").server, users


def _login(c, user, password):
    c.get("/login")
    csrf = c.get_cookie("_csrf_token").value
    return c.post("/login", data={"user": user, "password": password, "csrf": csrf})


def test_sign_in_is_rate_limited_and_unknown_users_take_as_long(with_users):
    server, _ = with_users
    c = server.test_client()
    for _ in range(5):
        assert _login(c, "ed", "wrong").status_code == 200
    r = _login(c, "ed", "editor-pass-1")  # even the right password waits now
    assert r.status_code == 429 and b"try again in" in r.data
    from ua_coverage.app import auth

    stored = auth.hash_password("x")
    calls = []
    real = auth.hash_password
    auth.hash_password = lambda *a, **k: calls.append(k.get("iterations")) or real(*a, **k)
    try:
        auth.check_password("y", stored)
        auth.check_password("y", None)
    finally:
        auth.hash_password = real
    # a missing user costs a full-strength hash too (it answered in 8 ms against 234 ms before)
    assert len(calls) >= 2 and calls[-1] == calls[0] == auth._ITER


def test_logout_and_password_change_revoke_sessions(with_users):
    from ua_coverage.app.auth import save_user

    server, users = with_users
    a = server.test_client()
    assert _login(a, "ed", "editor-pass-1").status_code == 302
    cookie = a.get_cookie("session").value
    assert a.get("/").status_code == 200
    a.get("/logout")
    b = server.test_client()
    b.set_cookie("session", cookie)  # the cookie kept from before the logout
    assert b.get("/").status_code == 302  # to the login page: that session is revoked
    c = server.test_client()
    assert _login(c, "ed", "editor-pass-1").status_code == 302
    assert c.get("/").status_code == 200
    save_user(users, "ed", "a-new-password", ["editor"])
    assert c.get("/").status_code == 302  # a new password signs out every session


def test_cookies_are_secure_over_https(with_users):
    server, _ = with_users
    c = server.test_client()
    r = c.get("/login", base_url="https://localhost")
    assert "Secure" in ";".join(r.headers.getlist("Set-Cookie"))
    r = server.test_client().get("/login")
    assert "Secure" not in ";".join(r.headers.getlist("Set-Cookie"))


def test_private_files_are_private(tmp_path, with_users):
    server, users = with_users
    data = tmp_path / "data"
    for f in (data / "session.key", data / "plan.sqlite", users):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


# -- stores that are not stores ------------------------------------------------------------------------------------
def test_an_empty_plan_store_file_is_an_error_not_a_new_store(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "plan.sqlite").write_bytes(b"")
    with pytest.raises(StoreError, match="empty"):
        workflow.open_store(d)
    assert (d / "plan.sqlite").stat().st_size == 0  # nothing was seeded over it
    p = cli("history", "--data-dir", str(d))
    assert p.returncode == 1 and "empty (0 bytes)" in p.stderr and "Traceback" not in p.stderr


def test_a_foreign_database_is_refused(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    con = sqlite3.connect(d / "plan.sqlite")
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="something else"):
        workflow.open_store(d)
    (d / "plan.sqlite").write_bytes(b"this is not a database at all, just text" * 100)
    with pytest.raises(StoreError, match="not a plan store"):
        workflow.open_store(d)


def test_database_errors_become_store_errors_and_lose_nothing(tmp_path, monkeypatch):
    st = workflow.open_store(tmp_path / "data")
    plan = st.load(1)
    before = [r.id for r in st.history()]

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(type(st), "_executemany", full)
    s = plan.sectors[plan.sectors["sector_id"] != "L-09"].reset_index(drop=True)
    with pytest.raises(StoreError, match="disk is full.*Nothing was changed"):
        workflow.commit_plan(st, type(plan)(s, plan.contingents, plan.extents), base=1, author="a", message="m")
    assert [r.id for r in st.history()] == before


def test_texts_are_limited_on_the_server(tmp_path):
    st = workflow.open_store(tmp_path / "data")
    plan = st.load(1)
    s = plan.sectors[plan.sectors["sector_id"] != "L-09"].reset_index(drop=True)
    with pytest.raises(StoreError, match="limit is 500"):
        st.commit(type(plan)(s, plan.contingents, plan.extents), base=1, author="a", message="x" * 5_000_000)
    info = st.commit(type(plan)(s, plan.contingents, plan.extents), base=1, author="a" * 1000, message="ok",
                     source_name="n" * 10_000)
    assert len(info.author) == 200 and len(info.source_name) == 200


# -- files that lie, ids that hide things ---------------------------------------------------------------------
def test_deeply_nested_json_gets_a_report(tmp_path):
    deep = b'{"type": "FeatureCollection", "features": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    r = validate_file(deep)
    assert r["accepted"] is False and r["problems"][0]["rule"] == "json-invalid"
    plan = base_plan()
    doc = json.loads(geojson_bytes(plan))
    nest = "x"
    for _ in range(5000):
        nest = {"a": nest}
    doc["features"][0]["properties"]["notes"] = nest
    r = validate_file(_dumps_deep(doc))
    assert set(r) >= {"accepted", "problems"}  # a report, whatever it says
    p = tmp_path / "deep.geojson"
    p.write_bytes(deep)
    out = cli("validate", str(p), "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["accepted"] is False and "Traceback" not in out.stderr


def _dumps_deep(doc) -> bytes:
    import sys as _sys

    old = _sys.getrecursionlimit()
    _sys.setrecursionlimit(20_000)
    try:
        return json.dumps(doc).encode()
    finally:
        _sys.setrecursionlimit(old)


@pytest.mark.parametrize("sid, rule", [
    ("L-\u202e40", "sector-id-characters"),      # right-to-left override
    ("L-0\u200b4", "sector-id-characters"),      # zero-width space
    ("\u200b\u200d", "sector-id-missing"),       # nothing visible at all
    ("L-04\x1b[31m", "sector-id-characters"),    # an ANSI escape
])
def test_ids_with_invisible_characters_are_refused(sid, rule):
    plan = base_plan()
    plan.loc[0, "sector_id"] = sid
    r = validate_file(geojson_bytes(plan))
    assert not r["accepted"] and r["problems"][0]["rule"] == rule, r["problems"]
    assert "\x1b" not in r["problems"][0]["message"] and "\u202e" not in r["problems"][0]["message"]


def test_mixed_script_ids_are_flagged():
    plan = base_plan()
    plan.loc[0, "sector_id"] = "L-04Α"  # a Greek capital alpha
    r = validate_file(geojson_bytes(plan))
    assert r["accepted"] and any(w["rule"] == "sector-id-lookalike" and "Greek" in w["message"] for w in r["warnings"])


def test_text_too_long_names_feature_and_sector():
    plan = base_plan()
    plan["notes"] = plan["notes"].astype(object)
    plan.loc[2, "notes"] = "n" * 300
    r = validate_file(geojson_bytes(plan))
    (p,) = [p for p in r["problems"] if p["rule"] == "text-too-long"]
    assert p["feature"] == 2 and p["sector_id"] == plan.loc[2, "sector_id"] and p["field"] == "notes"


def test_bogus_code_page_and_prefixed_network_link(tmp_path):
    plan = base_plan()
    z = shapefile_zip(plan, tmp_path)
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(z)) as src, zipfile.ZipFile(buf, "w") as dst:
        for i in src.infolist():
            dst.writestr(i, b"NO-SUCH-CODEPAGE-42" if i.filename.endswith(".cpg") else src.read(i))
    r = validate_file(buf.getvalue())
    assert not r["accepted"] and r["problems"][0]["rule"] == "encoding-unknown"
    kml = (b'<?xml version="1.0"?><k-ml:kml xmlns:k-ml="http://www.opengis.net/kml/2.2"><k-ml:Document>'
           b'<k-ml:NetworkLink><k-ml:Link><k-ml:href>http://127.0.0.1:9/x.kml</k-ml:href></k-ml:Link>'
           b'</k-ml:NetworkLink></k-ml:Document></k-ml:kml>')
    r = validate_file(kml)
    assert not r["accepted"] and r["problems"][0]["rule"] == "kml-networklink"


def test_a_prj_that_lies_about_its_epsg_code_is_refused(tmp_path):
    from pyproj import CRS

    plan = base_plan().to_crs(32636)
    z = shapefile_zip(plan, tmp_path)
    wkt = CRS.from_epsg(32636).to_wkt("WKT1_ESRI")
    tampered = wkt.replace("500000.0", "600000.0")
    assert tampered != wkt
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(z)) as src, zipfile.ZipFile(buf, "w") as dst:
        for i in src.infolist():
            dst.writestr(i, tampered if i.filename.endswith(".prj") else src.read(i))
    r = validate_file(buf.getvalue())
    assert not r["accepted"]
    assert r["problems"][0]["rule"] in ("crs-mismatch", "crs-not-allowed"), r["problems"]
    assert "600000" in r["problems"][0]["message"] or "not one we accept" in r["problems"][0]["message"]
    assert validate_file(z)["accepted"]  # the honest file passes


# -- bounded work ------------------------------------------------------------------------------------------------
def crossing_air_strips(n: int, levels: int) -> gpd.GeoDataFrame:
    """n horizontal and n vertical air strips over central Ukraine with many distinct altitude limits."""
    rng = np.random.default_rng(1)
    geoms, rows = [], []
    for i in range(n):
        y = 47.0 + 4.0 * i / n
        geoms.append(shapely.box(25.0, y, 38.0, y + 2.0 / n))
        x = 25.0 + 13.0 * i / n
        geoms.append(shapely.box(x, 47.0, x + 6.0 / n, 51.0))
    for k in range(len(geoms)):
        fl = float(rng.integers(0, levels) * 100)
        rows.append({"sector_id": f"X-{k:04d}", "name": f"strip {k}", "domain": "air", "kind": "zone",
                     "contingent": "FRA", "floor_ft": fl, "ceiling_ft": fl + 100.0 * (1 + k % levels)})
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def test_a_plan_too_costly_to_analyse_is_refused_up_front(tmp_path):
    st = workflow.open_store(tmp_path / "data")
    path = tmp_path / "strips.geojson"
    crossing_air_strips(100, 400).to_file(path)
    t = time.perf_counter()
    prop = workflow.propose(st, sectors=str(path), scope="sectors")
    took = time.perf_counter() - t
    assert not prop.accepted and [p.rule for p in prop.problems] == ["band-limit"]
    assert took < 15, took  # refused before the engine ran (the analysis took 28 s and 789 MB)
    assert workflow.propose(st, sectors=str(path), scope="sectors", limits=Limits().replace(max_air_bands=10**6)
                            ).inputs.sectors is not None


# -- commands: usage errors and nothing to do ----------------------------------------------------------------------
def test_bounds_and_rollback_to_current(tmp_path):
    d = str(tmp_path / "data")
    for bad in ("-1e308,-1e308,1e308,1e308", "inf,0,1,2", "1,2,3", "a,b,c,d", "30,50,29,51"):
        p = cli("export", "--data-dir", d, "--out", str(tmp_path / "x.png"), f"--bounds={bad}")
        assert p.returncode == 2 and "--bounds is WEST,SOUTH,EAST,NORTH" in p.stderr and "Traceback" not in p.stderr
    p = cli("rollback", "1", "-m", "again", "--data-dir", d)
    assert p.returncode == 0 and "Nothing to do" in p.stdout
    assert json.loads(cli("history", "--json", "--data-dir", d).stdout)["current"] == 1


def test_export_folders_are_swept(tmp_path, monkeypatch):
    import tempfile

    from ua_coverage.app import map_page

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old = tmp_path / "ua-export-old"
    old.mkdir()
    (old / "x.png").write_bytes(b"x")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    new = tmp_path / "ua-export-new"
    new.mkdir()
    map_page._sweep_exports()
    assert not old.exists() and new.exists()


def test_what_if_codes_are_limited_to_the_plan(tmp_path):
    from ua_coverage.app.map_page import _used
    from ua_coverage.app.state import AppState

    state = AppState(workflow.open_store(tmp_path / "data"))
    used = _used(state, 1)
    assert "FRA" in used and "ZZZ" not in used and "PRT" not in used  # PRT is registered but idle


def _fgb_with_count(data: bytes, count: int) -> bytes:
    """The same FlatGeobuf with its header's features_count field overwritten."""
    import struct

    root = 12 + struct.unpack_from("<I", data, 12)[0]
    vt = root - struct.unpack_from("<i", data, root)[0]
    off = struct.unpack_from("<H", data, vt + 4 + 2 * 8)[0]
    out = bytearray(data)
    struct.pack_into("<Q", out, root + off, count)
    return bytes(out)


@pytest.mark.parametrize("claimed", [0, 3])
def test_a_flatgeobuf_header_that_miscounts_is_refused(tmp_path, claimed):
    n = 300
    g = gpd.GeoDataFrame({"sector_id": [f"X{i}" for i in range(n)], "name": "x", "domain": "land", "kind": "zone"},
                         geometry=[shapely.box(30 + i * 0.001, 50, 30.0005 + i * 0.001, 50.1) for i in range(n)],
                         crs=4326)
    g.to_file(tmp_path / "a.fgb", driver="FlatGeobuf", SPATIAL_INDEX="NO")
    honest = (tmp_path / "a.fgb").read_bytes()
    assert validate_file(honest)["features"] == n
    lying = _fgb_with_count(honest, claimed)
    r = validate_file(lying, limits=Limits(max_features=100))
    assert not r["accepted"] and r["problems"][0]["rule"] == "feature-limit", r["problems"]
    r = validate_file(lying)
    assert not r["accepted"] and r["problems"][0]["rule"] == "format-damaged"
    assert f"says {claimed} features" in r["problems"][0]["message"]


# -- no traceback, ever: mutated files of every format get a report -------------------------------------------
def _good_files(tmp) -> dict[str, bytes]:
    from _files import csv_bytes, kml_bytes

    plan = base_plan()
    plan.to_file(tmp / "good.gpkg", driver="GPKG")
    plan.to_file(tmp / "good.fgb", driver="FlatGeobuf")
    return {"geojson": geojson_bytes(plan), "gpkg": (tmp / "good.gpkg").read_bytes(),
            "shp": shapefile_zip(plan, tmp), "kml": kml_bytes(plan, tmp), "fgb": (tmp / "good.fgb").read_bytes(),
            "csv": csv_bytes(plan)}


def test_fuzzed_files_always_get_a_report(tmp_path_factory):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from ua_coverage.rules import RULES

    good = _good_files(tmp_path_factory.mktemp("fuzz"))

    @st.composite
    def mutated(draw):
        name = draw(st.sampled_from(sorted(good)))
        data = bytearray(good[name])
        for _ in range(draw(st.integers(1, 4))):
            op = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
            i = draw(st.integers(0, max(len(data) - 1, 0)))
            if op == "flip" and data:
                data[i] = draw(st.integers(0, 255))
            elif op == "cut":
                del data[i:i + draw(st.integers(1, 64))]
            elif op == "insert":
                data[i:i] = draw(st.sampled_from([b"[" * 3000, b"{\"a\":" * 500, b"\x00" * 16, b"-1e999",
                                                  b"\"\\ud800\"", b"NaN", "ü".encode(), b"<!--", b"9" * 40]))
            else:
                data[i:i] = data[i:i + draw(st.integers(1, 256))]
        return name, bytes(data)

    @settings(max_examples=int(os.environ.get("UA_COVERAGE_FUZZ_EXAMPLES", "36")), deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(mutated())
    def check(case):
        name, data = case
        r = validate_file(data)
        assert isinstance(r["accepted"], bool) and isinstance(r["problems"], list), name
        for p in r["problems"] + r["warnings"]:
            assert p["rule"] in RULES and p["message"], (name, p)
        assert r["accepted"] == (not r["problems"])

    check()
