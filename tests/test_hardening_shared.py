"""Hardening, third round: sign-in limits and revocations shared by every worker process, pending previews kept as
data and owned by who made them, the nation table checked on the server, and stores that say what is wrong with
them. Everything talks to 127.0.0.1 or a test client."""
from __future__ import annotations

import base64
import json
import os
import pickle
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import uuid

import geopandas as gpd
import pytest
import shapely
from _cli import run_cli

from ua_coverage import geodata, workflow
from ua_coverage.errors import StoreError
from ua_coverage.plan import content_hash

PG_URL = os.environ.get("UA_COVERAGE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgis"] if PG_URL else [])
#: a database port nothing listens on: an outage, on this machine only
DEAD_PG = "postgresql://postgres:ua-ci@127.0.0.1:1/ua_test"


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


@pytest.fixture(params=BACKENDS)
def data_dir(request, tmp_path, monkeypatch):
    """A data folder; for PostGIS also a fresh schema that every app and store opened in the test uses (the way
    several workers share one database)."""
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    monkeypatch.delenv("UA_COVERAGE_AUTHOR", raising=False)
    if request.param == "sqlite":
        yield tmp_path / "data"
        return
    import psycopg

    schema = f"h_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("UA_COVERAGE_DATABASE_URL", _with_schema(PG_URL, schema))
    yield tmp_path / "data"
    with psycopg.connect(PG_URL, autocommit=True) as con:
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _app(data_dir):
    from ua_coverage.app import create_app

    return create_app(data_dir, warm=False).server


def _users(path, people: dict[str, tuple[str, list[str]]], iterations: int = 1_000) -> None:
    """A users file; quick hashes (the iteration count is in each hash) where the test signs in many times."""
    from ua_coverage.app.auth import hash_password

    doc = {"users": {name: {"hash": hash_password(pw, iterations=iterations), "generation": 1,
                            "roles": sorted(set(roles) | {"viewer"})} for name, (pw, roles) in people.items()}}
    path.write_text(json.dumps(doc), encoding="utf-8")


def _login(c, user, password):
    c.get("/login")
    csrf = c.get_cookie("_csrf_token").value
    return c.post("/login", data={"user": user, "password": password, "csrf": csrf})


def _csrf(c) -> str:
    c.get("/login")
    return c.get_cookie("_csrf_token").value


def _parallel(n: int, fn) -> list:
    """``fn(i)`` in ``n`` threads released at one moment; their results in order."""
    gate = threading.Barrier(n)
    out: list = [None] * n

    def run(i):
        gate.wait()
        out[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


# -- 1. sign-in limits and revocations are shared and atomic ---------------------------------------------------
@pytest.fixture
def users_file(tmp_path, monkeypatch):
    from ua_coverage.app.auth import save_user

    users = tmp_path / "users.json"
    save_user(users, "ed", "editor-pass-1", ["editor"])  # a full-strength hash: the real window of a race
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    return users


def test_parallel_wrong_passwords_cannot_pass_the_limit(data_dir, users_file, monkeypatch):
    from ua_coverage.app import auth

    server = _app(data_dir)
    checked = []
    real = auth.check_password
    monkeypatch.setattr(auth, "check_password", lambda pw, stored: checked.append(1) or real(pw, stored))
    clients = [server.test_client() for _ in range(15)]
    tokens = [_csrf(c) for c in clients]
    codes = _parallel(15, lambda i: clients[i].post(
        "/login", data={"user": "ed", "password": f"wrong-{i}", "csrf": tokens[i]}).status_code)
    # counted before checked: 5 are checked (and refused), the other 10 wait — it was 15 of 15 checked before
    assert len(checked) <= auth.MAX_FAILURES_PER_USER, (len(checked), codes)
    assert sorted(codes).count(429) >= 15 - auth.MAX_FAILURES_PER_USER and set(codes) <= {200, 429}, codes
    r = _login(server.test_client(), "ed", "editor-pass-1")
    assert r.status_code == 429 and b"Too many failed sign-ins; try again in" in r.data


def test_two_workers_share_one_count(data_dir, users_file):
    from ua_coverage.app import auth

    a, b = _app(data_dir), _app(data_dir)  # two workers on one data folder (or one database)
    for i in range(auth.MAX_FAILURES_PER_USER):
        assert _login((a if i % 2 else b).test_client(), "ed", "wrong").status_code == 200
    for server in (a, b):
        r = _login(server.test_client(), "ed", "editor-pass-1")
        assert r.status_code == 429 and b"try again in" in r.data


def test_a_right_password_clears_the_users_count_but_not_the_addresss(data_dir, users_file):
    server = _app(data_dir)
    for _ in range(4):
        assert _login(server.test_client(), "ed", "wrong").status_code == 200
    assert _login(server.test_client(), "ed", "editor-pass-1").status_code == 302
    for _ in range(4):  # the count started again
        assert _login(server.test_client(), "ed", "wrong").status_code == 200


def test_concurrent_sign_outs_are_all_kept(data_dir, tmp_path, monkeypatch):
    users = tmp_path / "quick-users.json"
    _users(users, {"ed": ("pw", ["editor"])})
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    server = _app(data_dir)
    clients = [server.test_client() for _ in range(60)]
    for c in clients:
        assert _login(c, "ed", "pw").status_code == 302
    cookies = [c.get_cookie("session").value for c in clients]
    assert all(c.get("/").status_code == 200 for c in clients[:3])
    codes = _parallel(60, lambda i: clients[i].get("/logout").status_code)
    assert codes == [302] * 60
    still = 0
    for cookie in cookies:  # each cookie as it was kept before its sign-out
        c = server.test_client()
        c.set_cookie("session", cookie)
        still += c.get("/").status_code == 200
    assert still == 0, f"{still} of 60 signed-out sessions still work"  # 29 of 60 did, with the revocations file


def test_a_sign_out_on_one_worker_holds_on_the_other(data_dir, tmp_path, monkeypatch):
    users = tmp_path / "quick-users.json"
    _users(users, {"ed": ("pw", ["editor"])})
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    a, b = _app(data_dir), _app(data_dir)
    ca = a.test_client()
    assert _login(ca, "ed", "pw").status_code == 302
    cookie = ca.get_cookie("session").value
    cb = b.test_client()
    cb.set_cookie("session", cookie)
    assert cb.get("/").status_code == 200  # one session key: a cookie works on every worker
    ca.get("/logout")
    cb = b.test_client()
    cb.set_cookie("session", cookie)
    assert cb.get("/").status_code == 302


def test_revocations_of_an_older_version_are_carried_over(tmp_path, monkeypatch):
    import time

    users = tmp_path / "quick-users.json"
    _users(users, {"ed": ("pw", ["editor"])})
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    d = tmp_path / "data"
    server = _app(d)
    c = server.test_client()
    c.get("/login")
    with c.session_transaction() as sess:
        sess.update(user="ed", sid="signed-out-before-the-upgrade", gen=1)
    (d / "revoked_sessions").write_text(f"{time.time():.0f} signed-out-before-the-upgrade\n", encoding="utf-8")
    assert c.get("/").status_code == 302
    assert not (d / "revoked_sessions").exists()


# -- 2. pending previews are data, never code ----------------------------------------------------------------------
def _upload_files(tmp_path) -> dict:
    """A real upload: the sample's sectors (L-07 to a new nation), a registry with it, phases and sensors."""
    sectors = gpd.read_file(geodata.sample_sectors_path())
    sectors["valid_from"] = sectors["valid_from"].astype(str).replace("NaT", "")
    sectors.loc[sectors["sector_id"] == "L-07", "contingent"] = "ISL"
    sectors.to_file(tmp_path / "sectors.geojson")
    registry = geodata.sample_contingents_path().read_text(encoding="utf-8").rstrip("\n") + "\nISL,Iceland,#2ca02c,Nordic\n"
    phases = geodata.sample_phases_path().read_text(encoding="utf-8").rstrip("\n") + "\nReserve,2031-01-01,,kept back\n"
    return {"sectors": str(tmp_path / "sectors.geojson"), "contingents": registry.encode(),
            "phases": phases.encode(), "sensors": str(geodata.sample_sensors_path())}


def test_a_pending_proposal_round_trips_as_data(data_dir, tmp_path):
    import plotly.utils

    from ua_coverage.app.state import AppState
    from ua_coverage.app.upload_page import _preview
    from ua_coverage.store.sql import sector_rows

    store = workflow.open_store(data_dir)
    prop = workflow.propose(store, **_upload_files(tmp_path), scope="all")
    assert prop.accepted and prop.changed, prop.problems
    data = prop.to_bytes()
    doc = json.loads(data)  # JSON, not a pickle
    assert (doc["format"], doc["version"]) == (workflow.PROPOSAL_FORMAT, workflow.PROPOSAL_VERSION)
    back = workflow.Proposal.from_bytes(data)
    assert content_hash(back.plan) == content_hash(prop.plan)
    assert sector_rows(back.inputs.sectors) == sector_rows(prop.inputs.sectors)
    assert back.inputs.contingents.equals(prop.inputs.contingents) and back.inputs.phases.equals(prop.inputs.phases)
    assert sorted(back.plan.sensors["sensor_id"]) == sorted(prop.plan.sensors["sensor_id"])
    assert [w.text() for w in back.warnings] == [w.text() for w in prop.warnings]

    def shown(p):
        return json.dumps(_preview(AppState(store), p), cls=plotly.utils.PlotlyJSONEncoder, sort_keys=True)

    assert shown(back) == shown(prop)  # the same preview, to the last coordinate
    token = workflow.keep_pending(store, prop, owner="ed")
    kept = workflow.pending(store, token, owner="ed")
    info = workflow.commit(store, kept, message="ISL takes L-07", author="ed")
    assert info.id == 2 and info.hash == content_hash(prop.plan)
    assert json.loads(json.dumps(info.summary)) == json.loads(json.dumps(prop.summary, default=float))


class _Planted:
    """A pickle that would create a file when loaded: what someone able to write the store could plant."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_planted_pickle_is_never_run(data_dir, tmp_path):
    marker = tmp_path / "ran"
    store = workflow.open_store(data_dir)
    store.put_pending("planted-token", pickle.dumps(_Planted(marker)), owner="workstation")
    assert workflow.pending(store, "planted-token") is None and not marker.exists()
    assert workflow.pending_owner(store, "planted-token") is None  # dropped, not kept for another try
    store.put_pending("planted-token-2", pickle.dumps(_Planted(marker)), owner="workstation")
    c = _app(data_dir).test_client()  # workstation: 127.0.0.1 is "workstation" with every role
    out = _commit(c, _csrf(c), {"token": "planted-token-2", "base": 1}, "run it")
    assert "the preview has expired" in out and "upload the files again" in out, out
    assert not marker.exists() and store.current().id == 1


@pytest.mark.parametrize("payload", [b"", b"\x80\x05garbage", b'{"format": "ua-coverage/proposal", "version": 99}',
                                     b'{"format": "ua-coverage/proposal", "version": 1, "base": 1}',
                                     b"[" * 100_000],
                         ids=["empty", "pickle-like", "other-version", "incomplete", "nested-too-deep"])
def test_bytes_that_are_no_proposal_are_an_expired_preview(payload):
    with pytest.raises(workflow.ProposalUnreadable):
        workflow.Proposal.from_bytes(payload)


# -- 3. a pending preview belongs to who made it -------------------------------------------------------------------
def _callback(client, output_id: str):
    deps = json.loads(client.get("/_dash-dependencies").data)
    return next(d for d in deps if d["output"].strip(".").split("...")[0].split(".")[0] == output_id
                and not d.get("clientside_function"))


def _call(client, dep, inputs: dict, state: dict, csrf: str | None, changed: str | None = None):
    """One Dash callback over HTTP, as the browser posts it (``changed``: the input that fired, default the first)."""
    outputs = [{"id": o.split(".")[0], "property": o.split(".")[1].split("@")[0]}
               for o in dep["output"].strip(".").split("...")]
    body = {"output": dep["output"], "outputs": outputs if dep["output"].startswith("..") else outputs[0],
            "inputs": [{"id": i["id"], "property": i["property"], "value": inputs.get(i["id"])} for i in dep["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": state.get(s["id"])} for s in dep["state"]],
            "changedPropIds": [changed or f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"]}
    headers = {"X-CSRFToken": csrf} if csrf else {}
    return client.post("/_dash-update-component", json=body, headers=headers)


def _response(r) -> dict:
    assert r.status_code == 200, r.data[:300]
    return json.loads(r.data)["response"]


def _upload(client, csrf, path, *, additions=None, add=False) -> dict:
    contents = "data:application/geo+json;base64," + base64.b64encode(open(path, "rb").read()).decode()
    inputs = {"upload": contents, "registry-add-button": 1 if add else 0}
    state = {"upload": "plan.geojson", "pending": None, "registry-additions": additions}
    dep = _callback(client, "upload-report")
    return _response(_call(client, dep, inputs, state, csrf, "registry-add-button.n_clicks" if add else None))


def _commit(client, csrf, pending, message) -> str:
    dep = _callback(client, "commit-status")
    out = _response(_call(client, dep, {"commit-button": 1}, {"pending": pending, "commit-message": message}, csrf))
    return json.dumps(out["commit-status"]["children"])


def _land_cell(tmp_path, **changes) -> str:
    s = gpd.read_file(geodata.sample_sectors_path())
    s["valid_from"] = s["valid_from"].astype(str).replace("NaT", "")
    land = s[(s["domain"] == "land") & (s["kind"] == "zone")].copy()
    for sid, code in changes.items():
        land.loc[land["sector_id"] == sid, "contingent"] = code
    path = tmp_path / f"land-{uuid.uuid4().hex[:6]}.geojson"
    land.to_file(path)
    return str(path)


def test_only_the_owner_commits_or_discards_a_preview(data_dir, tmp_path, monkeypatch):
    users = tmp_path / "quick-users.json"
    _users(users, {"ed": ("pw-ed", ["editor"]), "eve": ("pw-eve", ["editor"]), "vera": ("pw-vera", ["viewer"])})
    monkeypatch.setenv("UA_COVERAGE_USERS", str(users))
    store = workflow.open_store(data_dir)
    server = _app(data_dir)
    clients = {}
    for name in ("ed", "eve", "vera"):
        c = server.test_client()
        assert _login(c, name, f"pw-{name}").status_code == 302
        clients[name] = (c, c.get_cookie("_csrf_token").value)
    ed, eve, vera = clients["ed"], clients["eve"], clients["vera"]
    pend = _upload(*ed, _land_cell(tmp_path, **{"L-07": "CZE"}))["pending"]["data"]
    assert pend and pend["token"]
    out = _commit(*eve, pend, "eve commits ed's preview")
    assert "This preview belongs to another user" in out and store.current().id == 1, out
    # a viewer can neither discard it nor drop it by sending it back with a new upload
    dep = _callback(vera[0], "preview")
    r = _response(_call(vera[0], dep, {"discard-button": 1}, {"pending": pend}, vera[1]))
    assert "belongs to another user" in json.dumps(r)
    _response(_call(vera[0], _callback(vera[0], "upload-report"), {"upload-scope": "layers"},
                    {"pending": pend}, vera[1]))
    assert workflow.pending_owner(store, pend["token"]) == "ed"
    assert "Committed revision 2" in _commit(*ed, pend, "L-07 to CZE")
    assert workflow.pending_owner(store, pend["token"]) is None


# -- 4. the nation table is checked on the server, and scales -------------------------------------------------------
def test_three_hundred_unknown_nations_get_a_report_and_a_table(tmp_path, monkeypatch):
    from ua_coverage.colours import is_hostile_red
    from ua_coverage.schema import COLOUR

    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    codes = [f"Q{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(300)]
    cells = [shapely.box(30 + (i % 20) * 0.2, 48 + (i // 20) * 0.15, 30.15 + (i % 20) * 0.2, 48.1 + (i // 20) * 0.15)
             for i in range(300)]
    g = gpd.GeoDataFrame({"sector_id": [f"N-{i:03d}" for i in range(300)], "name": [f"cell {i}" for i in range(300)],
                          "domain": "land", "kind": "zone", "contingent": codes}, geometry=cells, crs=4326)
    path = tmp_path / "nations.geojson"
    g.to_file(path)
    d = tmp_path / "data"
    workflow.open_store(d)
    c = _app(d).test_client()
    csrf = _csrf(c)
    r = _upload(c, csrf, path)
    report = json.dumps(r["upload-report"])
    assert "REJECTED" in report and "something went wrong" not in report, report[:500]
    assert "and 280 more are not in the registry" in report
    rows = r["registry-additions"]["data"]
    assert r["registry-fix"]["hidden"] is False and [x["code"] for x in rows] == codes
    assert len({x["colour"] for x in rows}) == 300
    assert all(COLOUR.match(x["colour"]) and not is_hostile_red(x["colour"]) for x in rows)
    r = _upload(c, csrf, path, additions=rows, add=True)
    assert r["pending"]["data"] and "ACCEPTED" in json.dumps(r["preview-summary"]), json.dumps(r)[:800]


@pytest.mark.parametrize("rows, said", [
    ([{"code": "TUR", "name": "Türkiye", "colour": "#ff0000"}], "hostile red"),
    ([{"code": "TUR", "name": "Türkiye", "colour": "#fe0202"}], "hostile red"),
    ([{"code": "TUR", "name": "Türkiye", "colour": "red"}], "is not #rrggbb"),
    ([{"code": "TUR", "name": "T\x1b[31mürkiye", "colour": "#2ca02c"}], "control or invisible characters"),
    ([{"code": "TUR", "name": "T\u202eürkiye", "colour": "#2ca02c"}], "control or invisible characters"),
    ([{"code": "TUR", "name": "T" * 10_000, "colour": "#2ca02c"}], "the limit is"),
    ([{"code": "TUR", "name": "", "colour": "#2ca02c"}], "has no name"),
    ([{"code": "ZZZ", "name": "Nowhere", "colour": "#2ca02c"}], "not one of the nations this upload is missing"),
    ([{"code": "TUR", "name": "Türkiye", "colour": "#2ca02c"}, {"code": "ZZZ", "name": "Z", "colour": "#1f77b4"}],
     "misses only 1 nation"),
    ([{"code": "TUR", "name": ["a list"], "colour": "#2ca02c"}], "something other than text"),
])
def test_the_nation_table_is_checked_on_the_server(tmp_path, monkeypatch, rows, said):
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    d = tmp_path / "data"
    store = workflow.open_store(d)
    c = _app(d).test_client()
    csrf = _csrf(c)
    path = _land_cell(tmp_path, **{"L-07": "TUR"})
    assert [x["code"] for x in _upload(c, csrf, path)["registry-additions"]["data"]] == ["TUR"]
    r = _upload(c, csrf, path, additions=rows, add=True)
    report = json.dumps(r["upload-report"], ensure_ascii=False)
    assert r["pending"]["data"] is None and said in report and "were not accepted" in report, report[:600]
    assert store.current().id == 1
    good = [{"code": "TUR", "name": "Türkiye", "colour": "#2ca02c", "notes": ""}]
    assert _upload(c, csrf, path, additions=good, add=True)["pending"]["data"]


# -- 5. stores that say what is wrong with them ---------------------------------------------------------------------
def _unprivileged() -> list[str] | None:
    """A command prefix under which file permissions apply (root drops the capability that overrides them)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"] if setpriv else None


def test_a_read_only_data_folder_is_named_as_such(tmp_path):
    prefix = _unprivileged()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be made to apply")
    d = tmp_path / "data"
    workflow.open_store(d)
    for f in d.iterdir():
        f.chmod(0o400)
    d.chmod(0o500)
    try:
        env = {**os.environ, "UA_COVERAGE_DATA_DIR": str(d)}
        env.pop("UA_COVERAGE_DATABASE_URL", None)
        p = subprocess.run(prefix + [sys.executable, "-m", "ua_coverage", "history"], capture_output=True, text=True,
                           env=env, timeout=120)
    finally:
        d.chmod(0o700)
        for f in d.iterdir():
            f.chmod(0o600)
    assert p.returncode == 1, p.stderr
    assert "read-only" in p.stderr and "writable" in p.stderr, p.stderr
    assert "not a plan store" not in p.stderr and "move it away" not in p.stderr and "Traceback" not in p.stderr


def _damage(path) -> None:
    """Zero the type byte of every b-tree page but the first: SQLite finds the pages malformed."""
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big") or 65536
    for start in range(size, len(data), size):
        data[start] = 0
    path.write_bytes(bytes(data))


def test_a_damaged_store_is_named_as_such(tmp_path, monkeypatch):
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    d = tmp_path / "data"
    workflow.open_store(d)
    server = _app(d)  # opened while still whole, as a running server would have it
    _damage(d / "plan.sqlite")
    with pytest.raises(StoreError, match="damaged") as exc:
        workflow.open_store(d)
    assert exc.value.rule == "store-damaged"
    for args in (["history"], ["analyze", "--revision", "1", "--json"]):
        p = run_cli(*args, "--data-dir", str(d))
        assert p.returncode == 1 and "damaged" in p.stderr and "backup" in p.stderr, p.stderr
        assert "bug" not in p.stderr and "Traceback" not in p.stderr
    c = server.test_client()
    out = json.dumps(_response(_call(c, _callback(c, "compare-result"), {"compare-a": 1, "compare-b": 1}, {},
                                     _csrf(c))))
    assert "damaged" in out and "backup" in out and str(d) not in out, out  # the path is for the server log


def test_an_unreachable_database_is_plain_in_the_browser_and_detailed_on_the_command_line(tmp_path):
    p = run_cli("history", "--data-dir", str(tmp_path / "data"), env={"UA_COVERAGE_DATABASE_URL": DEAD_PG})
    assert p.returncode == 1 and "the plan database cannot be reached" in p.stderr, p.stderr
    assert "127.0.0.1:1" in p.stderr and "ua-ci" not in p.stderr  # where, for the operator; never the password
    assert "UA_COVERAGE_DATABASE_URL" in p.stderr  # and what to check


@pytest.mark.skipif(not PG_URL, reason="needs UA_COVERAGE_TEST_DATABASE_URL")
def test_a_database_outage_tells_viewers_only_that(tmp_path, monkeypatch, caplog):
    import logging

    import psycopg

    schema = f"h_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("UA_COVERAGE_DATABASE_URL", _with_schema(PG_URL, schema))
    try:
        server = _app(tmp_path / "data")
        c = server.test_client()
        csrf = _csrf(c)
        real = psycopg.connect
        monkeypatch.setattr(psycopg, "connect", lambda url, **kw: real(DEAD_PG, **kw))  # the server goes away
        with caplog.at_level(logging.ERROR, logger="ua_coverage.store"):
            r = _response(_call(c, _callback(c, "compare-result"), {"compare-a": 1, "compare-b": 1}, {}, csrf))
        out = json.dumps(r)
        assert "the plan database cannot be reached" in out and "Try again in a few minutes" in out, out
        for detail in ("127.0.0.1", "5432", schema, "ua_test", "PostGIS", "refused"):
            assert detail not in out, (detail, out)
        assert any("127.0.0.1" in rec.getMessage() and schema in rec.getMessage() for rec in caplog.records)
    finally:
        monkeypatch.undo()
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_auth_state_lives_with_the_store_and_is_private(tmp_path, monkeypatch):
    monkeypatch.delenv("UA_COVERAGE_DATABASE_URL", raising=False)
    d = tmp_path / "data"
    store = workflow.open_store(d)
    assert store.count_attempt({"user:x": 2}, 300)[0] == 0
    assert store.count_attempt({"user:x": 2}, 300)[0] == 0
    wait, ids = store.count_attempt({"user:x": 2}, 300)
    assert 290 <= wait <= 301 and ids == []
    store.forget_attempts(key="user:x")
    assert store.count_attempt({"user:x": 2}, 300)[0] == 0
    store.revoke_session("sid-1", keep_s=60)
    store.revoke_session("sid-1", keep_s=60)  # twice is once
    assert store.is_revoked("sid-1") and not store.is_revoked("sid-2")
    assert stat.S_IMODE((d / "plan.sqlite").stat().st_mode) == 0o600
    assert not list(d.glob("auth*")) and not (d / "revoked_sessions").exists()
    con = sqlite3.connect(d / "plan.sqlite")
    assert con.execute("SELECT value FROM meta WHERE key = 'auth_schema_version'").fetchone()[0] == "1"
    con.close()
